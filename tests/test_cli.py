import pytest

from lexmotion.app.cli import main


@pytest.mark.parametrize("argv", [[], ["data"], ["data", "build"], ["data", "info"], ["data", "render"],
                                  ["data", "skeletons"], ["demo"], ["pretrain"], ["index"], ["search"],
                                  ["eval"], ["eval", "retrieval"], ["caption"],
                                  ["caption", "train"], ["caption", "eval"], ["caption", "describe"],
                                  ["caption", "analyze"]])
def test_every_command_has_help(argv, capsys):
    assert main(argv + ["--help"]) == 0
    assert "usage: lexmotion" in capsys.readouterr().out


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
