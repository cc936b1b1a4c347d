"""Verdicts with a confidence: side B against side A on the same queries (``lexmotion eval compare``).

Each side is one or more checkpoints (seeds). Every checkpoint is scored under one protocol, and every
query keeps its rank (``evaluate_protocols(keep_ranks=True)``). A metric is then a mean over queries
of a per-query value (R@k: whether the rank is within k), averaged over the side's checkpoints.

- **Difference**: B − A of those means.
- **95% interval**: a paired bootstrap. Each resample draws the queries with replacement, the same
  draw for both sides. Where a side has several checkpoints, it also draws them with replacement, so
  the interval holds seed-to-seed noise as well as the choice of queries; with as many checkpoints on
  each side, seed i of A stays paired with seed i of B.
- **p-value**: a paired permutation test. Each resample swaps A and B on a random half of the queries;
  p is the share of resamples whose |difference| reaches the observed one (with the +1 correction).
- **Verdict**: "B better" or "A better" when the interval excludes 0, else "no measurable difference".
"""
from __future__ import annotations

import numpy as np

from lexmotion.errors import LexmotionError

METRICS = ("R@1", "R@5", "R@10")


def hits(ranks: np.ndarray) -> dict[str, np.ndarray]:
    """(checkpoints, queries) 1-based ranks -> per metric, (checkpoints, queries) in 0 or 100."""
    return {m: 100.0 * (ranks - 1 < int(m[2:])) for m in METRICS}


def paired_difference(a: np.ndarray, b: np.ndarray, resamples: int = 2000, seed: int = 0) -> dict:
    """a (seeds A, queries), b (seeds B, queries): per-query values of one metric on the same queries.
    -> {a, a_std, b, b_std, difference, low, high, p, verdict}."""
    if a.shape[1] != b.shape[1] or a.shape[1] < 2:
        raise LexmotionError(f"a comparison needs the same queries on both sides (at least 2), "
                             f"not {a.shape[1]} and {b.shape[1]}")
    rng = np.random.default_rng(seed)
    n = a.shape[1]
    observed = float(b.mean() - a.mean())
    queries = rng.integers(0, n, size=(resamples, n))
    seeds_a = rng.integers(0, a.shape[0], size=(resamples, a.shape[0]))
    # as many checkpoints on each side: seed i of A pairs with seed i of B (they often share earlier phases)
    seeds_b = seeds_a if a.shape[0] == b.shape[0] else rng.integers(0, b.shape[0], size=(resamples, b.shape[0]))
    boot = np.empty(resamples)
    for r in range(resamples):
        boot[r] = b[seeds_b[r]][:, queries[r]].mean() - a[seeds_a[r]][:, queries[r]].mean()
    per_query = b.mean(axis=0) - a.mean(axis=0)          # paired: each query's difference of seed means
    flips = rng.choice((-1.0, 1.0), size=(resamples, n))
    permuted = np.abs((flips * per_query).mean(axis=1))
    p = float((1 + np.sum(permuted >= abs(observed) - 1e-12)) / (resamples + 1))
    low, high = (float(x) for x in np.percentile(boot, [2.5, 97.5]))
    verdict = "B better" if low > 0 else "A better" if high < 0 else "no measurable difference"
    return {"a": float(a.mean()), "a_std": float(a.mean(axis=1).std()), "b": float(b.mean()),
            "b_std": float(b.mean(axis=1).std()), "difference": observed, "low": low, "high": high, "p": p,
            "verdict": verdict}


def compare_ranks(side_a: list[dict], side_b: list[dict], resamples: int = 2000, seed: int = 0) -> dict:
    """Each side: the ``query_ranks`` of its checkpoints under one protocol. -> per direction and metric,
    ``paired_difference``. Refuses sides scored on different queries."""
    ids = side_a[0]["ids"]
    for ranks in side_a + side_b:
        if ranks["ids"] != ids:
            raise LexmotionError("the two sides were scored on different query sets (another split, data or "
                                 "deduplication); compare checkpoints on the same --data and --split")
    out = {}
    for direction in ("t2m", "m2t"):
        a = hits(np.array([r[direction] for r in side_a]))
        b = hits(np.array([r[direction] for r in side_b]))
        out[direction] = {m: paired_difference(a[m], b[m], resamples, seed) for m in METRICS}
    return {"queries": len(ids), "resamples": resamples, "seed": seed, **out}


def format_comparison(result: dict, protocol: str) -> str:
    """The comparison as a markdown table, one row per direction and metric."""
    lines = [f"B − A under protocol {protocol}, {result['queries']} queries, paired bootstrap over queries "
             f"(and seeds) with {result['resamples']} resamples, seed {result['seed']}:", "",
             "| direction | metric | A mean ± std | B mean ± std | B − A | 95% interval | p | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for direction in ("t2m", "m2t"):
        for metric, r in result[direction].items():
            lines.append(f"| {direction} | {metric} | {r['a']:.2f} ± {r['a_std']:.2f} | {r['b']:.2f} ± {r['b_std']:.2f} "
                         f"| {r['difference']:+.2f} | [{r['low']:+.2f}, {r['high']:+.2f}] | {r['p']:.3f} | "
                         f"{r['verdict']} |")
    return "\n".join(lines)


def check_same_vocabulary(paths: list[str]) -> None:
    """Checkpoints of one comparison share one tokenizer vocabulary (read from vocab.json, nothing loaded)."""
    from lexmotion.files import read_json
    from lexmotion.models.hub import local_checkpoint
    seen = {}
    for path in paths:
        vocab = read_json(local_checkpoint(path) / "vocab.json")
        seen.setdefault((vocab.get("size"), vocab.get("sha1")), path)
    if len(seen) > 1:
        (_, first), (_, other) = list(seen.items())[:2]
        raise LexmotionError(f"{first} and {other} have different vocabularies; compare checkpoints of one text "
                             "model's vocabulary")


def compare_checkpoints(a: list[str], b: list[str], data_dir, split: str = "test", protocol: str = "all",
                        resamples: int = 2000, seed: int = 0, device: str = "auto", progress: bool = True,
                        **protocol_options) -> dict:
    """Score every checkpoint of both sides on the same queries, then ``compare_ranks``."""
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.device import resolve_device
    from lexmotion.models.checkpoint import load, read_config
    from retrieval.evaluate import evaluate_protocols
    if resamples < 100:
        raise LexmotionError(f"--resamples must be at least 100 for a 95% interval, not {resamples}")
    for path in a + b:
        read_config(path)                 # a missing checkpoint is named before any work
    check_same_vocabulary(a + b)
    if len(MotionDataset(data_dir).split_indices(split)) < 2:
        raise LexmotionError(f"{data_dir}: split {split!r} has fewer than 2 clips to compare on")
    ranks = {}
    for path in dict.fromkeys(a + b):
        model = load(path, device=resolve_device(device))
        result = evaluate_protocols(model, data_dir, split, (protocol,), progress=progress, keep_ranks=True,
                                    **protocol_options)[0]
        ranks[path] = result["query_ranks"]
    comparison = compare_ranks([ranks[p] for p in a], [ranks[p] for p in b], resamples, seed)
    return {"a": a, "b": b, "data": str(data_dir), "split": split, "protocol": protocol, **comparison}


def main_compare(args) -> int:
    """`lexmotion eval compare`."""
    from pathlib import Path

    from lexmotion.errors import WrongPathError
    from lexmotion.files import write_json
    if args.json and Path(args.json).is_dir():
        raise WrongPathError(f"{args.json}: is a folder; --json is the file to write")
    options = {"sentence_model": args.sentence_model, "nsim_list": args.nsim_list, "querybank": args.querybank}
    result = compare_checkpoints(list(dict.fromkeys(args.a)), list(dict.fromkeys(args.b)), args.data, args.split,
                                 args.protocol, args.resamples, args.seed, args.device, progress=not args.quiet,
                                 **options)
    print(f"A: {', '.join(result['a'])}\nB: {', '.join(result['b'])}\n")
    print(format_comparison(result, args.protocol))
    if args.json:
        write_json(Path(args.json), result)
        print(f"wrote {args.json}")
    return 0
