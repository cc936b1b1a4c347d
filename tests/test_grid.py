"""docs/scripts/grid.py: rows share exactly the phases they have in common, and a finished run is skipped."""
import importlib.util
from pathlib import Path

import pytest

from pretrain.settings import load_recipe

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grid():
    spec = importlib.util.spec_from_file_location("grid", ROOT / "docs" / "scripts" / "grid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def folders(grid, row, seed=0):
    return [Path(s["folder"]).name for s in grid.plan(row, seed, Path("runs/grid"))]


def test_rows_share_the_phases_they_have_in_common(grid):
    moved, described, today = folders(grid, "all-motions"), folders(grid, "descriptions"), folders(grid, "today")
    assert moved[:2] == described[:2] and moved[2:] != described[2:]        # same LexMLM and CMMM, other captions
    assert not set(today) & set(moved)                                      # other data: nothing shared
    assert folders(grid, "all-motions-no-lexmmm")[:2] == moved[:2]
    assert folders(grid, "all-motions-no-lexmmm")[2] != moved[3]            # LexCMLP from CMMM is another run
    assert folders(grid, "all-motions", seed=1)[0] != moved[0]              # another seed, another run
    localised, default = folders(grid, "localise"), folders(grid, "descriptions-long")
    assert localised[:3] == default[:3] and localised[3] != default[3]      # a LexCMLP-only setting


def test_every_row_names_a_committed_config_and_each_phase_has_data(grid):
    for row, spec in grid.ROWS.items():
        recipe = load_recipe(ROOT / spec["config"])
        for phase in spec["phases"]:
            assert recipe.get("phases", {}).get(phase, {}).get("data") or spec.get("data"), (row, phase)


def test_a_finished_run_is_skipped(grid, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(grid, "RESULTS", tmp_path)
    monkeypatch.setattr(grid, "ensure_data", lambda: None)
    (tmp_path / "today").mkdir()
    (tmp_path / "today" / "seed0.json").write_text("{}")
    monkeypatch.setattr(grid, "train", lambda steps: pytest.fail("a finished run was trained again"))
    grid.run(["today"], [0], tmp_path / "work")
    assert "today seed 0: done" in capsys.readouterr().out


@pytest.mark.parametrize("row,seed,folder", [("text-lr", 0, "lexcmlp-1447018292"), ("text-lr", 1, "lexcmlp-c30e43a96a"),
                                             ("text-lr", 2, "lexcmlp-2c572c1b9f"), ("localise", 0, "lexcmlp-3de739b0a3"),
                                             ("dense-text-lr", 0, "dense-08979097b8"), ("dense-text-lr", 1, "dense-efcaec0dec"),
                                             ("dense-text-lr", 2, "dense-352443dc48"), ("take-words", 0, "lexcmlp-fcc97080db"),
                                             ("mirror-pairs", 0, "lexcmlp-e8a9e08a3b"), ("mirror-pairs", 1, "lexcmlp-cdb64fe948"),
                                             ("mirror-pairs", 2, "lexcmlp-f25540c845"),
                                             ("dense-mirror-pairs", 0, "dense-46d33424e8"),
                                             ("dense-mirror-pairs", 1, "dense-07152c6106"),
                                             ("dense-mirror-pairs", 2, "dense-8e1846ec4d")])
def test_the_folders_the_results_cite_keep_their_names(grid, row, seed, folder):
    # docs/results name these folders in their commands; a config edit that changed a phase's key (a config
    # rewritten over a base, a setting moved) would leave those commands pointing at nothing
    assert folders(grid, row, seed)[-1] == folder


@pytest.mark.parametrize("phase", ["lexmlm", "cmmm", "lexmmm", "dense"])
def test_a_phase_folder_is_named_by_every_setting_its_loss_reads(grid, tiny_setup, tmp_path, monkeypatch, phase):
    """grid.py names a phase's folder by the settings it believes the phase reads (SETTINGS_READ, ONLY_READ_BY):
    a setting the loss reads but the name leaves out would let two rows share a folder trained differently.
    The loss's reads are traced as it trains; each must change the folder's name."""
    import dataclasses

    from conftest import pretrain_tiny

    from pretrain import phases
    names, read, tracing = {f.name for f in dataclasses.fields(phases.PhaseSettings)}, set(), []

    def traced_get(settings, name):
        if tracing and name in names:
            read.add(name)
        return object.__getattribute__(settings, name)

    def traced_loss(loss):
        def run(*args):
            tracing.append(True)
            try:
                return loss(*args)
            finally:
                tracing.pop()
        return run

    monkeypatch.setattr(phases.PhaseSettings, "__getattribute__", traced_get)
    monkeypatch.setitem(phases.LOSSES, phase, traced_loss(phases.LOSSES[phase]))
    assert pretrain_tiny(tiny_setup, phase, tmp_path / phase) == 0
    assert read, "the trace saw no setting read"
    for name in sorted(read):
        value = getattr(phases.PhaseSettings(), name)
        other = 0.5 if value is None else value * 2 + 1
        keys = {grid.phase_key({"settings": {name: v}}, phase, 0, None, []) for v in (value, other)}
        assert len(keys) == 2, f"{phase} reads settings.{name}, but grid.py's folder name leaves it out"
