"""The hub prior: a clip's log-mean-exp cosine to a bank of training captions, written by LexCMLP and dense
and by `lexmotion index querybank` (into a new folder), subtracted from a text query's scores exactly by an
index (fetching more candidates when a prior could lift one from further down) and by `eval retrieval`."""
import json

import numpy as np
import pytest
import torch
from conftest import pretrain_tiny
from test_hardening import fails
from test_no_data_loss import snapshot

from lexmotion.app.cli import main
from lexmotion.models.querybank import BETA, clip_priors
from retrieval.index import Index, moment_hits


class Texts:
    """A stand-in model whose captions encode to fixed dense vectors."""

    def __init__(self, table: dict):
        self.table = table

    def encode_text(self, texts):
        return torch.tensor(np.stack([self.table[t] for t in texts]), dtype=torch.float32)


def test_the_prior_is_the_log_mean_exp_of_the_bank_cosines():
    rng = np.random.default_rng(0)
    bank = {f"c{i}": rng.normal(size=8) for i in range(5)}
    clips = rng.normal(size=(7, 8)).astype(np.float32)
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)          # noqa: E731
    cos = unit(np.stack(list(bank.values()))) @ unit(clips).T               # (bank, clips)
    for beta in (1.0, 20.0):
        expected = np.log(np.exp(beta * cos).mean(axis=0)) / beta
        got = clip_priors(Texts(bank), {"beta": beta, "texts": list(bank)}, clips)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # a large beta neither overflows nor leaves the soft maximum: it nears the largest cosine
    sharp = clip_priors(Texts(bank), {"beta": 1e4, "texts": list(bank)}, clips)
    assert np.all(np.isfinite(sharp)) and np.allclose(sharp, cos.max(axis=0), atol=1e-3)


def _index(vectors, priors, items=None, window=False):
    meta = {"backend": "torch", "kind": "dense", "collection": "motions", "querybank": {"beta": 20, "captions": 3}}
    if window:
        meta.update(window=2.0, stride=1.0)
    items = items or [{"id": f"m{i}", "texts": [""]} for i in range(len(vectors))]
    for item, p in zip(items, priors):
        item["prior"] = float(p)
    return Index.create(meta, items, vectors)


def test_an_index_ranks_by_cosine_less_prior_exactly():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    priors = rng.uniform(0.0, 0.3, size=300).astype(np.float32)
    query = rng.normal(size=16).astype(np.float32)
    cos = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)) @ (query / np.linalg.norm(query))
    worst = int(np.argmin(cos))
    priors[worst] = -3.0                       # the lowest cosine, lifted to the top by its prior
    index = _index(vectors, priors)
    want = np.argsort(-(cos - priors))
    for k in (1, 5, 20):
        found = index._ranked(query, k, None, index.priors)
        assert [i for _, i, _, _ in found] == want[:k].tolist()
        np.testing.assert_allclose([s for s, *_ in found], (cos - priors)[want[:k]], rtol=1e-5)
    assert index._ranked(query, 1, None, index.priors)[0][1] == worst
    # allowed items only, with the prior too
    allowed = np.zeros(300, dtype=bool)
    allowed[::3] = True
    found = index._ranked(query, 4, allowed, index.priors)
    assert [i for _, i, _, _ in found] == [int(i) for i in want if allowed[i]][:4]
    # without the prior (a caption index, an index without a bank) the plain cosine ranks
    assert [i for _, i, _, _ in index._ranked(query, 3)] == np.argsort(-cos)[:3].tolist()


def test_a_windowed_index_merges_windows_after_the_prior():
    rng = np.random.default_rng(2)
    items = [{"id": f"c{i // 4}", "texts": [""], "start": float(i % 4), "end": float(i % 4) + 2} for i in range(80)]
    vectors = rng.normal(size=(80, 8)).astype(np.float32)
    priors = rng.uniform(0, 0.2, size=80)
    index = _index(vectors, priors, items, window=True)
    query = rng.normal(size=8).astype(np.float32)
    cos = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)) @ (query / np.linalg.norm(query))
    found = index._ranked(query, 3, None, index.priors)
    best = int(np.argmax(cos - priors))
    assert found[0][1] == best and found[0][0] == pytest.approx(float(cos[best] - priors[best]), rel=1e-5)
    score = cos - priors
    order = np.argsort(-score)
    brute = moment_hits([(float(score[i]), int(i)) for i in order], lambda i: (items[i]["id"], items[i]["start"], items[i]["end"]),
                        lambda clip: [(it["start"], it["end"], float(score[i])) for i, it in enumerate(items) if it["id"] == clip],
                        k=3)
    assert [(i, a, b) for _, i, a, b in found] == [(i, a, b) for _, i, a, b in brute]   # the moments, grown by every window


@pytest.fixture(scope="module")
def banked(tiny_setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("querybank")
    assert pretrain_tiny(tiny_setup, "lexcmlp", root / "lex") == 0
    return root


def test_lexcmlp_writes_its_training_captions_as_the_bank(banked, tiny_setup):
    from lexmotion.data.dataset import MotionDataset
    bank = json.loads((banked / "lex" / "querybank.json").read_text())
    ds = MotionDataset(tiny_setup / "kit")
    train = {t.strip() for i in ds.split_indices("train") for t in ds.table["texts"][i] if t.strip()}
    held_out = {t.strip() for s in ("val", "test") for i in ds.split_indices(s) for t in ds.table["texts"][i]}
    assert set(bank["texts"]) == train and not (held_out - train) & set(bank["texts"])
    assert bank["beta"] == BETA


def test_querybank_writes_a_new_checkpoint_that_indexes_and_eval_use(capsys, banked, tiny_setup, tmp_path):
    before = snapshot(banked / "lex")
    out = tmp_path / "qb"
    assert main([str(a) for a in ["index", "querybank", "--model", banked / "lex", "--data", tiny_setup / "kit",
                                  "--beta", 5, "--out", out]]) == 0
    assert snapshot(banked / "lex") == before                       # the given checkpoint untouched
    assert json.loads((out / "querybank.json").read_text())["beta"] == 5.0
    assert main([str(a) for a in ["index", "build", "--model", out, "--data", tiny_setup / "kit", "--split", "all",
                                  "--out", tmp_path / "idx", "--backend", "sparse"]]) == 0
    items = [json.loads(line) for line in (tmp_path / "idx" / "items.jsonl").read_text().splitlines()]
    assert len(items) == 12 and all(np.isfinite(i["prior"]) for i in items)
    capsys.readouterr()
    assert main([str(a) for a in ["search", "--index", tmp_path / "idx", "a person walks forward", "-k", 3,
                                  "--json"]]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    prior = {i["id"]: i["prior"] for i in items}
    assert len(hits) == 3 and all(h["prior"] == pytest.approx(prior[h["id"]], abs=1e-4) for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert main([str(a) for a in ["index", "build", "--model", out, "--data", tiny_setup / "kit", "--split", "all",
                                  "--out", tmp_path / "win", "--backend", "sparse", "--window", 2]]) == 0
    assert "prior" not in (tmp_path / "win" / "items.jsonl").read_text()      # windows hold no prior
    assert "querybank" not in json.loads((tmp_path / "win" / "index.json").read_text())
    for flag, said in (([], "beta 5, "), (["--no-querybank"], "none")):
        assert main([str(a) for a in ["eval", "retrieval", "--model", out, "--data", tiny_setup / "kit", "--split",
                                      "all", "--json", tmp_path / "e.json", *flag]]) == 0
        assert json.loads((tmp_path / "e.json").read_text())["details"]["hub_prior"].startswith(said)


def test_bad_querybank_input_is_one_line(capsys, banked, tiny_setup, tmp_path):
    fails(capsys, ["index", "querybank", "--model", banked / "lex", "--data", tiny_setup / "kit", "--beta", 0,
                   "--out", tmp_path / "a"], "--beta must be a positive number")
    fails(capsys, ["index", "querybank", "--model", banked / "lex", "--data", tmp_path / "nowhere",
                   "--out", tmp_path / "b"], "no such dataset folder")
    fails(capsys, ["index", "querybank", "--model", tmp_path / "nothing", "--data", tiny_setup / "kit",
                   "--out", tmp_path / "c"])
    assert not any((tmp_path / n).exists() for n in "abc")
    (tmp_path / "empty").mkdir()
    fails(capsys, ["index", "querybank", "--model", banked / "lex", "--data", tmp_path / "empty",
                   "--out", tmp_path / "d"], "not a lexmotion dataset")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's file\n")
    fails(capsys, ["index", "querybank", "--model", banked / "lex", "--data", tiny_setup / "kit", "--out", mine],
          "did not make")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]              # the user's folder untouched


def test_a_damaged_bank_is_one_line(capsys, banked, tiny_setup, tmp_path):
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(banked / "lex", broken)
    (broken / "querybank.json").write_text(json.dumps({"beta": 0, "texts": ["a person walks"]}))
    fails(capsys, ["eval", "retrieval", "--model", broken, "--data", tiny_setup / "kit", "--split", "all"],
          "damaged query bank", "lexmotion index querybank")


def test_a_hit_keeps_its_score_and_prior_to_six_places():
    """The search page prints a hit's score and cosine (score + prior) to 3 places from the JSON; rounded to 4
    first, 0.14153 became 0.1415 and then 0.141, where `lexmotion search` printed 0.142."""
    from retrieval.index import Hit
    hit = Hit("a", 0.14153, [], [], prior=0.18107).to_dict()
    assert hit["score"] == 0.14153 and f"{hit['score']:.3f}" == "0.142"
    assert f"{hit['score'] + hit['prior']:.3f}" == f"{0.14153 + 0.18107:.3f}"
