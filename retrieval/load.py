"""Search under load: ``python -m retrieval.load --index IDX``.

1. reference: N queries (the captions of the index's dataset, or --queries FILE, one per
   line) answered one after another through one ``Index`` and one model;
2. threads: the same N queries through the same ``Index`` and model from --threads threads
   at once;
3. processes: --processes ``lexmotion search --json`` commands started at once, one query each.

Every answer of 2 and 3 is checked against 1 (same ids in the same order, same scores), and
throughput is printed as a table. Exit status 1 when any answer differs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lexmotion.errors import LexmotionError


def _queries(index, path: str | None, n: int) -> list[str]:
    if path:
        queries = [q.strip() for q in Path(path).read_text().splitlines() if q.strip()]
    else:
        queries = list(dict.fromkeys(t for item in index.items for t in item["texts"] if t.strip()))
    if not queries:
        raise LexmotionError("no query to run: pass --queries FILE (one query per line)")
    return [queries[i % len(queries)] for i in range(n)]


def _answer(index, model, query: str, k: int) -> list[tuple[str, float]]:
    return [(h.id, round(h.score, 4)) for h in index.search(model, query, k=k)]


def _same(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    return [i for i, _ in a] == [i for i, _ in b] and all(abs(x - y) <= 1e-4 for (_, x), (_, y) in zip(a, b))


def run(index_path: str, model_path: str | None, queries_file: str | None, n: int, k: int, threads: int,
        processes: int) -> dict:
    from lexmotion.models.checkpoint import load
    from retrieval.index import Index

    model_path = model_path or Index.read_meta(index_path)["model_path"]
    index = Index.load(index_path, model_path=model_path)
    meta = index.meta
    model = load(model_path)
    queries = _queries(index, queries_file, n)
    rows = []

    started = time.perf_counter()
    reference = [_answer(index, model, q, k) for q in queries]
    seconds = time.perf_counter() - started
    rows.append({"run": "1 thread (reference)", "queries": n, "seconds": seconds, "mismatches": 0})

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(lambda q: _answer(index, model, q, k), queries))
    seconds = time.perf_counter() - started
    rows.append({"run": f"{threads} threads, one Index", "queries": n, "seconds": seconds,
                 "mismatches": sum(not _same(a, r) for a, r in zip(answers, reference))})

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WANDB_MODE": "offline"}
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "lexmotion.app.cli", "search", "--index", str(index_path),
                               "--model", str(model_path), queries[i], "-k", str(k), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for i in range(processes)]
    outputs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - started
    mismatches, failures = 0, []
    for i, (p, (out, err)) in enumerate(zip(procs, outputs)):
        if p.returncode != 0:
            failures.append(f"process {i}: exit {p.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''}")
            mismatches += 1
            continue
        hits = [(h["id"], h["score"]) for h in json.loads(out)["hits"]]
        mismatches += not _same(hits, reference[i])
    rows.append({"run": f"{processes} `lexmotion search` processes", "queries": processes, "seconds": seconds,
                 "mismatches": mismatches})
    return {"index": str(index_path), "backend": meta["backend"], "items": meta["n"], "k": k,
            "cpus": os.cpu_count(), "rows": rows, "failures": failures}


def format_table(result: dict) -> str:
    lines = [f"index {result['index']} ({result['backend']}, {result['items']} items), k={result['k']}, "
             f"{result['cpus']} CPUs",
             "| run | queries | seconds | queries/s | answers differing from the reference |",
             "|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['run']} | {r['queries']} | {r['seconds']:.2f} | {r['queries'] / r['seconds']:.1f} "
                     f"| {r['mismatches']} |")
    lines += [f"failed: {f}" for f in result["failures"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True, help="an index folder from `lexmotion index build`")
    parser.add_argument("--model", help="checkpoint (default: the one the index was built with)")
    parser.add_argument("--queries", help="a text file, one query per line (default: the indexed captions)")
    parser.add_argument("-n", type=int, default=200, help="queries for the reference and thread runs (default 200)")
    parser.add_argument("-k", type=int, default=10, help="hits per query (default 10)")
    parser.add_argument("--threads", type=int, default=8, help="threads sharing one Index (default 8)")
    parser.add_argument("--processes", type=int, default=20, help="concurrent search processes (default 20)")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    try:
        if min(args.n, args.k, args.threads, args.processes) < 1:
            raise LexmotionError("-n, -k, --threads and --processes must be at least 1")
        result = run(args.index, args.model, args.queries, args.n, args.k, args.threads,
                     min(args.processes, args.n))
    except LexmotionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_table(result))
    if args.json:
        from lexmotion.files import write_json
        write_json(args.json, result)
    return 1 if any(r["mismatches"] for r in result["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
