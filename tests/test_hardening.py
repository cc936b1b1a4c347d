"""Hardening: every bad input of the issue, by name, ends in exit status 2 and one line
starting ``error:`` on the command line, and in a LexmotionError subclass in Python."""
import json
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import lexmotion
from lexmotion.app.cli import main
from lexmotion.errors import (
    BadValueError,
    CorruptFileError,
    EmptyQueryError,
    OldFormatError,
    WrongKindError,
    WrongPathError,
)
from lexmotion.files import load_state

ROOT = Path(__file__).resolve().parents[1]


def fails(capsys, argv, *expected: str) -> str:
    """Run `lexmotion ARGV`: exit status 2, one line on stderr, starting `error:`, holding each expected text."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    err = err[err.rfind("\r") + 1:]          # after any progress bar the command drew before failing
    assert code == 2, f"exit {code}: {err}"
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    return err


@pytest.fixture(scope="module")
def built(tiny_setup, tmp_path_factory):
    """A tiny lexical checkpoint, a tiny dense one, a captioner and an index, made with the real commands."""
    root = tmp_path_factory.mktemp("hard")
    common = ["--data", tiny_setup / "kit", "--config", tiny_setup / "tiny.json", "--batch-size", 4,
              "--max-steps", 1, "--wandb", "disabled", "--quiet"]
    assert main([str(a) for a in ["pretrain", "lexcmlp", "--out", root / "lex", *common]]) == 0
    assert main([str(a) for a in ["pretrain", "dense", "--out", root / "dense", *common]]) == 0
    assert main([str(a) for a in ["caption", "train", "--data", tiny_setup / "kit", "--out", root / "cap",
                                  "--epochs", 1, "--batch-size", 4, "--arch", "local", "--encoder", "mlp",
                                  "--hidden", 32, "--min-count", 1, "--wandb", "disabled", "--quiet"]]) == 0
    assert main([str(a) for a in ["index", "build", "--model", root / "lex", "--data", tiny_setup / "kit",
                                  "--split", "all", "--out", root / "idx", "--backend", "faiss"]]) == 0
    from lexmotion.data import SAMPLE_DIR
    np.save(root / "clip.npy", np.load(next((SAMPLE_DIR / "joints").glob("*.npy"))))
    return root


def damaged_copy(src: Path, dst: Path, name: str, data: bytes | None = None) -> Path:
    shutil.copytree(src, dst)
    target = dst / name
    target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 3] if data is None else data)
    return dst


# --- non-positive -k -----------------------------------------------------------------------
@pytest.mark.parametrize("k", ["0", "-3"])
def test_non_positive_k(capsys, built, k):
    fails(capsys, ["search", "--index", built / "idx", "walk", "-k", k], "-k must be a positive number of hits")
    from retrieval.index import Index
    with pytest.raises(BadValueError):
        Index.load(built / "idx").search(lexmotion.load(built / "lex"), "walk", k=int(k))


@pytest.mark.parametrize("option,value", [("--epochs", "-1"), ("--batch-size", "0"), ("--max-steps", "0"),
                                          ("--lr", "0")])
def test_non_positive_training_numbers(capsys, tiny_setup, tmp_path, option, value):
    fails(capsys, ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--out", tmp_path / "p", option, value,
                   "--wandb", "disabled"], f"{option} must be")
    assert not (tmp_path / "p").exists()
    fails(capsys, ["caption", "train", "--data", tiny_setup / "kit", "--out", tmp_path / "c", "--arch", "local",
                   "--encoder", "mlp", "--wandb", "disabled", option if option != "--max-steps" else "--epochs", value],
          "must be")


def test_a_bad_option_value_is_one_line(capsys, built):
    fails(capsys, ["search", "--index", built / "idx", "walk", "-k", "many"], "argument -k: invalid int value")


# --- corrupt or truncated files ---------------------------------------------------------------
def test_truncated_weights(capsys, built, tiny_setup, tmp_path):
    bad = damaged_copy(built / "lex", tmp_path / "lex", "model.safetensors")
    fails(capsys, ["index", "build", "--model", bad, "--data", tiny_setup / "kit", "--out", tmp_path / "i"],
          f"{bad / 'model.safetensors'}: damaged weights file")
    with pytest.raises(CorruptFileError, match="damaged weights file"):
        lexmotion.load(bad)


def test_truncated_weights_of_a_run_being_resumed(capsys, built, tiny_setup, tmp_path):
    bad = damaged_copy(built / "lex", tmp_path / "lex", "model.safetensors")
    fails(capsys, ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--out", bad, "--max-steps", 2,
                   "--wandb", "disabled", "--quiet"], "damaged weights file")


def test_truncated_trainer_state(capsys, built, tiny_setup, tmp_path):
    bad = damaged_copy(built / "lex", tmp_path / "lex", "trainer_state.pt")
    fails(capsys, ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--out", bad, "--max-steps", 2,
                   "--wandb", "disabled", "--quiet"], "damaged trainer state", f"delete {bad} or pass another --out")
    cap = damaged_copy(built / "cap", tmp_path / "cap", "last/trainer_state.pt")
    fails(capsys, ["caption", "train", "--data", tiny_setup / "kit", "--out", cap, "--epochs", 2, "--arch", "local",
                   "--encoder", "mlp", "--hidden", 32, "--min-count", 1, "--wandb", "disabled", "--quiet"],
          "damaged trainer state")


def test_an_old_pickled_trainer_state_is_refused_with_how_to_restart(capsys, built, tiny_setup, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(built / "lex", old)
    (old / "DONE").unlink()                               # a run the first version had not finished
    state = torch.load(old / "trainer_state.pt", weights_only=True)
    torch.save({**state, "python_rng": __import__("random").getstate(), "numpy_rng": np.random.get_state()},
               old / "trainer_state.pt")                  # what the first version wrote: numpy objects pickled
    fails(capsys, ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--out", old, "--max-steps", 2,
                   "--wandb", "disabled", "--quiet"], "old pickled format", f"delete {old} or pass another --out")
    state.pop("state_format")
    torch.save(state, old / "trainer_state.pt")
    with pytest.raises(OldFormatError, match="format 1"):
        load_state(old / "trainer_state.pt", "restart")


def test_a_finished_run_of_the_first_version_is_skipped_not_continued(capsys, built, tiny_setup, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(built / "lex", old)
    state = torch.load(old / "trainer_state.pt", weights_only=True)
    torch.save({k: state[k] for k in ("phase", "optimizer", "scheduler", "step", "epoch", "batch_in_epoch")} |
               {"torch_rng": torch.get_rng_state()}, old / "trainer_state.pt")      # the first version's keys
    argv = ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--out", old, "--config", tiny_setup / "tiny.json",
            "--batch-size", 4, "--wandb", "disabled", "--quiet", "--max-steps"]
    assert main([str(a) for a in [*argv, 1]]) == 0
    assert "already finished" in capsys.readouterr().out
    fails(capsys, [*argv, 2], "cannot be continued to 2 steps", f"--init {old} with another --out")


def test_a_trainer_state_that_would_run_code_is_not_run(built, tmp_path):
    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))
    (tmp_path / "trainer_state.pt").write_bytes(pickle.dumps({"step": Payload()}))
    with pytest.raises(OldFormatError):
        load_state(tmp_path / "trainer_state.pt", "restart")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name,data,expected", [
    ("index.json", b"{not json", "damaged JSON"),
    ("items.jsonl", b'{"id": "a"}\n{broken\n', "damaged item list"),
    ("vectors.npz", None, "damaged vectors"),
    ("faiss.index", None, "damaged FAISS index"),
])
def test_corrupt_index_files(capsys, built, tmp_path, name, data, expected):
    bad = damaged_copy(built / "idx", tmp_path / "idx", name, data)
    fails(capsys, ["search", "--index", bad, "walk"], str(bad / name), expected)
    from retrieval.index import Index
    with pytest.raises(CorruptFileError):
        Index.load(bad)


def test_index_vectors_with_nan(capsys, built, tmp_path):
    import scipy.sparse as sp
    bad = tmp_path / "idx"
    shutil.copytree(built / "idx", bad)
    vectors = sp.load_npz(bad / "vectors.npz").tolil()
    vectors[0, 2000] = np.nan
    sp.save_npz(bad / "vectors.npz", vectors.tocsr())
    fails(capsys, ["search", "--index", bad, "walk"], "NaN or infinite values")


# --- a checkpoint of the wrong kind --------------------------------------------------------------
def test_a_dense_checkpoint_where_a_lexical_one_is_needed(capsys, built, tiny_setup, tmp_path):
    fails(capsys, ["caption", "train", "--data", tiny_setup / "kit", "--out", tmp_path / "c", "--encoder",
                   f"lexical:{built / 'dense'}", "--arch", "local", "--wandb", "disabled", "--quiet"],
          "needs a lexical checkpoint")
    fails(capsys, ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--out", tmp_path / "p", "--init",
                   built / "dense", "--wandb", "disabled", "--quiet"], "a dense checkpoint cannot initialise")
    fails(capsys, ["index", "build", "--model", built / "dense", "--data", tiny_setup / "kit", "--out",
                   tmp_path / "i", "--backend", "sparse"], "a dense model is indexed with")


def test_a_captioner_where_a_retrieval_model_is_needed(capsys, built, tiny_setup, tmp_path):
    fails(capsys, ["index", "build", "--model", built / "cap", "--data", tiny_setup / "kit", "--out",
                   tmp_path / "i"], "this is a captioner, not a pretraining checkpoint")
    fails(capsys, ["eval", "retrieval", "--model", built / "cap", "--data", tiny_setup / "kit"], "this is a captioner")
    fails(capsys, ["search", "--index", built / "idx", "--model", built / "cap", "walk"], str(built / "cap"))
    with pytest.raises(WrongKindError):
        lexmotion.load(built / "cap")


def test_a_retrieval_model_where_a_captioner_is_needed(capsys, built):
    fails(capsys, ["caption", "describe", "--model", built / "cap", "--motion", built / "clip.npy", "--beam", 0],
          "--beam must be a whole number of at least 1")
    fails(capsys, ["caption", "describe", "--model", built / "lex", "--motion", built / "clip.npy"],
          "this is a pretraining checkpoint, not a captioner")


# --- queries ------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["!!!", "???", "42 17", "the of and", "☃ ★"])
def test_a_query_with_no_word(capsys, built, query):
    fails(capsys, ["search", "--index", built / "idx", query], "has no word that describes a motion")
    from retrieval.index import Index
    with pytest.raises(EmptyQueryError):
        Index.load(built / "idx").search(lexmotion.load(built / "lex"), query)


def test_encode_motion_takes_a_dataset_row_with_its_skeleton_name(built, tiny_setup):
    from lexmotion.data.dataset import MotionDataset
    row = MotionDataset(tiny_setup / "kit").row(0)
    assert isinstance(row["skeleton"], str)
    vec = lexmotion.load(built / "lex").encode_motion([row])
    assert vec.shape == (1, 30522)
    with pytest.raises(lexmotion.LexmotionError, match="unknown skeleton 'robot'"):
        lexmotion.load(built / "lex").encode_motion([{**row, "skeleton": "robot"}])
    with pytest.raises(lexmotion.LexmotionError, match="non-empty list"):
        lexmotion.load(built / "lex").encode_motion([])


# --- paths ----------------------------------------------------------------------------------------
def test_a_folder_where_a_file_is_expected(capsys, built, tiny_setup, tmp_path):
    fails(capsys, ["search", "--index", built / "idx", "--motion", tmp_path], f"{tmp_path}: is a folder")
    fails(capsys, ["caption", "describe", "--model", built / "cap", "--motion", tmp_path], "is a folder")
    fails(capsys, ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--out", tmp_path / "o", "--config",
                   tmp_path], "is a folder; expected a config file")
    from lexmotion.data.dataset import MotionDataset
    clip = MotionDataset(tiny_setup / "kit").row(0)["id"]
    fails(capsys, ["data", "render", tiny_setup / "kit", clip, "--out", tmp_path], "is a folder")
    fails(capsys, ["eval", "retrieval", "--model", built / "lex", "--data", tiny_setup / "kit", "--json",
                   tmp_path], str(tmp_path))
    fails(capsys, ["search", "--index", built / "idx" / "index.json", "walk"], "is a file; an index is a folder")
    with pytest.raises(WrongPathError):
        lexmotion.load(built / "lex" / "config.json")


def test_an_out_that_is_an_existing_file(capsys, built, tiny_setup, kitml_slice, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("mine")
    expected = "--out is an existing file"
    fails(capsys, ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--out", taken, "--wandb", "disabled"], expected)
    fails(capsys, ["index", "build", "--model", built / "lex", "--data", tiny_setup / "kit", "--out", taken], expected)
    fails(capsys, ["caption", "train", "--data", tiny_setup / "kit", "--out", taken, "--arch", "local", "--encoder",
                   "mlp", "--wandb", "disabled"], expected)
    fails(capsys, ["caption", "analyze", "--model", built / "cap", "--data", tiny_setup / "kit", "--out", taken],
          expected)
    fails(capsys, ["data", "build", "kitml-cmu", "--root", kitml_slice, "--out", taken, "--overwrite"], expected)
    fails(capsys, ["demo", "--out", taken, "--quick"], expected)
    assert taken.read_text() == "mine"


# --- no pickle from user folders ---------------------------------------------------------------------
def test_no_pickle_is_read_from_user_files():
    pattern = re.compile(r"weights_only\s*=\s*False|allow_pickle\s*=\s*True")
    offenders = [f"{p.relative_to(ROOT)}:{i}" for package in ("lexmotion", "pretrain", "retrieval", "captioning", "tests")
                 for p in (ROOT / package).rglob("*.py") if p.name != "test_hardening.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


# --- load -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_search_under_load_gives_the_single_threaded_answers(built, capsys):
    from retrieval.load import format_table, run
    result = run(str(built / "idx"), None, None, n=24, k=3, threads=8, processes=2)
    assert [r["mismatches"] for r in result["rows"]] == [0, 0, 0] and not result["failures"]
    assert "8 threads, one Index" in format_table(result)


def test_an_unknown_device(capsys, built):
    fails(capsys, ["search", "--index", built / "idx", "walk", "--device", "tpu"], "--device must be auto, cpu or cuda")


# --- self-contained checkpoints -------------------------------------------------------------------
def test_a_checkpoint_loads_without_its_text_model_source(built, monkeypatch):
    import lexmotion.models.text as text
    expected = lexmotion.load(built / "lex").encode_text(["a person walks forward"]).to_dense()
    assert (built / "lex" / "text_model" / "tokenizer.json").is_file()

    def gone(*args, **kwargs):
        raise AssertionError("the text model's own files were read")
    monkeypatch.setattr(text, "load_text_backbone", gone)
    monkeypatch.setattr(text, "resolve_text_model", gone)
    again = lexmotion.load(built / "lex").encode_text(["a person walks forward"]).to_dense()
    torch.testing.assert_close(again, expected)


def test_provenance_and_a_non_commercial_parent(built, tiny_setup, bandai_slice, tmp_path, capsys):
    from lexmotion.data.dataset import build_dataset
    config = json.loads((built / "lex" / "config.json").read_text())
    prov = config["provenance"]
    assert prov["lexmotion_version"] == lexmotion.__version__ and prov["init"] is None and "pretrain" in prov["command"]
    assert [d["source"] for d in prov["data"]] == ["kitml-cmu"] and not prov["data"][0]["non_commercial"]
    build_dataset("bandai", bandai_slice, tmp_path / "bandai", progress=False)
    common = ["--config", tiny_setup / "tiny.json", "--batch-size", 4, "--max-steps", 1, "--wandb", "disabled",
              "--quiet"]
    assert main([str(a) for a in ["pretrain", "lexcmlp", "--data", tmp_path / "bandai", "--out", tmp_path / "nc",
                                  *common]]) == 0
    assert main([str(a) for a in ["pretrain", "lexcmlp", "--data", tiny_setup / "kit", "--out", tmp_path / "child",
                                  "--init", tmp_path / "nc", *common]]) == 0
    capsys.readouterr()
    child = lexmotion.load(tmp_path / "child")
    assert "for non-commercial use only" in capsys.readouterr().err
    assert {d["source"]: d["non_commercial"] for d in child.provenance["data"]} == {"kitml-cmu": False, "bandai": True}
    assert child.provenance["init"] == str(tmp_path / "nc") and child.provenance["parent"]["data"][0]["source"] == "bandai"


def test_hf_hub_offline_decides_whether_hub_names_may_download(monkeypatch):
    from lexmotion.models.text import hub_offline
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_offline()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert not hub_offline()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert not hub_offline()


def test_faiss_search_parameters_and_the_gpu_message(built, tiny_setup, tmp_path, capsys):
    from retrieval.index import Index
    fails(capsys, ["index", "build", "--model", built / "lex", "--data", tiny_setup / "kit", "--out", tmp_path / "x",
                   "--backend", "faiss-ivf"], "every vector to index is empty")      # the tiny model's motions
    for backend in ("faiss-ivf", "faiss-hnsw"):        # its captions have words: index those
        assert main(["index", "build", "--model", str(built / "lex"), "--data", str(tiny_setup / "kit"), "--split",
                     "all", "--out", str(tmp_path / backend), "--backend", backend, "--texts"]) == 0
    capsys.readouterr()
    ivf, hnsw = Index.load(tmp_path / "faiss-ivf"), Index.load(tmp_path / "faiss-hnsw")
    assert ivf.set_search_parameters(nprobe=3).backend.engine.nprobe == 3
    assert hnsw.set_search_parameters(ef_search=7).backend.engine.hnsw.efSearch == 7
    query = np.random.default_rng(0).random((1, 30522)).astype(np.float32)
    for index in (ivf, hnsw):
        scores, top = index.search_vectors(query, 3)
        assert top.shape == (1, 3) and (top >= 0).all()
    clip = ["--motion", str(built / "clip.npy"), "-k", "1"]
    fails(capsys, ["search", "--index", tmp_path / "faiss-hnsw", *clip, "--nprobe", 2], "--nprobe applies to")
    fails(capsys, ["search", "--index", built / "idx", "walk", "--ef-search", 2], "--ef-search applies to faiss-hnsw")
    fails(capsys, ["search", "--index", tmp_path / "faiss-ivf", *clip, "--nprobe", 0], "--nprobe must be a positive")
    import faiss
    if not hasattr(faiss, "StandardGpuResources"):       # faiss-cpu: the message names the extra
        with pytest.raises(lexmotion.LexmotionError, match=r"needs faiss-gpu: pip install 'lexmotion\[gpu\]'"):
            ivf.to("cuda")
