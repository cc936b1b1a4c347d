"""Bounded work: a checkpoint's config.json is checked before anything is allocated, and every motion
reader refuses what its header asks for beyond the limits before it reads the frames."""
import io
import json
import resource
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import pretrain_tiny
from test_hardening import fails

from lexmotion.app.cli import main
from lexmotion.data.features import FEATURE_DIM, part_features
from lexmotion.data.limits import DEFAULT_LIMITS, ReadLimits
from lexmotion.data.motion_file import read_motion_bytes
from lexmotion.data.skeletons import REGISTRY
from lexmotion.errors import LexmotionError
from lexmotion.models import validate


@pytest.fixture(scope="module")
def ckpt(tiny_setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    assert pretrain_tiny(tiny_setup, "lexcmlp", root / "lex", 1) == 0
    return root / "lex"


def edited(ckpt, tmp_path, change) -> str:
    """A copy of CKPT whose config.json's model section went through CHANGE."""
    out = tmp_path / "edited"
    shutil.copytree(ckpt, out)
    cfg = json.loads((out / "config.json").read_text())
    change(cfg["model"])
    (out / "config.json").write_text(json.dumps(cfg))
    return out


ABSURD = {
    "motion dim 10^9": (lambda m: m["motion"].update(dim=10 ** 9), "dim"),
    "depth 10^9": (lambda m: m["motion"].update(depth=10 ** 9), "depth"),
    "heads 0": (lambda m: m["motion"].update(heads=0), "heads"),
    "patch_frames 0": (lambda m: m["motion"].update(patch_frames=0), "patch_frames"),
    "max_text_len 10^9": (lambda m: m.update(max_text_len=10 ** 9), "max_text_len"),
    "negative dense_dim": (lambda m: m.update(dense_dim=-5), "dense_dim"),
    "unknown key": (lambda m: m.update(layers=3), "unknown key"),
    "a kind that is not one": (lambda m: m.update(kind="sparse"), "kind"),
    "a dim the weights do not have": (lambda m: m["motion"].update(dim=64, heads=2), "model.safetensors"),
    "depth the weights do not have": (lambda m: m["motion"].update(depth=3), "model.safetensors"),
    "a string where a number is due": (lambda m: m["motion"].update(dim="32"), "dim"),
    "NaN floor": (lambda m: m.update(own_word_floor=float("nan")), "own_word_floor"),
}


@pytest.mark.parametrize("case", ABSURD)
def test_an_edited_config_is_one_line_before_anything_is_built(capsys, ckpt, tiny_setup, tmp_path, case):
    change, named = ABSURD[case]
    folder = edited(ckpt, tmp_path, change)
    fails(capsys, ["index", "build", "--model", folder, "--data", tiny_setup / "kit", "--out", tmp_path / "idx"], named)
    assert not (tmp_path / "idx").exists()


def test_a_text_model_path_outside_the_checkpoint_is_refused(capsys, ckpt, tiny_setup, tmp_path):
    folder = edited(ckpt, tmp_path, lambda m: m.update(text_model="../../../../etc"))
    shutil.rmtree(folder / "text_model")          # only then would the name be used to load anything
    fails(capsys, ["index", "build", "--model", folder, "--data", tiny_setup / "kit", "--out", tmp_path / "i"],
          "outside the checkpoint")
    with pytest.raises(LexmotionError, match="outside the checkpoint"):
        validate.check_text_model_name("/etc/passwd", False, "cfg")
    validate.check_text_model_name("sentence-transformers/all-mpnet-base-v2", False, "cfg")   # a hub id


def test_an_edited_text_model_config_is_refused(capsys, ckpt, tiny_setup, tmp_path):
    folder = tmp_path / "t"
    shutil.copytree(ckpt, folder)
    text = json.loads((folder / "text_model" / "config.json").read_text())
    (folder / "text_model" / "config.json").write_text(json.dumps({**text, "hidden_size": 10 ** 9}))
    fails(capsys, ["index", "build", "--model", folder, "--data", tiny_setup / "kit", "--out", tmp_path / "i"],
          "hidden_size")


def test_the_refusal_is_quick_and_small(ckpt, tmp_path):
    """The issue's bound: exit 2 within 5 s, peak memory under 100 MB above `lexmotion --help`."""
    folder = edited(ckpt, tmp_path, lambda m: m["motion"].update(dim=10 ** 9))

    def peak(*argv):
        script = ("import resource, sys; from lexmotion.app.cli import main; code = main(sys.argv[1:]); "
                  "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)")
        started = time.time()
        run = subprocess.run([sys.executable, "-c", script, *map(str, argv)], capture_output=True, text=True)
        return run.returncode, int(run.stdout.split()[-1]), time.time() - started

    _, baseline, _ = peak("--help")
    code, refused, seconds = peak("export", folder, tmp_path / "out")
    assert code == 2 and seconds < 5 + 10        # 10 s for a cold interpreter and torch on a loaded machine
    assert refused - baseline < 100 * 1024, f"{(refused - baseline) / 1024:.0f} MB above --help"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


def test_an_index_remembers_the_model_config(capsys, ckpt, tiny_setup, tmp_path):
    idx = tmp_path / "idx"
    assert main([str(a) for a in ["index", "build", "--model", ckpt, "--data", tiny_setup / "kit", "--out", idx,
                                  "--backend", "sparse"]]) == 0
    assert len(json.loads((idx / "index.json").read_text())["model_config_sha1"]) == 40
    other = edited(ckpt, tmp_path, lambda m: m.update(motion_max_words=7))
    fails(capsys, ["search", "--index", idx, "--model", other, "a person walks"], "config.json differs")


def test_feature_dim_is_one_number():
    assert validate.FEATURE_DIM == FEATURE_DIM


# --- motion readers ----------------------------------------------------------------------
def _bvh(frames: int, frame_time: float, chain: int = 0) -> bytes:
    joints = ["Hips", "Spine", "Neck", "Head", "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm",
              "RightHand", "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot"]
    text = "HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
    body = "".join(f"JOINT {j}\n{{\nOFFSET 0 1 0\nCHANNELS 0\n" for j in joints[1:]) + "}\n" * (len(joints) - 1)
    deep = "".join(f"JOINT C{i}\n{{\nOFFSET 0 1 0\nCHANNELS 0\n" for i in range(chain)) + "}\n" * chain
    return (text + body + deep + "}\nMOTION\n" + f"Frames: {frames}\nFrame Time: {frame_time}\n"
            + "0 90 0 0 0 0\n" * frames).encode()


@pytest.mark.parametrize("name,content,fps,expected", [
    ("tiny-fps.npy", None, 1e-5, "fps"),
    ("nan-fps.npy", None, float("nan"), "fps"),
    ("inf-fps.npy", None, float("inf"), "fps"),
    ("text-fps.npy", None, "abc", "fps"),
    ("denormal.npy", None, 1e-300, "fps"),
    ("slow.bvh", _bvh(100, 99.0), None, "fps"),
    ("long.bvh", _bvh(2000, 0.5), None, "limit"),
    ("deep.bvh", _bvh(2, 1 / 30, chain=100_000), None, "joints"),
])
def test_a_header_that_asks_too_much_is_refused_at_once(name, content, fps, expected):
    if content is None:
        buf = io.BytesIO()
        np.save(buf, np.zeros((2, 21, 3), np.float32))
        content = buf.getvalue()
    started = time.time()
    with pytest.raises(LexmotionError, match=expected) as err:
        read_motion_bytes(name, content, fps if fps is not None else 20.0)
    assert time.time() - started < 2 and name in str(err.value) or "fps" in str(err.value)


def test_a_npy_header_larger_than_its_bytes_is_refused_before_numpy_allocates():
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 10, 21, 3)})
    with pytest.raises(LexmotionError, match="not a readable .npy"):
        read_motion_bytes("forged.npy", buf.getvalue() + bytes(1000), 20.0)


def test_clips_within_the_limits_read_exactly_as_before(sample_root):
    """A real clip read through the bounded reader gives the same features as the array itself."""
    path = next((sample_root / "joints").glob("*.npy"))
    clip = read_motion_bytes(path.name, path.read_bytes(), 12.0)
    skeleton = REGISTRY["kitml-cmu"]
    np.testing.assert_array_equal(part_features(clip["joints"], 12.0, skeleton),
                                  part_features(np.load(path), 12.0, skeleton))


def test_limits_are_settable(capsys, tmp_path):
    assert ReadLimits(max_duration_s=5).max_duration_s == 5 and DEFAULT_LIMITS.max_duration_s == 600
    with pytest.raises(LexmotionError, match="limit"):
        read_motion_bytes("a.bvh", _bvh(200, 0.1), limits=ReadLimits(max_duration_s=5))
    fails(capsys, ["search", "--index", tmp_path, "--motion", tmp_path / "x.npy", "--max-duration-s", "-1"],
          "--max-duration-s")
