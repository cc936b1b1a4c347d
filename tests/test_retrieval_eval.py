"""`lexmotion eval retrieval` end to end on a tiny checkpoint, and each protocol against a naive version."""
import importlib.util
import json

import numpy as np
import pytest

from lexmotion.app.cli import main
from lexmotion.data.dataset import MotionDataset, build_dataset
from lexmotion.errors import LexmotionError
from retrieval.evaluate import build_dissimilar, deduplicate

pytestmark = pytest.mark.slow      # builds the whole kitml-cmu and trains on it


@pytest.fixture(scope="module")
def kit(kitml_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("ev") / "kit"
    build_dataset("kitml-cmu", kitml_root, out, progress=False)
    return out


@pytest.fixture(scope="module")
def ckpt(kit, tiny_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("ck") / "lexcmlp"
    assert main(["pretrain", "lexcmlp", "--data", str(kit), "--out", str(out), "--config", str(tiny_config),
                 "--batch-size", "8", "--max-steps", "2", "--wandb", "disabled", "--quiet"]) == 0
    return out


def test_kitml_dedup_removes_the_17_straddling_captures(kit):
    ds = MotionDataset(kit)
    kept, removed = deduplicate(ds, ds.split_indices("test"))
    assert removed == 17 and len(kept) == 103


def test_every_protocol_writes_fixed_keys(capsys, ckpt, kit, tmp_path):
    out = tmp_path / "r.json"
    assert main(["eval", "retrieval", "--model", str(ckpt), "--data", str(kit), "--protocol", "every",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "17 test clip(s) removed" in printed and "| lexcmlp | batch32 |" in printed
    results = json.loads(out.read_text())
    assert [r["protocol"] for r in results] == ["all", "threshold", "dissimilar", "batch32"]
    for r in results:
        assert list(r)[:4] == ["protocol", "n", "t2m", "m2t"]
        assert set(r["t2m"]) == {"R@1", "R@2", "R@3", "R@5", "R@10", "MedR"}
    assert results[0]["n"] == 103 and results[2]["n"] == 100 and results[3]["details"]["batches"] == 3
    # threshold only adds positives, so it can only improve ranks
    assert results[1]["t2m"]["R@10"] >= results[0]["t2m"]["R@10"]


def test_batch32_and_all_match_a_naive_per_query_loop(ckpt, kit):
    import torch

    import lexmotion
    from lexmotion.data.batching import MotionTextDataset
    from retrieval.evaluate import encode_split, evaluate

    model = lexmotion.load(ckpt)
    ds = MotionDataset(kit)
    kept, _ = deduplicate(ds, ds.split_indices("test"))
    items = MotionTextDataset(ds, "test", model.stats, model.config.motion.max_frames)
    items.rows = [r for r in items.rows if r["index"] in set(kept)]
    text, motion = encode_split(model, items)
    scores = (torch.nn.functional.normalize(text, dim=-1) @ torch.nn.functional.normalize(motion, dim=-1).T).numpy()

    def naive_recall(sub, k):
        hits = 0
        for q in range(len(sub)):
            order = sorted(range(len(sub)), key=lambda c: -sub[q, c])
            tie = [i + 1 for i, c in enumerate(order) if sub[q, c] == sub[q, q]]
            hits += sum(tie) / len(tie) <= k
        return 100 * hits / len(sub)

    order = np.random.RandomState(0).permutation(len(scores))
    per_batch = [naive_recall(scores[np.ix_(order[i:i + 32], order[i:i + 32])], 5) for i in (0, 32, 64)]
    plain = {"querybank": False}                  # the cosine itself; the hub prior is checked below
    assert evaluate(model, kit, "test", "batch32", **plain)["t2m"]["R@5"] == pytest.approx(np.mean(per_batch), abs=0.01)
    assert evaluate(model, kit, "test", "all", **plain)["t2m"]["R@10"] == pytest.approx(naive_recall(scores, 10), abs=0.01)
    from lexmotion.models.querybank import clip_priors, read_querybank
    hubbed = scores - clip_priors(model, read_querybank(ckpt), motion)[None]
    assert evaluate(model, kit, "test", "all")["t2m"]["R@10"] == pytest.approx(naive_recall(hubbed, 10), abs=0.01)


def test_several_seeds_give_mean_and_std_and_grounding(capsys, ckpt, kit, tmp_path):
    import shutil
    twin = tmp_path / "seed-copy"
    shutil.copytree(ckpt, twin)
    single, several = tmp_path / "one.json", tmp_path / "two.json"
    assert main(["eval", "retrieval", "--model", str(ckpt), "--data", str(kit), "--json", str(single)]) == 0
    assert main(["eval", "retrieval", "--model", str(ckpt), str(twin), "--data", str(kit), "--json", str(several)]) == 0
    printed = capsys.readouterr().out
    assert "mean ± std over 2 runs" in printed and "text_caption_word_recall@10" in printed
    one, two = json.loads(single.read_text()), json.loads(several.read_text())
    assert {"text_caption_word_recall@10", "text_top5_precision", "motion_any_hit@20", "motion_caption_word_recall@20",
            "stop_word_mass_text", "stop_word_mass_motion", "motion_nonzeros_median"} <= set(one["grounding"])
    summary = two["mean_std"][0]
    assert summary["runs"] == 2 and summary["t2m"]["R@1"] == {"mean": one["t2m"]["R@1"], "std": 0.0}
    assert summary["grounding"]["motion_any_hit@20"]["mean"] == pytest.approx(one["grounding"]["motion_any_hit@20"])
    # a missing seed is named before any work starts
    assert main(["eval", "retrieval", "--model", str(ckpt), str(tmp_path / "seed-9"), "--data", str(kit)]) == 2
    assert "seed-9: no such checkpoint folder" in capsys.readouterr().err


def test_dissimilar_selection_is_greedy_farthest_point():
    emb = np.eye(5)[[0, 0, 1, 2, 3]]          # items 0 and 1 are identical captions
    chosen = build_dissimilar(emb @ emb.T, size=4)
    assert len(chosen) == 4 and not {0, 1} <= set(chosen)


def test_eval_refuses_bad_input(capsys, kit, tmp_path):
    assert main(["eval", "retrieval", "--model", str(tmp_path / "none"), "--data", str(kit)]) == 2
    assert "no such checkpoint" in capsys.readouterr().err


@pytest.fixture(scope="module")
def indexes(ckpt, kit, tmp_path_factory):
    root = tmp_path_factory.mktemp("idx")
    backends = ["faiss", "faiss-ivf", "faiss-hnsw", "sparse", "sparse-ivf", "torch"]
    if importlib.util.find_spec("seismic"):
        backends.append("seismic")
    for backend in backends:
        assert main(["index", "build", "--model", str(ckpt), "--data", str(kit), "--split", "all",
                     "--out", str(root / backend), "--backend", backend]) == 0
    return root


def test_backends_agree_with_brute_force(ckpt, indexes):
    import lexmotion
    from retrieval.index import Index
    model = lexmotion.load(ckpt)
    queries = ["a person walks forward", "someone jumps", "a man waves with the right hand", "a person sits down"]
    q = model.encode_text(queries).to_dense().numpy()
    exact = Index.load(indexes / "faiss")
    brute = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ exact.vectors.T
    truth = np.argsort(-brute, axis=1)[:, :10]
    for backend in ("faiss", "sparse", "torch"):
        scores, top = Index.load(indexes / backend).search_vectors(q, 10)
        np.testing.assert_allclose(scores, np.take_along_axis(brute, top, axis=1), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.sort(scores, axis=1), np.sort(np.take_along_axis(brute, truth, axis=1), axis=1),
                                   rtol=1e-4, atol=1e-5)   # same scores, ties allowed in any order
    for backend in ("faiss-ivf", "faiss-hnsw"):
        _, top = Index.load(indexes / backend).search_vectors(q, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top, truth)])
        assert recall >= 0.8, backend


def test_sparse_ivf_is_exact_when_it_visits_every_cluster(ckpt, indexes):
    import lexmotion
    from retrieval.index import Index
    model = lexmotion.load(ckpt)
    q = model.encode_text(["a person walks forward", "someone jumps", "a person sits down", "waving"]).to_dense().numpy()
    truth_scores, _ = Index.load(indexes / "sparse").search_vectors(q, 10)
    ivf = Index.load(indexes / "sparse-ivf")          # saved and reloaded from sparse_ivf.npz
    assert ivf.backend.engine.nlist > 1
    ivf.set_search_parameters(nprobe=ivf.backend.engine.nlist)
    scores, top = ivf.search_vectors(q, 10)
    np.testing.assert_allclose(scores, truth_scores, rtol=1e-5, atol=1e-6)
    brute = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ ivf.vectors.T
    np.testing.assert_allclose(np.take_along_axis(brute, top, axis=1), scores, rtol=1e-5, atol=1e-6)
    ivf.set_search_parameters(nprobe=1)               # one cluster: still exact scores, fewer items
    scores, top = ivf.search_vectors(q, 10)
    found = top >= 0
    np.testing.assert_allclose(np.take_along_axis(brute, np.where(found, top, 0), axis=1)[found], scores[found],
                               rtol=1e-5, atol=1e-6)
    assert np.all(np.diff(np.where(found, scores, -9), axis=1) <= 0)


def test_sparse_ivf_recall_grows_with_nprobe_and_it_handles_edge_cases():
    import scipy.sparse as sp

    from retrieval.sparse_ivf import SparseIVF, SparseIVFConfig
    rng = np.random.default_rng(0)
    # 3000 vectors over 500 words, 40 topics of 12 words each: a clustered collection like real motions
    topics = rng.integers(0, 500, (40, 12))
    rows, cols, vals = [], [], []
    for i in range(3000):
        words = np.unique(np.concatenate([topics[rng.integers(40)], rng.integers(0, 500, 5)]))
        rows += [i] * len(words)
        cols += list(words)
        vals += list(rng.random(len(words)) + 0.1)
    x = sp.csr_matrix((vals, (rows, cols)), shape=(3000, 600), dtype=np.float32)
    x = sp.diags(1 / np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())) @ x
    q = x[rng.choice(3000, 50, replace=False)] + sp.random(50, 600, density=0.01, random_state=1)
    truth = np.argsort(-(q @ x.T).toarray(), axis=1)[:, :10]
    ivf = SparseIVF.build(x, SparseIVFConfig(nlist=40))
    recalls = []
    for nprobe in (1, 4, 40):
        _, top = ivf.search(q, 10, nprobe=nprobe, threads=1)
        recalls.append(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top, truth)]))
    assert recalls[0] < recalls[1] <= recalls[2] == 1.0
    # 2 threads give the same answer as 1
    np.testing.assert_array_equal(ivf.search(q, 10, nprobe=4, threads=2)[1], ivf.search(q, 10, nprobe=4, threads=1)[1])
    # a query of words no item uses scores 0 everywhere; more hits asked than exist: -1 ids
    unknown = sp.csr_matrix(([1.0], ([0], [599])), shape=(1, 600), dtype=np.float32)
    scores, top = ivf.search(unknown, 5, nprobe=40)
    assert np.all(scores == 0) and np.all(top >= 0)
    tiny = SparseIVF.build(x[:3])
    scores, top = tiny.search(q[:1], 5)
    assert list(top[0, 3:]) == [-1, -1] and np.all(np.isinf(scores[0, 3:]))
    with pytest.raises(LexmotionError, match="vocabulary columns"):
        ivf.search(sp.csr_matrix((1, 10), dtype=np.float32), 5)


def test_seismic_backend_matches_exact_search(ckpt, indexes):
    if not (indexes / "seismic").exists():
        pytest.skip("pyseismic-lsr is not installed (pip install 'lexmotion[seismic]')")
    import lexmotion
    from retrieval.index import Index
    model = lexmotion.load(ckpt)
    q = model.encode_text(["a person walks forward", "someone jumps", "a person sits down"]).to_dense().numpy()
    exact = Index.load(indexes / "sparse")
    seismic = Index.load(indexes / "seismic")      # saved and reloaded through seismic's own file
    truth_scores, _ = exact.search_vectors(q, 5)
    scores, top = seismic.search_vectors(q, 5)
    np.testing.assert_allclose(scores, truth_scores, rtol=1e-2, atol=1e-3)   # seismic stores weights in half precision
    brute = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ exact.vectors.T
    np.testing.assert_allclose(np.take_along_axis(brute, top, axis=1), truth_scores, rtol=1e-2, atol=1e-3)


def test_search_command_explains_hits(capsys, indexes):
    assert main(["search", "--index", str(indexes / "faiss"), "a person kicks with the left leg", "-k", "3",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert main(["search", "--index", str(indexes / "sparse-ivf"), "a person kicks with the left leg", "-k", "3",
                 "--json", "--nprobe", "1000"]) == 0          # every cluster visited: the exact answer
    ivf_hits = json.loads(capsys.readouterr().out)["hits"]
    assert [h["score"] for h in ivf_hits] == pytest.approx([h["score"] for h in out["hits"]], abs=1e-4)
    assert len(out["hits"]) == 3
    for hit in out["hits"]:
        assert {"id", "score", "texts", "terms"} <= set(hit) and len(hit["terms"]) <= 5
        for term in hit["terms"]:
            assert term["query_weight"] > 0 and term["item_weight"] > 0
    scores = [h["score"] for h in out["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_search_bad_input(capsys, indexes, ckpt, tmp_path):
    import shutil
    assert main(["search", "--index", str(indexes / "faiss"), "   "]) == 2
    assert "empty query" in capsys.readouterr().err
    assert main(["search", "--index", str(indexes / "faiss"), "walk " * 2000, "-k", "1"]) == 0
    assert "only the first" in capsys.readouterr().out
    assert main(["search", "--index", str(indexes / "faiss"), "The of AND", "-k", "1"]) == 2
    assert "only function words" in capsys.readouterr().err
    assert main(["search", "--index", str(indexes / "sparse-ivf"), "walk", "--nprobe", "0"]) == 2
    assert "--nprobe must be a positive number" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(indexes / "sparse-ivf", broken)
    (broken / "sparse_ivf.npz").write_bytes((indexes / "sparse-ivf" / "sparse_ivf.npz").read_bytes()[:100])
    assert main(["search", "--index", str(broken), "walk"]) == 2
    assert "not a readable sparse-ivf index" in capsys.readouterr().err
    assert main(["search", "--index", str(tmp_path / "missing"), "walk"]) == 2
    assert "no such index" in capsys.readouterr().err
    other = tmp_path / "other"
    shutil.copytree(ckpt, other)
    weights = (ckpt / "model.safetensors").read_bytes()          # other weights: the last 4 bytes changed
    (other / "model.safetensors").write_bytes(weights[:-4] + bytes(b ^ 1 for b in weights[-4:]))
    assert main(["search", "--index", str(indexes / "faiss"), "--model", str(other), "walk"]) == 2
    assert "rebuild the index" in capsys.readouterr().err
    assert main(["search", "--index", str(indexes / "faiss"), "--motion", str(tmp_path / "x.npy")]) == 2
    assert "no such motion file" in capsys.readouterr().err


def test_motion_to_text_search(capsys, ckpt, kit, kitml_root, tmp_path):
    assert main(["index", "build", "--model", str(ckpt), "--data", str(kit), "--out", str(tmp_path / "t"),
                 "--texts"]) == 0
    capsys.readouterr()
    clip = kitml_root / "joints" / "02252.npy"
    assert main(["search", "--index", str(tmp_path / "t"), "--motion", str(clip), "--fps", "24", "-k", "2"]) == 0
    assert capsys.readouterr().out.count("score") == 2
    assert main(["search", "--index", str(tmp_path / "t"), "walk"]) == 2
    assert "holds texts" in capsys.readouterr().err


def test_bench_sizes_take_k_and_m_and_refuse_others_in_one_line(capsys):
    from retrieval.bench import collection_sizes
    from retrieval.bench import main as bench
    assert collection_sizes("10k,100k,1M") == [10_000, 100_000, 1_000_000] and collection_sizes("800") == [800]
    with pytest.raises(SystemExit) as exit_:
        bench(["--model", "m", "--data", "d", "--sizes", "10k,abc"])
    assert exit_.value.code == 2 and "'abc' is not a positive count" in capsys.readouterr().err


def test_bench_prints_a_table_with_exact_backends_at_full_recall(capsys, ckpt, kit):
    from retrieval.bench import main as bench
    assert bench(["--model", str(ckpt), "--data", str(kit), "--sizes", "800", "--queries", "20"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "| 800 |" in line]
    by_backend = {r.split("|")[1].strip(): r.split("|")[8].strip() for r in rows}
    assert by_backend["sparse (scipy CSR)"] == "1.0" and by_backend["torch (exact, CPU)"] == "1.0"
    assert by_backend["faiss flat (exact)"] == "1.0"
    if importlib.util.find_spec("seismic"):
        assert float(by_backend["seismic (query_cut 20, heap 0.8)"]) >= 0.9
    assert float(by_backend["sparse-ivf (20 clusters, nprobe 64)"]) == 1.0    # visits all 20 clusters: exact


def test_bench_recipes_make_unit_vectors_from_the_seed_words():
    import scipy.sparse as sp

    from retrieval.bench import RECIPES
    rng = np.random.default_rng(0)
    base = sp.random(30, 200, density=0.1, random_state=0, format="csr", dtype=np.float32)
    for name, make in RECIPES.items():
        m = make(base, 500, rng)
        assert m.shape == (500, 200), name
        np.testing.assert_allclose(np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel()), 1, rtol=1e-5)
        assert set(m.indices) <= set(base.indices), name       # only words some real vector has
        assert m.nnz > 0.5 * base.getnnz(axis=1).mean() * 500, name
