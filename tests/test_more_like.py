"""Searching a motion index with a motion (`search --motion FILE`, `search --like ID`): the motions most like
it, by the cosine of the two motion vectors, explained by words both motions show."""
import json

import numpy as np
import pytest
from test_hardening import fails

import lexmotion
from lexmotion.app.cli import main
from lexmotion.data.dataset import MotionDataset


@pytest.fixture(scope="module")
def index(served_models, tiny_setup, tmp_path_factory):
    out = tmp_path_factory.mktemp("like") / "idx"
    assert main([str(a) for a in ["index", "build", "--model", served_models / "lex", "--data", tiny_setup / "kit",
                                  "--split", "all", "--out", out, "--backend", "sparse", "--quiet"]]) == 0
    return out


def _search(capsys, *argv) -> list[dict]:
    assert main([str(a) for a in ["search", *argv, "--json"]]) == 0
    return json.loads(capsys.readouterr().out)["hits"]


def test_like_ranks_the_other_motions_by_the_cosine_of_the_motion_vectors(capsys, index, served_models, tiny_setup):
    ds = MotionDataset(tiny_setup / "kit")
    ids = list(ds.table["id"])
    hits = _search(capsys, "--index", index, "--like", ids[0], "-k", len(ids))
    assert [h["id"] for h in hits if h["id"] == ids[0]] == [] and len(hits) == len(ids) - 1
    model = lexmotion.load(served_models / "lex")
    vectors = model.encode_motion([ds.clip(i) for i in ids]).to_dense().numpy()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = dict(zip(ids, unit @ unit[0]))
    assert [h["score"] for h in hits] == pytest.approx([cosine[h["id"]] for h in hits], abs=1e-4)
    assert all("prior" not in h for h in hits)          # the hub prior corrects text queries, not this one
    for h in hits:
        for t in h["terms"]:                            # words both motions show (no thresholds here: weight > 0)
            assert t["query_weight"] > 0 and t["item_weight"] > 0


def test_a_motion_file_finds_itself_first(capsys, index, tiny_setup, tmp_path):
    row = MotionDataset(tiny_setup / "kit").row(3)
    np.save(tmp_path / "clip.npy", row["joints"])
    hits = _search(capsys, "--index", index, "--motion", tmp_path / "clip.npy", "--fps", row["fps"], "-k", 3)
    assert hits[0]["id"] == row["id"] and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_bad_input_is_one_line(capsys, index, served_models, tiny_setup, tmp_path):
    some_id = MotionDataset(tiny_setup / "kit").table["id"][0]
    fails(capsys, ["search", "--index", index, "--like", some_id, "a person walks"], "--like ID searches with that clip alone")
    fails(capsys, ["search", "--index", index, "--like", "no-such-clip"], "no clip with id")
    texts = tmp_path / "texts"
    assert main([str(a) for a in ["index", "build", "--model", served_models / "lex", "--data", tiny_setup / "kit",
                                  "--split", "all", "--out", texts, "--texts", "--quiet"]]) == 0
    capsys.readouterr()
    fails(capsys, ["search", "--index", texts, "--like", some_id], "--like needs an index of motions")


def test_between_two_motions_a_near_word_is_as_near_as_the_weaker_weight():
    from retrieval.index import Hit
    hit = Hit("b", 0.8, ["a person kicks"], [], near=[("kick", 1.80, 1.93)], both=True)
    assert hit.because() == "no shared word is over its threshold in both motions; nearest: kick (the weaker 1.80 of 1.93)"
    assert hit.to_dict()["near_in_both"] is True
    assert "near_in_both" not in Hit("b", 0.8, [], [], near=[("kick", 1.80, 1.93)]).to_dict()
