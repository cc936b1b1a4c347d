"""``lexmotion explain``: when each word happens in a motion (its timeline over the clip's seconds)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def peaks(seconds: np.ndarray, values: np.ndarray, k: int = 3) -> list[tuple[float, float]]:
    """The K highest local maxima of a timeline, (second, value), strongest first; none where it is 0."""
    padded = np.concatenate([[-np.inf], values, [-np.inf]])
    local = np.flatnonzero((padded[1:-1] >= padded[:-2]) & (padded[1:-1] > padded[2:]) & (values > 0))
    best = local[np.argsort(-values[local], kind="stable")][:k]
    return [(float(seconds[i]), float(values[i])) for i in best]


def shown_spans(seconds: np.ndarray, over: np.ndarray) -> list[list[float]]:
    """[[start, end], ...] in seconds: the runs of patches (centred at SECONDS, ``word_timelines``') where OVER holds."""
    half = float(seconds[0])                    # the first patch is centred half a patch in
    edges = np.flatnonzero(np.diff(np.concatenate([[0], over.astype(np.int8), [0]])))
    return [[round(float(seconds[a]) - half, 2), round(float(seconds[b - 1]) + half, 2)] for a, b in zip(edges[::2], edges[1::2])]


def timeline_figure(timelines: dict, title: str, thresholds: dict | None = None):
    """One line per word over the clip's seconds, with its calibrated threshold dashed when THRESHOLDS
    ({word: weight}) gives one (a matplotlib Figure; no pyplot)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 2.2 + 0.25 * len(timelines["words"])))
    ax = fig.add_subplot()
    for word, values in timelines["words"].items():
        line, = ax.plot(timelines["seconds"], values, label=word)
        if thresholds and word in thresholds:
            ax.axhline(thresholds[word], color=line.get_color(), linestyle="--", linewidth=0.8)
    ax.set_xlabel("seconds")
    ax.set_ylabel("word weight")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def word_thresholds(model_path, tokenizer, words: list[str]) -> dict | None:
    """{word: the weight over which a motion shows it} from the checkpoint's calibrated thresholds (what tag,
    +word and the hits' explanations use); None for a checkpoint that has none."""
    from lexmotion.models.thresholds import optional_thresholds, word_limits
    from lexmotion.models.vocabulary import vocabulary_word
    thresholds = optional_thresholds(model_path)
    if thresholds is None:
        return None
    limits = word_limits(thresholds, len(tokenizer))
    return {w: float(limits[vocabulary_word(tokenizer, w)[1]]) for w in words}


def stretch_words(model, clip, words: list[str], k: int = 5) -> list[dict]:
    """CLIP's stretches between the points where its motion changes (``retrieval.segments``), each encoded alone:
    its start and end in seconds, the weight of each of WORDS, and its K top words."""
    from lexmotion.data.features import WORKING_FPS
    from lexmotion.models.vocabulary import vocabulary_word
    from retrieval.segments import stretches
    features = model.whole_features(clip)
    spans = stretches(model, features)
    vectors = model.encode_motion([model.read_window(features[a:b]) for a, b in spans]).to_dense()
    ids = [vocabulary_word(model.tokenizer, w)[1] for w in words]
    return [{"start": round(a / WORKING_FPS, 2), "end": round(b / WORKING_FPS, 2),
             "words": {w: round(float(v[i]), 4) for w, i in zip(words, ids)},
             "top": [[w, round(float(x), 4)] for w, x in model.explain(v, k)]} for (a, b), v in zip(spans, vectors)]


def strongest_words(model, clip, k: int = 5) -> list[str]:
    """The K whole words CLIP weighs most anywhere in its time (each word's largest logit over the patches, as
    the motion vector's max-pool takes it): what ``explain`` places when it is given no words."""
    active = model.motion_mask.nonzero().flatten()
    _, timeline = model.patch_timeline(clip, lambda tokens: model.motion_head(tokens, active.to(model.device)))
    best = timeline.amax(0)
    words = []
    for i in best.argsort(descending=True).tolist():
        if best[i] <= 0 or len(words) == k:
            break
        word = model.tokenizer.convert_ids_to_tokens(int(active[i]))
        if word.isalpha():                      # a "##ly" piece cannot be asked for with --words
            words.append(word)
    return words


def word_report(timelines: dict, limits: dict | None) -> dict:
    """Each word of TIMELINES: its weight and peaks; where the motion comes closest to a word that never fires;
    with LIMITS (calibrated thresholds), the spans where the motion shows it."""
    seconds = timelines["seconds"]
    report = {}
    for word, values in timelines["words"].items():
        r = report[word] = {"weight": round(float(values.max()), 4),
                            "peaks": [{"second": round(s, 2), "weight": round(x, 4)} for s, x in peaks(seconds, values)]}
        logits = timelines["logits"][word]
        if not r["peaks"] and np.isfinite(logits.max()):     # never fires: where the motion comes closest to it
            r["closest"] = {"second": round(float(seconds[int(np.argmax(logits))]), 2), "logit": round(float(logits.max()), 4)}
        if limits is not None:                               # shown: over the threshold tag and +word use
            r["threshold"] = round(limits[word], 4)
            r["shown"] = shown_spans(seconds, values > limits[word])
    return report


def print_report(report: dict, patches: int) -> None:
    """The text form of ``run_explain``'s report."""
    print(f"{report['motion']}: {report['seconds']:.1f} s, {patches} time patches")
    if report["words_chosen"] != "asked":
        print(f"  (no --words: its {len(report['words'])} strongest words)")
    for word, r in report["words"].items():
        where = "peaks at " + (", ".join(f"{p['second']:.1f} s ({p['weight']:.2f})" for p in r["peaks"])
                               or "nowhere (0 all along)")
        if "closest" in r:
            where = f"never fires; comes closest at {r['closest']['second']:.1f} s (logit {r['closest']['logit']:.2f})"
        if "threshold" in r:
            where += (f"; shown (over {r['threshold']:.2f}) " + ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in r["shown"])
                      if r["shown"] else f"; never over its threshold {r['threshold']:.2f}")
        print(f"  {word:<12} weight {r['weight']:.3f}; {where}")
    if not any("threshold" in r for r in report["words"].values()):
        print("  (this checkpoint has no calibrated thresholds, so no word is marked shown: "
              "`lexmotion tag --calibrate` makes a calibrated copy)")
    if "stretches" in report:
        cuts = [r["start"] for r in report["stretches"][1:]]
        print("where the motion changes: " + (", ".join(f"{c:.1f}" for c in cuts) + " s" if cuts else "nowhere"))
        for r in report["stretches"]:
            print(f"  {r['start']:.1f}-{r['end']:.1f} s: " + ", ".join(f"{w} {x:.2f}" for w, x in r["words"].items())
                  + "; its top words: " + ", ".join(f"{w} {x:.2f}" for w, x in r["top"]))


def run_explain(args) -> int:
    import json

    from lexmotion.data.dataset import MotionDataset
    from lexmotion.data.features import WORKING_FPS
    from lexmotion.data.limits import check_duration_option
    from lexmotion.data.motion_file import read_motion_file
    from lexmotion.device import resolve_device
    from lexmotion.errors import LexmotionError
    from lexmotion.models.checkpoint import load
    words = [w.strip() for w in args.words.split(",") if w.strip()] if args.words is not None else None
    if words == []:
        raise LexmotionError("--words: give one or more words, e.g. --words kick,jump")
    model = load(args.model, device=resolve_device(args.device))
    if not model.has_words:
        raise LexmotionError(f"{args.model}: a dense checkpoint has no words to place in time; use a lexical one")
    if (args.motion is None) == (args.data is None) or (args.data is None) != (args.id is None):
        raise LexmotionError("give a motion: --motion FILE, or --data DIR with --id ID (a clip of a built dataset)")
    read_limits = check_duration_option(args.max_duration_s)
    clip = (read_motion_file(args.motion, args.fps, args.skeleton, read_limits) if args.motion
            else MotionDataset(args.data).clip(args.id))
    chosen = words is None
    if chosen:
        words = strongest_words(model, clip)
        if not words:
            raise LexmotionError(f"{clip['source']}: the model weighs no word in this motion; ask for words with --words")
    timelines = model.word_timelines(clip, words)
    patches = len(timelines["seconds"])
    limits = word_thresholds(args.model, model.tokenizer, words)
    report = {"motion": clip["source"], "seconds": round(patches * model.config.motion.patch_frames / WORKING_FPS, 2),
              "words_chosen": "the motion's strongest" if chosen else "asked",
              "words": word_report(timelines, limits)}
    if args.changes:
        report["stretches"] = stretch_words(model, clip, words)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report, patches)
    if args.plot:
        import sys

        from lexmotion.files import save_figure
        save_figure(timeline_figure(timelines, f"{Path(clip['source']).name}: {', '.join(words)}", limits), args.plot)
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout)      # --json: stdout is JSON alone
    return 0
