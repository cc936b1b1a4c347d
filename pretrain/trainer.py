"""One trainer for every phase: CPU or CUDA (bf16 autocast), single process or torchrun DDP.

Data: every clip's features are computed once, in memory, when the run starts;
a batch is then only a crop, a pad and a tokenisation, done in-process.

Resuming: the batch order of epoch e is a permutation seeded by (seed, e), so a
run restarted with the same --out reloads trainer_state.pt and skips the
batches it had already done in that epoch. The state file is the one truth of a
run: it holds the trained weights, optimiser, scheduler, RNG states, step and the
finished epochs' metrics, and is replaced in one rename. A run killed at any point
(even inside a save) resumes from the last state with nothing lost or repeated;
metrics.jsonl is rewritten from it. One process writes an --out at a time.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lexmotion.data.batching import Collate, MotionTextDataset
from lexmotion.data.dataset import MotionDataset
from lexmotion.data.features import crops_of, frame_of, with_crops
from lexmotion.device import compile_modules, out_of_memory, resolve_device
from lexmotion.errors import (
    LexmotionError,
    OldFormatError,
    check_finite_loss,
    check_settings,
)
from lexmotion.files import (
    claim_run_folder,
    crash_point,
    load_state,
    output_lock,
    read_json,
    remove_temporaries,
    rng_state,
    set_rng_state,
    write_json,
    write_jsonl,
)
from lexmotion.models.checkpoint import load as load_checkpoint
from lexmotion.models.checkpoint import provenance, save_checkpoint
from lexmotion.models.model import LexMotionModel, ModelConfig
from lexmotion.tracking import start_wandb
from pretrain.averaging import WeightAverage
from pretrain.data_sources import data_sources, keep_share, union_stats
from pretrain.phases import LOSSES, PhaseSettings, teacher_vectors, wants_pairs
from pretrain.run_state import RunState
from pretrain.schedule import batches as _batches
from pretrain.schedule import dataset_batches, distributed, make_optimizer, seed_everything
from pretrain.text_corpus import TextCorpus, load_caption_corpus, vocabulary_corpus

TRAINABLE = {
    "lexmlm": ("text_encoder.", "text_head.", "decoder.", "decoder_head."),
    "cmmm": ("motion_encoder.", "reconstruction.", "view_projection."),
    "lexmmm": ("motion_encoder.", "motion_head."),
    "lexcmlp": ("text_encoder.", "text_head.", "motion_encoder.", "motion_head."),
    "dense": ("text_encoder.", "motion_encoder.", "text_projection.", "motion_projection."),
}
DEFAULT_EPOCHS = {"lexmlm": 3, "cmmm": 30, "lexmmm": 20, "lexcmlp": 40, "dense": 40}


@dataclass
class TrainConfig:
    phase: str = "lexcmlp"
    epochs: int | None = None          # None: the phase's default
    batch_size: int = 64
    lr: float = 2e-4
    text_lr: float = 2e-5              # the pretrained text encoder learns slower
    weight_decay: float = 0.01
    warmup_steps: int = 100
    max_steps: int | None = None
    seed: int = 0
    device: str = "auto"
    save_every: int = 200              # steps between checkpoints (and at every epoch end)
    max_frames: int = 200
    mirror_prob: float = 0.5
    # Playback rates a training clip is drawn at, each equally likely (1.0: as captured): a clip replayed
    # a little faster or slower is one more example of the same caption.
    speeds: list[float] = field(default_factory=lambda: [1.0])
    # The frame motions are read in ("first" or "body", lexmotion.data.features.body_frame); None keeps the
    # --init checkpoint's (a new model's: "first"). A change recomputes the statistics from the run's motions.
    motion_frame: str | None = None
    # How a crop of a longer clip is read ("clip" or "own": as a clip of its own, lexmotion.data.features.
    # crop_frame): training's random crops, and the checkpoint's served crops and windows after it. None keeps
    # the --init checkpoint's (a new model's: "clip"). Recorded in the statistics, as the frame is.
    crop_frame: str | None = None
    workers: int = 0                   # DataLoader worker processes that crop, mirror and collate batches
    compile: bool = False              # torch.compile the encoders (falls back with a warning)
    activation_checkpointing: bool = False   # recompute encoder layers in backward: less memory, more time
    wandb: str = "offline"
    text_corpus: list[str] = field(default_factory=list)
    # This phase's datasets (a config's phases.<phase>.data): folders, or {"path", "captions": [sources]};
    # empty: the command's --data.
    data: list = field(default_factory=list)
    # The share of each dataset's training clips that the motion phases train on (learning curves): the
    # same clips in every phase of a run, and a smaller share's clips lie within a larger one's.
    train_share: float = 1.0
    # Each batch from one dataset: in-batch negatives then share their captions' style, so a phase
    # cannot score by telling terse descriptions from KIT-ML sentences.
    batch_by_dataset: bool = False
    # The decay of an exponential moving average of the trained weights (pretrain/averaging.py), which the
    # checkpoint then serves; 0: the last step's weights.
    ema: float = 0.0
    # With --init: switch the checkpoint to this vocabulary prior / text side (None: keep its own).
    # A fresh model takes them from its ModelConfig.
    vocabulary: str | None = None
    text_side: str | None = None
    # This phase's motion-encoder dropout and stochastic depth, also over an --init checkpoint's (None: keep).
    motion_dropout: float | None = None
    motion_drop_path: float | None = None
    # Lexical motion vectors from the whole take as well as its patches (ModelConfig.whole_take_words), set
    # on the checkpoint from this phase on; None keeps the --init checkpoint's (a new model's: false).
    whole_take_words: bool | None = None
    settings: PhaseSettings = field(default_factory=PhaseSettings)

    def to_dict(self) -> dict:
        return asdict(self)


class PhaseModule(nn.Module):
    """Wraps the model so that one forward = one phase's loss terms (what DDP needs)."""

    def __init__(self, model: LexMotionModel, phase: str, settings: PhaseSettings):
        super().__init__()
        self.model, self.phase, self.settings = model, phase, settings

    def forward(self, batch: dict, step: int) -> dict:
        return LOSSES[self.phase](self.model, batch, self.settings, step)


class Trainer:
    def __init__(self, data_dirs: list, out: str, config: TrainConfig, init: str | None = None,
                 model_config: ModelConfig | None = None, progress: bool = True, command: str | None = None,
                 stats: dict | None = None, run_data: list[str] | None = None):
        """DATA_DIRS: dataset folders or ``DataSource``s (a folder and the caption sources used there).
        STATS: a fresh model's normalisation (default: pooled over DATA_DIRS); RUN_DATA: every dataset of
        the run (`pretrain all`), whose val/test captions LexMLM leaves out and whose captions make the
        vocabulary."""
        self.stats_given, self.run_data = stats, run_data
        check_settings(f"pretrain {config.phase}", epochs=(config.epochs, "count"), batch_size=(config.batch_size, "count"),
                       max_steps=(config.max_steps, "count"), lr=(config.lr, "rate"), text_lr=(config.text_lr, "rate"),
                       save_every=(config.save_every, "count"), mirror_prob=(config.mirror_prob, "probability"))
        if isinstance(config.workers, bool) or not isinstance(config.workers, int) or config.workers < 0:
            raise LexmotionError(f"pretrain {config.phase}: --workers must be 0 or more, not {config.workers!r}")
        self.config, self.out, self.progress = config, Path(out), progress
        self.average = None                     # the weight average, when config.ema is on (set by fit)
        self.command = command or " ".join(sys.argv)
        self.world, self.rank, local_rank = distributed()
        self._lock = contextlib.ExitStack()     # held from here to the end of fit(): one writer per --out
        if self.rank == 0:
            self._lock.enter_context(output_lock(self.out))
        try:
            self._setup(data_dirs, init, model_config, local_rank)
        except BaseException:
            self._lock.close()
            raise

    def _setup(self, data_dirs, init, model_config, local_rank) -> None:
        """Devices and processes, the datasets and --out, the model (resumed, --init or fresh), then the
        module that training steps call."""
        config = self.config
        self._start_processes(local_rank)
        if config.phase not in LOSSES:
            raise LexmotionError(f"unknown phase {config.phase!r}; choose one of {', '.join(LOSSES)}")
        distils = config.phase == "lexcmlp" and config.settings.distil > 0
        if distils and not init:
            raise LexmotionError("pretrain lexcmlp: distil matches the scores of the checkpoint the stage starts "
                                 "from; pass it as --init CKPT")
        self.sources = data_sources(data_dirs)
        self.datasets = [MotionDataset(src.path) for src in self.sources]
        opened = {src.path: d for src, d in zip(self.sources, self.datasets)}     # open each folder once
        self.run_datasets = [opened.get(p) or MotionDataset(p) for p in self.run_data] if self.run_data \
            else self.datasets
        if self.rank == 0:
            claim_run_folder(self.out, "checkpoint", "trainer_state.pt",
                             inputs=[*(src.path for src in self.sources), init])
        self.model = self._resumed_model() or self._initial_model(init, model_config)
        parent = getattr(self.model, "provenance", None)
        if self.resume_state is None and init and self.model.has_words:
            self._adopt_vocabulary(config.vocabulary or self.model.config.vocabulary,
                                   config.text_side or self.model.config.text_side)
        self.model.provenance = parent
        if config.whole_take_words is not None:
            self.model.config.whole_take_words = config.whole_take_words
        if config.motion_dropout is not None or config.motion_drop_path is not None:
            self.model.motion_encoder.set_regularisation(config.motion_dropout, config.motion_drop_path)
        self._record_provenance(init)
        # the checkpoint's encoder decides how long a crop may be, not the default TrainConfig
        config.max_frames = min(config.max_frames, self.model.config.motion.max_frames)
        frame = config.motion_frame or frame_of(self.model.stats)
        if self.model.stats is None or frame_of(self.model.stats) != frame:     # one normalisation for the run
            given = self.stats_given if frame_of(self.stats_given) == frame else None
            self.model.stats = given or union_stats([src.path for src in self.sources], frame)
        if config.crop_frame is not None and crops_of(self.model.stats) != config.crop_frame:
            self.model.stats = with_crops(self.model.stats, config.crop_frame)
            self.model.config.window_frame = config.crop_frame      # a window is read as a crop is
        self._prepare_module()
        self.teacher = self._frozen(init) if distils else None

    def _frozen(self, init: str):
        """The --init checkpoint as given, frozen: the teacher of LexCMLP's distillation term."""
        teacher = load_checkpoint(init).to(self.device).eval()
        teacher.requires_grad_(False)
        return teacher

    def _start_processes(self, local_rank: int) -> None:
        """DDP under torchrun (even with one process), and this process's device."""
        self.ddp = self.world > 1 or "TORCHELASTIC_RUN_ID" in os.environ
        if self.ddp and not torch.distributed.is_initialized():
            backend = "nccl" if self.config.device in ("auto", "cuda") and torch.cuda.is_available() else "gloo"
            torch.distributed.init_process_group(backend)
        self.device = resolve_device(self.config.device, local_rank)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)

    def _resumed_model(self) -> LexMotionModel | None:
        """The run saved in --out, with its trainer state; None when there is none to resume."""
        phase = self.config.phase
        self.resume_state, self.finished_before = None, None
        if not (self.out / "trainer_state.pt").is_file():
            return None
        try:
            self.resume_state = load_state(self.out / "trainer_state.pt",
                                           f"to start this phase again, delete {self.out} or pass another --out")
        except OldFormatError:
            if not (self.out / "DONE").is_file():
                raise
            # a finished run of the first version: `pretrain all` may still skip it, not continue it
            self.finished_before = read_json(self.out / "DONE")
            self.resume_state = {"phase": phase, "model": {}}
        if self.resume_state.get("phase") != phase:
            raise LexmotionError(f"{self.out}: holds a {self.resume_state.get('phase')} run, not {phase}; "
                                 "use another --out")
        model = load_checkpoint(self.out)
        self.model = model
        self._restore_weights(self.resume_state["model"])
        return model

    def _initial_model(self, init: str | None, model_config: ModelConfig | None) -> LexMotionModel:
        """The --init checkpoint (of the phase's kind), or a fresh model seeded by --seed."""
        phase = self.config.phase
        if init:
            model = load_checkpoint(init)
            if phase == "dense" and model.config.kind != "dense":
                raise LexmotionError(f"{init}: a lexical checkpoint cannot initialise the dense baseline")
            if phase != "dense" and not model.has_words:
                raise LexmotionError(f"{init}: a dense checkpoint cannot initialise the lexical phase {phase}")
            return model
        model_config = model_config or ModelConfig(kind="dense" if phase == "dense" else "lexical")
        seed_everything(self.config.seed)        # --seed decides a fresh model's initial weights too
        model = LexMotionModel(model_config)
        model.set_corpus(vocabulary_corpus(self.config.text_corpus, self.run_datasets))
        return model

    def _prepare_module(self) -> None:
        """The model on its device with the phase's parameters trainable, then the module DDP wraps."""
        config = self.config
        self.model.to(self.device)
        for name, param in self.model.named_parameters():
            param.requires_grad = name.startswith(TRAINABLE[config.phase])
        if config.activation_checkpointing:
            self.model.checkpoint_activations()
        if config.compile:
            failed = compile_modules([self.model.text_encoder, self.model.motion_encoder], self.device)
            if failed and self.rank == 0:
                print(f"warning: --compile: torch.compile does not work here ({failed}); training without it")
        self.module = PhaseModule(self.model, config.phase, config.settings)
        if self.ddp:
            self.module = nn.parallel.DistributedDataParallel(
                self.module, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True)

    def _record_provenance(self, init: str | None) -> None:
        if self.resume_state is not None and getattr(self.model, "provenance", None):
            return                                                # the same run, resumed
        parent = getattr(self.model, "provenance", None) if init else None
        self.model.provenance = provenance(self.config.phase, self.datasets, init, parent, self.command)

    def _restore_weights(self, weights: dict) -> None:
        """The trained parameters saved with the trainer state (they match its step, whatever the last save did)."""
        _, unexpected = self.model.load_state_dict(weights, strict=False)
        if unexpected:
            raise LexmotionError(f"{self.out}/trainer_state.pt: weights for another model ({unexpected[0]}, ...); "
                                 "use another --out")

    def _adopt_vocabulary(self, vocabulary: str, text_side: str) -> None:
        """Continue an --init checkpoint under another vocabulary prior or text side (same weights)."""
        model = self.model
        if text_side == "inference-free" and vocabulary == "full":
            raise LexmotionError("--text-side inference-free needs IDF weights: use --vocabulary clean or domain")
        if vocabulary != model.config.vocabulary:
            print(f"vocabulary prior: {model.config.vocabulary} -> {vocabulary} (same weights)")
            self.model = model = model.with_vocabulary(vocabulary, vocabulary_corpus(self.config.text_corpus,
                                                                                     self.datasets))
        elif self.config.vocabulary == "domain":     # asked for again: this run's caption words join
            before = int(model.motion_vocab_mask.sum())
            model.set_corpus(vocabulary_corpus(self.config.text_corpus, self.datasets), keep_words=True)
            print(f"domain vocabulary: {before} -> {int(model.motion_vocab_mask.sum())} words "
                  "(this run's captions added)")
        if text_side != model.config.text_side:
            print(f"text side: {model.config.text_side} -> {text_side}")
            model.config.text_side = text_side

    # --- data ---------------------------------------------------------------------------
    def train_set(self):
        """(the phase's training items, their collate function): captions for LexMLM, clips otherwise."""
        c = self.config
        if c.phase == "lexmlm":
            captions = load_caption_corpus(c.text_corpus, self.datasets, self.run_datasets,
                                           [src.captions for src in self.sources])
            return TextCorpus(captions), Collate(self.model.tokenizer, self.model.config.max_text_len).tokenize_only
        sets = [MotionTextDataset(d, "train", self.model.stats, c.max_frames, train=True, mirror_prob=c.mirror_prob,
                                  require_text=c.phase != "cmmm", progress=self.progress and self.rank == 0,
                                  sources=src.captions, speeds=tuple(c.speeds),
                                  mirror_pairs=wants_pairs(c.phase, c.settings))
                for d, src in zip(self.datasets, self.sources)]
        if c.train_share < 1.0:
            for dataset in sets:
                dataset.rows = keep_share(dataset.rows, c.train_share, c.seed)
        return torch.utils.data.ConcatDataset(sets), Collate(self.model.tokenizer, self.model.config.max_text_len)

    def _val_set(self):
        c = self.config
        sets = []
        for d, src in zip(self.datasets, self.sources):
            try:
                sets.append(MotionTextDataset(d, "val", self.model.stats, c.max_frames, train=False,
                                              sources=src.captions))
            except LexmotionError:
                continue
        return torch.utils.data.ConcatDataset(sets) if sets else None

    # --- loop ---------------------------------------------------------------------------
    def _params(self):
        text = [p for n, p in self.model.named_parameters() if p.requires_grad and n.startswith("text_encoder.")]
        other = [p for n, p in self.model.named_parameters() if p.requires_grad and not n.startswith("text_encoder.")]
        groups = [{"params": other, "lr": self.config.lr}]
        if text:
            groups.append({"params": text, "lr": self.config.text_lr})
        return groups

    def optimizer(self, total: int):
        """AdamW over the phase's trainable parameters (fused on CUDA) and the warm-up + cosine schedule."""
        c = self.config
        return make_optimizer(self._params(), c.weight_decay, self.device, c.warmup_steps, total)

    def train_step(self, batch: dict, step: int, optimizer, scheduler, mark=None) -> dict:
        """One optimiser step on a batch already on the device; -> the loss terms. ``mark(name)`` is
        called after the forward, backward and optimiser parts (the benchmark times them)."""
        mark = mark or (lambda name: None)
        try:
            optimizer.zero_grad(set_to_none=True)     # the last step's gradients go before activations come
            with self._autocast():
                if self.teacher is not None:
                    batch = {**batch, "teacher": teacher_vectors(self.teacher, batch)}
                terms = self.module(batch, step)
            mark("forward")
            terms["loss"].backward()
            mark("backward")
            torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 1.0)
            optimizer.step()
            scheduler.step()
            mark("optimiser")
        except (torch.OutOfMemoryError, RuntimeError) as e:
            if not isinstance(e, torch.OutOfMemoryError) and "can't allocate memory" not in str(e):
                raise
            raise LexmotionError(out_of_memory(self.device, len(batch["texts"]))) from None
        return terms

    def _to_device(self, batch):
        return {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}

    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    def _wandb(self):
        if self.rank != 0:
            return None
        return start_wandb(self.config.wandb, f"{self.config.phase}-{self.out.name}", self.out, self.config.to_dict())

    def fit(self) -> dict:
        try:
            return self._fit()
        finally:
            self._lock.close()

    def _fit(self) -> dict:
        c = self.config
        seed_everything(c.seed + self.rank)
        data = self.train_set()
        val_set = self._val_set() if c.phase != "lexmlm" else None
        epochs = c.epochs or DEFAULT_EPOCHS[c.phase]
        per_epoch = len(self.epoch_order(data[0], 0))
        if per_epoch == 0:
            raise LexmotionError(f"{c.phase}: {len(data[0])} training items do not fill one batch of {c.batch_size} "
                                 f"on {self.world} process(es); pass a smaller --batch-size")
        total = c.max_steps or epochs * per_epoch
        epochs = max(epochs, -(-total // per_epoch))     # a step budget is honoured as given, in as many epochs
        optimizer, scheduler = self.optimizer(total)
        if self.finished_before is not None:
            return self._finished_by_the_first_version(total)
        self.average = WeightAverage(self.model, c.ema) if c.ema else None
        run = RunState()
        if self.resume_state:
            run = self._resume(optimizer, scheduler, total)
            if run.step >= total:
                return self._already_finished(run.step, total)
        tracker = self._wandb()
        self.module.train()
        clock = {"started": time.time(), "samples": 0}
        for epoch in range(run.epoch, epochs):
            if run.step >= total:
                break
            finished = self._train_epoch(epoch, epochs, total, data, run, (optimizer, scheduler), tracker, clock)
            self._end_epoch(epoch, finished, val_set, run, (optimizer, scheduler), tracker, clock)
        if self.average is not None:
            self.average.copy_to(self.model)          # what the checkpoint serves is what the report reads
        report = self._finish(run.step, total) if self.rank == 0 else None
        if tracker is not None:
            tracker.finish()
        return {"step": run.step, "sparsity": report}

    def _finished_by_the_first_version(self, total: int) -> dict:
        if self.finished_before.get("step", 0) < total:
            raise OldFormatError(f"{self.out}: finished by an earlier lexmotion whose trainer state (pickled) this "
                                 f"one does not read, so it cannot be continued to {total} steps; delete "
                                 f"{self.out}/trainer_state.pt and pass --init {self.out} with another --out")
        print(f"{self.config.phase}: already finished in {self.out} (step {self.finished_before['step']}), nothing to do")
        return {"step": self.finished_before["step"], "sparsity": None}

    def _resume(self, optimizer, scheduler, total: int) -> RunState:
        """The saved run: optimiser, schedule, random states and where it stood; metrics.jsonl rewritten from it."""
        state = self.resume_state
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        run = RunState.from_state(state)
        set_rng_state(state["rng"])
        if self.average is not None:
            if "average" not in state:
                raise LexmotionError(f"{self.out}: this run was started without ema; finish it without it, or "
                                     "pass another --out")
            self.average.load_state_dict(state["average"], f"{self.out}/trainer_state.pt")
        if self.rank == 0:
            remove_temporaries(self.out)
            write_jsonl(self.out / "metrics.jsonl", run.history)   # drops a line written after the state
            if run.step < total:
                print(f"resuming {self.config.phase} in {self.out} at step {run.step} (epoch {run.epoch + 1}, "
                      f"batch {run.batch_in_epoch})")
        return run

    def _already_finished(self, step: int, total: int) -> dict:
        if self.rank == 0:
            print(f"{self.config.phase}: already finished in {self.out} (step {step}), nothing to do")
            if not (self.out / "DONE").is_file():        # killed between the last save and DONE
                if self.average is not None:
                    self.average.copy_to(self.model)
                self._finish(step, total)
        return {"step": step, "sparsity": None}

    def _train_epoch(self, epoch, epochs, total, data, run: RunState, steppers, tracker, clock) -> bool:
        """EPOCH's batches from ``run.batch_in_epoch`` on, until it ends or the run reaches TOTAL steps;
        -> whether the epoch ran to its end."""
        from tqdm.auto import tqdm
        c, (optimizer, scheduler) = self.config, steppers
        order = self.epoch_order(data[0], epoch)
        run.epoch = epoch
        bar = tqdm(total=len(order), initial=run.batch_in_epoch, desc=f"{c.phase} epoch {epoch + 1}/{epochs}",
                   disable=not self.progress or self.rank != 0, leave=False)
        loaded = self.batches(*data, order[run.batch_in_epoch:])
        for b in range(run.batch_in_epoch, len(order)):
            crash_point("step")
            terms = self.train_step(next(loaded), run.step, optimizer, scheduler)
            run.step += 1
            if self.average is not None:
                self.average.update(self.model, run.step)
            values = {k: float(v.detach()) for k, v in terms.items()}      # the step's one read of the terms
            check_finite_loss(values["loss"], f"{c.phase} step {run.step}", f"{self.out} keeps its last saved step")
            run.batch_in_epoch = b + 1
            clock["samples"] += len(order[b]) * self.world
            run.add(values)
            bar.update(1)
            bar.set_postfix(loss=f"{values['loss']:.3f}")
            if tracker is not None:
                tracker.log({f"train/{k}": v for k, v in values.items()} | {"lr": scheduler.get_last_lr()[0]},
                            step=run.step)
            if run.step % c.save_every == 0 and run.batch_in_epoch < len(order):
                self._save(optimizer, scheduler, run)
            if run.step >= total:
                break
        bar.close()
        return run.batch_in_epoch >= len(order)

    def _end_epoch(self, epoch, finished, val_set, run: RunState, steppers, tracker, clock) -> None:
        """The epoch's metrics line (validation included), then a save; a finished epoch starts the next."""
        metrics = {"epoch": epoch + 1, "step": run.step, **run.means()}
        if val_set is not None and self.rank == 0:
            with self._served_weights():
                metrics.update(self.validate(val_set))
        elapsed = time.time() - clock["started"]
        metrics["seconds"] = round(elapsed, 1)
        metrics["samples_per_second"] = round(clock["samples"] / max(elapsed, 1e-9), 1)
        run.history.append(metrics)
        if finished:
            run.next_epoch()
        if self.rank == 0:
            if tracker is not None:
                tracker.log({f"epoch/{k}": v for k, v in metrics.items()}, step=run.step)
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()))
        self._save(*steppers, run)

    def _finish(self, step: int, total: int) -> dict | None:
        """The sparsity report of a lexical phase, the thresholds and query bank of a contrastive one, then DONE
        (rank 0, after the last save)."""
        report = None
        if self.config.phase in ("lexmlm", "lexmmm", "lexcmlp"):
            from pretrain.sparsity import format_report, sparsity_report
            report = sparsity_report(self.model, self.datasets, self.config.max_frames)
            write_json(self.out / "sparsity.json", report)
            print(format_report(report))
        if self.config.phase == "lexcmlp":
            self._calibrate()
        if self.config.phase in ("lexcmlp", "dense"):
            self._write_querybank()
        write_json(self.out / "DONE", {"step": step, "total": total})
        return report

    def _write_querybank(self) -> None:
        """The phase's training captions as the hub prior's bank (lexmotion/models/querybank.py); a phase with
        none is said, not fatal: its checkpoint then ranks by the plain cosine."""
        from lexmotion.models.querybank import QUERYBANK, make_querybank
        try:
            bank = make_querybank(self.sources)
        except LexmotionError as err:
            print(f"no query bank: {err}")
            return
        write_json(self.out / QUERYBANK, bank)
        print(f"query bank of {len(bank['texts'])} training captions (hub prior, beta {bank['beta']:g}) "
              f"-> {self.out / QUERYBANK}")

    def _calibrate(self) -> None:
        """The tagger's per-word thresholds (retrieval/tagging.py) on the phase's val and held-back clips, so a
        finished LexCMLP checkpoint serves calibrated words; data too small to calibrate on is said, not fatal."""
        from lexmotion.models.thresholds import THRESHOLDS, calibrate
        try:
            calibration = calibrate(self.model, [src.path for src in self.sources], seed=self.config.seed)
        except LexmotionError as err:
            print(f"no calibrated thresholds: {err}")
            return
        write_json(self.out / THRESHOLDS, {**calibration, "per_word": {str(k): v for k, v in calibration["per_word"].items()}})
        print(f"calibrated thresholds of {len(calibration['per_word'])} words on {calibration['clips']} clips "
              f"-> {self.out / THRESHOLDS}")

    def epoch_order(self, train_set, epoch: int) -> list:
        """This process's batches of EPOCH over TRAIN_SET: lists of item indices, in the seeded order."""
        c = self.config
        if c.batch_by_dataset and isinstance(train_set, torch.utils.data.ConcatDataset):
            sizes = [len(d) for d in train_set.datasets]
            return dataset_batches(sizes, c.batch_size, c.seed, epoch, self.rank, self.world, drop_last=True)
        return _batches(len(train_set), c.batch_size, c.seed, epoch, self.rank, self.world, drop_last=True)

    def batches(self, train_set, collate, order):
        """The batches of ORDER, collated and on the device: in this process (workers 0, the default:
        resumes are bit-exact), or from --workers DataLoader processes (each seeded by the DataLoader;
        a resumed run crops anew)."""
        if not self.config.workers:
            loaded = (collate([train_set[i] for i in b]) for b in order)
        else:
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")      # the workers tokenise; no nested threads
            loaded = iter(torch.utils.data.DataLoader(train_set, batch_sampler=order, collate_fn=collate,
                                                      num_workers=self.config.workers,
                                                      pin_memory=self.device.type == "cuda"))
        return (self._to_device(batch) for batch in loaded)

    @torch.no_grad()
    def validate(self, val_set) -> dict:
        """Validation loss terms and, for the retrieval phases, text->motion recall on the val split."""
        self.module.eval()
        collate = Collate(self.model.tokenizer, self.model.config.max_text_len)
        sums, count, texts, motions = {}, 0, [], []
        for i in range(0, len(val_set), self.config.batch_size):
            batch = self._to_device(collate([val_set[j] for j in range(i, min(i + self.config.batch_size, len(val_set)))]))
            if len(batch["texts"]) < 2:
                continue
            with self._autocast():
                terms = LOSSES[self.config.phase](self.model, batch, self.config.settings, 10 ** 9)
                if self.config.phase in ("lexcmlp", "dense"):
                    texts.append(self.model.text_vectors(batch["text_ids"], batch["text_mask"]).float())
                    motions.append(self.model.motion_vectors(batch["motion"], batch["mask"]).float())
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            count += 1
        self.module.train()
        out = {f"val_{k}": v / max(count, 1) for k, v in sums.items()}
        if texts:
            from lexmotion.metrics import ranks, summarise
            t, m = (torch.nn.functional.normalize(torch.cat(x), dim=-1) for x in (texts, motions))
            recall = summarise(ranks((t @ m.T).cpu().numpy(), np.eye(len(t), dtype=bool)))   # counted as in eval
            for k in (1, 5, 10):
                out[f"val_t2m_R@{k}"] = recall[f"R@{k}"]
        return out

    def _served_weights(self):
        """The block sees the weights a checkpoint serves: the average when ``ema`` is on."""
        return self.average.swapped(self.model) if self.average is not None else contextlib.nullcontext()

    def _save(self, optimizer, scheduler, run: RunState):
        """The checkpoint, then the trainer state (the commit point), then metrics.jsonl from it."""
        if self.rank != 0:
            return
        trained = {n: p.detach().cpu() for n, p in self.model.named_parameters() if p.requires_grad}
        if self.average is not None:      # on the CPU these share the parameters' memory, which the swap overwrites
            trained = {n: w.clone() for n, w in trained.items()}
        state = {"phase": self.config.phase, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 **run.to_state(), "rng": rng_state(), "model": trained}
        if self.average is not None:
            state["average"] = self.average.state_dict()
        with self._served_weights():
            save_checkpoint(self.out, self.model, self.config.phase, self.config.to_dict(), state)
        write_jsonl(self.out / "metrics.jsonl", run.history)
