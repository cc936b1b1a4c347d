"""The house rules of ARCHITECTURE.md: imports only run down the layers, no import circles,
no library function over 80 lines, and every function its formula table names exists."""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lexmotion", "pretrain", "retrieval", "captioning")
# Lower number = lower layer. A module may import its own layer or a lower one.
LAYERS = [("lexmotion.app", 6), ("captioning", 5), ("retrieval", 4), ("pretrain", 3),
          ("lexmotion.models", 2), ("lexmotion.data", 1), ("lexmotion", 0)]
FACADE = "lexmotion"   # lexmotion/__init__.py: `lexmotion.load` imports the loader lazily


def layer(module: str) -> int | None:
    for prefix, level in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return level
    return None


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def imports(path: Path, module: str) -> set[str]:
    """Every project module this file imports, at the top or inside a function."""
    found = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    known = modules()
    return {m for m in found if m in known and m != module}


def test_imports_run_down_the_layers():
    wrong = []
    for module, path in modules().items():
        if module == FACADE:
            continue
        mine = layer(module)
        for target in imports(path, module):
            if layer(target) > mine:
                wrong.append(f"{module} (layer {mine}) imports {target} (layer {layer(target)})")
    assert not wrong, "\n".join(wrong)


def test_no_import_circles():
    graph = {m: imports(p, m) - {FACADE} for m, p in modules().items() if m != FACADE}
    # a module importing a package's __init__ also depends on nothing else through it
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_no_library_function_over_80_lines():
    long = set()
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 80:
                long.add(f"{path.relative_to(ROOT)}:{node.name}")
    assert not long, f"over 80 lines (split it by responsibility): {sorted(long)}"


def test_layer_rule_catches_an_upward_import(tmp_path):
    # the checker itself: a data module importing the app must be reported
    fake = tmp_path / "fake.py"
    fake.write_text("def f():\n    from lexmotion.app.cli import main\n")
    assert "lexmotion.app.cli" in imports(fake, "lexmotion.data.fake")
    assert layer("lexmotion.app.cli") > layer("lexmotion.data.fake")


def formula_rows() -> list[tuple[str, str]]:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    table = text.split("## Where each formula lives", 1)[1]
    rows = re.findall(r"^\|[^|]+\|[^|]+\| `([^`]+)` \| `([^`]+)` \|$", table, flags=re.M)
    assert len(rows) >= 15, "the formula table lost rows"
    return rows


@pytest.mark.parametrize("file,name", formula_rows())
def test_formula_table_names_existing_functions(file, name):
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    obj = module
    for part in name.split("."):
        obj = getattr(obj, part)
    assert callable(obj)


def test_ruff_is_clean():
    """pyflakes, import order and complexity (C901, pyproject.toml's [tool.ruff]) over the whole tree."""
    import shutil
    import subprocess
    import sys
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the [dev] extra)")
    run = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:]
