"""Sparsity report of a lexical model: non-zeros, FLOPS, most active words, and how
well a motion's top words match its own caption (against chance)."""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from lexmotion.data.batching import Collate, MotionTextDataset
from lexmotion.errors import LexmotionError
from lexmotion.models.lexical import flops_loss

_STOP = frozenset("a an the and or of to in on at with by for from as is are was were be it its his her their "
                  "they he she someone person human man woman then while this that".split())


def caption_word_ids(tokenizer, text: str) -> set[int]:
    words = [w for w in text.lower().replace(".", " ").replace(",", " ").split() if w not in _STOP]
    return {i for w in words for i in tokenizer(w, add_special_tokens=False)["input_ids"]}


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
    text_vecs, motion_vecs = [], []
    for i in range(0, len(items), 64):
        batch = {k: v.to(model.device) if torch.is_tensor(v) else v for k, v in collate(items[i:i + 64]).items()}
        text_vecs.append(model.text_lexical(batch["text_ids"], batch["text_mask"]).float().cpu())
        motion_vecs.append(model.motion_lexical(batch["motion"], batch["mask"]).float().cpu())
    text, motion = torch.cat(text_vecs), torch.cat(motion_vecs)
    active = int(model.vocab_mask.sum())
    hits, any_hit = [], []
    for vec, item in zip(motion, items):
        words = caption_word_ids(model.tokenizer, item["text"])
        if not words:
            continue
        top = set(torch.topk(vec, top_k).indices.tolist()) if (vec > 0).any() else set()
        found = len(top & words)
        hits.append(found / len(words))
        any_hit.append(found > 0)
    counts = Counter(int(i) for v in motion for i in torch.nonzero(v).flatten().tolist())
    tokens = model.tokenizer.convert_ids_to_tokens

    def nnz(x):
        n = (x > 0).sum(1).numpy()
        return {"mean": round(float(n.mean()), 1), "median": float(np.median(n))}

    return {
        "clips": len(items), "split_used": "+".join(sorted(set(used))), "vocabulary_active": active,
        "text_nonzeros": nnz(text), "motion_nonzeros": nnz(motion),
        "flops_text": round(float(flops_loss(text)), 4), "flops_motion": round(float(flops_loss(motion)), 4),
        "top_motion_words": [(tokens(i), n) for i, n in counts.most_common(10)],
        f"caption_words_in_motion_top{top_k}": round(float(np.mean(hits)), 4) if hits else None,
        f"motions_with_a_caption_word_in_top{top_k}": round(float(np.mean(any_hit)), 4) if any_hit else None,
        f"chance_caption_words_in_top{top_k}": round(top_k / active, 6),
    }


def format_report(r: dict) -> str:
    k = [key for key in r if key.startswith("caption_words_in_motion_top")][0]
    n = k.rsplit("top", 1)[1]
    return (f"sparsity over {r['clips']} {r['split_used']} clips: text non-zeros mean {r['text_nonzeros']['mean']} "
            f"median {r['text_nonzeros']['median']:g}; motion non-zeros mean {r['motion_nonzeros']['mean']} "
            f"median {r['motion_nonzeros']['median']:g} (of {r['vocabulary_active']}); FLOPS text {r['flops_text']} "
            f"motion {r['flops_motion']}\n"
            f"most active motion words: {', '.join(f'{w} ({c})' for w, c in r['top_motion_words'])}\n"
            f"caption words found in a motion's top {n}: {r[k]} "
            f"(motions with at least one: {r[f'motions_with_a_caption_word_in_top{n}']}; chance {r[f'chance_caption_words_in_top{n}']})")
