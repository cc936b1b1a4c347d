"""Shared fixtures. Tests run offline and read tiny slices of ../shared/data."""
import json
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LEXMOTION_SHARED_DATA", REPO.parent / "shared" / "data"))
KITML_CMU = SHARED / "kitml-cmu"
BANDAI_TAR = SHARED / "bandai" / "bandai-namco-motion-2.tar.gz"
HUMANML3D = SHARED / "humanml3d-sample"


# A model small enough for tests on the CPU; "save_every": 1 makes every step resumable.
TINY_CONFIG = {"model": {"motion": {"dim": 32, "depth": 1, "heads": 2, "max_frames": 80}},
               "train": {"save_every": 1, "warmup_steps": 1}}


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "tiny.json"
    path.write_text(json.dumps(TINY_CONFIG))
    return path


def _need(path: Path):
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set LEXMOTION_SHARED_DATA to the shared/data folder)")
    return path


@pytest.fixture(scope="session")
def kitml_root():
    return _need(KITML_CMU)


@pytest.fixture(scope="session")
def humanml3d_root():
    return _need(HUMANML3D)


@pytest.fixture(scope="session")
def sample_root():
    """The 100 real kitml-cmu clips shipped inside the package (what `lexmotion demo` uses): always here."""
    from lexmotion.data import SAMPLE_DIR
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def kitml_slice(tmp_path_factory, sample_root):
    """12 real kitml-cmu clips of the package's sample in the kitml-cmu layout: 8 train, 2 val, 2 test
    (by the sample's TEMOS split, since the sample's own split is all train)."""
    out = tmp_path_factory.mktemp("kitml-slice")
    rows = [json.loads(line) for line in (sample_root / "annotations.jsonl").read_text().splitlines() if line]
    picked = []
    for split, n in (("train", 8), ("val", 2), ("test", 2)):
        picked += [{**r, "split": split} for r in rows if r["temos_split"].split(",")[0] == split][:n]
    (out / "joints").mkdir()
    for r in picked:
        shutil.copy(sample_root / "joints" / f"{r['id']}.npy", out / "joints")
    (out / "annotations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in picked))
    shutil.copy(sample_root / "skeleton.json", out)
    return out


@pytest.fixture(scope="session")
def bandai_slice(tmp_path_factory):
    """An unpacked Bandai dataset-2 folder with cfg/ and 3 takes of 4 content/style pairs."""
    _need(BANDAI_TAR)
    out = tmp_path_factory.mktemp("bandai-slice")
    wanted = ("walk_normal", "wave-left-hand_elderly", "raise-up-right-hand_active", "walk-turn-left_exhausted")
    with tarfile.open(BANDAI_TAR) as tar:
        for m in tar:
            name = Path(m.name).name
            keep = "/cfg/" in m.name or any(f"_{w}_00{k}." in name for w in wanted for k in (1, 2, 3))
            if m.isfile() and keep:
                target = out / Path(*Path(m.name).parts[1:])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(m).read())
    return out


def write_npy(path: Path, array) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(array, dtype=np.float32))
    return path


def tiny_bert(path, tokenizer, vocab_size=None, seed=0):
    """A tiny MLM-headed BERT saved with ``tokenizer`` (the tests build it; nothing is downloaded)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=vocab_size or len(tokenizer), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    model = BertForMaskedLM(config)
    with torch.no_grad():
        model.cls.predictions.bias.normal_()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return model


@pytest.fixture(scope="session")
def tiny_setup(kitml_slice, tmp_path_factory):
    """ROOT/kit (the built kitml slice), ROOT/bert (a tiny MLM-headed BERT over the real vocabulary)
    and ROOT/tiny.json (a model config with both): checkpoints of a few MB that train in a second."""
    from lexmotion.data.dataset import build_dataset
    from lexmotion.models.text import load_text_backbone
    root = tmp_path_factory.mktemp("tiny")
    build_dataset("kitml-cmu", kitml_slice, root / "kit", progress=False)
    tiny_bert(root / "bert", load_text_backbone()[0])
    config = {**TINY_CONFIG, "model": {**TINY_CONFIG["model"], "text_model": str(root / "bert"), "vocabulary": "domain"}}
    (root / "tiny.json").write_text(json.dumps(config))
    return root


@pytest.fixture(scope="session")
def longest_clip(tiny_setup):
    """The longest clip of the kitml slice, resampled to 20 fps, and its skeleton."""
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.data.features import resample
    data = MotionDataset(tiny_setup / "kit")
    row = max((data.row(i) for i in data.split_indices(None)), key=lambda r: r["num_frames"] / r["fps"])
    return resample(np.asarray(row["joints"], dtype=np.float64), float(row["fps"])), data.skeleton(row["skeleton"])


def pretrain_tiny(setup: Path, phase: str, out: Path, steps: int = 2, *extra) -> int:
    """`lexmotion pretrain PHASE` of the tiny model on the kitml slice, as a user runs it; -> exit status."""
    from lexmotion.app.cli import main
    return main([str(a) for a in ["pretrain", phase, "--data", setup / "kit", "--config", setup / "tiny.json",
                                  "--out", out, "--batch-size", 4, "--max-steps", steps, "--wandb", "disabled",
                                  "--quiet", *extra]])


def tiny_lexical_with_words(setup: Path, out: Path) -> Path:
    """A tiny LexCMLP checkpoint at OUT whose motion vectors hold words: two steps leave them empty, so
    its motion head's bias is raised (for tests of what is done with the words, not of training)."""
    from lexmotion.models.checkpoint import load, save_weights
    assert pretrain_tiny(setup, "lexcmlp", out) == 0
    model = load(out)
    model.motion_head.bias.data += 4.0
    save_weights(model, out)
    return out


@pytest.fixture(scope="session")
def served_models(tiny_setup, tmp_path_factory) -> Path:
    """ROOT/lex (``tiny_lexical_with_words``) and ROOT/dense (two steps of `pretrain dense`), shared by the
    tests of how motion vectors are served; a test that edits one works on a copy."""
    root = tmp_path_factory.mktemp("served")
    tiny_lexical_with_words(tiny_setup, root / "lex")
    assert pretrain_tiny(tiny_setup, "dense", root / "dense") == 0
    return root


def serve_tiny(setup: Path, root: Path, *options):
    """`lexmotion serve` on a sparse index of the kitml slice, from a tiny LexCMLP checkpoint whose motion
    vectors hold words, on a free localhost port; a generator for a module fixture: yields
    {url, port, root, process} once the server answers, and stops it afterwards."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from lexmotion.app.cli import main
    tiny_lexical_with_words(setup, root / "lex")
    assert main([str(a) for a in ["index", "build", "--model", root / "lex", "--data", setup / "kit", "--split",
                                  "all", "--out", root / "idx", "--backend", "sparse"]]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "lexmotion.app.cli", "serve", "--index", str(root / "idx"),
                                "--port", str(port), *map(str, options)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        if process.poll() is not None:
            pytest.fail(f"the server stopped: {process.stdout.read()}")
        try:
            urllib.request.urlopen(url + "api/info", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the server did not answer within 120 s")
    yield {"url": url, "port": port, "root": root, "process": process}
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def sided_captions(monkeypatch):
    """Every training caption names a side (" to the left" added), so every batch holds mirror pairs."""
    from lexmotion.data.batching import MotionTextDataset
    original = MotionTextDataset.__init__

    def sided(self, *args, **kwargs):
        original(self, *args, **kwargs)
        for row in self.rows:
            row["texts"] = [t + " to the left" for t in row["texts"]]
    monkeypatch.setattr(MotionTextDataset, "__init__", sided)
