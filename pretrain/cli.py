"""``lexmotion pretrain PHASE``: argument parsing and the ``all`` chain."""
from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from lexmotion.errors import LexmotionError
from lexmotion.files import read_json, require_file

PHASE_HELP = {
    "lexmlm": "text: encoder MLM (mask 0.3) + lexical-bottleneck decoder MLM (mask 0.5) on real captions",
    "cmmm": "motion: masked patch reconstruction (mask 0.7) + InfoNCE between two masked views",
    "lexmmm": "motion -> text: the motion lexical bottleneck drives the phase-1 decoder to rebuild the caption",
    "lexcmlp": "motion <-> text: symmetric InfoNCE on sparse vectors + FLOPS with quadratic warm-up",
    "dense": "the dense baseline: pooled projections + InfoNCE (TMR / MotionPatches style)",
    "all": "lexmlm -> cmmm -> lexmmm -> lexcmlp into OUT/<phase>, each starting from the previous",
}


# LexCMLP spreads motion vectors over every clean word after phases under the domain vocabulary (why:
# docs/results/ablation.md, "Each mechanism left out"). A config or option naming a vocabulary wins.
CONTRASTIVE_VOCABULARY = "clean"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("phase", choices=list(PHASE_HELP), help="; ".join(f"{k}: {v}" for k, v in PHASE_HELP.items()))
    p.add_argument("--data", action="append", required=True,
                   help="a dataset folder from `lexmotion data build` (repeat to mix datasets)")
    p.add_argument("--out", required=True, help="checkpoint folder (run again with the same --out to resume)")
    p.add_argument("--init", help="checkpoint to start from (default: the previous phase for `all`, else fresh)")
    p.add_argument("--config", help="JSON file with keys train / settings / model overriding the defaults, and "
                                    "phases: per-phase train keys (e.g. {\"lexcmlp\": {\"epochs\": 15}}); "
                                    "options given here override the file")
    p.add_argument("--epochs", type=int, help="epochs (default per phase: lexmlm 3, cmmm 30, lexmmm 20, lexcmlp 40, dense 40)")
    p.add_argument("--batch-size", type=int, help="batch size per process (default 64)")
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    p.add_argument("--lr", type=float, help="learning rate of the new parts (default 2e-4; text encoder 2e-5)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: cuda when available")
    p.add_argument("--wandb", choices=["offline", "online", "disabled"], help="wandb logging (default offline)")
    p.add_argument("--text-corpus", action="append", default=[],
                   help="lexmlm: a kitml-text folder whose training captions join the corpus (repeatable)")
    p.add_argument("--text-model", help="text encoder: Hugging Face name or path (default: the offline MiniLM)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--workers", type=int, help="DataLoader worker processes for batches (default 0: in the "
                                               "training process, which keeps resumes bit-exact)")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the text and motion encoders (mostly worth it on CUDA; falls back with a "
                        "warning where the compiler does not work)")
    p.add_argument("--activation-checkpointing", action="store_true", default=None,
                   help="keep only each encoder layer's input and recompute the layer in the backward pass: "
                        "the same results with less memory per step, for about one more encoder forward")
    p.add_argument("--vocabulary", choices=["full", "clean", "domain"],
                   help="vocabulary prior: full = every word (the first version), clean = real words without "
                        "stop words, digits or punctuation, domain = clean text side and motion vectors over the "
                        "training captions' words (default: the config's, else domain; with --init, the "
                        "checkpoint's, except that lexcmlp switches to clean)")
    p.add_argument("--text-side", choices=["encoder", "inference-free"],
                   help="encoder = the text encoder's lexical head; inference-free = a caption's own words "
                        "weighted by IDF, no network (default: the config's, else encoder; with --init, the checkpoint's)")
    p.add_argument("--temperature", type=float,
                   help="InfoNCE temperature of lexcmlp and dense (default: the config's, else 0.02)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def configs(args, phase: str):
    """(TrainConfig, ModelConfig) of a phase from --config and the options (the benchmark uses it too)."""
    from lexmotion.models.model import ModelConfig
    from lexmotion.models.motion_encoder import MotionEncoderConfig
    from pretrain.phases import PhaseSettings
    from pretrain.trainer import TrainConfig

    file_cfg = {}
    if args.config:
        file_cfg = read_json(require_file(args.config, "config file"))
        if not isinstance(file_cfg, dict):
            raise LexmotionError(f"{args.config}: a config is a JSON object with keys train / settings / model / phases")
        unknown = set(file_cfg) - {"train", "settings", "model", "phases", "comment"}      # comment: what the file is
        if unknown:
            raise LexmotionError(f"{args.config}: unknown keys {sorted(unknown)}; a config has train / settings / "
                                 "model / phases")
        for key in ("train", "settings", "model"):
            if not isinstance(file_cfg.get(key, {}), dict):
                raise LexmotionError(f"{args.config}: {key} must be a JSON object of {key} keys")
    per_phase = file_cfg.get("phases", {})
    phase_names = set(PHASE_HELP) - {"all"}
    if (not isinstance(per_phase, dict) or set(per_phase) - phase_names
            or not all(isinstance(v, dict) for v in per_phase.values())):
        raise LexmotionError(f"{args.config}: phases maps a phase ({', '.join(sorted(phase_names))}) to an "
                             "object of its train keys")

    def build(cls, values):
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise LexmotionError(f"{args.config}: unknown {cls.__name__} keys {sorted(unknown)}")
        return values

    setting_values = dict(build(PhaseSettings, file_cfg.get("settings", {})))
    if getattr(args, "temperature", None) is not None:
        if not args.temperature > 0:
            raise LexmotionError(f"--temperature must be positive, got {args.temperature}")
        setting_values["temperature"] = args.temperature
    settings = PhaseSettings(**setting_values)
    phase_train = dict(build(TrainConfig, per_phase.get(phase, {})))
    named = args.vocabulary or any("vocabulary" in part for part in (file_cfg.get("model", {}),
                                                                     file_cfg.get("train", {}), phase_train))
    if phase == "lexcmlp" and not named:
        train_default = {"vocabulary": CONTRASTIVE_VOCABULARY}   # the recipe's switch, for an --init checkpoint
    else:
        train_default = {}
    train = {**train_default, **build(TrainConfig, file_cfg.get("train", {})), **phase_train}
    for key, value in (("epochs", args.epochs), ("batch_size", args.batch_size), ("max_steps", args.max_steps),
                       ("lr", args.lr), ("device", args.device), ("wandb", args.wandb), ("seed", args.seed),
                       ("workers", args.workers), ("compile", getattr(args, "compile", None)),
                       ("activation_checkpointing", getattr(args, "activation_checkpointing", None)),
                       ("vocabulary", args.vocabulary), ("text_side", args.text_side)):
        if value is not None:
            train[key] = value
    train_config = TrainConfig(**{**train, "phase": phase, "settings": settings,
                                  "text_corpus": list(args.text_corpus) or train.get("text_corpus", [])})
    model = dict(file_cfg.get("model", {}))
    motion = MotionEncoderConfig(**build(MotionEncoderConfig, model.pop("motion", {})))
    build(ModelConfig, model)
    if args.text_model:
        model["text_model"] = args.text_model
    for key in ("vocabulary", "text_side"):
        value = getattr(args, key) or phase_train.get(key)   # a fresh model of this phase takes them too
        if value:
            model[key] = value
    if model.get("text_side") == "inference-free" and model.get("vocabulary", "full") == "full":
        model["vocabulary"] = "clean"    # the inference-free side needs IDF weights
    model_config = ModelConfig(**{**model, "kind": "dense" if phase == "dense" else "lexical", "motion": motion})
    train_config.max_frames = motion.max_frames
    return train_config, model_config


def recipe_configs(config: str | Path, phase: str, *options: str):
    """(TrainConfig, ModelConfig) of ``phase`` as ``lexmotion pretrain PHASE --config CONFIG OPTIONS`` builds them."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return configs(parser.parse_args([phase, "--data", "-", "--out", "-", "--config", str(config), *options]), phase)


def _check_text_model(init: str, text_model: str) -> None:
    """--init keeps its checkpoint's text encoder: a --text-model that differs is refused."""
    from lexmotion.models.checkpoint import read_config
    from lexmotion.models.text import load_text_backbone

    saved = read_config(init)["model"]["text_model"]
    if saved == text_model:
        return
    theirs, ours = load_text_backbone(text_model)[0], load_text_backbone(saved)[0]
    if theirs.get_vocab() != ours.get_vocab():
        raise LexmotionError(f"--text-model {text_model}: its vocabulary ({len(theirs)} words) differs from the one "
                             f"{init} was trained with ({saved}, {len(ours)} words); lexical vectors of the two "
                             "cannot be compared")
    raise LexmotionError(f"--text-model {text_model}: {init} was trained with {saved}, and --init keeps its text "
                         "encoder; leave out --text-model, or start a fresh run without --init")


def _claim_chain_folder(out: Path, inputs: list) -> None:
    """`pretrain all`'s --out holds one folder per phase: new, empty, or an earlier chain (resumed)."""
    from lexmotion.files import MARKER, claim_output, folder_kind, mark_folder
    from pretrain.phases import PHASES
    if out.is_dir() and not (out / MARKER).is_file():      # a chain from before the marker: phase folders only
        entries = [p for p in out.iterdir() if not p.name.startswith(".")]
        if entries and all(p.name in (*PHASES, "dense") and folder_kind(p) == "checkpoint" for p in entries):
            mark_folder(out, "pretrain-chain")
    claim_output(out, "pretrain-chain", resume=True, inputs=inputs, can_overwrite=False)
    out.mkdir(parents=True, exist_ok=True)
    mark_folder(out, "pretrain-chain")


def run(args) -> int:
    from pretrain.phases import PHASES
    from pretrain.trainer import Trainer

    for d in args.data:
        if not Path(d).exists():
            raise LexmotionError(f"{d}: no such dataset folder")
    phases = PHASES if args.phase == "all" else (args.phase,)
    init = args.init
    if init and args.text_model:
        _check_text_model(init, args.text_model)
    if args.phase == "all":
        _claim_chain_folder(Path(args.out), [*args.data, init])
    for phase in phases:
        out = Path(args.out) / phase if args.phase == "all" else Path(args.out)
        train_config, model_config = configs(args, phase)
        print(f"== {phase}: {PHASE_HELP[phase]} -> {out}")
        Trainer(args.data, str(out), train_config, init=init, model_config=model_config,
                progress=not args.quiet, command=getattr(args, "command_line", None)).fit()
        init = str(out)
    return 0
