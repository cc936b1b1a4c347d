"""Keyword constraints (+word / -word): parsing, one-line refusals, and every backend against brute force."""
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import pretrain_tiny

from lexmotion.errors import BadValueError, EmptyQueryError
from retrieval.constraints import Constraint, allowed_items, describe, parse, split_query
from retrieval.index import Index


@pytest.mark.parametrize("query, text, found", [
    ("a person kicks +left -jump", "a person kicks", [("+", "left"), ("-", "jump")]),
    ("+left someone kicks", "someone kicks", [("+", "left")]),
    ("a t-pose, then a wave", "a t-pose, then a wave", []),        # a hyphen inside a word is no constraint
    ("walk - then + run", "walk - then + run", []),                  # nor a lone sign
    ("someone waves -right\t+hand", "someone waves", [("-", "right"), ("+", "hand")]),
])
def test_split_query(query, text, found):
    assert split_query(query) == (text, found)


def test_constraint_words_must_be_one_vocabulary_word():
    from lexmotion.models.text import load_text_backbone
    tokenizer = load_text_backbone()[0]
    text, constraints = parse("a person kicks +Left -jump", tokenizer)
    assert text == "a person kicks" and [str(c) for c in constraints] == ["+left", "-jump"]
    assert constraints[0].word_id == tokenizer.convert_tokens_to_ids("left")
    with pytest.raises(BadValueError, match=r"\+juggles: not a word of the model's vocabulary \(it is the pieces "
                                            r"jug ##gles: constrain one of them, e.g. \+jug\)"):
        parse("a person +juggles", tokenizer)
    with pytest.raises(EmptyQueryError, match="no description"):
        parse("+left -jump", tokenizer)


def test_allowed_items_counts_what_each_constraint_removes():
    vectors = sp.csr_matrix(np.array([[1, 0, 2], [0, 1, 0], [3, 1, 0], [0, 0, 0]], dtype=np.float32)).tocsc()
    plus, minus = Constraint("+", "a", 0), Constraint("-", "b", 1)
    assert allowed_items(vectors, [plus, minus]).tolist() == [True, False, False, False]
    assert (plus.removed, minus.removed) == (2, 2)
    limits = np.array([2.0, 0.0, 0.0])                 # calibrated: "a" needs a weight over 2
    assert allowed_items(vectors, [plus], limits).tolist() == [False, False, True, False] and plus.removed == 3


def test_a_plus_word_that_removes_everything_says_how_to_calibrate_for_these_motions():
    vectors = sp.csr_matrix(np.array([[1, 0], [0.5, 1]], dtype=np.float32)).tocsc()
    plus = Constraint("+", "a", 0)
    allowed_items(vectors, [plus], np.array([2.0, 0.0]))         # thresholds set on other motions
    thresholds = {"global": 2.0, "per_word": {}, "data": ["data/kitml"]}
    assert plus.removed == 2 and "calibrated on data/kitml" in describe([plus], 2, thresholds)
    allowed_items(vectors, [plus], np.array([0.8, 0.0]))
    assert plus.removed == 1 and "calibrate" not in describe([plus], 2, thresholds)
    assert "has no calibrated thresholds" in describe([plus], 2, None)


def _collection(n=600, vocab=3000, seed=0):
    """Random sparse vectors with a popular word (column 7, ~40% of items) and a rarer one (column 11, ~5%)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        cols = rng.choice(np.arange(20, vocab), size=25, replace=False)
        if rng.random() < 0.4:
            cols = np.append(cols, 7)
        if rng.random() < 0.05:
            cols = np.append(cols, 11)
        rows.append(sp.csr_matrix((rng.random(len(cols)).astype(np.float32) + 0.1, (np.zeros(len(cols), int), cols)),
                                  shape=(1, vocab)))
    return sp.vstack(rows).tocsr()


def _index(raw, backend):
    meta = {"backend": backend, "kind": "lexical", "collection": "motions", "n": raw.shape[0]}
    return Index.create(meta, [{"id": str(i), "texts": []} for i in range(raw.shape[0])], raw)


BACKENDS = ["sparse", "sparse-ivf", "faiss", "faiss-ivf", "faiss-hnsw", "torch"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_constrained_search_equals_brute_force(backend):
    if backend.startswith("faiss"):
        pytest.importorskip("faiss")
    if backend == "sparse-ivf":
        pytest.importorskip("numba")
    raw = _collection()
    index = _index(raw, backend)
    if backend == "faiss-ivf":
        index.set_search_parameters(nprobe=index.backend.engine.nlist)          # every list: exact
    if backend == "faiss-hnsw":
        index.set_search_parameters(ef_search=600)
    unit = raw.multiply(1 / np.sqrt(raw.multiply(raw).sum(axis=1))).tocsr()
    for constraints in ([Constraint("+", "w7", 7)], [Constraint("-", "w7", 7)],
                        [Constraint("+", "w7", 7), Constraint("-", "w11", 11)], [Constraint("+", "w11", 11)]):
        allowed = allowed_items(raw.tocsc(), constraints)
        for q in range(5):
            query = raw[q * 37].toarray()                  # an item's own words: scores are not all 0
            scores, top = index.search_vectors(query, 10, allowed)
            got = [int(i) for s, i in zip(scores[0], top[0]) if i >= 0 and s > -np.inf]
            brute = (unit @ (query[0] / np.linalg.norm(query[0])))
            brute[~allowed] = -np.inf
            expected = [int(i) for i in np.argsort(-brute, kind="stable")[:10] if brute[i] > -np.inf]
            assert all(allowed[got]), (backend, constraints)
            assert np.allclose(np.sort(brute[got]), np.sort(brute[expected]), atol=1e-5), (backend, constraints, q)


def test_sparse_ivf_visits_more_clusters_until_k_allowed_items():
    pytest.importorskip("numba")
    raw = _collection(n=2000)
    index = _index(raw, "sparse-ivf").set_search_parameters(nprobe=1)
    rare = [Constraint("+", "w11", 11)]
    allowed = allowed_items(raw.tocsc(), rare)
    scores, top = index.search_vectors(raw[5].toarray(), 10, allowed)
    assert (top[0] >= 0).all() and allowed[top[0]].all()          # ~100 allowed items, 10 found


def test_seismic_and_dense_refuse_constraints_in_one_line():
    raw = _collection(n=50)
    index = _index(raw, "sparse")
    from retrieval.seismic_backend import SeismicBackend
    index.backend = SeismicBackend(None)          # refused before its engine is asked anything
    with pytest.raises(BadValueError, match="not seismic"):
        index.search_vectors(raw[0].toarray(), 5, np.ones(50, dtype=bool))


def test_search_command_prints_what_each_constraint_removed(tiny_setup, tmp_path, capsys):
    import json

    from lexmotion.app.cli import main
    assert pretrain_tiny(tiny_setup, "lexcmlp", tmp_path / "lex", 1) == 0
    assert pretrain_tiny(tiny_setup, "dense", tmp_path / "dense", 1) == 0
    for name in ("lex", "dense"):
        assert main([str(a) for a in ["index", "build", "--model", tmp_path / name, "--data", tiny_setup / "kit",
                                      "--split", "all", "--out", tmp_path / f"idx-{name}", "--backend", "torch"]]) == 0
    index = Index.load(tmp_path / "idx-lex")
    word_id = int(np.argmax(index.raw_vectors.getnnz(axis=0)))        # the word most items carry
    from lexmotion.models.checkpoint import load
    word = load(tmp_path / "lex").tokenizer.convert_ids_to_tokens(word_id)
    capsys.readouterr()
    assert main(["search", "--index", str(tmp_path / "idx-lex"), f"a person walks -{word}", "-k", "12", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    carriers = set(np.flatnonzero(index.raw_vectors[:, word_id].toarray().ravel() > 0))
    assert out["constraints"] == [{"constraint": f"-{word}", "word_id": word_id, "removed": len(carriers)}]
    ids = [it["id"] for it in index.items]
    assert {h["id"] for h in out["hits"]} <= {ids[i] for i in range(len(ids)) if i not in carriers}
    assert main(["search", "--index", str(tmp_path / "idx-lex"), f"a person walks +{word}", "-k", "3"]) == 0
    assert f"constraints: +{word} removed {len(ids) - len(carriers)} of {len(ids)} items" in capsys.readouterr().out
    assert main(["search", "--index", str(tmp_path / "idx-dense"), "a person walks +left"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: keyword constraints (+left) need a lexical model") and err.count("\n") == 1
    assert main(["search", "--index", str(tmp_path / "idx-lex"), "a person walks +juggles"]) == 2
    assert "not a word of the model's vocabulary" in capsys.readouterr().err


def test_every_backend_is_registered_under_its_own_name():
    from retrieval.backend import BACKENDS, Backend, backend_class
    for name in BACKENDS:
        cls = backend_class(name)
        assert issubclass(cls, Backend) and cls.name == name
