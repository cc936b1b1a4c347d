"""Training and evaluation of captioners.

``train_captioner`` trains with teacher forcing and the guided-attention loss,
checks validation BLEU@4 (greedy) after every epoch, keeps the best epoch's
weights in OUT and the latest epoch in OUT/last, and resumes from
OUT/last/trainer_state.pt when run again with the same OUT. That state (weights,
optimiser, RNG states, vocabulary, epoch history; no pickle) is written first at
each epoch end, and every other file follows from it, so a run killed at any
point resumes with nothing lost.
"""
from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from captioning.data import CaptionCollate, CaptionExamples, length_batches
from captioning.decoding import ModelScorer, SynergyOptions, SynergyScorer, decode
from captioning.model import Captioner, CaptionerConfig, check_arch, load_captioner
from captioning.text import Vocabulary
from lexmotion.data.dataset import MotionDataset
from lexmotion.device import resolve_device
from lexmotion.errors import LexmotionError, check_settings
from lexmotion.files import (
    check_output_folder,
    crash_point,
    load_state,
    output_lock,
    read_json,
    remove_temporaries,
    rng_state,
    save_state,
    set_rng_state,
    write_jsonl,
)
from lexmotion.tracking import start_wandb


@dataclass
class CaptionTrainConfig:
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-3
    backbone_lr: float = 1e-4       # lexical backbone, when fine-tuned
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    lambda_spat: float = 0.0
    lambda_adapt: float = 0.0
    min_count: int = 2
    mirror_prob: float = 0.5
    seed: int = 0
    device: str = "auto"
    wandb: str = "offline"
    val_split: str = "val"


def _to(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def predict(scorer, examples: CaptionExamples, beam: int = 2, batch_size: int = 32, progress: bool = False,
            device="cpu") -> list[str]:
    """Captions for every clip of ``examples``, in order."""
    from tqdm.auto import tqdm
    for m in scorer.models:
        m.eval()
    lengths = examples.lengths()
    order = sorted(range(len(examples)), key=lambda i: lengths[i])      # less padding
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    loader = torch.utils.data.DataLoader(examples, batch_sampler=batches, collate_fn=CaptionCollate())
    out = [""] * len(examples)
    for idx, batch in zip(batches, tqdm(loader, desc="captioning", disable=not progress, leave=False)):
        ids = decode(scorer, batch["motion"].to(device), batch["mask"].to(device), beam=beam)
        for i, s in zip(idx, ids):
            out[i] = " ".join(scorer.vocab.decode(s))
    return out


def train_captioner(data_dir: str, out: str, config: CaptionerConfig, train: CaptionTrainConfig,
                    progress: bool = True) -> dict:
    check_arch(config.arch, config.encoder)
    check_settings("caption train", epochs=(train.epochs, "count"), batch_size=(train.batch_size, "count"),
                   lr=(train.lr, "rate"), backbone_lr=(train.backbone_lr, "rate"), min_count=(train.min_count, "count"),
                   mirror=(train.mirror_prob, "probability"), hidden=(config.hidden, "count"),
                   window=(config.window, "rate"))
    out = check_output_folder(out)
    device = resolve_device(train.device)
    random.seed(train.seed)
    np.random.seed(train.seed)
    torch.manual_seed(train.seed)
    data = MotionDataset(data_dir)

    backbone = None
    stats = data.stats
    if config.encoder.startswith("lexical:"):
        from lexmotion.models.checkpoint import load as load_lexmotion
        backbone = load_lexmotion(config.encoder.split(":", 1)[1])
        stats = backbone.stats                       # the backbone's own normalisation
        config.lexical_model = backbone.config.to_dict()

    train_set = CaptionExamples(data, "train", stats, train=True, mirror_prob=train.mirror_prob)
    val_set = CaptionExamples(data, train.val_split, stats)
    with output_lock(out):                  # one writer per --out, until training ends
        return _resume_and_train(out, config, train, backbone, stats, train_set, val_set, data_dir, device, progress)


def _resume_and_train(out, config, train, backbone, stats, train_set, val_set, data_dir, device, progress) -> dict:
    last = out / "last"
    state = None
    if (last / "trainer_state.pt").is_file():
        state = load_state(last / "trainer_state.pt", f"to train it again, delete {out} or pass another --out")
        ours = {k: v for k, v in config.to_dict().items() if k != "lexical_model"}
        theirs = {k: v for k, v in state["captioner"].items() if k != "lexical_model"}
        if ours != theirs:
            raise LexmotionError(f"{out} holds a different captioner ({theirs['arch']}, {theirs['encoder']}); "
                                 f"use another --out or delete it")
        vocab = Vocabulary(state["vocab"])
    else:
        vocab = Vocabulary.build(train_set.all_captions(), train.min_count)
    model = Captioner(config, vocab, backbone).to(device)
    model.stats = stats
    model.provenance = _provenance(data_dir, backbone)
    backbone_params = [p for n, p in model.named_parameters() if n.startswith("encoder.motion_") and p.requires_grad]
    other = [p for n, p in model.named_parameters() if not n.startswith("encoder.motion_") and p.requires_grad]
    groups = [{"params": other, "lr": train.lr}]
    if backbone_params:
        groups.append({"params": backbone_params, "lr": train.backbone_lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=train.weight_decay)
    start_epoch, best, best_epoch, history = 0, -1.0, 0, []
    train_config = {**asdict(train), "data": str(data_dir), "train_pairs": len(train_set.pairs),
                    "train_clips": len(train_set.clips), "val_clips": len(val_set.clips),
                    "skipped": train_set.skipped + val_set.skipped}
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best, best_epoch, history = state["epoch"], state["best"], state["best_epoch"], list(state["history"])
        set_rng_state(state["rng"])
        remove_temporaries(out)
        remove_temporaries(last)
        _write_outputs(model, out, train_config, history, start_epoch, best_epoch)   # what a kill left unwritten
        if start_epoch >= train.epochs:
            print(f"{out}: already trained for {start_epoch} epochs (best val BLEU@4 {best:.2f}), nothing to do")
            return {"epochs": start_epoch, "best_bleu4": best}
        print(f"resuming {out} at epoch {start_epoch + 1}/{train.epochs} (best val BLEU@4 so far {best:.2f})")
    return _train_epochs(model, optimizer, train_set, val_set, vocab, out, config, train, train_config,
                         (start_epoch, best, best_epoch, history), device, progress)


def _provenance(data_dir, backbone) -> dict:
    """The data (with licences) and the pretrained backbone (with its own provenance) behind a captioner."""
    from lexmotion.models.checkpoint import provenance
    path = getattr(backbone, "path", None)
    return {**provenance("caption", [MotionDataset(data_dir)], path, getattr(backbone, "provenance", None),
                         " ".join(sys.argv)), "backbone": path}


def _write_outputs(model, out: Path, train_config: dict, history: list, epoch: int, best_epoch: int) -> None:
    """OUT/last (the latest epoch), OUT (the best epoch, when it is the latest) and metrics.jsonl, from the state.

    The state is written first and is the commit point; these files follow from it, so
    a run killed between two of them rewrites them when it resumes."""
    model.save(out / "last", {**train_config, "epoch": epoch})
    saved_best = out / "config.json"
    if best_epoch == epoch and (not saved_best.is_file() or
                                read_json(saved_best).get("train", {}).get("epoch") != best_epoch):
        model.save(out, {**train_config, "epoch": best_epoch})
    write_jsonl(out / "metrics.jsonl", history)


def _train_epochs(model, optimizer, train_set, val_set, vocab, out, config, train, train_config, progress_state,
                  device, progress) -> dict:
    from tqdm.auto import tqdm

    from captioning.metrics import coco_metrics

    start_epoch, best, best_epoch, history = progress_state
    name = f"caption-{config.arch}-{config.encoder.split(':')[0]}-{out.name}"
    run = start_wandb(train.wandb, name, out, {**config.to_dict(), **asdict(train)})
    collate = CaptionCollate(vocab)
    scorer = ModelScorer(model)
    started = time.time()
    for epoch in range(start_epoch, train.epochs):
        model.train()
        batches = length_batches(train_set.lengths(), train.batch_size, train.seed, epoch)
        loader = torch.utils.data.DataLoader(train_set, batch_sampler=batches, collate_fn=collate)
        sums = {"total": 0.0, "lang": 0.0, "spat": 0.0, "adapt": 0.0}
        bar = tqdm(loader, desc=f"{config.arch} epoch {epoch + 1}/{train.epochs}", disable=not progress, leave=False)
        for batch in bar:
            losses = model.loss(_to(batch, device), train.lambda_spat, train.lambda_adapt)
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
            optimizer.step()
            for k in sums:
                sums[k] += float(losses[k].detach())
            bar.set_postfix(loss=f"{float(losses['total'].detach()):.3f}")
        preds = predict(scorer, val_set, beam=1, device=device)
        val = coco_metrics(preds, [c["texts"] for c in val_set.clips])
        record = {"epoch": epoch + 1, **{f"train_{k}": round(v / max(1, len(loader)), 4) for k, v in sums.items()},
                  **{f"val_{k}": round(float(v), 2) for k, v in val.items()}, "seconds": round(time.time() - started, 1),
                  "example": preds[0]}
        history.append(record)
        improved = val["BLEU@4"] > best
        if improved:
            best, best_epoch = val["BLEU@4"], epoch + 1
        crash_point("epoch end")
        save_state(out / "last" / "trainer_state.pt",
                   {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                    "optimizer": optimizer.state_dict(), "epoch": epoch + 1, "best": best, "best_epoch": best_epoch,
                    "history": history, "rng": rng_state(), "captioner": config.to_dict(), "vocab": vocab.itos})
        _write_outputs(model, out, train_config, history, epoch + 1, best_epoch)
        if run is not None:
            run.log(record, step=epoch + 1)
        if progress:
            print(f"epoch {epoch + 1}/{train.epochs}: loss {record['train_total']:.3f} (lang {record['train_lang']:.3f}) "
                  f"val BLEU@4 {val['BLEU@4']:.2f}{' (best)' if improved else ''} | {preds[0]!r}")
    if run is not None:
        run.finish()
    return {"epochs": train.epochs, "best_bleu4": best, "seconds": round(time.time() - started, 1)}


def evaluate_captioner(model_dir: str, data_dir: str, split: str = "test", beam: int = 2,
                       synergy: str | None = None, synergy_options: SynergyOptions | None = None,
                       device: str = "cpu", progress: bool = True, predictions_out: str | None = None) -> dict:
    """Caption a split and score it. kitml-cmu duplicates (same_motion_as) are removed first."""
    from captioning.metrics import caption_metrics
    from retrieval.evaluate import deduplicate

    device = resolve_device(device)
    model = load_captioner(model_dir, device)
    scorer = ModelScorer(model)
    decoding = "greedy" if beam <= 1 else f"beam {beam}"
    if synergy:
        other = load_captioner(synergy, device)
        if other.stats != model.stats:
            raise LexmotionError(f"--synergy {synergy}: its features are normalised differently from {model_dir}; "
                                 f"pair captioners whose encoders read the same statistics")
        scorer = SynergyScorer(model, other, synergy_options)
        opts = scorer.options
        decoding += f" + synergy with {synergy} (components {list(opts.components)}, prune {opts.prune}, beta {opts.beta})"
    data = MotionDataset(data_dir)
    examples = CaptionExamples(data, split, model.stats)
    keep, removed = deduplicate(data, [c["index"] for c in examples.clips])
    keep = set(keep)
    examples.clips = [c for c in examples.clips if c["index"] in keep]
    preds = predict(scorer, examples, beam=beam, progress=progress, device=device)
    refs = [c["texts"] for c in examples.clips]
    result = {"n": len(preds), **caption_metrics(preds, refs, str(device)), "decoding": decoding,
              "duplicates_removed": removed, "skipped": examples.skipped}
    if predictions_out:
        path = Path(predictions_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w") as f:
            f.writelines(json.dumps({"id": c["id"], "prediction": p, "references": c["texts"]}) + "\n" for c, p in zip(examples.clips, preds))
        tmp.replace(path)
    return result
