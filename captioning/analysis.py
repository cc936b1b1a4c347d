"""Reading a captioner's attention: one motion (``describe``) or a whole split (``analyze``).

For every generated word the captioner is re-run with teacher forcing on its
own caption (dropout off, so the steps are those of decoding) and we read:
- guided: alpha (time x 6 parts), beta, the Gaussian window (mu, sigma);
  the word's part = argmax_i sum_k window_k alpha_ki; its span = mu +- sigma;
- local: the attention weights over time and the position p_t; span = p_t +- D/2.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from captioning.data import CaptionCollate, CaptionExamples, clip_features
from captioning.decoding import ModelScorer, decode
from captioning.model import load_captioner
from captioning.rules import stem, word_targets
from captioning.text import normalise_caption
from lexmotion.data.dataset import MotionDataset
from lexmotion.data.skeletons import PARTS
from lexmotion.errors import LexmotionError
from lexmotion.files import claim_output, mark_folder, save_figure, write_json
from lexmotion.models.vocabulary import is_whole_word

# Bandai labels whose body parts are known (the ground truth).
BANDAI_TRUTH = {
    "wave-left-hand": ("left_arm",), "raise-up-left-hand": ("left_arm",),
    "wave-right-hand": ("right_arm",), "raise-up-right-hand": ("right_arm",),
    "wave-both-hands": ("left_arm", "right_arm"), "raise-up-both-hands": ("left_arm", "right_arm"),
    "walk": ("left_leg", "right_leg", "root"), "run": ("left_leg", "right_leg", "root"),
    "walk-turn-left": ("left_leg", "right_leg", "root"), "walk-turn-right": ("left_leg", "right_leg", "root"),
}
TURN_TRUTH = ("root",)          # a "turn" word: the root (heading), whatever the label


@torch.no_grad()
def read_attention(model, motion: torch.Tensor, mask: torch.Tensor, captions: list[list[int]]) -> list[dict]:
    """Teacher-force each clip's word ids; -> per clip a dict of numpy arrays per word."""
    vocab = model.vocab
    n = max(len(c) for c in captions) + 1
    inputs = torch.full((len(captions), n), vocab.pad, dtype=torch.long)
    for b, c in enumerate(captions):
        inputs[b, :len(c) + 1] = torch.tensor([vocab.bos] + list(c))
    _, info, memory = model.teacher_forced({"motion": motion, "mask": mask, "inputs": inputs.to(motion.device)})
    steps = memory["mask"].sum(-1).tolist()
    out = []
    for b, c in enumerate(captions):
        T, L = int(steps[b]), len(c)
        item = {"steps": T, "words": [vocab.itos[i] for i in c]}
        for k, v in info.items():
            v = v[b, :L].float().cpu().numpy()
            item[k] = v[:, :T] if v.ndim >= 2 and k not in ("mu", "sigma", "beta", "position") else v
        out.append(item)
    return out


def word_report(model, att: dict) -> list[dict]:
    """Per word: beta, top part, part weights, span in seconds."""
    sps = model.encoder.seconds_per_step
    rows = []
    for t, word in enumerate(att["words"]):
        row = {"word": word}
        if "alpha" in att:
            part_weights = (att["window"][t][:, None] * att["alpha"][t]).sum(0)
            row.update(beta=float(att["beta"][t]), top_part=PARTS[int(part_weights.argmax())],
                       part_weights={p: round(float(w), 3) for p, w in zip(PARTS, part_weights)})
            mu, sigma = float(att["mu"][t]), float(att["sigma"][t])
        else:
            mu, sigma = float(att["position"][t]), model.config.window / 2
        row["span_seconds"] = [round(max(0.0, mu - sigma) * sps, 2), round(min(att["steps"] - 1, mu + sigma) * sps, 2)]
        row["peak_seconds"] = round(min(max(mu, 0.0), att["steps"] - 1) * sps, 2)   # the Gaussian's centre, or p_t
        rows.append(row)
    return rows


def words_figure(model, att: dict, caption: str):
    """One panel per generated word: guided, its part x time attention, time window and beta; local, its
    window over time. Returns a matplotlib ``Figure`` (shown inline in a notebook; ``save_figure`` writes it)."""
    from matplotlib.figure import Figure

    words = att["words"] or ["(empty)"]
    sps = model.encoder.seconds_per_step
    cols = min(4, len(words))
    rows = -(-len(words) // cols)
    fig = Figure(figsize=(3.6 * cols, 2.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    extent = [0, att["steps"] * sps, len(PARTS) - 0.5, -0.5]
    for t, ax in enumerate(axes.flat):
        if t >= len(att["words"]):
            ax.axis("off")
            continue
        if "alpha" in att:
            ax.imshow((att["alpha"][t] * att["window"][t][:, None]).T, aspect="auto", cmap="magma", extent=extent)
            ax.set_yticks(range(len(PARTS)), [p.replace("_", " ") for p in PARTS], fontsize=7)
            mu, sigma = att["mu"][t] * sps, att["sigma"][t] * sps
            ax.axvspan(max(0, mu - sigma), mu + sigma, color="cyan", alpha=0.15)
            ax.set_title(f"{att['words'][t]}  (beta={att['beta'][t]:.2f})", fontsize=9)
        else:
            ax.plot(np.arange(att["steps"]) * sps, att["weights"][t], color="purple")
            ax.axvline(att["position"][t] * sps, color="cyan")
            ax.set_title(att["words"][t], fontsize=9)
            ax.set_yticks([])
        ax.tick_params(labelsize=7)
        ax.set_xlabel("seconds", fontsize=7)
    fig.suptitle(caption, fontsize=11)
    fig.tight_layout()
    return fig


def describe_clip(model, features: np.ndarray, beam: int = 2, no_repeat: int = 0, guide_weight: float = 0.0,
                  guide_model: str | None = None, guide_top: int = 20,
                  reranker=None) -> tuple[str, dict, dict | None, dict]:
    """-> the caption, its attention, (with a lexical source: the captioner's own backbone or
    ``guide_model``) the motion's top words and those of them the caption used (by stem), and where
    the caption comes from ({"source": "captioner" or "training caption", "rank"}; with a
    ``ConsensusReranker`` a training caption may win, and its attention is read by teacher forcing)."""
    from captioning.decoding import beam_nbest
    from captioning.evaluate import make_scorer
    from captioning.guidance import content_words
    device = model.device
    motion = torch.from_numpy(np.ascontiguousarray(features))[None].to(device)
    mask = torch.ones(1, motion.shape[1], dtype=torch.bool, device=device)
    scorer, _ = make_scorer(model, guide_weight=guide_weight, guide_model=guide_model, guide_top=guide_top,
                            device=device)
    hyps = (beam_nbest(scorer, motion, mask, beam=beam, no_repeat=no_repeat)[0] if beam > 1
            else decode(scorer, motion, mask, beam=1, no_repeat=no_repeat))
    ids, origin = hyps[0], {"source": "captioner", "rank": 0}
    caption = " ".join(model.vocab.decode(ids))
    if reranker is not None:
        origin = reranker.choose(motion, mask, [[" ".join(model.vocab.decode(h)) for h in hyps]])[0]
        caption = normalise_caption(origin.pop("caption"))
        ids = model.vocab.encode(caption)[1:-1]          # a word the captioner does not know reads as <unk>
    att = read_attention(model, motion, mask, [ids])[0]
    words_used = None
    if getattr(scorer, "last_top", None) is not None:
        top_ids, top_w = (t[:1, :guide_top] for t in scorer.last_top)
        tokenizer = scorer.guide.tokenizer
        top = [t for t, w in zip(tokenizer.convert_ids_to_tokens(top_ids[0].tolist()), top_w[0].tolist())
               if w > 0 and is_whole_word(t)]
        stems = scorer.guide.stems(top_ids, top_w)[0]
        words_used = {"top": top, "used": [w for w in content_words(caption) if stem(w) in stems]}
    return caption, att, words_used, origin


def describe_file(model_dir: str, motion_path: str, skeleton: str | None = None, fps: float = 20.0,
                  beam: int = 2, figure: str | None = None, no_repeat: int = 0, guide_weight: float = 0.0,
                  guide_model: str | None = None, guide_top: int = 20, rerank: int = 0,
                  rerank_model: str | None = None, rerank_data: str | None = None,
                  rerank_other_skeletons: bool = True) -> dict:
    """Caption one motion file (see ``describe_clip``); ``rerank`` = k > 0 reranks with the k nearest
    training captions of ``rerank_data`` (default: the captioner's training data). With
    ``rerank_other_skeletons`` False, a motion on a skeleton that data does not hold is not reranked (its
    neighbours would be another library's captions) and the result's ``note`` says so."""
    from lexmotion.data.motion_file import read_motion_file
    model = load_captioner(model_dir)
    clip = read_motion_file(motion_path, fps, skeleton)
    features = clip_features(clip["joints"], clip["fps"], clip["skeleton"], model.stats, clip["source"])
    reranker, note = None, None
    if rerank:
        from captioning.model import read_captioner_config
        from captioning.rerank import make_reranker
        data_dir = rerank_data or read_captioner_config(model_dir)["train"].get("data")
        if not data_dir:
            raise LexmotionError(f"{model_dir}: its config names no training data; give --rerank-data")
        data = MotionDataset(data_dir)
        rig, held = clip["skeleton"].name, data.meta.get("skeletons")
        if not rerank_other_skeletons and held and rig not in held:
            # on Bandai takes, kitml-cmu neighbours made captions name the action half as often
            # (docs/results/captioning.md, "Motions from another library")
            rerank, note = 0, (f"{motion_path} is on the {rig} skeleton, which {data_dir} does not hold, so its "
                               f"caption is the captioner's own, not reranked by that data's captions (--rerank K "
                               f"forces it)")
        else:
            reranker = make_reranker(model, data, rerank, rerank_model, model.device)
    caption, att, words_used, origin = describe_clip(model, features, beam, no_repeat, guide_weight, guide_model,
                                                     guide_top, reranker)
    if figure:
        save_figure(words_figure(model, att, caption), figure)
    out = {"motion": motion_path, "caption": caption, **origin, "rerank": rerank, "words": word_report(model, att),
           "figure": figure, **({"note": note} if note else {})}
    if words_used is not None:
        out.update(motion_words=words_used["top"], motion_words_used=words_used["used"], guide_weight=guide_weight)
    return out


def _plot_beta_density(groups: dict, path: Path) -> None:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    bins = np.linspace(0, 1, 26)
    for name, values in groups.items():
        if values:
            ax.hist(values, bins=bins, density=True, alpha=0.55, label=f"{name} words (n={len(values)})")
    ax.set_xlabel("beta (share of motion context)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def _plot_part_histograms(per_word: dict, path: Path, top: int = 12) -> None:
    from matplotlib.figure import Figure
    words = [w for w, _ in sorted(per_word.items(), key=lambda kv: -sum(kv[1].values()))[:top]]
    if not words:
        return
    cols = min(4, len(words))
    rows = -(-len(words) // cols)
    fig = Figure(figsize=(3.4 * cols, 2.3 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, w in zip(axes.flat, words):
        counts = [per_word[w].get(p, 0) for p in PARTS]
        ax.bar(range(len(PARTS)), counts, color="teal")
        ax.set_xticks(range(len(PARTS)), [p.replace("_", "\n") for p in PARTS], fontsize=6)
        ax.set_title(f"{w} (n={sum(counts)})", fontsize=9)
    for ax in list(axes.flat)[len(words):]:
        ax.axis("off")
    fig.suptitle("most attended body part per occurrence", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def _plot_localisation(examples: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, 1.3 * len(examples) + 0.5))
    axes = fig.subplots(len(examples), 1, squeeze=False)
    for ax, ex in zip(axes[:, 0], examples):
        for j, w in enumerate(ex["words"]):
            a, b = w["span_seconds"]
            ax.barh(j, b - a, left=a, height=0.6, color="orange")
            ax.text(b + 0.05, j, w["word"], va="center", fontsize=7)
        ax.set_yticks([])
        ax.set_xlim(0, ex["seconds"] * 1.25)
        ax.set_title(f"{ex['id']}: {ex['caption']}", fontsize=8)
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    save_figure(fig, path)


def analyze(model_dir: str, data_dir: str, split: str, out: str, batch_size: int = 32) -> dict:
    out = claim_output(out, "caption-analysis", resume=True, inputs=[model_dir, data_dir], can_overwrite=False)
    model = load_captioner(model_dir)
    if model.config.arch != "guided":
        raise LexmotionError(f"{model_dir}: `caption analyze` reads beta and part attention, which only the guided "
                             f"captioner has (this one is {model.config.arch}); use `caption describe` for its windows")
    out.mkdir(parents=True, exist_ok=True)
    mark_folder(out, "caption-analysis")
    data = MotionDataset(data_dir)
    examples = CaptionExamples(data, split, model.stats)
    loader = torch.utils.data.DataLoader(examples, batch_size=batch_size, collate_fn=CaptionCollate())
    scorer = ModelScorer(model)
    beta = {"motion": [], "non-motion": []}
    parts_per_word: dict = defaultdict(Counter)
    localisation, truth_hits = [], defaultdict(lambda: [0, 0])
    from tqdm.auto import tqdm
    for batch in tqdm(loader, desc="analysing", leave=False):
        motion, mask = batch["motion"].to(model.device), batch["mask"].to(model.device)
        ids = decode(scorer, motion, mask, beam=1)
        ids = [s or [model.vocab.eos] for s in ids]
        for clip_i, att in zip(batch["clip"], read_attention(model, motion, mask, ids)):
            clip = examples.clips[clip_i]
            words = [w for w in att["words"] if w != "<eos>"]
            report = word_report(model, att)[:len(words)]
            for w, t, r in zip(words, word_targets(words), report):
                if t["beta"] == 1.0:
                    beta["motion"].append(r["beta"])
                    parts_per_word[w][r["top_part"]] += 1
                elif t["beta"] == 0.0:
                    beta["non-motion"].append(r["beta"])
            localisation.append({"id": clip["id"], "caption": " ".join(words),
                                 "seconds": round(len(clip["features"]) / 20.0, 2),
                                 "words": [r for r, t in zip(report, word_targets(words)) if t["beta"] == 1.0]})
        # Body-part truth (Bandai labels): attention on the reference caption's action words.
        truths = [BANDAI_TRUTH.get(examples.clips[c]["meta"].get("content")) for c in batch["clip"]]
        if any(truths):
            refs = [examples.clips[c]["texts"][0] for c in batch["clip"]]
            ref_ids = [model.vocab.encode(r)[1:-1] or [model.vocab.eos] for r in refs]
            for truth, att, c in zip(truths, read_attention(model, motion, mask, ref_ids), batch["clip"]):
                if not truth:
                    continue
                words = att["words"]
                for w, t, r in zip(words, word_targets(words), word_report(model, att)):
                    if t["group"] in ("arms", "legs", "root"):
                        turn = stem(w) == stem("turn")
                        key = "turn (word)" if turn else examples.clips[c]["meta"]["content"]
                        truth_hits[key][0] += int(r["top_part"] in (TURN_TRUTH if turn else truth))
                        truth_hits[key][1] += 1
    _plot_beta_density(beta, out / "beta_density.png")
    _plot_part_histograms(parts_per_word, out / "part_histograms.png")
    shown = [ex for ex in localisation if ex["words"]][:6]
    if shown:
        _plot_localisation(shown, out / "localisation.png")
    summary = {"clips": len(examples.clips),
               "beta_mean": {k: round(float(np.mean(v)), 3) if v else None for k, v in beta.items()},
               "beta_words": {k: len(v) for k, v in beta.items()},
               "top_part_per_word": {w: dict(c.most_common()) for w, c in
                                     sorted(parts_per_word.items(), key=lambda kv: -sum(kv[1].values()))[:20]}}
    if truth_hits:
        hits, total = sum(h for h, _ in truth_hits.values()), sum(n for _, n in truth_hits.values())
        summary["body_part_accuracy"] = {
            "overall": round(hits / total, 3), "words": total,
            "chance": round(sum(n * len(BANDAI_TRUTH.get(k, TURN_TRUTH)) / len(PARTS) for k, (_, n) in truth_hits.items())
                            / total, 3),
            "per_label": {k: {"accuracy": round(h / n, 3), "words": n} for k, (h, n) in sorted(truth_hits.items())},
            "note": "argmax part of the spatial attention (under the temporal window) at the reference caption's "
                    "arm/leg/trajectory words, teacher-forced"}
    result = {"summary": summary, "localisation": localisation,
              "figures": sorted(p.name for p in out.glob("*.png"))}
    write_json(out / "analysis.json", result)
    return result


def localise_captions(captioner_path: str, sequences: list, device: str = "cpu", progress: bool = False) -> dict:
    """The captioner's localisation on the moments benchmark's sequences (``retrieval/moments.py``): each
    generated content word placed at its attention peak, against the parts whose captions hold its stem."""
    from tqdm.auto import tqdm

    from captioning.guidance import content_words
    from captioning.model import load_captioner
    from lexmotion.data.batching import normalise
    from retrieval.moments import inside, share
    model = load_captioner(captioner_path, device)
    found, chance, unplaceable, examples = [], [], 0, []
    for seq in tqdm(sequences, desc="captioning sequences", leave=False, disable=not progress):
        caption, att, _, _ = describe_clip(model, normalise(seq.features, model.stats), beam=2)
        stems = [{stem(w) for w in content_words(p["caption"])} for p in seq.parts]
        placed = []
        for row in word_report(model, att):
            if row["word"] not in content_words(row["word"]):
                continue
            holders = [k for k, st in enumerate(stems) if stem(row["word"]) in st]
            if not holders:
                unplaceable += 1
            elif len(holders) < len(stems):
                found.append(inside(row["peak_seconds"], seq, holders))
                chance.append(share(seq, holders))
                placed.append({"word": row["word"], "peak_seconds": row["peak_seconds"], "found": bool(found[-1])})
        examples.append({"caption": caption, "placed": placed})
    return {"captioner": captioner_path, "arch": model.config.arch,
            "localisation": float(np.mean(found)) if found else float("nan"),
            "chance": float(np.mean(chance)) if chance else float("nan"), "words": len(found),
            "unplaceable": unplaceable, "examples": examples,
            "per_item": {"found": [float(f) for f in found], "chance": [float(c) for c in chance]}}
