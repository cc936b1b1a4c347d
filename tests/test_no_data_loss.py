"""No command deletes or replaces what it did not make: a sentinel file in the --out of every writing
command and beside every input stays, and refusals are one line with nothing changed."""
import json
import os
from pathlib import Path

import pytest
from conftest import pretrain_tiny
from test_hardening import fails

from lexmotion.app.cli import main
from lexmotion.errors import WrongPathError
from lexmotion.files import MARKER, claim_output, folder_kind


def snapshot(folder: Path) -> dict:
    """Every file under FOLDER with its bytes: what a command must leave as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def user_folder(path: Path) -> Path:
    """A folder of the user's own: a sentinel file and a subfolder, none of it lexmotion's."""
    (path / "mine").mkdir(parents=True)
    (path / "SENTINEL.txt").write_text("the user's file\n")
    (path / "mine" / "notes.md").write_text("keep me\n")
    (path / "config.json").write_text(json.dumps({"model_type": "bert"}))     # a Hugging Face folder's name
    return path


@pytest.fixture(scope="module")
def runs(tiny_setup, tmp_path_factory):
    """runs/lexcmlp (a finished tiny checkpoint) beside a sentinel, an index and an export of it."""
    root = tmp_path_factory.mktemp("loss")
    runs = root / "runs"
    assert pretrain_tiny(tiny_setup, "lexcmlp", runs / "lexcmlp", 1) == 0
    (runs / "SENTINEL.txt").write_text("beside the checkpoint\n")
    assert main([str(a) for a in ["index", "build", "--model", runs / "lexcmlp", "--data", tiny_setup / "kit",
                                  "--split", "all", "--out", root / "idx", "--backend", "sparse"]]) == 0
    assert main([str(a) for a in ["export", runs / "lexcmlp", root / "export"]]) == 0
    return root


def _commands(setup: Path, runs: Path, out: Path) -> dict:
    ckpt, kit = runs / "runs" / "lexcmlp", setup / "kit"
    common = ["--config", setup / "tiny.json", "--batch-size", 4, "--max-steps", 1, "--wandb", "disabled", "--quiet"]
    return {
        "export": ["export", ckpt, out],
        "export --overwrite": ["export", ckpt, out, "--overwrite"],
        "index build": ["index", "build", "--model", ckpt, "--data", kit, "--out", out, "--backend", "sparse"],
        "index build --overwrite": ["index", "build", "--model", ckpt, "--data", kit, "--out", out, "--overwrite"],
        "data build --overwrite": ["data", "build", "kitml-cmu", "--root", kit, "--out", out, "--overwrite",
                                   "--quiet"],
        "pretrain lexcmlp": ["pretrain", "lexcmlp", "--data", kit, "--out", out, *common],
        "pretrain all": ["pretrain", "all", "--data", kit, "--out", out, *common],
        "caption train": ["caption", "train", "--data", kit, "--out", out, "--epochs", 1, "--arch", "local",
                          "--encoder", "mlp", "--hidden", 32, "--min-count", 1, "--wandb", "disabled", "--quiet"],
        "demo": ["demo", "--out", out, "--quick"],
        "caption analyze": ["caption", "analyze", "--model", runs / "no-captioner", "--data", kit, "--out", out],
    }


COMMANDS = ["export", "export --overwrite", "index build", "index build --overwrite", "data build --overwrite",
            "pretrain lexcmlp", "pretrain all", "caption train", "demo", "caption analyze"]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_folder_of_the_users_is_refused_and_left_as_it_was(capsys, tiny_setup, runs, tmp_path, name):
    out = user_folder(tmp_path / "out")
    before, beside = snapshot(out), snapshot(runs)
    fails(capsys, _commands(tiny_setup, runs, out)[name], str(out), "nothing was changed")
    assert snapshot(out) == before and snapshot(runs) == beside
    assert not list(tmp_path.glob(".out.partial-*")) and not list(tmp_path.glob(".out.old-*"))


@pytest.mark.parametrize("name", ["export", "export --overwrite", "index build", "index build --overwrite"])
def test_the_parent_of_an_input_is_never_an_out(capsys, tiny_setup, runs, name):
    before = snapshot(runs)
    fails(capsys, _commands(tiny_setup, runs, runs / "runs")[name], "an input of this command")
    assert snapshot(runs) == before


def test_export_into_the_checkpoints_own_parent_keeps_every_phase(capsys, runs):
    before = snapshot(runs / "runs")
    fails(capsys, ["export", runs / "runs" / "lexcmlp", runs / "runs"], "an input of this command")
    assert snapshot(runs / "runs") == before


def test_export_into_the_current_folder_is_one_line_and_leaves_no_lock(capsys, runs, tmp_path, monkeypatch):
    work = user_folder(tmp_path / "work")
    monkeypatch.chdir(work)
    fails(capsys, ["export", runs / "runs" / "lexcmlp", "."], "nothing was changed")
    assert not list(tmp_path.glob("*.lock")) and not list(work.glob("*.lock"))
    assert (work / "SENTINEL.txt").is_file()


def test_a_dataset_root_or_its_parent_is_never_the_out(capsys, tiny_setup, kitml_slice):
    before = snapshot(kitml_slice.parent)
    for out in (kitml_slice, kitml_slice.parent, kitml_slice / "joints"):
        fails(capsys, ["data", "build", "kitml-cmu", "--root", kitml_slice, "--out", out, "--overwrite", "--quiet"],
              "an input of this command")
    assert snapshot(kitml_slice.parent) == before


def test_overwrite_replaces_only_the_same_kind_of_lexmotion_folder(capsys, tiny_setup, runs, tmp_path):
    # an earlier export is replaced with --overwrite, and refused without it
    out = tmp_path / "exp"
    assert main([str(a) for a in ["export", runs / "runs" / "lexcmlp", out]]) == 0
    assert folder_kind(out) == "export"
    fails(capsys, ["export", runs / "runs" / "lexcmlp", out], "pass --overwrite")
    (out / "README.md").write_text("edited")
    assert main([str(a) for a in ["export", runs / "runs" / "lexcmlp", out, "--overwrite"]]) == 0
    assert "library_name: lexmotion" in (out / "README.md").read_text()
    # an index is not an export, and an export is not an index
    fails(capsys, ["export", runs / "runs" / "lexcmlp", runs / "idx", "--overwrite"], "holds a lexmotion index")
    fails(capsys, ["index", "build", "--model", runs / "runs" / "lexcmlp", "--data", tiny_setup / "kit", "--out", out,
                   "--overwrite"], "holds a lexmotion export")
    # an index rebuilt over itself with --overwrite
    idx = tmp_path / "idx"
    argv = ["index", "build", "--model", runs / "runs" / "lexcmlp", "--data", tiny_setup / "kit", "--out", idx,
            "--backend", "sparse"]
    assert main([str(a) for a in argv]) == 0
    fails(capsys, argv, "pass --overwrite")
    assert main([str(a) for a in [*argv, "--overwrite"]]) == 0 and folder_kind(idx) == "index"


def test_an_empty_out_is_taken_and_marked(runs, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert main([str(a) for a in ["export", runs / "runs" / "lexcmlp", out]]) == 0
    assert json.loads((out / MARKER).read_text())["kind"] == "export"


def test_folders_from_before_the_marker_are_recognised(runs, tmp_path):
    idx = tmp_path / "old-idx"
    idx.mkdir()
    (idx / "index.json").write_text(json.dumps({"format": 1}))
    assert folder_kind(idx) == "index"
    ckpt = tmp_path / "old-ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"lexmotion_version": "0.1.0", "phase": "lexcmlp"}))
    assert folder_kind(ckpt) == "checkpoint"
    assert folder_kind(user_folder(tmp_path / "hf")) is None     # a config.json of someone else's


def test_a_finished_run_resumes_and_a_cleaned_one_is_not_trained_over(capsys, tiny_setup, tmp_path):
    out = tmp_path / "run"
    assert pretrain_tiny(tiny_setup, "lexcmlp", out, 1) == 0
    assert pretrain_tiny(tiny_setup, "lexcmlp", out, 1) == 0          # its own run: "already finished"
    assert "already finished" in capsys.readouterr().out
    (out / "trainer_state.pt").unlink()
    before = snapshot(out)
    fails(capsys, ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--config", tiny_setup / "tiny.json",
                   "--out", out, "--max-steps", 1, "--wandb", "disabled", "--quiet"], "no trainer state")
    assert snapshot(out) == before


def test_claim_output_in_python(tmp_path):
    mine = user_folder(tmp_path / "mine")
    with pytest.raises(WrongPathError, match="did not make"):
        claim_output(mine, "index", overwrite=True)
    with pytest.raises(WrongPathError, match="an existing file"):
        claim_output(mine / "SENTINEL.txt", "index")
    assert claim_output(tmp_path / "new", "index") == Path(os.path.abspath(tmp_path / "new"))
    assert not (tmp_path / "new").exists()          # a check only: nothing is made


def test_the_search_pages_cache_is_never_a_folder_of_the_users(runs, tmp_path):
    pytest.importorskip("starlette")
    from lexmotion.app.serve import SearchService
    mine = user_folder(tmp_path / "mine")
    before = snapshot(mine)
    with pytest.raises(WrongPathError, match="did not make"):
        SearchService(runs / "idx", cache=mine)
    assert snapshot(mine) == before
    service = SearchService(runs / "idx", cache=tmp_path / "cache")
    assert folder_kind(service.cache) == "serve-cache"
