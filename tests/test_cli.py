import argparse

import pytest

from lexmotion.app.cli import build_parser, main


def _command_paths(parser, prefix=()):
    """Every command and subcommand of the parser, as argv prefixes: a new command cannot miss this test."""
    yield list(prefix)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _command_paths(sub, prefix + (name,))


COMMANDS = list(_command_paths(build_parser()))


def test_the_walk_finds_every_command():
    names = {" ".join(p) for p in COMMANDS}
    assert {"eval compare", "eval words", "eval moments", "tag", "explain", "export", "serve",
            "index build", "caption train", "pretrain"} <= names


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda p: " ".join(p) or "lexmotion")
def test_every_command_has_help(argv, capsys):
    assert main(argv + ["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: lexmotion" in out
    assert "%%" not in out          # argparse formats help= strings but prints descriptions as written


def test_skeletons_listing(capsys):
    assert main(["data", "skeletons"]) == 0
    out = capsys.readouterr().out
    for name in ("kitml-cmu", "bandai", "humanml3d", "kitml-mmm"):
        assert f"{name}:" in out


@pytest.mark.slow
def test_demo_runs_on_the_embedded_sample(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quick"]) == 0
    out = capsys.readouterr().out
    assert "100 clips, 100 captions, 0 skipped" in out
    assert list(tmp_path.glob("*.gif"))
    assert out.count("caption:") == 3 and out.count("\n         words:") == 3
    assert (tmp_path / "pretrain" / "lexcmlp" / "model.safetensors").is_file()
    assert out.count("  query: ") == 3 and out.count("because:") + out.count("no shared word is over") == 9
    assert "hub prior" in out and out.count(", prior ") == 9          # LexCMLP's bank: the index ranks with it
    assert (tmp_path / "index" / "index.json").is_file()
    assert out.count("generated: ") == 3 and out.count("attention: ") == 3 and out.count("reranked: ") == 3
    assert list(tmp_path.glob("*-attention.png")) and (tmp_path / "captioner" / "model.safetensors").is_file()
    assert "removed: the demo does not resume" in out and not list(tmp_path.rglob("trainer_state.pt"))
