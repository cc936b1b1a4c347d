"""Retrieval evaluation under TMR's protocols.

- all:        the whole (deduplicated) test set.
- threshold:  a motion whose caption's sentence similarity to the query caption is
              > 0.95 (strictly, as TMR) also counts as a positive. As in TMR, similarity is
              (1 + cos) / 2 of sentence embeddings (mean pooling, L2-normalised): by default
              the offline MiniLM; TMR's all-mpnet-base-v2 with --sentence-model.
- dissimilar: the nsim protocol: TMR's list (kitml-text/splits/nsim_test.txt) when at
              least 90% of its ids are in the test set, otherwise a list built the same
              way: up to 100 test clips chosen greedily so that their captions are as
              dissimilar as possible (farthest-point selection on the MiniLM similarity).
- batch32:    as TMR's "guo": the test ids sorted, shuffled with NumPy seed 0, cut into
              batches of 32 (the last, incomplete one dropped), metrics averaged over batches.

TMR's protocol names are accepted too: normal (= all), nsim (= dissimilar), guo (= batch32).

Label-derived data (Bandai): a hit counts as correct when it has the query's
(content, style), in every protocol. kitml-cmu: test clips that are the same
capture as a train/val clip (``same_motion_as``) are removed, and of test clips
that share a capture only the first is kept; the output says how many.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lexmotion.data.batching import MotionTextDataset
from lexmotion.data.dataset import MotionDataset
from lexmotion.errors import LexmotionError
from lexmotion.metrics import ranks, summarise
from lexmotion.models.querybank import clip_priors

PROTOCOLS = ("all", "threshold", "dissimilar", "batch32")
TMR_NAMES = {"normal": "all", "nsim": "dissimilar", "guo": "batch32"}     # TMR's retrieval.py names
TMR_SENTENCE_MODEL = "sentence-transformers/all-mpnet-base-v2"
THRESHOLD = 0.95
NSIM_SIZE = 100


def deduplicate(ds: MotionDataset, indices: list[int]) -> tuple[list[int], int]:
    """Drop test clips that duplicate a capture outside the split, or an earlier test clip."""
    ids, all_metas = ds.table["id"], ds.metas()
    in_split, in_dataset = {ids[i] for i in indices}, set(ids)
    kept, seen = [], set()
    for i in indices:
        meta = all_metas[i]
        same = set(meta.get("same_motion_as", [])) & in_dataset
        if same - in_split or same & seen:
            continue
        kept.append(i)
        seen.add(ids[i])
    return kept, len(indices) - len(kept)


@torch.no_grad()
def sentence_embeddings(texts: list[str], model_name: str | None = None, batch_size: int = 128) -> np.ndarray:
    """Sentence embeddings (mean pooling over tokens, L2-normalised, as sentence-transformers'
    all-MiniLM-L6-v2 and all-mpnet-base-v2 compute them). Default: the offline MiniLM."""
    from transformers import AutoModel, AutoTokenizer

    from lexmotion.models.text import DEFAULT_TEXT_MODEL, resolve_text_model
    path = resolve_text_model(model_name or DEFAULT_TEXT_MODEL)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        encoder = AutoModel.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise LexmotionError(f"--sentence-model {model_name}: cannot load it from local files (nothing is "
                             f"downloaded at run time): {str(err).splitlines()[0]}") from None
    encoder.eval()
    out = []
    for i in range(0, len(texts), batch_size):
        tok = tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=128, return_tensors="pt")
        hidden = encoder(**tok).last_hidden_state
        m = tok["attention_mask"][..., None].float()
        out.append(torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=-1))
    return torch.cat(out).numpy()


def build_dissimilar(similarity: np.ndarray, size: int = NSIM_SIZE) -> list[int]:
    """Greedy farthest-point selection: start from the caption least similar to the rest,
    then repeatedly add the one whose highest similarity to the chosen ones is lowest."""
    n = len(similarity)
    chosen = [int(np.argmin(similarity.mean(axis=1)))]
    closest = similarity[chosen[0]].copy()
    while len(chosen) < min(size, n):
        closest[chosen] = np.inf
        nxt = int(np.argmin(closest))
        chosen.append(nxt)
        closest = np.maximum(closest, similarity[nxt])
    return sorted(chosen)


@torch.no_grad()
def encode_split(model, data: MotionTextDataset, batch_size: int = 64, progress: bool = False,
                 network: bool = False) -> tuple[torch.Tensor, ...]:
    """(N, V or D) text and motion vectors for the first caption of each clip (centred crop).
    ``network``: also the network's (N, V) text vectors before the own-word floor, from the same
    text pass (None for a model without the floor)."""
    from lexmotion.data.batching import Collate
    collate = Collate(model.tokenizer, model.config.max_text_len)
    model.eval()
    floor = network and model.has_own_word_floor
    texts, motions, raw = [], [], []
    from tqdm.auto import tqdm
    for i in tqdm(range(0, len(data), batch_size), desc="encoding", leave=False, disable=not progress):
        batch = collate([data[j] for j in range(i, min(i + batch_size, len(data)))])
        batch = {k: v.to(model.device) if torch.is_tensor(v) else v for k, v in batch.items()}
        ids, mask = batch["text_ids"], batch["text_mask"]
        if floor:
            served, vectors = model.text_lexical_and_network(ids, mask)
            raw.append(vectors.float().cpu())
            texts.append(served.float().cpu())
        else:
            texts.append(model.text_vectors(ids, mask).float().cpu())
        motions.append(model.motion_vectors(batch["motion"], batch["mask"]).float().cpu())
    encoded = torch.cat(texts), torch.cat(motions)
    return (*encoded, torch.cat(raw) if floor else None) if network else encoded


def evaluate(model, data_dir: str | Path, split: str = "test", protocol: str = "all",
             nsim_list: str | Path | None = None, sentence_model: str | None = None, querybank: bool = True) -> dict:
    return evaluate_protocols(model, data_dir, split, (protocol,), nsim_list, sentence_model, querybank=querybank)[0]


def evaluate_protocols(model, data_dir: str | Path, split: str = "test", protocols=PROTOCOLS,
                       nsim_list: str | Path | None = None, sentence_model: str | None = None,
                       progress: bool = False, keep_ranks: bool = False, querybank: bool = True) -> list[dict]:
    """Encode the split once, then score it under each protocol (ours or TMR's names). ``keep_ranks``:
    each result also holds ``query_ranks`` (the queries' ids and their 1-based ranks per direction),
    what ``retrieval.compare`` pairs across checkpoints. ``querybank``: when the checkpoint has a query
    bank, text-to-motion scores are the cosine less each clip's hub prior, as its indexes rank them."""
    protocols = [TMR_NAMES.get(p, p) for p in protocols]
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            raise LexmotionError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)} "
                                 f"(or TMR's {', '.join(TMR_NAMES)})")
    ds = MotionDataset(data_dir)
    indices, removed = deduplicate(ds, ds.split_indices(split))
    items = MotionTextDataset(ds, split, model.stats, model.served_frames, progress=progress)
    keep = set(indices)
    items.rows = rows = [r for r in items.rows if r["index"] in keep]
    captions = [r["texts"][0] for r in rows]
    sources, metas = ds.table["caption_source"], ds.metas()
    labelled = all(sources[r["index"]] == "label" for r in rows)
    text, motion, network_text = encode_split(model, items, progress=progress, network=True)
    scores = (torch.nn.functional.normalize(text, dim=-1) @ torch.nn.functional.normalize(motion, dim=-1).T).numpy()
    bank = getattr(model, "querybank", None) if querybank else None
    if bank is not None:      # a constant per motion query: motion-to-text ranks are unchanged
        scores = scores - clip_priors(model, bank, motion)[None, :]
    if labelled:
        labels = [(metas[r["index"]].get("content"), metas[r["index"]].get("style")) for r in rows]
        positives = np.array([[a == b for b in labels] for a in labels])
    else:
        positives = np.eye(len(rows), dtype=bool)
    similarity = None
    if {"threshold", "dissimilar"} & set(protocols):
        emb = sentence_embeddings(captions, sentence_model)
        similarity = emb @ emb.T
    results = [_score(protocol, scores, positives, similarity, rows, split, removed, labelled, model, data_dir,
                      nsim_list, keep_ranks) for protocol in protocols]
    for r in results:
        r["details"]["mirror_average"] = model.config.mirror_average
        r["details"]["long_motion"] = model.config.long_motion
        r["details"]["hub_prior"] = f"beta {bank['beta']:g}, {len(bank['texts'])} training captions" if bank else "none"
        if r["protocol"] in ("threshold", "dissimilar"):
            r["details"]["sentence_model"] = sentence_model or "minilm (offline; TMR uses all-mpnet-base-v2)"
    if model.has_words:
        from pretrain.sparsity import grounding_metrics, network_text_grounding
        grounding = grounding_metrics(model.tokenizer, captions, text, motion)
        if network_text is not None:   # the network's own text vectors, before the floor's rule
            grounding.update(network_text_grounding(model.tokenizer, captions, network_text, motion))
        grounding["motion_nonzeros_median"] = float((motion > 0).sum(1).float().median())
        grounding["text_nonzeros_median"] = float((text > 0).sum(1).float().median())
        for r in results:
            r["grounding"] = grounding
            if model.config.text_side == "encoder":
                r["details"]["own_word_floor"] = model.config.own_word_floor
            r["details"]["motion_max_words"] = model.config.motion_max_words
        if labelled:
            from pretrain.sparsity import label_word_report
            report = label_word_report(model.tokenizer, [metas[r["index"]].get("content", "") for r in rows], motion)
            for r in results:
                r["label_words"] = report
    return results


def threshold_positives(similarity: np.ndarray, positives: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """TMR's rule: a pair also counts when the captions' cosine similarity is > 2 * threshold - 1
    ((1 + cos) / 2 > threshold, computed the way TMR computes it, float rounding included)."""
    return positives | (similarity > 2 * threshold - 1)


def _score(protocol, scores, positives, similarity, rows, split, removed, labelled, model, data_dir, nsim_list,
           keep_ranks=False):
    ties = "negatives" if labelled else "tmr"      # label data: clips of one label share identical captions
    result = {"protocol": protocol, "details": {
        "split": split, "model": str(getattr(model, "path", "")), "kind": model.config.kind,
        "positives": "same (content, style) label (a tie among positives is a hit)" if labelled else "own caption",
        "duplicates_removed": removed,
        "duplicates_note": f"{removed} {split} clip(s) removed as the same capture as another clip (same_motion_as)"}}
    if protocol == "batch32":
        groups = _batch32(rows, data_dir)
        result["details"]["batches"] = len(groups)
    else:
        groups = [list(range(len(rows)))]
        if protocol == "threshold":
            result["details"]["threshold"] = THRESHOLD
            positives = threshold_positives(similarity, positives)
        elif protocol == "dissimilar":
            groups[0], result["details"]["nsim_source"] = _dissimilar(rows, similarity, nsim_list)
    ranked = [{d: ranks(*_direction(scores, positives, g, d), ties) for d in ("t2m", "m2t")} for g in groups]
    result["n"] = len(rows) if protocol == "batch32" else len(groups[0])
    for direction in ("t2m", "m2t"):   # batch32: the mean of the batches' recalls, as TMR reports it
        per_group = [summarise(r[direction]) for r in ranked]
        result[direction] = per_group[0] if len(per_group) == 1 else \
            {k: round(float(np.mean([m[k] for m in per_group])), 2) for k in per_group[0]}
    out = {k: result[k] for k in ("protocol", "n", "t2m", "m2t", "details")}
    if keep_ranks:
        out["query_ranks"] = {"ids": [rows[i]["id"] for g in groups for i in g],
                              **{d: np.concatenate([r[d] for r in ranked]).tolist() for d in ("t2m", "m2t")}}
    return out


def _direction(scores, positives, group, direction):
    """The (queries x candidates) scores and positives of one group of rows, texts first or motions first."""
    sub = np.ix_(group, group)
    return (scores[sub], positives[sub]) if direction == "t2m" else (scores[sub].T, positives[sub].T)


def _batch32(rows, data_dir) -> list[list[int]]:
    """TMR's batch32: the ids sorted, shuffled with seed 0, cut into batches of 32 (the remainder left out)."""
    by_id = np.array(sorted(range(len(rows)), key=lambda i: rows[i]["id"]))   # TMR sorts the ids first
    order = by_id[np.random.RandomState(0).permutation(len(rows))]
    batches = [order[i:i + 32].tolist() for i in range(0, len(order) - 31, 32)]
    if not batches:
        raise LexmotionError(f"{data_dir}: batch32 needs at least 32 test clips, found {len(rows)}")
    return batches


def _dissimilar(rows, similarity, nsim_list) -> tuple[list[int], str]:
    """TMR's nsim list when it is given and fits this split, else one built the same way."""
    ids = [r["id"] for r in rows]
    if nsim_list and Path(nsim_list).is_file():
        listed = Path(nsim_list).read_text().split()
        present = [ids.index(x) for x in listed if x in ids]
        if listed and len(present) >= 0.9 * len(listed):
            return sorted(present), f"given ({nsim_list})"
    return build_dissimilar(similarity), "built"


def markdown_row(name: str, r: dict) -> str:
    cols = [r["t2m"][k] for k in ("R@1", "R@2", "R@3", "R@5", "R@10", "MedR")] + \
           [r["m2t"][k] for k in ("R@1", "R@2", "R@3", "R@5", "R@10", "MedR")]
    return f"| {name} | {r['protocol']} | {r['n']} | " + " | ".join(f"{c:g}" for c in cols) + " |"


TABLE_HEADER = ("| model | protocol | n | t2m R@1 | R@2 | R@3 | R@5 | R@10 | MedR | m2t R@1 | R@2 | R@3 | R@5 | R@10 | MedR |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def aggregate(runs: list[list[dict]]) -> list[dict]:
    """Mean and standard deviation (ddof 0) over runs (seeds) of every metric, per protocol."""
    out = []
    for per_protocol in zip(*runs):
        entry = {"protocol": per_protocol[0]["protocol"], "n": per_protocol[0]["n"], "runs": len(per_protocol)}
        for section in ("t2m", "m2t", "grounding"):
            if section not in per_protocol[0]:
                continue
            entry[section] = {k: {"mean": round(float(np.mean([r[section][k] for r in per_protocol])), 4),
                                  "std": round(float(np.std([r[section][k] for r in per_protocol])), 4)}
                              for k, v in per_protocol[0][section].items() if v is not None}
        out.append(entry)
    return out


def markdown_mean_row(name: str, r: dict) -> str:
    cols = [r[d][k] for d in ("t2m", "m2t") for k in ("R@1", "R@2", "R@3", "R@5", "R@10", "MedR")]
    return f"| {name} | {r['protocol']} | {r['n']} | " + " | ".join(f"{c['mean']:.2f} ± {c['std']:.2f}" for c in cols) + " |"


def main_eval(args) -> int:
    """`lexmotion eval retrieval`: every checkpoint under every protocol asked, a table per run, then mean ± std."""
    from lexmotion.device import resolve_device
    from lexmotion.models.checkpoint import load
    from lexmotion.models.model import served_overrides

    protocols = PROTOCOLS if args.protocol == "every" else (args.protocol,)
    models = list(dict.fromkeys(args.model))
    _check_eval_options(args, models)
    runs = []
    print(TABLE_HEADER)
    for path in models:
        model = load(path, device=resolve_device(args.device))
        model.override_serving(own_word_floor=args.own_word_floor, motion_max_words=args.motion_max_words,
                               **served_overrides(args))
        results = evaluate_protocols(model, args.data, args.split, protocols, nsim_list=args.nsim_list,
                                     sentence_model=args.sentence_model, progress=True, querybank=args.querybank)
        for r in results:
            print(markdown_row(Path(path).name if len(models) == 1 else str(path), r))
        runs.append(results)
    _print_notes(models, runs)
    summary = _print_summary(runs) if len(runs) > 1 else None
    if args.json:
        from lexmotion.files import write_json
        if summary is None:
            write_json(Path(args.json), runs[0][0] if len(runs[0]) == 1 else runs[0])
        else:
            write_json(Path(args.json), {"models": models, "runs": runs, "mean_std": summary})
        print(f"wrote {args.json}")
    return 0


def _check_eval_options(args, models: list[str]) -> None:
    """Bad values, a missing checkpoint or a --json that is a folder: one line before any work starts."""
    from lexmotion.errors import WrongPathError
    from lexmotion.models.checkpoint import read_config
    if args.own_word_floor is not None and not 0 <= args.own_word_floor <= 1:
        raise LexmotionError(f"--own-word-floor is a share from 0 to 1, got {args.own_word_floor}")
    if args.motion_max_words is not None and args.motion_max_words < 0:
        raise LexmotionError(f"--motion-max-words is a number of words (0: keep all), got {args.motion_max_words}")
    for path in models:
        read_config(path)
    if args.json and Path(args.json).is_dir():
        raise WrongPathError(f"{args.json}: is a folder; --json is the file to write")


def _print_notes(models: list[str], runs: list[list[dict]]) -> None:
    """How each protocol counted, then each checkpoint's grounding and label words."""
    from pretrain.sparsity import format_grounding, format_label_words
    for r in runs[0]:
        print(f"({r['protocol']}: {r['details']['duplicates_note']}; positives: {r['details']['positives']}"
              + f"; hub prior: {r['details']['hub_prior']}"
              + (f"; dissimilar list {r['details']['nsim_source']}" if "nsim_source" in r["details"] else "")
              + (f"; sentence similarity: {r['details']['sentence_model']}" if "sentence_model" in r["details"] else "")
              + ")")
    for path, results in zip(models, runs):
        if "grounding" in results[0]:
            print(f"{path}: " + format_grounding({k: v for k, v in results[0]["grounding"].items()
                                                  if not k.endswith("_median")})
                  + f"; median non-zeros motion {results[0]['grounding']['motion_nonzeros_median']:g}"
                  + f" text {results[0]['grounding']['text_nonzeros_median']:g}")
        if "label_words" in results[0]:
            print(f"{path}: motion top-5 words by action label\n" + format_label_words(results[0]["label_words"]))


def _print_summary(runs: list[list[dict]]) -> list[dict]:
    summary = aggregate(runs)
    print(f"\nmean ± std over {len(runs)} runs:\n" + TABLE_HEADER)
    for r in summary:
        print(markdown_mean_row("mean", r))
    if "grounding" in summary[0]:
        print("grounding: " + ", ".join(f"{k} {v['mean']:.3f} ± {v['std']:.3f}" for k, v in summary[0]["grounding"].items()))
    return summary


__all__ = ["PROTOCOLS", "evaluate", "evaluate_protocols", "markdown_row", "summarise", "build_dissimilar", "deduplicate"]
