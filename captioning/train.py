"""Training and evaluation of captioners.

``train_captioner`` trains with teacher forcing and the guided-attention loss,
captions the selection set greedily after every epoch, keeps the epoch with the
best selection score (CIDEr by default) in OUT and the latest epoch in OUT/last, and resumes from
OUT/last/trainer_state.pt when run again with the same OUT. That state (weights,
optimiser, RNG states, vocabulary, epoch history; no pickle) is written first at
each epoch end, and every other file follows from it, so a run killed at any
point resumes with nothing lost.

The selection set is the validation split plus a held-out slice of the training
split (``holdout``, 10% by default, the same clips for every seed; captures of one
motion stay together): kitml-cmu's validation split alone has 33 clips, too few
to pick an epoch with. The held-out clips are not trained on.

With ``lm_corpus`` (kitml-text folders), the decoder is first trained as a language
model on their training captions, with an empty motion memory, for ``lm_epochs``;
captions of clips in the dataset's val or test split, their other captures and the
held-out slice are left out. The caption vocabulary then covers those captions too.
"""
from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from captioning.data import (
    CaptionCollate,
    CaptionExamples,
    length_batches,
    selection_split,
)
from captioning.decoding import ModelScorer
from captioning.evaluate import predict, to_device
from captioning.model import Captioner, CaptionerConfig, check_arch
from captioning.text import Vocabulary
from lexmotion.data.dataset import MotionDataset
from lexmotion.device import resolve_device
from lexmotion.errors import LexmotionError, check_finite_loss, check_settings
from lexmotion.files import (
    claim_output,
    claim_run_folder,
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
    label_smoothing: float = 0.0
    seed: int = 0
    device: str = "auto"
    wandb: str = "offline"
    val_split: str = "val"
    holdout: float = 0.1            # share of the training split held out for epoch selection
    select: str = "CIDEr"           # the selection score: CIDEr or BLEU@4
    lm_corpus: tuple = ()           # kitml-text folders: the decoder first learns their captions as a language model
    lm_epochs: int = 5


SELECT = ("CIDEr", "BLEU@4")


def train_captioner(data_dir: str, out: str, config: CaptionerConfig, train: CaptionTrainConfig,
                    progress: bool = True) -> dict:
    check_arch(config.arch, config.encoder)
    check_settings("caption train", epochs=(train.epochs, "count"), batch_size=(train.batch_size, "count"),
                   lr=(train.lr, "rate"), backbone_lr=(train.backbone_lr, "rate"), min_count=(train.min_count, "count"),
                   mirror=(train.mirror_prob, "probability"), hidden=(config.hidden, "count"),
                   window=(config.window, "rate"), label_smoothing=(train.label_smoothing, "probability"),
                   holdout=(train.holdout, "probability"), lm_epochs=(train.lm_epochs, "count"))
    if train.select not in SELECT:
        raise LexmotionError(f"--select must be one of {', '.join(SELECT)}, got {train.select!r}")
    if train.holdout >= 0.5:
        raise LexmotionError(f"--holdout {train.holdout}: hold out less than half of the training split")
    encoder = config.encoder.split(":", 1)[1] if config.encoder.startswith("lexical:") else None
    out = claim_output(out, "captioner", resume=True, inputs=[data_dir, encoder], can_overwrite=False)
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

    kept, selection = selection_split(data, train.val_split, train.holdout)
    train_set = CaptionExamples(data, "train", stats, train=True, mirror_prob=train.mirror_prob, indices=kept)
    val_set = CaptionExamples(data, train.val_split, stats, indices=selection)
    corpus = language_corpus(data, train.lm_corpus, selection)
    with output_lock(out):                  # one writer per --out, until training ends
        claim_run_folder(out, "captioner", "last/trainer_state.pt", inputs=[data_dir, encoder])
        return _resume_and_train(out, config, train, backbone, stats, (train_set, val_set, corpus), data_dir, device,
                                 progress)


def _resume_and_train(out, config, train, backbone, stats, sets, data_dir, device, progress) -> dict:
    train_set, val_set, corpus = sets
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
        vocab = Vocabulary.build(train_set.all_captions() + corpus, train.min_count)
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
    train_config = {**asdict(train), "data": str(data_dir), "lm_captions": len(corpus),
                    "train_pairs": len(train_set.pairs),
                    "train_clips": len(train_set.clips), "selection_clips": len(val_set.clips),
                    "skipped": train_set.skipped + val_set.skipped}
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best, best_epoch, history = state["epoch"], state["best"], state["best_epoch"], list(state["history"])
        set_rng_state(state["rng"])
        train_config["lm_history"] = state.get("lm_history")
        remove_temporaries(out)
        remove_temporaries(last)
        _write_outputs(model, out, train_config, history, start_epoch, best_epoch)   # what a kill left unwritten
        if start_epoch >= train.epochs:
            print(f"{out}: already trained for {start_epoch} epochs (best selection {train.select} {best:.2f}), "
                  f"nothing to do")
            return {"epochs": start_epoch, "best": best, "best_epoch": best_epoch, "select": train.select}
        print(f"resuming {out} at epoch {start_epoch + 1}/{train.epochs} (best selection {train.select} so far "
              f"{best:.2f})")
    elif corpus:
        train_config["lm_history"] = pretrain_language(model, corpus, train, device, progress)
    if model.caches_memory:             # the frozen backbone runs once per clip, not at every step
        started = time.time()
        for examples in (train_set, val_set):
            examples.cache_memory(model.encoder, device)
        train_config["cache_seconds"] = round(time.time() - started, 1)
    return _train_epochs(model, optimizer, train_set, val_set, vocab, out, config, train, train_config,
                         (start_epoch, best, best_epoch, history), device, progress)


def language_corpus(data: MotionDataset, folders, held: list[int]) -> list[str]:
    """kitml-text training captions, minus every clip of the dataset's val/test split or of ``held``
    (the selection set), and their other captures (``same_motion_as``)."""
    if not folders:
        return []
    from pretrain.text_corpus import kitml_text_captions
    ids, metas = data.table["id"], data.metas()
    out = set(held) | {i for i, s in enumerate(data.table["split"]) if s not in ("train",)}
    exclude = {ids[i] for i in out} | {twin for i in out for twin in metas[i].get("same_motion_as", [])}
    return [c for root in folders for c in kitml_text_captions(root, exclude)]


def pretrain_language(model, captions: list[str], train: CaptionTrainConfig, device, progress: bool) -> list[dict]:
    """The decoder as a language model: teacher-forced captions over an empty motion memory
    (CE only, no guidance). -> per epoch the mean loss."""
    from tqdm.auto import tqdm
    collate = CaptionCollate(model.vocab)
    items = [{"motion": torch.zeros(1, 1), "text": t, "refs": [t], "id": "", "clip": 0} for t in captions]
    optimizer = torch.optim.AdamW([p for p in model.decoder.parameters() if p.requires_grad], lr=train.lr)
    g = torch.Generator().manual_seed(train.seed)
    history = []
    model.train()
    for epoch in range(train.lm_epochs):
        order = torch.randperm(len(items), generator=g).tolist()
        total, steps = 0.0, 0
        bar = tqdm(range(0, len(order), train.batch_size), desc=f"language pretraining {epoch + 1}/{train.lm_epochs}",
                   disable=not progress, leave=False)
        for start in bar:
            batch = to_device(collate([items[i] for i in order[start:start + train.batch_size]]), device)
            memory = model.empty_memory(len(batch["targets"]))
            logits, _, _ = model.teacher_forced(batch, memory)
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten(),
                                                     ignore_index=model.vocab.pad, label_smoothing=train.label_smoothing)
            check_finite_loss(loss.detach(), f"language pretraining epoch {epoch + 1}", "the last saved epoch is intact")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
            optimizer.step()
            total, steps = total + float(loss.detach()), steps + 1
        history.append({"lm_epoch": epoch + 1, "loss": round(total / max(1, steps), 4)})
        if progress:
            print(f"language pretraining epoch {epoch + 1}/{train.lm_epochs}: loss {history[-1]['loss']:.3f} "
                  f"({len(captions)} captions)")
    return history


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
            losses = model.loss(to_device(batch, device), train.lambda_spat, train.lambda_adapt, train.label_smoothing)
            check_finite_loss(losses["total"].detach(), f"epoch {epoch + 1}", "the last saved epoch is intact")
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
        improved = val[train.select] > best
        if improved:
            best, best_epoch = float(val[train.select]), epoch + 1
        crash_point("epoch end")
        save_state(out / "last" / "trainer_state.pt",
                   {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                    "optimizer": optimizer.state_dict(), "epoch": epoch + 1, "best": best, "best_epoch": best_epoch,
                    "history": history, "rng": rng_state(), "captioner": config.to_dict(), "vocab": vocab.itos,
                    "lm_history": train_config.get("lm_history")})
        _write_outputs(model, out, train_config, history, epoch + 1, best_epoch)
        if run is not None:
            run.log(record, step=epoch + 1)
        if progress:
            print(f"epoch {epoch + 1}/{train.epochs}: loss {record['train_total']:.3f} (lang {record['train_lang']:.3f}) "
                  f"selection CIDEr {val['CIDEr']:.1f} BLEU@4 {val['BLEU@4']:.2f}{' (best)' if improved else ''} "
                  f"| {preds[0]!r}")
    if run is not None:
        run.finish()
    return {"epochs": train.epochs, "best": best, "best_epoch": best_epoch, "select": train.select,
            "seconds": round(time.time() - started, 1)}
