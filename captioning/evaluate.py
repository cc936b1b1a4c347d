"""Captioning a split and scoring it: a trained captioner (optionally with synergy and lexical
guidance), or the nearest-caption baseline; several runs (seeds) give mean ± std.

kitml-cmu duplicates (``same_motion_as``) are removed first, as in retrieval evaluation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from captioning.data import CaptionCollate, CaptionExamples
from captioning.decoding import ModelScorer, SynergyOptions, SynergyScorer, decode
from lexmotion.data.dataset import MotionDataset
from lexmotion.device import resolve_device
from lexmotion.errors import LexmotionError

METRICS = ("BLEU@1", "BLEU@4", "ROUGE-L", "CIDEr", "BERTScore")


def to_device(batch: dict, device) -> dict:
    """Every tensor of a (nested) batch dict on ``device``."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else to_device(v, device) if isinstance(v, dict) else v
            for k, v in batch.items()}


@torch.no_grad()
def predict(scorer, examples: CaptionExamples, beam: int = 2, batch_size: int = 32, progress: bool = False,
            device="cpu") -> list[str]:
    """Captions for every clip of ``examples``, in order. A ``GuidedScorer`` also records, per clip,
    the top lexical pieces it read (``scorer.tops``, in the clips' order)."""
    from tqdm.auto import tqdm
    for m in scorer.models:
        m.eval()
    lengths = examples.lengths()
    order = sorted(range(len(examples)), key=lambda i: lengths[i])      # less padding
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    loader = torch.utils.data.DataLoader(examples, batch_sampler=batches, collate_fn=CaptionCollate())
    out = [""] * len(examples)
    tops = [None] * len(examples)
    for idx, batch in zip(batches, tqdm(loader, desc="captioning", disable=not progress, leave=False)):
        batch = to_device(batch, device)
        ids = decode(scorer, batch["motion"], batch["mask"], beam=beam, cached=batch.get("memory"))
        for i, s in zip(idx, ids):
            out[i] = " ".join(scorer.vocab.decode(s))
        if getattr(scorer, "last_top", None) is not None:
            for b, i in enumerate(idx):
                tops[i] = (scorer.last_top[0][b].cpu(), scorer.last_top[1][b].cpu())
    if all(t is not None for t in tops):
        scorer.tops = tops
    return out


def evaluation_examples(data: MotionDataset, split: str, stats: dict) -> tuple[CaptionExamples, int]:
    """The split's captioned clips with duplicates removed, and how many were removed."""
    from retrieval.evaluate import deduplicate
    examples = CaptionExamples(data, split, stats)
    keep, removed = deduplicate(data, [c["index"] for c in examples.clips])
    keep = set(keep)
    examples.clips = [c for c in examples.clips if c["index"] in keep]
    return examples, removed


def _score(examples: CaptionExamples, preds: list[str], device, predictions_out: str | None) -> dict:
    from captioning.metrics import caption_metrics
    refs = [c["texts"] for c in examples.clips]
    result = {"n": len(preds), **caption_metrics(preds, refs, str(device)), "skipped": examples.skipped}
    if predictions_out:
        from lexmotion.files import write_jsonl
        Path(predictions_out).parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(predictions_out, [{"id": c["id"], "prediction": p, "references": c["texts"]}
                                      for c, p in zip(examples.clips, preds)])
    return result


def make_scorer(model, synergy=None, synergy_options=None, guide_weight: float = 0.0, guide_model: str | None = None,
                guide_top: int = 20, device="cpu"):
    """The decoding scorer: one captioner, or a synergy pair; wrapped in lexical guidance whenever a
    lexical source exists (the captioner's own frozen backbone, or ``guide_model``), so that the
    words it reads are reported even at weight 0. -> (scorer, a description of the decoding)."""
    from captioning.guidance import (
        GuidedScorer,
        GuideModelSource,
        LexicalGuide,
        own_backbone_source,
    )
    scorer, described = ModelScorer(model), ""
    if synergy is not None:
        if synergy.stats != model.stats:
            raise LexmotionError(f"--synergy {synergy.path}: its features are normalised differently from "
                                 f"{model.path}; pair captioners whose encoders read the same statistics")
        scorer = SynergyScorer(model, synergy, synergy_options)
        opts = scorer.options
        described = (f" + synergy with {synergy.path} (components {list(opts.components)}, prune {opts.prune}, "
                     f"beta {opts.beta})")
    if guide_model:
        from lexmotion.models.checkpoint import load
        lexmotion_model = load(guide_model, device)
        if lexmotion_model.config.kind != "lexical":
            from lexmotion.errors import WrongKindError
            raise WrongKindError(f"--guide-model {guide_model}: a dense checkpoint has no words to guide with")
        source, tokenizer, name = GuideModelSource(lexmotion_model, model.stats), lexmotion_model.tokenizer, guide_model
    elif model.word_tokenizer is not None:
        source, tokenizer, name = own_backbone_source, model.word_tokenizer, "own lexical backbone"
    elif guide_weight > 0:
        raise LexmotionError(f"{model.path}: --guide-weight needs words: this captioner has no lexical backbone, "
                             f"so name a lexical checkpoint with --guide-model")
    else:
        return scorer, described
    guide = LexicalGuide(tokenizer, model.vocab, guide_top)
    if guide_weight > 0:
        described += f" + lexical guidance (weight {guide_weight:g}, top {guide_top} words of {name})"
    return GuidedScorer(scorer, guide, guide_weight, source, name), described


def evaluate_captioner(model_dir: str, data_dir: str, split: str = "test", beam: int = 2,
                       synergy: str | None = None, synergy_options: SynergyOptions | None = None,
                       device: str = "cpu", progress: bool = True, predictions_out: str | None = None,
                       guide_weight: float = 0.0, guide_model: str | None = None, guide_top: int = 20) -> dict:
    """Caption a split and score it. With a lexical source (own backbone or ``guide_model``) the result
    also says how many of the captions' content words are among their motion's top ``guide_top`` words."""
    from captioning.guidance import word_use
    from captioning.model import load_captioner

    device = resolve_device(device)
    model = load_captioner(model_dir, device)
    other = load_captioner(synergy, device) if synergy else None
    scorer, described = make_scorer(model, other, synergy_options, guide_weight, guide_model, guide_top, device)
    data = MotionDataset(data_dir)
    examples, removed = evaluation_examples(data, split, model.stats)
    preds = predict(scorer, examples, beam=beam, progress=progress, device=device)
    result = _score(examples, preds, device, predictions_out)
    result.update(decoding=("greedy" if beam <= 1 else f"beam {beam}") + described, duplicates_removed=removed)
    if getattr(scorer, "tops", None) is not None:
        stems = [scorer.guide.stems(i[None], w[None])[0] for i, w in scorer.tops]
        result["lexical_words"] = {"source": scorer.name, "top": guide_top, "guide_weight": guide_weight,
                                   **word_use(preds, stems),
                                   "references": word_use([c["texts"][0] for c in examples.clips], stems)}
    return result


def evaluate_nearest(model_path: str, data_dir: str, split: str = "test", device: str = "cpu",
                     predictions_out: str | None = None) -> dict:
    """The nearest-caption baseline of a retrieval checkpoint, scored like a captioner."""
    from captioning.baseline import check_matches_data, nearest_captions
    from lexmotion.models.checkpoint import load

    device = resolve_device(device)
    model = load(model_path, device)
    data = MotionDataset(data_dir)
    check_matches_data(model, data, model_path)
    examples, removed = evaluation_examples(data, split, data.stats)
    preds = nearest_captions(model, data, split, [c["index"] for c in examples.clips])
    result = _score(examples, preds, device, predictions_out)
    result.update(decoding=f"nearest training caption ({model.config.kind} retrieval checkpoint {model_path})",
                  duplicates_removed=removed)
    return result


def aggregate(results: list[dict]) -> dict:
    """Mean and standard deviation (ddof 0) of every metric over runs (seeds)."""
    out = {k: {"mean": round(float(np.mean([r[k] for r in results])), 2),
               "std": round(float(np.std([r[k] for r in results])), 2)} for k in METRICS}
    words = [r["lexical_words"] for r in results if "lexical_words" in r]
    if len(words) == len(results):
        out["content_words_in_top"] = {"mean": round(float(np.mean([w["content_words_in_top"] for w in words])), 3),
                                       "std": round(float(np.std([w["content_words_in_top"] for w in words])), 3)}
    return {"runs": len(results), "n": results[0]["n"], **out}


def markdown_row(name: str, r: dict) -> str:
    """A results row: plain numbers for one run, mean ± std for an aggregate."""
    cells = [f"{r[k]['mean']:.2f} ± {r[k]['std']:.2f}" if isinstance(r[k], dict) else f"{r[k]:.2f}" for k in METRICS]
    return f"| {name} | {r['n']} | " + " | ".join(cells) + " |"


TABLE_HEADER = "| run | n | " + " | ".join(METRICS) + " |\n|---|---|" + "---|" * len(METRICS)
