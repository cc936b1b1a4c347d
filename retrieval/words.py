"""Motion words as taggers (``lexmotion eval words``): does a motion's weight on a word say whether the
motion shows it?

For each word of the split's captions (content words, inflections grouped by their stem) held by at
least ``min_positives`` clips (on label-derived data: each action label, its words together):
- the positives are the clips whose captions hold the word or an inflection of it (or the label);
- the clips are ranked by their motion vector's weight on the word (the largest weight over its
  inflections; a label: the mean over its words), and **AP** is the tagger's average precision,
  against its **chance**, the positives' share. A clip that weighs the word 0 ties with every other
  such clip, and ties count against the tagger; **AP (logits)** ranks by the max-pooled logit that the
  weight is log(1 + ReLU) of: the same order among clips that hold the word, and the model's own
  order among those that do not;
- **precision** and **recall** at the served threshold: a clip is tagged when its served vector
  (pruned as served) holds the word;
- **held** is the share of all clips holding the word (served vectors), **held_network** the same for
  the network's vectors (no pruning), and **keep_ratio** the clips that ``+word`` keeps (served vectors)
  over the positives; ``keep_ratio_max@10`` is its largest value over words with at least 10 positives.
The vectors' sizes are reported as the network makes them: median non-zero words per motion and per
text, with no pruning and no own-word floor.

**query AP** is a reference beside it, and the only score a dense model gets: the clips ranked by their
retrieval score against the word typed as a query (its most frequent inflection). Where query AP is
high and AP low, the encoder tells the motions apart but its weight on the word does not say so.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lexmotion.models.thresholds import word_groups

MIN_POSITIVES = 3


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """AP of ranking by SCORES (ties broken against the positives: a tagger gets no credit for a tie)."""
    order = np.lexsort((positives, -scores))          # by score, then negatives before positives
    hits = positives[order]
    if not hits.any():
        return 0.0
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def label_groups(tokenizer, labels: list[str], min_positives: int = MIN_POSITIVES) -> dict[str, dict]:
    """Label-derived data: each action label ("wave-left-hand") with its words' token ids and its clips. Stop
    words are left out ("raise-up-left-hand": raise, left, hand): no motion vector holds them, so a label that
    kept one could never be tagged."""
    from lexmotion.models.vocabulary import STOP_WORDS
    out = {}
    for label in sorted(set(labels)):
        positives = np.array([x == label for x in labels])
        ids = tokenizer.convert_tokens_to_ids([w for w in label.split("-") if w and w not in STOP_WORDS])
        if positives.sum() >= min_positives and ids:
            out[label] = {"word": label, "ids": ids, "positives": positives, "mean_over_words": True}
    return out


def tagger_report(groups: dict[str, dict], network: np.ndarray, served: np.ndarray,
                  limits: np.ndarray | None = None, logits: np.ndarray | None = None) -> dict:
    """network / served: (N, V) motion vectors before and after pruning -> per word and mean over words.
    LIMITS (V,): the weight over which a served vector shows a word (calibrated thresholds; default 0).
    LOGITS (N, V): the max-pooled logits behind NETWORK, for ``ap_logits``."""
    words = {}

    def pooled(matrix, g):
        cols = matrix[:, g["ids"]]
        return cols.mean(axis=1) if g.get("mean_over_words") else cols.max(axis=1)
    for g in groups.values():
        score = pooled(network, g)
        shows = served[:, g["ids"]] > (0 if limits is None else np.maximum(limits[g["ids"]], 0))
        tagged = shows.all(axis=1) if g.get("mean_over_words") else shows.any(axis=1)
        pos = g["positives"]
        words[g["word"]] = {"positives": int(pos.sum()), "ap": round(average_precision(score, pos), 4),
                            "chance": round(float(pos.mean()), 4),
                            "precision": round(float((tagged & pos).sum() / max(tagged.sum(), 1)), 4),
                            "recall": round(float((tagged & pos).sum() / pos.sum()), 4),
                            "held": round(float(tagged.mean()), 4),
                            "held_network": round(float((score > 0).mean()), 4),
                            "keep_ratio": round(float(tagged.sum() / pos.sum()), 4)}
        if logits is not None:
            words[g["word"]]["ap_logits"] = round(average_precision(pooled(logits, g), pos), 4)
    keys = ("ap", "chance", "precision", "recall", "held", "held_network", "keep_ratio")
    mean = {k: round(float(np.mean([w[k] for w in words.values()])), 4) if words else None
            for k in keys + (("ap_logits",) if logits is not None else ())}
    common = [w["keep_ratio"] for w in words.values() if w["positives"] >= 10]
    mean["keep_ratio_max@10"] = max(common) if common else None
    return {"words": words, "mean": mean, "n_words": len(words)}


def query_ap(model, groups: dict[str, dict], clips: list) -> dict[str, float]:
    """Each word's AP when CLIPS (feature arrays) are ranked by their score against the word as a query: the
    cosine, less each clip's hub prior when the model has a query bank, as search ranks them."""
    from lexmotion.models.querybank import clip_priors
    from retrieval.segments import encoded_rows
    names = list(groups)
    if not names:
        return {}
    queries = encoded_rows(model.encode_text([groups[n]["word"].replace("-", " ") for n in names]))
    motions = encoded_rows(model.encode_motion(clips))
    scores = queries @ motions.T
    if getattr(model, "querybank", None):
        scores = scores - clip_priors(model, model.querybank, motions)[None]
    return {groups[n]["word"]: round(average_precision(row, groups[n]["positives"]), 4) for n, row in zip(names, scores)}


def evaluate_words(model, data_dir, split: str = "test", min_positives: int = MIN_POSITIVES,
                   progress: bool = False) -> dict:
    """One checkpoint's tagger report on a split (see the module docstring); a dense model's holds query AP only."""
    import torch

    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    ds = MotionDataset(data_dir)
    items = MotionTextDataset(ds, split, model.stats, model.served_frames, progress=progress)
    captions = [r["texts"] for r in items.rows]
    sources = ds.table["caption_source"]
    labelled = all(sources[r["index"]] == "label" for r in items.rows)
    if labelled:
        metas = ds.metas()
        groups = label_groups(model.tokenizer, [metas[r["index"]].get("content", "") for r in items.rows], min_positives)
    else:
        groups = word_groups(model.tokenizer, captions, min_positives)
    by_query = query_ap(model, groups, [r["features"] for r in items.rows])
    base = {"split": split, "clips": len(items), "labelled": labelled, "min_positives": min_positives,
            "n_words": len(groups), "long_motion": model.config.long_motion}
    if not model.has_words:
        return {**base, "kind": "dense", "words": {w: {"ap_query": v} for w, v in by_query.items()},
                "mean": {"ap_query": round(float(np.mean(list(by_query.values()))), 4) if by_query else None}}
    first = [r["texts"][0] for r in items.rows]
    from lexmotion.models.lexical import lexical_weights
    with torch.no_grad():                     # one pass each: the network's vectors, no pruning, no floor
        logits = torch.cat([model.motion_pooled_logits(*model.served_batch([r["features"] for r in items.rows[i:i + 64]]))
                            .float().cpu() for i in range(0, len(items), 64)])
        network = lexical_weights(logits)     # motion_lexical(prune=False), from the logits kept for ap_logits
        text = torch.cat([model.text_lexical(**model.tokenize(first[i:i + 256]), own_word_floor=False).float().cpu()
                          for i in range(0, len(first), 256)])
    served = model.prune_motion(network)      # what search holds: the same vectors, pruned as served
    # a word outside the motion vocabulary is -inf for every clip: a tie, as its weight 0 is
    report = tagger_report(groups, network.numpy(), served.numpy(),
                           logits=np.nan_to_num(logits.numpy(), neginf=np.finfo(np.float32).min / 2))
    for word, value in by_query.items():
        report["words"][word]["ap_query"] = value
    report["mean"]["ap_query"] = round(float(np.mean(list(by_query.values()))), 4) if by_query else None
    limits = _calibrated_limits(model, network.shape[1])
    if limits is not None:                    # what +word and tag use: the words over their thresholds
        calibrated = tagger_report(groups, network.numpy(), served.numpy(), limits)
        report["calibrated"] = {k: v for k, v in calibrated["mean"].items() if k not in ("ap", "chance", "held_network")}
        for word, row in calibrated["words"].items():          # per word too, for paired intervals
            report["words"][word]["calibrated"] = {k: row[k] for k in ("precision", "recall", "held", "keep_ratio")}
    report.update(**base, kind="lexical", motion_nonzeros_median=float((network > 0).sum(1).float().median()),
                  text_nonzeros_median=float((text > 0).sum(1).float().median()))
    return report


def _calibrated_limits(model, size: int) -> np.ndarray | None:
    """(V,) the checkpoint's calibrated thresholds (retrieval/tagging.py), None when it has none."""
    from lexmotion.errors import LexmotionError
    from lexmotion.models.thresholds import read_thresholds, word_limits
    try:
        return word_limits(read_thresholds(getattr(model, "path", "")), size)
    except LexmotionError:
        return None


def main_words(args) -> int:
    """`lexmotion eval words`."""
    from lexmotion.device import resolve_device
    from lexmotion.errors import WrongPathError
    from lexmotion.files import write_json
    from lexmotion.models.checkpoint import load, read_config
    from lexmotion.models.model import served_overrides
    models = list(dict.fromkeys(args.model))
    for path in models:
        read_config(path)
    if args.json and Path(args.json).is_dir():
        raise WrongPathError(f"{args.json}: is a folder; --json is the file to write")
    runs = []
    for path in models:
        model = load(path, device=resolve_device(args.device))
        model.override_serving(**served_overrides(args))
        report = evaluate_words(model, args.data, args.split, args.min_positives, progress=not args.quiet)
        m = report["mean"]
        if report["kind"] == "dense":
            print(f"{path}: dense, {report['n_words']} words, query AP {m['ap_query']:.3f} (a dense vector has no "
                  "words; query AP ranks the clips by their score against the word as a query)")
            runs.append(report)
            continue
        print(f"{path}: {report['n_words']} words, AP {m['ap']:.3f} (chance {m['chance']:.3f}; by the logits "
              f"{m['ap_logits']:.3f}; query AP {m['ap_query']:.3f}), precision "
              f"{m['precision']:.3f}, recall {m['recall']:.3f}, held by {m['held']:.1%} of clips "
              f"({m['held_network']:.1%} unpruned); +word keeps {m['keep_ratio']:.2f}x its positives "
              f"(at most {m['keep_ratio_max@10'] or 0:.2f}x for words with 10+); median non-zero "
              f"words motion {report['motion_nonzeros_median']:g}, text {report['text_nonzeros_median']:g}")
        c = report.get("calibrated")
        print(f"  at its calibrated thresholds: precision {c['precision']:.3f}, recall {c['recall']:.3f}, held by "
              f"{c['held']:.1%} of clips, +word keeps {c['keep_ratio']:.2f}x its positives (at most "
              f"{c['keep_ratio_max@10'] or 0:.2f}x for words with 10+)" if c else
              "  no calibrated thresholds (`lexmotion tag --calibrate`): the words above are every weight > 0")
        runs.append(report)
    lexical = [r for r in runs if r["kind"] == "lexical"]
    keys = (("ap", "ap_logits", "chance", "precision", "recall", "held", "held_network", "keep_ratio")
            if len(lexical) == len(runs) else ())
    summary = {k: {"mean": float(np.mean([r["mean"][k] for r in runs])), "std": float(np.std([r["mean"][k] for r in runs]))}
               for k in ("ap_query", *keys)}
    for k in ("motion_nonzeros_median", "text_nonzeros_median") if keys else ():
        summary[k] = {"mean": float(np.mean([r[k] for r in runs])), "std": float(np.std([r[k] for r in runs]))}
    if keys and all("calibrated" in r for r in runs):
        for k in ("precision", "recall", "held", "keep_ratio"):
            values = [r["calibrated"][k] for r in runs]
            summary[f"calibrated_{k}"] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    if len(runs) > 1:
        print(f"mean ± std over {len(runs)} checkpoints: " + ", ".join(f"{k} {v['mean']:.3f} ± {v['std']:.3f}"
                                                                     for k, v in summary.items()))
    if lexical:
        worst = sorted(lexical[0]["words"].items(), key=lambda kv: kv[1]["ap"])[:5]
        print("lowest AP: " + ", ".join(f"{w} {v['ap']:.2f} (chance {v['chance']:.2f})" for w, v in worst))
    if args.json:
        write_json(Path(args.json), {"models": models, "runs": runs, "mean_std": summary})
        print(f"wrote {args.json}")
    return 0
