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
SELECTION = "selection"     # the split name of a captioner's selection set


def to_device(batch: dict, device) -> dict:
    """Every tensor of a (nested) batch dict on ``device``."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else to_device(v, device) if isinstance(v, dict) else v
            for k, v in batch.items()}


def predict(scorer, examples: CaptionExamples, beam: int = 2, batch_size: int = 32, progress: bool = False,
            device="cpu") -> list[str]:
    """Captions for every clip of ``examples``, in order (see ``predict_detailed``)."""
    return [c["caption"] for c in predict_detailed(scorer, examples, beam, batch_size, progress, device)]


@torch.no_grad()
def predict_detailed(scorer, examples: CaptionExamples, beam: int = 2, batch_size: int = 32, progress: bool = False,
                     device="cpu", rerank=None) -> list[dict]:
    """Per clip of ``examples``, in order, {"caption", "source", "rank"}: the best beam hypothesis, or
    with ``rerank`` (a ``ConsensusReranker``) the candidate its neighbours agree with most. A
    ``GuidedScorer`` also records, per clip, the top lexical pieces it read (``scorer.tops``)."""
    from tqdm.auto import tqdm

    from captioning.decoding import beam_nbest
    for m in scorer.models:
        m.eval()
    lengths = examples.lengths()
    order = sorted(range(len(examples)), key=lambda i: lengths[i])      # less padding
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    loader = torch.utils.data.DataLoader(examples, batch_sampler=batches, collate_fn=CaptionCollate())
    out = [None] * len(examples)
    tops = [None] * len(examples)
    for idx, batch in zip(batches, tqdm(loader, desc="captioning", disable=not progress, leave=False)):
        batch = to_device(batch, device)
        if rerank is None:
            ids = decode(scorer, batch["motion"], batch["mask"], beam=beam, cached=batch.get("memory"))
            chosen = [{"caption": " ".join(scorer.vocab.decode(s)), "source": "captioner", "rank": 0} for s in ids]
        else:
            hyps = (beam_nbest(scorer, batch["motion"], batch["mask"], beam=beam, cached=batch.get("memory"))
                    if beam > 1 else [[s] for s in decode(scorer, batch["motion"], batch["mask"], beam=1,
                                                          cached=batch.get("memory"))])
            hyps = [[" ".join(scorer.vocab.decode(s)) for s in h] for h in hyps]
            chosen = rerank.choose(batch["motion"], batch["mask"], hyps)
        for i, c in zip(idx, chosen):
            out[i] = c
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


def _score(examples: CaptionExamples, preds: list[str], device, predictions_out: str | None,
           details: list[dict] | None = None) -> dict:
    from captioning.metrics import caption_metrics
    refs = [c["texts"] for c in examples.clips]
    result = {"n": len(preds), **caption_metrics(preds, refs, str(device)), "skipped": examples.skipped}
    if predictions_out:
        from lexmotion.files import write_jsonl
        Path(predictions_out).parent.mkdir(parents=True, exist_ok=True)
        extra = [{"source": d["source"], "rank": d["rank"]} for d in details] if details else [{}] * len(preds)
        write_jsonl(predictions_out, [{"id": c["id"], "prediction": p, **e, "references": c["texts"]}
                                      for c, p, e in zip(examples.clips, preds, extra)])
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
        if not lexmotion_model.has_words:
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
                       guide_weight: float = 0.0, guide_model: str | None = None, guide_top: int = 20,
                       rerank: int = 0, rerank_model: str | None = None, rerank_data: str | None = None) -> dict:
    """Caption a split and score it; split ``selection`` is the captioner's own selection set (val plus
    its held-out training slice), with only the clips it trained on as neighbours. With a lexical source (own backbone or ``guide_model``) the result
    also says how many of the captions' content words are among their motion's top ``guide_top`` words.
    ``rerank`` = k > 0: consensus reranking of the beam's hypotheses and the motion's k nearest training
    captions (``captioning.rerank``; neighbours from ``rerank_model`` or the captioner's own backbone), among
    the training captions of ``rerank_data`` (default: ``data_dir``'s)."""
    from captioning.guidance import word_use
    from captioning.model import load_captioner

    device = resolve_device(device)
    model = load_captioner(model_dir, device)
    other = load_captioner(synergy, device) if synergy else None
    scorer, described = make_scorer(model, other, synergy_options, guide_weight, guide_model, guide_top, device)
    data = MotionDataset(data_dir)
    pool = None
    if split == SELECTION:
        from captioning.data import selection_split
        from captioning.model import read_captioner_config
        cfg = read_captioner_config(model_dir)["train"]
        pool, selection = selection_split(data, cfg["val_split"], cfg["holdout"])
        examples, removed = CaptionExamples(data, cfg["val_split"], model.stats, indices=selection), 0
    else:
        examples, removed = evaluation_examples(data, split, model.stats)
    reranker = None
    if rerank:
        from captioning.rerank import make_reranker
        reranker = (make_reranker(model, MotionDataset(rerank_data), rerank, rerank_model, device) if rerank_data
                    else make_reranker(model, data, rerank, rerank_model, device, pool))
        described += (f" + consensus reranking with the {rerank} nearest training captions of "
                      f"{rerank_data or data_dir} by {reranker.neighbours.name}")
    details = predict_detailed(scorer, examples, beam=beam, progress=progress, device=device, rerank=reranker)
    preds = [d["caption"] for d in details]
    result = _score(examples, preds, device, predictions_out, details)
    result.update(decoding=("greedy" if beam <= 1 else f"beam {beam}") + described, duplicates_removed=removed)
    if reranker is not None:
        result["from_captioner"] = round(sum(d["source"] == "captioner" for d in details) / len(details), 3)
    if getattr(scorer, "tops", None) is not None:
        stems = [scorer.guide.stems(i[None], w[None])[0] for i, w in scorer.tops]
        result["lexical_words"] = {"source": scorer.name, "top": guide_top, "guide_weight": guide_weight,
                                   **word_use(preds, stems),
                                   "references": word_use([c["texts"][0] for c in examples.clips], stems)}
    return result


def evaluate_nearest(model_path: str, data_dir: str, split: str = "test", device: str = "cpu",
                     predictions_out: str | None = None, consensus: int = 0) -> dict:
    """The nearest-caption baseline of a retrieval checkpoint, scored like a captioner; ``consensus`` =
    k > 1: the consensus of its k nearest training captions instead (``consensus_captions``)."""
    from captioning.baseline import (
        check_matches_data,
        consensus_captions,
        nearest_captions,
        untrained_skeletons,
    )
    from lexmotion.models.checkpoint import load

    device = resolve_device(device)
    model = load(model_path, device)
    data = MotionDataset(data_dir)
    check_matches_data(model, data, model_path)
    examples, removed = evaluation_examples(data, split, data.stats)
    indices = [c["index"] for c in examples.clips]
    if consensus > 1:
        preds = consensus_captions(model, data, split, indices, consensus)
        described = f"consensus of the {consensus} nearest training captions"
    else:
        preds, described = nearest_captions(model, data, split, indices), "nearest training caption"
    result = _score(examples, preds, device, predictions_out)
    other = untrained_skeletons(model, data)
    rigs = f"; motions on {', '.join(other)}, a skeleton it did not train on" if other else ""
    result.update(decoding=f"{described} ({model.config.kind} retrieval checkpoint {model_path}{rigs})",
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
