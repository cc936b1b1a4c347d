"""Fault injection: commands killed with SIGKILL at many points, inside checkpoint saving too.

Each run is forked from the test process (no new interpreter per kill) and armed to kill
itself at its N-th crash point (``lexmotion.files.crash_point``: every step, every atomic
write, every folder swap). After each kill the test checks what a user would find in the
output folder, then resumes. At the end the resumed run must equal a run that was never
killed, weight for weight: no finished step lost, none done twice.
"""
import itertools
import json
import multiprocessing
import os
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import lexmotion
from lexmotion.app.cli import main
from lexmotion.files import arm_crash, load_state, output_lock

pytestmark = pytest.mark.slow      # fork-and-kill loops over whole training runs

FORK = multiprocessing.get_context("fork")
MIN_KILLS = 20


def in_child(argv: list, kill_at: int = 0, log: Path | None = None, timeout: float = 300) -> int:
    """`lexmotion ARGV` in a forked process that SIGKILLs itself at its kill_at-th crash point (0: never).
    Returns its exit status; -9 when it was killed."""
    def target():
        torch.set_num_threads(1)
        if log is not None:
            os.environ["LEXMOTION_KILL_LOG"] = str(log)
        arm_crash(kill_at)
        os._exit(main([str(a) for a in argv]))
    child = FORK.Process(target=target)
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        pytest.fail(f"lexmotion {' '.join(map(str, argv))} hung")
    return child.exitcode


def killed_until_done(argv: list, offsets: list[int], after_kill, log: Path) -> int:
    """Run ARGV again and again, killed at the next offset each time, until a run finishes; returns the kills."""
    kills = 0
    for kill_at in itertools.cycle(offsets):
        code = in_child(argv, kill_at, log)
        if code == 0:
            return kills
        assert code == -signal.SIGKILL, f"exit {code} (not killed, not finished)"
        kills += 1
        after_kill()
        assert kills < 300, "no progress"
    return kills


def epochs_in(path: Path) -> list[int]:
    return [json.loads(line)["epoch"] for line in path.read_text().splitlines()] if path.is_file() else []


def same_weights(a: Path, b: Path) -> None:
    x, y = load_file(str(a)), load_file(str(b))
    assert x.keys() == y.keys()
    for k in x:
        assert torch.equal(x[k], y[k]), f"{k} differs from the uninterrupted run"


def kill_sites(log: Path) -> set[str]:
    return set(log.read_text().split("\n")) - {""}


@pytest.fixture(scope="module")
def setup(tiny_setup):
    return tiny_setup


def pretrain_argv(setup, out):
    return ["pretrain", "lexcmlp", "--data", setup / "kit", "--out", out, "--config", setup / "tiny.json",
            "--batch-size", 4, "--epochs", 3, "--wandb", "disabled", "--quiet"]


@pytest.fixture(scope="module")
def reference(setup):
    """The same tiny LexCMLP run, never killed."""
    out = setup / "reference"
    assert in_child(pretrain_argv(setup, out)) == 0
    return out


def test_pretraining_killed_at_many_points_resumes_with_nothing_lost(setup, reference, tmp_path):
    out, log = tmp_path / "run", tmp_path / "kills.log"
    committed = {"step": 0}

    def check():
        if not (out / "trainer_state.pt").is_file():
            return                                        # killed before the first commit: a fresh start
        state = load_state(out / "trainer_state.pt", "")
        assert state["step"] >= committed["step"], "a finished step was lost"
        committed["step"] = state["step"]
        lexmotion.load(out)                               # the checkpoint loads after every kill
        written = epochs_in(out / "metrics.jsonl")
        finished = [h["epoch"] for h in state["history"]]
        assert written == finished[:len(written)] and len(written) >= len(finished) - 1, (written, finished)

    kills = killed_until_done(pretrain_argv(setup, out), [2, 6, 8, 4, 7, 3], check, log)
    assert kills >= MIN_KILLS
    assert {"step", "write model.safetensors", "write config.json", "write trainer_state.pt",
            "write metrics.jsonl"} <= kill_sites(log)
    assert epochs_in(out / "metrics.jsonl") == [1, 2, 3]
    assert (out / "DONE").is_file() and (out / "sparsity.json").is_file()
    same_weights(out / "model.safetensors", reference / "model.safetensors")
    ours = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    theirs = [json.loads(line) for line in (reference / "metrics.jsonl").read_text().splitlines()]
    for a, b in zip(ours, theirs):
        assert {k: v for k, v in a.items() if k.startswith(("train_", "val_"))} == \
               {k: v for k, v in b.items() if k.startswith(("train_", "val_"))}
    assert not list(out.glob(".*.tmp*")), "temporary files left behind"


def caption_argv(setup, out):
    return ["caption", "train", "--data", setup / "kit", "--out", out, "--epochs", 4, "--batch-size", 4,
            "--arch", "local", "--encoder", "mlp", "--hidden", 32, "--min-count", 1, "--wandb", "disabled", "--quiet"]


def test_caption_training_killed_at_many_points_resumes_with_nothing_lost(setup, tmp_path):
    pytest.importorskip("pycocoevalcap", reason="caption training scores BLEU with pycocoevalcap")
    from captioning.model import load_captioner
    reference, out, log = tmp_path / "reference", tmp_path / "run", tmp_path / "kills.log"
    assert in_child(caption_argv(setup, reference)) == 0
    committed = {"epoch": 0}

    def check():
        state_file = out / "last" / "trainer_state.pt"
        if not state_file.is_file():
            return
        state = load_state(state_file, "")
        assert state["epoch"] >= committed["epoch"], "a finished epoch was lost"
        committed["epoch"] = state["epoch"]
        written = epochs_in(out / "metrics.jsonl")
        finished = [h["epoch"] for h in state["history"]]
        assert written == finished[:len(written)] and len(written) >= len(finished) - 1, (written, finished)
        if (out / "config.json").is_file():
            load_captioner(out)                           # the best captioner so far loads after every kill

    kills = killed_until_done(caption_argv(setup, out), [2, 5, 1, 4, 7, 3, 6, 9], check, log)
    assert kills >= MIN_KILLS
    assert {"epoch end", "write trainer_state.pt", "write model.safetensors", "write config.json"} <= kill_sites(log)
    assert epochs_in(out / "metrics.jsonl") == [1, 2, 3, 4]
    same_weights(out / "last" / "model.safetensors", reference / "last" / "model.safetensors")
    same_weights(out / "model.safetensors", reference / "model.safetensors")


def test_index_build_killed_at_many_points_leaves_a_complete_index_or_none(setup, reference, tmp_path):
    from retrieval.index import Index
    out, log = tmp_path / "index", tmp_path / "kills.log"
    kills, previous = 0, None
    # the tiny model's motion vectors are empty, which FAISS's IVF / HNSW cannot cluster: the other backends
    for backend in ("faiss", "sparse", "sparse-ivf", "torch", "faiss", "sparse"):
        argv = ["index", "build", "--model", reference, "--data", setup / "kit", "--split", "all",
                "--out", out, "--backend", backend, "--overwrite"]
        for kill_at in itertools.count(1):
            code = in_child(argv, kill_at, log)
            if code == 0:
                break
            assert code == -signal.SIGKILL
            kills += 1
            if out.exists():                              # the old complete index, or the new complete one
                index = Index.load(out, model_path=reference)
                assert len(index.items) == 12 and index.meta["backend"] in (previous, backend)
        previous = backend
        assert Index.load(out).meta["backend"] == backend
        assert not list(tmp_path.glob(".index.partial-*")) and not list(tmp_path.glob(".index.old-*"))
    assert kills >= MIN_KILLS
    assert {"write index.json", "write vectors.npz", "swap index"} <= kill_sites(log)


def test_a_second_writer_of_the_same_out_is_refused(setup, reference, tmp_path, capsys):
    out = tmp_path / "busy"
    ready, release = FORK.Pipe()

    def hold():
        with output_lock(out):
            ready.send("locked")
            ready.recv()
        os._exit(0)

    holder = FORK.Process(target=hold)
    holder.start()
    assert release.recv() == "locked"
    commands = [pretrain_argv(setup, out),
                ["index", "build", "--model", reference, "--data", setup / "kit", "--out", out],
                caption_argv(setup, out)]
    for argv in commands:
        assert main([str(a) for a in argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {out}: another process is writing it (lock file ") and err.count("\n") == 1
        assert f".{out.name}.lock" in err
    os.kill(holder.pid, signal.SIGKILL)                   # a writer that dies frees the lock with it
    holder.join()
    with output_lock(out):
        pass
