"""Test-time mirror averaging (the model config's ``mirror_average``): a clip's served vector is the mean of
its own and its mirror image's, so a clip and its mirror image get vectors that are each other's with left
and right swapped (lexical), or the same vector (dense)."""
import json

import numpy as np
import pytest
import torch

from lexmotion.data.dataset import MotionDataset
from lexmotion.data.features import mirror_joints
from lexmotion.errors import LexmotionError
from lexmotion.models.checkpoint import load


@pytest.fixture(scope="module")
def models(served_models):
    return served_models


def _clips(setup):
    ds = MotionDataset(setup / "kit")
    clips, mirrored = [], []
    for i in range(4):
        row = ds.row(i)
        skeleton = ds.skeleton(row["skeleton"])
        clips.append({"joints": row["joints"], "fps": float(row["fps"]), "skeleton": skeleton})
        mirrored.append({**clips[-1], "joints": mirror_joints(row["joints"], skeleton)})
    return clips, mirrored


def _dense(v):
    return (v.to_dense() if v.is_sparse else v).numpy()


def test_lexical_mirror_images_get_swapped_vectors(tiny_setup, models):
    model = load(models / "lex")
    model.config.motion_max_words = 0                  # no top-k cut, whose ties could pick other words
    clips, mirrored = _clips(tiny_setup)
    plain, plain_mirrored = _dense(model.encode_motion(clips)), _dense(model.encode_motion(mirrored))
    model.config.mirror_average = True
    vectors, vectors_mirrored = _dense(model.encode_motion(clips)), _dense(model.encode_motion(mirrored))
    order = model.mirror_words().numpy()
    vocab = model.tokenizer.get_vocab()
    assert order[vocab["left"]] == vocab["right"] and order[vocab["right"]] == vocab["left"]
    assert (order[order] == np.arange(len(order))).all()
    assert np.abs(plain - plain_mirrored[:, order]).max() > 1e-3   # the network alone is not mirror-symmetric
    np.testing.assert_allclose(vectors_mirrored, vectors[:, order], atol=1e-5)
    np.testing.assert_allclose(vectors, (plain + plain_mirrored[:, order]) / 2, atol=1e-5)


def test_lexical_mirror_average_keeps_the_served_word_cap(tiny_setup, models):
    model = load(models / "lex")
    model.config.motion_max_words, model.config.mirror_average = 5, True
    vectors = _dense(model.encode_motion(_clips(tiny_setup)[0]))
    assert ((vectors > 0).sum(1) <= 5).all() and (vectors > 0).any()


def test_dense_mirror_images_get_one_vector(tiny_setup, models):
    model = load(models / "dense")
    model.config.mirror_average = True
    clips, mirrored = _clips(tiny_setup)
    np.testing.assert_allclose(_dense(model.encode_motion(clips)), _dense(model.encode_motion(mirrored)), atol=1e-5)


def test_mirror_average_in_the_checkpoint_config(models, tmp_path):
    import shutil
    copy = tmp_path / "lex"
    shutil.copytree(models / "lex", copy)
    config = json.loads((copy / "config.json").read_text())
    config["model"]["mirror_average"] = True
    (copy / "config.json").write_text(json.dumps(config))
    assert load(copy).config.mirror_average is True
    config["model"]["mirror_average"] = "yes"
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(LexmotionError, match="mirror_average is 'yes'"):
        load(copy)


def test_mirror_motion_is_an_involution(models):
    model = load(models / "lex")
    x = torch.randn(2, 7, 105)
    torch.testing.assert_close(model.mirror_motion(model.mirror_motion(x)), x, atol=1e-4, rtol=1e-4)


def test_eval_retrieval_mirror_average_option(tiny_setup, models, tmp_path):
    from lexmotion.app.cli import main
    for flag, expected in (("--mirror-average", True), ("--no-mirror-average", False)):
        out = tmp_path / f"{flag}.json"
        assert main(["eval", "retrieval", "--model", str(models / "lex"), "--data", str(tiny_setup / "kit"),
                     "--split", "train", flag, "--json", str(out)]) == 0
        assert json.loads(out.read_text())["details"]["mirror_average"] is expected
