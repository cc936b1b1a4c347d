"""Property-based fuzzing of the readers (hypothesis): random bytes, truncations, flipped
bytes and NaN/inf thrown at the BVH reader, the kitml-cmu annotations reader, the .npy
motion reader and the index loader. Each must return a valid result or raise a
LexmotionError, and nothing else."""
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="fuzzing needs hypothesis (pip install 'lexmotion[dev]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lexmotion.data.bvh import read_bvh  # noqa: E402
from lexmotion.data.importers import Skipped, import_kitml_cmu  # noqa: E402
from lexmotion.data.motion_file import read_motion_file  # noqa: E402
from lexmotion.errors import LexmotionError  # noqa: E402

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
NUMBERS = st.sampled_from(["nan", "inf", "-inf", "1e308", "-0", "", "x", "1e-400", "3"])


def mutate(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    """``data`` truncated at ``cut`` (a fraction of 10,000) with bytes replaced at (position, value)."""
    out = bytearray(data[: len(data) * cut // 10_000])
    for pos, value in flips:
        if out:
            out[pos % len(out)] = value
    return bytes(out)


MUTATIONS = dict(cut=st.integers(0, 10_000), flips=st.lists(st.tuples(st.integers(0, 10 ** 9), st.integers(0, 255)),
                                                             max_size=8))


@pytest.fixture(scope="module")
def real_bvh(bandai_slice) -> bytes:
    return next(bandai_slice.rglob("*.bvh")).read_bytes()


def check_bvh(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "clip.bvh"
        path.write_bytes(data)
        try:
            bvh, joints = read_bvh(path)
        except LexmotionError:
            return
        assert joints.ndim == 3 and joints.shape[1:] == (len(bvh.joints), 3) and np.isfinite(joints).all()


@FUZZ
@given(**MUTATIONS)
def test_bvh_reader_on_damaged_real_files(real_bvh, cut, flips):
    check_bvh(mutate(real_bvh, cut, flips))


@FUZZ
@given(data=st.binary(max_size=2000))
def test_bvh_reader_on_random_bytes(data):
    check_bvh(data)


@FUZZ
@given(line=st.integers(0, 10 ** 6), value=NUMBERS)
def test_bvh_reader_on_nan_and_inf_in_the_motion(real_bvh, line, value):
    text = real_bvh.decode("utf-8", "replace").splitlines()
    start = next(i for i, t in enumerate(text) if t.startswith("Frame Time")) + 1
    row = start + line % max(1, len(text) - start) if len(text) > start else start
    if row < len(text):
        numbers = text[row].split()
        numbers[line % max(1, len(numbers))] = value
        text[row] = " ".join(numbers)
    check_bvh("\n".join(text).encode())


@pytest.fixture(scope="module")
def kitml_folder(kitml_slice, tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz-kitml")
    shutil.copytree(kitml_slice / "joints", out / "joints")
    shutil.copy(kitml_slice / "skeleton.json", out)
    return out


ANNOTATION_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                                             inner, max_size=3),
                                 max_leaves=6)


@FUZZ
@given(**MUTATIONS, extra=st.dictionaries(st.sampled_from(["id", "texts", "fps", "split", "same_motion_as",
                                                           "cmu_trial"]), ANNOTATION_VALUES, max_size=4))
def test_annotations_reader(kitml_folder, kitml_slice, cut, flips, extra):
    real = (kitml_slice / "annotations.jsonl").read_bytes()
    lines = real.splitlines()
    replaced = json.dumps({**json.loads(lines[0]), **extra}).encode()
    (kitml_folder / "annotations.jsonl").write_bytes(mutate(b"\n".join([replaced, *lines[1:]]), cut, flips))
    try:
        items = list(import_kitml_cmu(kitml_folder, {}))
    except LexmotionError:
        return
    for item in items:
        if not isinstance(item, Skipped):
            assert isinstance(item["id"], str) and item["texts"] and all(isinstance(t, str) for t in item["texts"])
            assert item["fps"] > 0 and np.isfinite(item["joints"]).all()


@FUZZ
@given(**MUTATIONS)
def test_npy_reader_on_damaged_real_files(kitml_slice, cut, flips):
    real = next((kitml_slice / "joints").glob("*.npy")).read_bytes()
    check_npy(mutate(real, cut, flips))


@FUZZ
@given(shape=st.lists(st.integers(0, 30), min_size=0, max_size=4),
       fill=st.sampled_from([0.0, 1.0, np.nan, np.inf, -np.inf, 1e30]),
       dtype=st.sampled_from(["float32", "float64", "int16", "bool", "complex64", "U3"]))
def test_npy_reader_on_odd_arrays(shape, fill, dtype):
    array = np.random.default_rng(0).normal(size=shape)
    if array.size:
        array.flat[0] = fill
    with tempfile.TemporaryDirectory() as d:
        np.save(Path(d) / "m.npy", array.astype(dtype) if dtype != "U3" else array.astype(str))
        check_npy((Path(d) / "m.npy").read_bytes())


def check_npy(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "clip.npy"
        path.write_bytes(data)
        try:
            clip = read_motion_file(str(path))
        except LexmotionError:
            return
        joints = clip["joints"]
        assert joints.ndim == 3 and joints.shape[1] == clip["skeleton"].num_joints and np.isfinite(joints).all()


@pytest.fixture(scope="module")
def index_folder(tiny_setup, tmp_path_factory):
    from lexmotion.app.cli import main
    root = tmp_path_factory.mktemp("fuzz-index")
    common = ["--data", str(tiny_setup / "kit"), "--config", str(tiny_setup / "tiny.json"), "--batch-size", "4",
              "--max-steps", "1", "--wandb", "disabled", "--quiet"]
    assert main(["pretrain", "lexcmlp", "--out", str(root / "lex"), *common]) == 0
    for backend in ("faiss", "sparse-ivf"):
        assert main(["index", "build", "--model", str(root / "lex"), "--data", str(tiny_setup / "kit"), "--split",
                     "all", "--out", str(root / backend), "--backend", backend]) == 0
    return root


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(backend=st.sampled_from(["faiss", "sparse-ivf"]),
       name=st.sampled_from(["index.json", "items.jsonl", "vectors.npz", "faiss.index", "sparse_ivf.npz"]), **MUTATIONS)
def test_index_loader(index_folder, backend, name, cut, flips):
    from retrieval.index import Index
    with tempfile.TemporaryDirectory() as d:
        copy = Path(d) / "idx"
        shutil.copytree(index_folder / backend, copy)
        if (copy / name).is_file():
            (copy / name).write_bytes(mutate((copy / name).read_bytes(), cut, flips))
        try:
            index = Index.load(copy)
        except LexmotionError:
            return
        scores, top = index.search_vectors(np.ones((1, index.raw_vectors.shape[1]), dtype=np.float32), 3)
        assert top.shape == (1, 3) and np.isfinite(scores[top >= 0]).all()
