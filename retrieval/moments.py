"""Find the moment: a localisation benchmark on real motions with known boundaries (`lexmotion eval moments`).

Each sequence joins PARTS real clips of a split (2-10 s each, kitml-cmu duplicates removed, no two parts
sharing a caption), drawn with a seed. Clip k+1 is turned and moved to start where clip k ends, facing
where it faces, and the two are cross-faded over ``BLEND_S`` at the joints; a part's boundary is the
middle of its blend. Then, per checkpoint:

- moment retrieval: each part's first caption is a query over windows of 2, 4 and 8 s (stride half a
  window) of every sequence. A query is found at k when one of its k best windows lies in its own
  sequence with temporal IoU >= 0.5 (or 0.7) with its part; the oracle share is how often any window
  of the sequence reaches that IoU at all. A query's hits are moments, as a windowed index returns them
  (``retrieval.index.moment_hits``): its best window, grown through the overlapping windows of its sequence
  that score within ``MOMENT_TOLERANCE`` of it, then the next window that overlaps no earlier hit
  (``--moment-tolerance 0``: single windows, one hit per place). ``--proposals segments`` ranks instead the
  spans between the points where each sequence's motion changes (``retrieval.segments``), as they are;
- word localisation (lexical models): each content word of a part's caption, less words whose stem
  every part's caption holds, is found when the peak of its word timeline (``word_timelines``) lies
  inside a part whose caption holds the word or its stem. Its chance is those parts' share of the
  sequence. A timeline that stays 0 has no peak and counts as a miss (reported as ``silent``).
  ``word_localisation_logits`` reads the same timelines before log(1 + ReLU): the peak of the head's
  per-patch logits, which is the same patch wherever the word fires, and for a silent word the patch
  where the motion comes closest to it (``silent_placed``: how often that lands in a holder; against
  ``silent_chance``). A dense model has no silent words; both readings are its 2 s windows' peak.

- the captioners' localisation (``--captioner``; ``captioning.analysis.localise_captions``): each
  sequence is captioned (beam 2), and each generated content word counts as placed when its attention
  peak (the guided captioner's temporal Gaussian centre, the local captioner's position p_t; the word
  report of ``captioning/analysis.py``) lies inside a part whose caption holds the word's stem. Words no part's caption holds cannot be placed and are counted apart;
  words every part holds are left out.

Baselines in the same run: dense checkpoints (``--dense``) rank the same windows, and localise a word by
the 2 s window (every 0.5 s) whose motion is closest to the word's text vector; random scores; and a
uniform timeline, whose expected success is exactly the chance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lexmotion.errors import BadValueError, LexmotionError
from retrieval.index import MOMENT_TOLERANCE, moment_hits
from retrieval.segments import PROPOSALS, encoded_rows, segments

WINDOWS_S = (2.0, 4.0, 8.0)
IOUS = (0.5, 0.7)
KS = (1, 5)
BLEND_S = 0.25
PART_SECONDS = (2.0, 10.0)


@dataclass
class Sequence:
    features: np.ndarray     # (T, 105) unnormalised, at WORKING_FPS
    parts: list[dict]        # {id, caption, start, end} in seconds, in order

    @property
    def duration(self) -> float:
        from lexmotion.data.features import WORKING_FPS
        return len(self.features) / WORKING_FPS


# --- building the sequences -------------------------------------------------------------------------------------
def eligible_clips(ds, split: str) -> list[int]:
    """Rows of SPLIT, duplicates removed, with a caption and 2-10 s long."""
    from retrieval.evaluate import deduplicate
    kept, _ = deduplicate(ds, ds.split_indices(split))
    frames, fps, texts = ds.table["num_frames"], ds.table["fps"], ds.table["texts"]
    low, high = PART_SECONDS
    return [i for i in kept if any(t.strip() for t in texts[i]) and low <= (frames[i] - 1) / fps[i] <= high]


def draw_parts(ds, split: str, parts: int, sequences: int | None, seed: int) -> list[list[int]]:
    """SEQUENCES groups of PARTS rows, each clip used once, no caption shared inside a group (None: all that fit)."""
    if parts < 2:
        raise BadValueError(f"--parts must be at least 2 (a sequence of one clip has no boundary), not {parts}")
    pool = eligible_clips(ds, split)
    fit = len(pool) // parts
    if sequences is None:
        sequences = fit
    if sequences < 1 or sequences > fit:
        raise BadValueError(f"split {split!r} has {len(pool)} clips of {PART_SECONDS[0]:g}-{PART_SECONDS[1]:g} s "
                            f"(duplicates removed): {sequences} sequence(s) of {parts} parts need "
                            f"{max(sequences, 1) * parts}; ask for at most {fit} with --sequences")
    texts = ds.table["texts"]
    captions = {i: {t.strip().lower() for t in texts[i] if t.strip()} for i in pool}
    order = [pool[k] for k in np.random.default_rng(seed).permutation(len(pool))]
    groups = []
    while len(groups) < sequences and order:
        group = []
        for i in list(order):
            if all(not captions[i] & captions[j] for j in group):
                group.append(i)
                order.remove(i)
                if len(group) == parts:
                    break
        if len(group) < parts:
            break
        groups.append(group)
    if len(groups) < sequences:
        raise BadValueError(f"split {split!r}: only {len(groups)} sequence(s) of {parts} parts without a shared "
                            f"caption; ask for at most {len(groups)} with --sequences")
    return groups


def _turn_and_move(joints: np.ndarray, skeleton, after: np.ndarray) -> np.ndarray:
    """JOINTS (T, J, 3, y up) turned about y and moved on the ground so that their first frame stands where
    AFTER's last frame stands and faces where it faces."""
    from lexmotion.data.features import heading, to_canonical
    pelvis = skeleton.canonical_indices()[0]
    angle = heading(to_canonical(after[-1:], skeleton))[0] - heading(to_canonical(joints[:1], skeleton))[0]
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    ground = np.array([1.0, 0.0, 1.0])
    turned = (joints - joints[0, pelvis] * ground) @ rot.T
    return turned + after[-1, pelvis] * ground


def join_clips(clips: list[tuple[np.ndarray, float]], skeleton, blend_s: float = BLEND_S) -> tuple[np.ndarray, list]:
    """[(joints, fps)] -> (the joined joints at WORKING_FPS, [(start, end)] of each part in seconds)."""
    from lexmotion.data.features import WORKING_FPS, resample
    blend = max(1, round(blend_s * WORKING_FPS))
    out, bounds = None, []
    for joints, fps in clips:
        clip = resample(np.asarray(joints, dtype=np.float64), float(fps))
        if out is None:
            out, bounds = clip, [0.0]
            continue
        clip = _turn_and_move(clip, skeleton, out)
        b = min(blend, len(out) - 1, len(clip) - 1)
        w = np.linspace(0.0, 1.0, b + 2)[1:-1, None, None]
        mixed = out[len(out) - b:] * (1 - w) + clip[:b] * w
        bounds.append((len(out) - b / 2) / WORKING_FPS)
        out = np.concatenate([out[:len(out) - b], mixed, clip[b:]])
    total = len(out) / WORKING_FPS
    return out.astype(np.float32), [(bounds[k], bounds[k + 1] if k + 1 < len(bounds) else total)
                                    for k in range(len(bounds))]


def build_sequences(data_dir, split: str = "test", parts: int = 3, sequences: int | None = None,
                    seed: int = 0) -> list[Sequence]:
    """The benchmark's sequences (see the module docstring)."""
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.data.features import part_features
    from lexmotion.data.skeletons import get_skeleton
    ds = MotionDataset(data_dir)
    out = []
    for group in draw_parts(ds, split, parts, sequences, seed):
        rows = [ds.row(i) for i in group]
        skeletons = {str(r["skeleton"]) for r in rows}
        if len(skeletons) > 1:
            raise LexmotionError(f"{data_dir}: clips of several skeletons ({', '.join(sorted(skeletons))}); "
                                 "a sequence joins clips of one body")
        skeleton = get_skeleton(skeletons.pop())
        joints, spans = join_clips([(r["joints"], r["fps"]) for r in rows], skeleton)
        out.append(Sequence(part_features(joints, 20.0, skeleton),
                            [{"id": str(r["id"]), "caption": next(t for t in r["texts"] if t.strip()),
                              "start": round(a, 3), "end": round(b, 3)} for r, (a, b) in zip(rows, spans)]))
    return out


# --- scoring ----------------------------------------------------------------------------------------------------
def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def sequence_windows(sequences: list[Sequence], max_frames: int,
                     lengths: tuple = WINDOWS_S) -> list[tuple[int, float, float]]:
    """(sequence, start s, end s) of every window of LENGTHS seconds (default 2, 4 and 8; stride half a window)
    that the encoder takes."""
    from lexmotion.data.features import WORKING_FPS
    from retrieval.segments import windows
    out = []
    for s, seq in enumerate(sequences):
        for seconds in encodable(lengths, max_frames):
            size = round(seconds * WORKING_FPS)
            out += [(s, a / WORKING_FPS, b / WORKING_FPS) for a, b in windows(len(seq.features), size, size // 2)]
    return out


def encodable(lengths: tuple, max_frames: int) -> list:
    """The window lengths (seconds) of LENGTHS that an encoder of MAX_FRAMES takes."""
    from lexmotion.data.features import WORKING_FPS
    return [w for w in lengths if round(w * WORKING_FPS) <= max_frames]


def moment_recall(scores: np.ndarray, spans: list[tuple[int, float, float]], queries: list[tuple[int, dict]],
                  per_query: dict | None = None, tolerance: float = MOMENT_TOLERANCE) -> dict:
    """(Q, W) query-window scores -> R@k at each IoU, and the oracle share. A query's hits are moments as a
    windowed index returns them (``retrieval.index.moment_hits``): its best windows, each grown through the
    overlapping windows of its sequence that score within TOLERANCE of it (0: single windows). PER_QUERY, when
    given, gets each R@k's 0/1 outcome per query (what a paired comparison resamples)."""
    rows_of: dict[int, list[int]] = {}
    for w, (s, _, _) in enumerate(spans):
        rows_of.setdefault(s, []).append(w)
    hits = []
    for q in range(len(queries)):
        row = scores[q]
        order = np.argsort(-row, kind="stable")
        hits.append(moment_hits(((float(row[w]), int(w)) for w in order), lambda w: spans[w],
                                lambda s: [(spans[w][1], spans[w][2], float(row[w])) for w in rows_of[s]],
                                tolerance, k=max(KS)))
    out = {}
    for threshold in IOUS:
        for k in KS:
            found = np.array([any(spans[w][0] == q_seq and iou((a, b), (part["start"], part["end"])) >= threshold
                                  for _, w, a, b in hits[q][:k]) for q, (q_seq, part) in enumerate(queries)])
            out[f"moment_R{k}_iou{threshold}"] = float(found.mean())
            if per_query is not None:
                per_query[f"moment_R{k}_iou{threshold}"] = found.astype(int).tolist()
        out[f"oracle_iou{threshold}"] = float(np.mean([any(s == q_seq and iou((a, b), (part["start"], part["end"]))
                                                           >= threshold for s, a, b in spans)
                                                       for q_seq, part in queries]))
    return out


def _queries(sequences: list[Sequence]) -> list[tuple[int, dict]]:
    return [(s, part) for s, seq in enumerate(sequences) for part in seq.parts]


def _window_vectors(model, sequences: list[Sequence], spans, progress: bool) -> np.ndarray:
    from tqdm.auto import tqdm

    from lexmotion.data.batching import normalise
    from lexmotion.data.features import WORKING_FPS
    feats = [normalise(sequences[s].features, model.stats) for s in range(len(sequences))]
    clips = [model.read_window(feats[s][round(a * WORKING_FPS):round(b * WORKING_FPS)]) for s, a, b in spans]
    return np.concatenate([encoded_rows(model.encode_motion(clips[i:i + 64])) for i in
                           tqdm(range(0, len(clips), 64), desc="encoding windows", leave=False, disable=not progress)])


def sequence_segments(model, sequences: list[Sequence]) -> list[tuple[int, float, float]]:
    """(sequence, start s, end s) of every proposal cut where a sequence's motion changes
    (``retrieval.segments``)."""
    from lexmotion.data.batching import normalise
    from lexmotion.data.features import WORKING_FPS
    return [(s, a / WORKING_FPS, b / WORKING_FPS) for s, seq in enumerate(sequences)
            for a, b in segments(model, normalise(seq.features, model.stats))]


def window_scores(model, sequences: list[Sequence], progress: bool = False, querybank: bool = False,
                  lengths: tuple = WINDOWS_S, proposals: str = "windows") -> tuple[np.ndarray, list, list]:
    """Every part's caption scored against every window of the sequences -> (scores (Q, W), spans, queries).
    ``proposals``: "windows" of LENGTHS seconds, or "segments" cut where the motion changes (``sequence_segments``).
    ``querybank``: a checkpoint with a query bank scores a window by its cosine less its hub prior (off by
    default, as in windowed indexes: on windows it did not help, docs/results/querybank.md)."""
    from lexmotion.models.querybank import clip_priors
    check_proposals(proposals)
    spans = (sequence_windows(sequences, model.config.motion.max_frames, lengths) if proposals == "windows"
             else sequence_segments(model, sequences))
    queries = _queries(sequences)
    text = encoded_rows(model.encode_text([part["caption"] for _, part in queries]))
    motion = _window_vectors(model, sequences, spans, progress)
    scores = text @ motion.T
    bank = getattr(model, "querybank", None) if querybank else None
    if bank is not None:
        scores = scores - clip_priors(model, bank, motion)[None]
    return scores, spans, queries


def check_proposals(proposals: str) -> None:
    if proposals not in PROPOSALS:
        raise BadValueError(f"--proposals must be one of {', '.join(PROPOSALS)}, not {proposals!r}")


def retrieve_moments(model, sequences: list[Sequence], progress: bool = False, querybank: bool = False,
                     tolerance: float = MOMENT_TOLERANCE, lengths: tuple = WINDOWS_S, proposals: str = "windows") -> dict:
    """Moment retrieval of one checkpoint (lexical or dense); ``per_item``: each query's 0/1 outcomes; ``spans``:
    the (sequence, start, end) ranked. A segment is a moment already, so segments are ranked as they are (no
    growing: ``tolerance`` applies to windows)."""
    scores, spans, queries = window_scores(model, sequences, progress, querybank, lengths, proposals)
    per_item = {}
    grow = tolerance if proposals == "windows" else 0.0
    return {**moment_recall(scores, spans, queries, per_item, grow), "windows": len(spans), "queries": len(queries),
            "per_item": per_item, "spans": spans}


# --- word localisation --------------------------------------------------------------------------------------------
def localisation_words(tokenizer, sequence: Sequence) -> list[tuple[str, list[int]]]:
    """(word, the parts whose caption holds it or its stem) for each content word of the parts' captions, less
    words whose stem every part's caption holds."""
    from lexmotion.models.vocabulary import caption_word_ids, is_whole_word, word_stem
    words = [[w for w in tokenizer.convert_ids_to_tokens(caption_word_ids(tokenizer, p["caption"]))
              if is_whole_word(w)] for p in sequence.parts]
    stems = [{word_stem(w) for w in ws} for ws in words]
    out = {}
    for ws in words:
        for w in ws:
            holders = [k for k, st in enumerate(stems) if word_stem(w) in st]
            if len(holders) < len(stems):
                out.setdefault(w, holders)
    return list(out.items())


def inside(t: float, sequence: Sequence, parts: list[int]) -> bool:
    return any(sequence.parts[k]["start"] <= t < sequence.parts[k]["end"] for k in parts)


def share(sequence: Sequence, parts: list[int]) -> float:
    return sum(sequence.parts[k]["end"] - sequence.parts[k]["start"] for k in parts) / sequence.duration


def localise_words(model, sequences: list[Sequence], rng: np.random.Generator | None = None,
                   progress: bool = False) -> dict:
    """Word localisation of a lexical model (its word timelines), a dense one (2 s windows against the word's
    text vector), and, with RNG, of a random peak, over the same words."""
    from tqdm.auto import tqdm

    from lexmotion.data.batching import normalise
    found, by_logit, chance, silent, random_found = [], [], [], [], []
    for seq in tqdm(sequences, desc="word timelines", leave=False, disable=not progress):
        words = localisation_words(model.tokenizer, seq)
        if not words:
            continue
        peaks = word_peaks(model, normalise(seq.features, model.stats), [w for w, _ in words])
        for (word, holders), (peak, closest) in zip(words, peaks):
            found.append(peak is not None and inside(peak, seq, holders))
            by_logit.append(closest is not None and inside(closest, seq, holders))
            chance.append(share(seq, holders))
            silent.append(peak is None)
            if rng is not None:
                random_found.append(inside(float(rng.uniform(0, seq.duration)), seq, holders))

    def mean(x):
        return float(np.mean(x)) if len(x) else float("nan")
    quiet = np.array(silent, dtype=bool)
    out = {"word_localisation": mean(found), "word_localisation_logits": mean(by_logit), "word_chance": mean(chance),
           "words": len(found), "silent": int(quiet.sum()),
           # None, not NaN, where no word is silent: JSON stays JSON
           "silent_placed": mean(np.array(by_logit)[quiet]) if quiet.any() else None,
           "silent_chance": mean(np.array(chance)[quiet]) if quiet.any() else None,
           "word_hits": [int(f) for f in found], "word_hits_logits": [int(f) for f in by_logit],
           "word_silent": [int(f) for f in silent], "word_share": [round(c, 4) for c in chance]}
    if rng is not None:
        out["random_word_localisation"] = mean(random_found)
    return out


def word_peaks(model, features: np.ndarray, words: list[str]) -> list[tuple[float | None, float | None]]:
    """Where each word peaks in FEATURES, in seconds: (the peak of its weights, None when they stay 0; the peak
    of its logits, None for a word outside the motion vocabulary). A dense model's two are the same."""
    if model.has_words:
        timelines = model.word_timelines(features, words)
        seconds = timelines["seconds"]
        return [(float(seconds[int(np.argmax(v))]) if np.max(v) > 0 else None,
                 float(seconds[int(np.argmax(z))]) if np.isfinite(np.max(z)) else None)
                for v, z in zip(timelines["words"].values(), timelines["logits"].values())]
    from lexmotion.data.features import WORKING_FPS
    from retrieval.segments import windows
    size = round(WINDOWS_S[0] * WORKING_FPS)
    spans = windows(len(features), size, round(0.5 * WORKING_FPS))
    motion = encoded_rows(model.encode_motion([model.read_window(features[a:b]) for a, b in spans]))
    scores = encoded_rows(model.encode_text(words)) @ motion.T
    return [((spans[j][0] + spans[j][1]) / 2 / WORKING_FPS,) * 2 for j in scores.argmax(1)]


# --- the command --------------------------------------------------------------------------------------------------
METRICS = ("moment_R1_iou0.5", "moment_R5_iou0.5", "moment_R1_iou0.7", "moment_R5_iou0.7", "word_localisation",
           "word_localisation_logits")


def evaluate_moments(models: list[str], seqs: list[Sequence], seed: int = 0, dense: tuple = (), device: str = "cpu",
                     progress: bool = False, against: tuple = (), resamples: int = 2000, querybank: bool = False,
                     serving: dict | None = None, tolerance: float = MOMENT_TOLERANCE,
                     lengths: tuple = WINDOWS_S, proposals: str = "windows") -> dict:
    """The benchmark on the sequences SEQS (``build_sequences``) for MODELS (and the DENSE baselines): per
    checkpoint, mean ± std over MODELS, and the baselines (SEED: their random draws). AGAINST: checkpoints
    that MODELS are compared with on the same queries and words (``compare_moments``). ``querybank``: windows
    of a checkpoint with a query bank score their cosine less their hub prior (``window_scores``). ``serving``:
    served-vector settings for every checkpoint (``LexMotionModel.override_serving``; None keeps each one's).
    ``tolerance``: how far below its best window a moment grows (``moment_recall``; 0: single windows).
    ``lengths``: the windows' lengths in seconds (one length: what an index of windows holds). ``proposals``:
    "segments" ranks spans cut where the motion changes instead of windows (``retrieve_moments``); the random
    baseline then ranks the first checkpoint's."""
    from lexmotion.models.checkpoint import load
    runs, spans_of = {}, {}
    for path in dict.fromkeys(list(models) + list(dense) + list(against)):
        model = load(path, device=device)
        model.override_serving(**(serving or {}))
        run = {**retrieve_moments(model, seqs, progress, querybank, tolerance, lengths, proposals),
               **localise_words(model, seqs, np.random.default_rng(seed), progress)}
        run["per_item"]["word_localisation"] = run.pop("word_hits")
        run["per_item"]["word_localisation_logits"] = run.pop("word_hits_logits")
        spans_of[path] = run.pop("spans")
        runs[path] = run
    mean_std = {k: {"mean": float(np.mean([runs[m][k] for m in models])),
                    "std": float(np.std([runs[m][k] for m in models]))} for k in METRICS}
    first = runs[models[0]]
    rng = np.random.default_rng(seed)
    max_frames = load_max_frames(models[0])
    spans = spans_of[models[0]]
    queries = _queries(seqs)
    grow = tolerance if proposals == "windows" else 0.0
    baselines = {"random": {**moment_recall(rng.random((len(queries), len(spans))), spans, queries, None, grow),
                            "word_localisation": first["random_word_localisation"],
                            "word_localisation_logits": first["random_word_localisation"]},
                 "uniform": {"word_localisation": first["word_chance"], "word_localisation_logits": first["word_chance"]}}
    if dense:
        baselines["dense"] = {k: {"mean": float(np.mean([runs[d][k] for d in dense])),
                                  "std": float(np.std([runs[d][k] for d in dense]))} for k in METRICS}
    out = {"sequences": len(seqs), "parts": len(seqs[0].parts), "seed": seed, "proposals": proposals,
           "windows_s": encodable(lengths, max_frames) if proposals == "windows" else [],
           "blend_s": BLEND_S, "moment_tolerance": grow, "models": list(models), "dense": list(dense), **mean_std, "runs": runs,
           "baselines": baselines, "layout": [s.parts for s in seqs],
           "serving": {k: v for k, v in (serving or {}).items() if v is not None}}
    if against:
        out["against"] = list(against)
        out["comparison"] = compare_moments(runs, list(against), list(models), resamples, seed)
    return out


def compare_moments(runs: dict, a: list[str], b: list[str], resamples: int = 2000, seed: int = 0) -> dict:
    """B − A on each metric of METRICS, with ``eval compare``'s paired bootstrap: queries (words, for word
    localisation) and seeds resampled, the same draw for both sides."""
    from retrieval.compare import paired_difference
    return {k: paired_difference(np.array([runs[p]["per_item"][k] for p in a], dtype=float),
                                 np.array([runs[p]["per_item"][k] for p in b], dtype=float), resamples, seed)
            for k in METRICS}


def load_max_frames(path: str) -> int:
    from lexmotion.models.checkpoint import read_config
    return int(read_config(path)["model"]["motion"]["max_frames"])


def format_moments(result: dict) -> str:
    def cell(v):
        return f"{v['mean']:.3f} ± {v['std']:.3f}" if isinstance(v, dict) else ("-" if v is None else f"{v:.3f}")
    rows = [("checkpoints", {k: result[k] for k in METRICS})]
    rows += [(f"baseline: {name}", {k: b.get(k) for k in METRICS}) for name, b in result["baselines"].items()]
    lines = [f"{result['sequences']} sequences of {result['parts']} parts from {result['data']} "
             f"({result['split']}), seed {result['seed']}; " + (f"windows {', '.join(f'{w:g}' for w in result['windows_s'])} s"
                                                                if result.get("proposals", "windows") == "windows"
                                                                else "segments cut where the motion changes"),
             "| | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cell(v.get(k)) for k in METRICS) + " |" for name, v in rows]
    first = result["runs"][result["models"][0]]
    lines.append(f"word chance (a part's share of its sequence) {first['word_chance']:.3f}; oracle share at IoU 0.5 "
                 f"{first['oracle_iou0.5']:.3f}, at 0.7 {first['oracle_iou0.7']:.3f}")
    if first.get("silent"):
        lines.append(f"silent words (weights 0 all along; word_localisation counts them as misses): {first['silent']} of "
                     f"{first['words']}; placed by their logits' peak {first['silent_placed']:.3f} (their chance "
                     f"{first['silent_chance']:.3f}), first checkpoint")
    if result.get("comparison"):
        lines += ["", f"B (--model) − A (--against: {', '.join(result['against'])}), paired 95% interval over "
                      "queries (words) and seeds:", "",
                  "| metric | A mean ± std | B mean ± std | B − A | 95% interval | verdict |", "|---|---|---|---|---|---|"]
        lines += [f"| {k} | {r['a']:.3f} ± {r['a_std']:.3f} | {r['b']:.3f} ± {r['b_std']:.3f} | {r['difference']:+.3f} "
                  f"| [{r['low']:+.3f}, {r['high']:+.3f}] | {r['verdict']} |" for k, r in result["comparison"].items()]
    for c in result.get("captioners", []):
        lines.append(f"captioner {c['captioner']} ({c['arch']}): {c['words']} generated words placed, localisation "
                     f"{c['localisation']:.3f} (chance {c['chance']:.3f}); {c['unplaceable']} words no part's caption holds")
    return "\n".join(lines)
