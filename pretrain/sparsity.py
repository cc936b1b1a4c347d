"""Sparsity and grounding report of a lexical model: non-zeros, FLOPS, most active words, and
whether a vector's top words are the words of its caption.

Grounding metrics (a caption's *content words* are its WordPieces minus stop words, digits
and punctuation: ``lexmotion.models.vocabulary.caption_word_ids``):
- text_caption_word_recall@10: share of a caption's content words among its own text
  vector's 10 highest non-zero words (mean over captions);
- text_top5_precision: share of a text vector's top 5 non-zero words that are content words
  of its caption or their inflections (same Snowball stem); divided by min(5, non-zeros);
- motion_any_hit@20: share of motions with at least one of their caption's content words
  among their 20 highest non-zero words;
- motion_caption_word_recall@20: share of a caption's content words among its motion's top 20;
- stop_word_mass_text / _motion: share of the vectors' total weight on stop words.
With the own-word floor (``ModelConfig.own_word_floor``) the served text vectors hold their
caption's words on top by rule; ``network_text_grounding`` gives the two text metrics of the
network's own vectors as well (``*_network``).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from lexmotion.data.batching import Collate, MotionTextDataset
from lexmotion.errors import LexmotionError
from lexmotion.models.lexical import flops_loss
from lexmotion.models.vocabulary import STOP_WORDS, caption_word_ids, word_stem


def _top(vec: torch.Tensor, k: int) -> list[int]:
    values, index = torch.topk(vec, min(k, len(vec)))
    return [int(i) for v, i in zip(values, index) if v > 0]


def grounding_metrics(tokenizer, captions: list[str], text: torch.Tensor | None, motion: torch.Tensor) -> dict:
    """The grounding metrics above for (N, V) text and motion vectors of N clips and their captions."""
    stop_ids = torch.tensor([i for t, i in tokenizer.get_vocab().items() if t in STOP_WORDS])
    text_recall, text_precision, any_hit, motion_recall = [], [], [], []
    for n, caption in enumerate(captions):
        words = set(caption_word_ids(tokenizer, caption))
        if not words:
            continue
        stems = {word_stem(t) for t in tokenizer.convert_ids_to_tokens(list(words))}
        if text is not None:
            top10 = _top(text[n], 10)
            text_recall.append(len(words & set(top10)) / len(words))
            top5 = top10[:5]
            if top5:
                good = [i in words or word_stem(t) in stems for i, t in zip(top5, tokenizer.convert_ids_to_tokens(top5))]
                text_precision.append(sum(good) / len(top5))
            else:
                text_precision.append(0.0)
        top20 = set(_top(motion[n], 20))
        any_hit.append(bool(words & top20))
        motion_recall.append(len(words & top20) / len(words))

    def mass(x):
        total = float(x.sum())
        return round(float(x[:, stop_ids].sum()) / total, 4) if total > 0 else None

    out = {"motion_any_hit@20": round(float(np.mean(any_hit)), 4) if any_hit else None,
           "motion_caption_word_recall@20": round(float(np.mean(motion_recall)), 4) if motion_recall else None,
           "stop_word_mass_motion": mass(motion)}
    if text is not None:
        out = {"text_caption_word_recall@10": round(float(np.mean(text_recall)), 4) if text_recall else None,
               "text_top5_precision": round(float(np.mean(text_precision)), 4) if text_precision else None,
               **out, "stop_word_mass_text": mass(text)}
    return out


def network_text_grounding(tokenizer, captions: list[str], network: torch.Tensor, motion: torch.Tensor) -> dict:
    """The text metrics of the network's vectors (before the own-word floor), keys suffixed ``_network``."""
    g = grounding_metrics(tokenizer, captions, network, motion)
    return {f"{k}_network": g[k] for k in ("text_caption_word_recall@10", "text_top5_precision")}


def label_word_report(tokenizer, labels: list[str], motion: torch.Tensor, k: int = 5) -> dict:
    """Label-derived data (Bandai): for each action label ("wave-left-hand"), how many of its
    clips hold every word of the label, and any word of it, among their motion vector's top
    ``k`` words (an inflection counts: "waves" holds "wave"), and the label's most frequent
    top-``k`` words."""
    out = {}
    for label in sorted(set(labels)):
        ids = caption_word_ids(tokenizer, label.replace("-", " ").replace("_", " "))
        words = {word_stem(t) for t in tokenizer.convert_ids_to_tokens(ids)}
        rows = [n for n, lab in enumerate(labels) if lab == label]
        top_ids = [_top(motion[n], k) for n in rows]
        tops = [{word_stem(t) for t in tokenizer.convert_ids_to_tokens(t)} for t in top_ids]
        counts = Counter(i for t in top_ids for i in t)
        out[label] = {"clips": len(rows),
                      "label_words": tokenizer.convert_ids_to_tokens(sorted(set(ids))),
                      f"all_in_top{k}": round(float(np.mean([words <= t for t in tops])), 4) if words else None,
                      f"any_in_top{k}": round(float(np.mean([bool(words & t) for t in tops])), 4) if words else None,
                      "frequent_words": tokenizer.convert_ids_to_tokens([i for i, _ in counts.most_common(k)])}
    return out


def format_label_words(report: dict, k: int = 5) -> str:
    return "\n".join(f"  {label} ({r['clips']} clips): {' '.join(r['label_words'])} all in top {k}: "
                     f"{r[f'all_in_top{k}']:.0%}, any: {r[f'any_in_top{k}']:.0%}; frequent: "
                     f"{', '.join(r['frequent_words'])}" for label, r in report.items() if r[f"all_in_top{k}"] is not None)


@torch.no_grad()
def sparsity_report(model, datasets, max_frames: int = 200, split: str = "test", top_k: int = 20) -> dict:
    model.eval()
    sets, used = [], []
    for d in datasets:
        for s in (split, "val", "train"):
            try:
                sets.append(MotionTextDataset(d, s, model.stats, max_frames))
                used.append(s)
                break
            except LexmotionError:
                continue
    items = [it for ds in sets for it in (ds[i] for i in range(len(ds)))]
    collate = Collate(model.tokenizer, model.config.max_text_len)
    text_vecs, network_vecs, motion_vecs = [], [], []
    for i in range(0, len(items), 64):
        batch = {k: v.to(model.device) if torch.is_tensor(v) else v for k, v in collate(items[i:i + 64]).items()}
        served, network = model.text_lexical_and_network(batch["text_ids"], batch["text_mask"])
        text_vecs.append(served.float().cpu())
        if network is not None:
            network_vecs.append(network.float().cpu())
        motion_vecs.append(model.motion_lexical(batch["motion"], batch["mask"]).float().cpu())
    text, motion = torch.cat(text_vecs), torch.cat(motion_vecs)
    captions = [it["text"] for it in items]
    grounding = grounding_metrics(model.tokenizer, captions, text, motion)
    if network_vecs:
        grounding.update(network_text_grounding(model.tokenizer, captions, torch.cat(network_vecs), motion))
    counts = Counter(int(i) for v in motion for i in torch.nonzero(v).flatten().tolist())
    tokens = model.tokenizer.convert_ids_to_tokens

    def nnz(x):
        n = (x > 0).sum(1).numpy()
        return {"mean": round(float(n.mean()), 1), "median": float(np.median(n))}

    return {
        "clips": len(items), "split_used": "+".join(sorted(set(used))),
        "vocabulary": model.config.vocabulary, "text_side": model.config.text_side,
        "vocabulary_active": int(model.vocab_mask.sum()), "motion_vocabulary_active": int(model.motion_mask.sum()),
        "text_nonzeros": nnz(text), "motion_nonzeros": nnz(motion),
        "flops_text": round(float(flops_loss(text)), 4), "flops_motion": round(float(flops_loss(motion)), 4),
        "top_motion_words": [(tokens(i), n) for i, n in counts.most_common(10)],
        "grounding": grounding,
        f"chance_caption_words_in_top{top_k}": round(top_k / int(model.motion_mask.sum()), 6),
    }


def format_grounding(g: dict) -> str:
    names = {"text_caption_word_recall@10": "text caption-word recall@10",
             "text_top5_precision": "text top-5 precision", "motion_any_hit@20": "motion any-hit@20",
             "motion_caption_word_recall@20": "motion caption-word recall@20",
             "stop_word_mass_text": "stop-word mass text", "stop_word_mass_motion": "stop-word mass motion",
             "text_caption_word_recall@10_network": "without the own-word floor: text caption-word recall@10",
             "text_top5_precision_network": "text top-5 precision"}
    return "grounding: " + ", ".join(f"{names[k]} {v:.3f}" for k, v in g.items() if v is not None)


def format_report(r: dict) -> str:
    return (f"sparsity over {r['clips']} {r['split_used']} clips ({r['vocabulary']} vocabulary, text side "
            f"{r['text_side']}): text non-zeros mean {r['text_nonzeros']['mean']} "
            f"median {r['text_nonzeros']['median']:g} (of {r['vocabulary_active']}); motion non-zeros mean "
            f"{r['motion_nonzeros']['mean']} median {r['motion_nonzeros']['median']:g} "
            f"(of {r['motion_vocabulary_active']}); FLOPS text {r['flops_text']} motion {r['flops_motion']}\n"
            f"most active motion words: {', '.join(f'{w} ({c})' for w, c in r['top_motion_words'])}\n"
            + format_grounding(r["grounding"]))
