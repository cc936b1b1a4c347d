"""More like this: how well `lexmotion search --like ID` finds motions of the same action (and style) as the
query, on labelled takes (Bandai-2: each take's action and style in its meta).

    python docs/scripts/more_like.py --model LEX0 LEX1 LEX2 --dense DENSE0 DENSE1 DENSE2 \
        --data data/bandai --split test --json docs/results/more-like/bandai-test.json

Every take of the split queries an index of the split (built in memory as `index build` builds it) through
`Index.search_motion`, its own take left out, as `search --like` does. A hit is relevant when its label equals
the query's. Per query: precision at 10 and average precision over the whole ranking; their means over queries,
and mean ± std over checkpoints. Baselines: chance (a random ranking: the share of the other takes that are
relevant) and the take's normalised features, averaged and spread over time (mean and std of each feature, as
the model reads them), ranked by cosine: what a search with no learned model finds. B − A: the paired bootstrap
of `eval compare` over queries and seeds (seed i of --model paired with seed i of --dense). --encoder: also
each lexical checkpoint's motion-encoder tokens, mean-pooled before the lexical head, to see what the head and
its max over time lose.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

LABELS = ("content", "style")
# the same action in another style: each ranking keeps only the takes whose style differs from the query's
READINGS = ("content", "style", "content_other_style")


def interval(d: dict, other: str, this: str = "lexical") -> str:
    verdict = {"B better": f"{this} better", "A better": f"{other} better"}.get(d["verdict"], d["verdict"])
    return f"{d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}], {verdict}"


def labels_of(data: str, split: str, ids: list[str]) -> dict[str, list[str]]:
    from lexmotion.data.dataset import MotionDataset
    ds = MotionDataset(data)
    meta = dict(zip(ds.table["id"], ds.metas()))
    missing = [key for key in LABELS if key not in meta[ids[0]]]
    if missing:
        raise SystemExit(f"{data}: its clips carry no {', '.join(missing)} label (Bandai's do)")
    return {key: [meta[i][key] for i in ids] for key in LABELS}


def scores(rankings: list[list[int]], labels: list[str], apart: list[str] | None = None) -> dict[str, list[float]]:
    """RANKINGS: for each query, the other rows best first -> per query, precision at 10 and AP. APART: only
    the rows whose value here differs from the query's are ranked."""
    p10, ap = [], []
    for q, order in enumerate(rankings):
        if apart is not None:
            order = [r for r in order if apart[r] != apart[q]]
        relevant = np.array([labels[r] == labels[q] for r in order])
        p10.append(float(relevant[:10].mean()))
        hits = np.flatnonzero(relevant)
        ap.append(float(np.mean((np.arange(len(hits)) + 1) / (hits + 1))) if len(hits) else 0.0)
    return {"p10": p10, "ap": ap}


def model_rankings(path: str, data: str, split: str, max_words: int | None = None) -> tuple[list[str], list[list[int]]]:
    """Each row's ranking of the other rows by `Index.search_motion`, its own take left out. MAX_WORDS: the
    lexical motion vectors pruned to this many words instead of the checkpoint's own setting (0: none)."""
    from lexmotion.models.checkpoint import load
    from retrieval.collection import build_index
    model = load(path)
    if max_words is not None and model.has_words:
        model.config.motion_max_words = max_words
    index = build_index(model, path, data, split, backend="sparse" if model.has_words else "torch", progress=False)
    raw = index.raw_vectors
    ids = [item["id"] for item in index.items]
    row = {i: r for r, i in enumerate(ids)}
    out = []
    for r, clip_id in enumerate(ids):
        vec = torch.from_numpy(np.asarray(raw[r].toarray() if hasattr(raw, "toarray") else raw[r]).ravel())
        hits = index.search_motion(model, vec, k=len(ids) - 1, exclude=clip_id)
        out.append([row[h.id] for h in hits])
    return ids, out


def feature_rankings(path: str, data: str, split: str, ids: list[str]) -> list[list[int]]:
    """The baseline: each take's normalised features (as PATH's model reads them), mean and std over time."""
    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.models.checkpoint import load
    model = load(path)
    rows = {r["id"]: r["features"] for r in MotionTextDataset(MotionDataset(data), split, model.stats,
                                                               model.served_frames, require_text=False).rows}
    return cosine_rankings(np.stack([np.concatenate([rows[i].mean(0), rows[i].std(0)]) for i in ids]))


def encoder_rankings(path: str, data: str, split: str, ids: list[str]) -> list[list[int]]:
    """Where the lexical vectors lose what they lose: each take's motion-encoder tokens (before the lexical
    head and its max over time), mean-pooled as a dense model pools them, ranked by cosine."""
    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.models.checkpoint import load
    from lexmotion.models.motion_encoder import MotionPatchEncoder
    model = load(path).eval()
    rows = {r["id"]: r["features"] for r in MotionTextDataset(MotionDataset(data), split, model.stats,
                                                               model.served_frames, require_text=False).rows}
    pooled = []
    with torch.no_grad():
        for start in range(0, len(ids), 64):
            out = model.motion_tokens(*model.served_batch([rows[i] for i in ids[start:start + 64]]))
            pooled.append(MotionPatchEncoder.pooled(out["tokens"], out["token_mask"]).float().cpu().numpy())
    return cosine_rankings(np.concatenate(pooled))


def cosine_rankings(x: np.ndarray) -> list[list[int]]:
    """Each row's ranking of the other rows by the cosine of X's rows."""
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    return [[int(j) for j in np.argsort(-sim[q], kind="stable")[:-1]] for q in range(len(x))]


def readings(rankings: list[list[int]], labels: dict[str, list[str]]) -> dict:
    return {"content": scores(rankings, labels["content"]), "style": scores(rankings, labels["style"]),
            "content_other_style": scores(rankings, labels["content"], apart=labels["style"])}


def chances(labels: dict[str, list[str]]) -> dict[str, float]:
    """Each reading's share of relevant takes among those it ranks, the mean over queries."""
    content, style = (np.array(labels[key]) for key in LABELS)
    out = {key: float(np.mean([(np.sum(x == v) - 1) / (len(x) - 1) for v in x])) for key, x in zip(LABELS, (content, style))}
    out["content_other_style"] = float(np.mean([np.sum((content == c) & (style != s)) / np.sum(style != s)
                                                for c, s in zip(content, style)]))
    return out


def main() -> None:
    from retrieval.compare import paired_difference
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", nargs="+", required=True, help="lexical checkpoints (one per seed)")
    p.add_argument("--dense", nargs="*", default=[], help="dense checkpoints, paired with --model seed by seed")
    p.add_argument("--model-label", default="lexical", help="what to call --model in the tables")
    p.add_argument("--dense-label", default="dense", help="what to call --dense in the tables, when it holds other "
                                                          "checkpoints (e.g. another lexical recipe's)")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--encoder", action="store_true", help="also rank by each lexical checkpoint's motion-encoder "
                                                           "tokens, mean-pooled, before its lexical head")
    p.add_argument("--motion-max-words", type=int, help="prune lexical motion vectors to this many words instead "
                                                        "of as served (0: keep all)")
    args = p.parse_args()
    runs, ids = {}, None
    for path in [*args.model, *args.dense]:
        run_ids, rankings = model_rankings(path, args.data, args.split, args.motion_max_words)
        if ids is not None and run_ids != ids:
            raise SystemExit(f"{path}: indexed other takes than {args.model[0]}")
        ids = run_ids
        labels = labels_of(args.data, args.split, ids)
        runs[path] = readings(rankings, labels)
        print(f"{path}: " + ", ".join(f"{key} P@10 {np.mean(runs[path][key]['p10']):.3f} AP "
                                      f"{np.mean(runs[path][key]['ap']):.3f}" for key in READINGS), flush=True)
    features = readings(feature_rankings(args.model[0], args.data, args.split, ids), labels)
    encoder = {m: readings(encoder_rankings(m, args.data, args.split, ids), labels) for m in args.model} \
        if args.encoder else {}
    chance = chances(labels)
    this, other = args.model_label, args.dense_label
    table = [f"| reading | measure | chance | features | {this} | {other} | {this} − features [95%] | {this} − {other} [95%] |",
             "|---|---|---|---|---|---|---|---|"]
    summary = {}
    for key in READINGS:
        for measure in ("p10", "ap"):
            lex = np.array([runs[m][key][measure] for m in args.model])
            cells = {"chance": chance[key], "features": float(np.mean(features[key][measure])),
                     "lexical": float(lex.mean()), "lexical_std": float(lex.mean(1).std()),
                     "lexical_minus_features": paired_difference(np.array([features[key][measure]]), lex)}
            diff = ""
            if args.dense:
                dense = np.array([runs[m][key][measure] for m in args.dense])
                cells.update(dense=float(dense.mean()), dense_std=float(dense.mean(1).std()),
                             lexical_minus_dense=paired_difference(dense, lex))
                diff = interval(cells["lexical_minus_dense"], other, this)
            if encoder:
                before = np.array([encoder[m][key][measure] for m in args.model])
                cells.update(encoder=float(before.mean()), encoder_std=float(before.mean(1).std()),
                             lexical_minus_encoder=paired_difference(before, lex))
            summary[f"{key}_{measure}"] = cells
            dense_cell = f"{cells['dense']:.3f} ± {cells['dense_std']:.3f}" if args.dense else "–"
            table.append(f"| {key} | {'P@10' if measure == 'p10' else 'AP'} | {chance[key]:.3f} | {cells['features']:.3f} | "
                         f"{cells['lexical']:.3f} ± {cells['lexical_std']:.3f} | {dense_cell} | "
                         f"{interval(cells['lexical_minus_features'], 'features', this)} | {diff} |")
    print("\n".join(table))
    if encoder:
        print("\n| reading | measure | lexical's encoder, mean-pooled | lexical − its encoder [95%] |\n|---|---|---|---|")
        for key in READINGS:
            for measure in ("p10", "ap"):
                cells = summary[f"{key}_{measure}"]
                print(f"| {key} | {'P@10' if measure == 'p10' else 'AP'} | {cells['encoder']:.3f} ± "
                      f"{cells['encoder_std']:.3f} | {interval(cells['lexical_minus_encoder'], 'encoder', this)} |")
    actions = sorted(set(labels["content"]))
    print(f"\n| action | takes | features P@10 | {this} P@10 |" + (f" {other} P@10 |" if args.dense else "")
          + (" lexical's encoder P@10 |" if encoder else "")
          + "\n|---|---|---|---|" + ("---|" if args.dense else "") + ("---|" if encoder else ""))
    for action in actions:
        rows = [q for q, c in enumerate(labels["content"]) if c == action]

        def p10(paths):
            return np.mean([np.mean([runs[m]["content"]["p10"][q] for q in rows]) for m in paths])
        print(f"| {action} | {len(rows)} | {np.mean([features['content']['p10'][q] for q in rows]):.3f} | "
              f"{p10(args.model):.3f} |" + (f" {p10(args.dense):.3f} |" if args.dense else "")
              + (f" {np.mean([np.mean([encoder[m]['content']['p10'][q] for q in rows]) for m in args.model]):.3f} |"
                 if encoder else ""))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"data": args.data, "split": args.split, "queries": len(ids),
                                               "motion_max_words": args.motion_max_words,
                                               "models": args.model, "dense": args.dense, "model_label": this, "dense_label": other, "summary": summary,
                                               "runs": runs, "features": features, "encoder": encoder}, indent=1))


if __name__ == "__main__":
    main()
