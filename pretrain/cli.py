"""``lexmotion pretrain PHASE``: argument parsing and the ``all`` chain."""
from __future__ import annotations

import argparse
from pathlib import Path

from lexmotion.device import add_device_option
from lexmotion.errors import LexmotionError
from pretrain.settings import CONTRASTIVE_VOCABULARY, load_recipe, resolve

PHASE_HELP = {
    "lexmlm": "text: encoder MLM (mask 0.3) + lexical-bottleneck decoder MLM (mask 0.5) on real captions",
    "cmmm": "motion: masked patch reconstruction (mask 0.7) + InfoNCE between two masked views",
    "lexmmm": "motion -> text: the motion lexical bottleneck drives the phase-1 decoder to rebuild the caption",
    "lexcmlp": "motion <-> text: symmetric InfoNCE on sparse vectors + FLOPS with quadratic warm-up",
    "dense": "the dense baseline: pooled projections + InfoNCE (TMR / MotionPatches style)",
    "all": "lexmlm -> cmmm -> lexmmm -> lexcmlp into OUT/<phase>, each starting from the previous",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from lexmotion.models.model import ModelConfig
    from pretrain.phases import PhaseSettings
    from pretrain.trainer import DEFAULT_EPOCHS, TrainConfig
    train, model, settings = TrainConfig(), ModelConfig(), PhaseSettings()      # every default below is theirs
    p.add_argument("phase", choices=list(PHASE_HELP), help="; ".join(f"{k}: {v}" for k, v in PHASE_HELP.items()))
    p.add_argument("--data", action="append", default=[],
                   help="a dataset folder from `lexmotion data build` (repeat to mix datasets), for every phase "
                        "whose config gives no phases.<phase>.data list; without --config it replaces the default "
                        "recipe's lists, so every phase trains on it")
    p.add_argument("--out", required=True, help="checkpoint folder (run again with the same --out to resume)")
    p.add_argument("--init", help="checkpoint to start from (default: the previous phase for `all`, else fresh)")
    p.add_argument("--config", help="JSON file with keys train / settings / model overriding the defaults, and "
                                    "phases: per-phase train keys (e.g. {\"lexcmlp\": {\"epochs\": 15}}), and "
                                    "optionally base: another config file (relative to this one) that it changes; "
                                    "options given here override the file (default: the default recipe, "
                                    "pretrain/configs/default.json, whose phases read data/kitml, "
                                    "data/kitml-desc and data/cmu-extra unless --data is given)")
    p.add_argument("--epochs", type=int, help="epochs (default per phase: "
                                              f"{', '.join(f'{k} {v}' for k, v in DEFAULT_EPOCHS.items())})")
    p.add_argument("--batch-size", type=int, help=f"batch size per process (default {train.batch_size})")
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    p.add_argument("--lr", type=float, help=f"learning rate of the new parts (default {train.lr:g}; text encoder "
                                            f"{train.text_lr:g})")
    add_device_option(p, "where the phase trains (a config's train.device if not given)", default=None)
    p.add_argument("--wandb", choices=["offline", "online", "disabled"], help=f"wandb logging (default {train.wandb})")
    p.add_argument("--text-corpus", action="append", default=[],
                   help="lexmlm: a kitml-text folder whose training captions join the corpus (repeatable)")
    p.add_argument("--text-model", help="text encoder: Hugging Face name or path (default: the offline MiniLM)")
    p.add_argument("--seed", type=int, help=f"random seed (default {train.seed})")
    p.add_argument("--workers", type=int, help=f"DataLoader worker processes for batches (default {train.workers}: "
                                               "in the training process, which keeps resumes bit-exact)")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the text and motion encoders (mostly worth it on CUDA; falls back with a "
                        "warning where the compiler does not work)")
    p.add_argument("--activation-checkpointing", action="store_true", default=None,
                   help="keep only each encoder layer's input and recompute the layer in the backward pass: "
                        "the same results with less memory per step, for about one more encoder forward")
    p.add_argument("--vocabulary", choices=["full", "clean", "domain"],
                   help="vocabulary prior: full = every word (the first version), clean = real words without "
                        "stop words, digits or punctuation, domain = clean text side and motion vectors over the "
                        f"training captions' words (default: the config's, else {model.vocabulary}; with --init, "
                        f"the checkpoint's, except that lexcmlp switches to {CONTRASTIVE_VOCABULARY})")
    p.add_argument("--text-side", choices=["encoder", "inference-free"],
                   help="encoder = the text encoder's lexical head; inference-free = a caption's own words "
                        f"weighted by IDF, no network (default: the config's, else {model.text_side}; with --init, "
                        "the checkpoint's)")
    p.add_argument("--temperature", type=float,
                   help=f"InfoNCE temperature of lexcmlp and dense (default: the config's, else {settings.temperature:g})")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# the `lexmotion pretrain` options that are settings (each a field of TrainConfig, PhaseSettings or ModelConfig)
FLAGS = ("epochs", "batch_size", "max_steps", "lr", "device", "wandb", "seed", "workers", "compile",
         "activation_checkpointing", "vocabulary", "text_side", "temperature", "text_model", "text_corpus")


DEFAULT_RECIPE = Path(__file__).parent / "configs" / "default.json"


def default_recipe(data: list) -> dict:
    """The recipe of a run without --config. With --data, the user's data replaces its phases' data lists."""
    recipe = load_recipe(DEFAULT_RECIPE)
    if data:
        recipe["phases"] = {phase: {k: v for k, v in section.items() if k != "data"}
                            for phase, section in recipe.get("phases", {}).items()}
    return recipe


def configs(args, phases) -> dict:
    """phase -> (TrainConfig, ModelConfig) from the command line: --config (read once), else the default
    recipe, then the options."""
    recipe = load_recipe(args.config) if args.config else default_recipe(args.data)
    flags = {name: getattr(args, name, None) for name in FLAGS}
    return {phase: resolve(phase, recipe, **flags) for phase in phases}


def recipe_configs(config: str | Path, phase: str, **flags):
    """(TrainConfig, ModelConfig) of ``phase`` under the config file CONFIG and FLAGS (field names)."""
    return resolve(phase, load_recipe(config), **flags)


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
    """`lexmotion pretrain PHASE` / `all`: each phase on its own data (the config's phases.<phase>.data,
    else --data), every dataset checked first, one normalisation and vocabulary for the whole run."""
    from pretrain.data_sources import check_data, data_sources, union_stats
    from pretrain.phases import PHASES
    from pretrain.trainer import Trainer

    phases = PHASES if args.phase == "all" else (args.phase,)
    plan = {}
    for phase, (train_config, model_config) in configs(args, phases).items():
        sources = data_sources(train_config.data or args.data, f"{args.config or DEFAULT_RECIPE} phases.{phase}.data")
        if not sources:
            raise LexmotionError(f"pretrain {phase}: no data; pass --data DIR, or give the config a "
                                 f"phases.{phase}.data list")
        plan[phase] = (train_config, model_config, sources)
    run_data = list(dict.fromkeys(src.path for _, _, sources in plan.values() for src in sources))
    try:
        check_data([src for _, _, sources in plan.values() for src in sources])
    except LexmotionError as e:
        if args.config or args.data:
            raise
        # a newcomer's first `pretrain all`: say which folders the default needs and where their commands are
        raise LexmotionError(f"{e}; the default recipe reads {', '.join(run_data)}: build them as the README's "
                             f"\"pipeline\" commands do, or pass --data DIR") from None
    init = args.init
    if init and args.text_model:
        _check_text_model(init, args.text_model)
    if args.phase == "all":
        _claim_chain_folder(Path(args.out), [*run_data, init])
    stats = {}                         # by motion frame: every phase that reads a frame shares its statistics
    for phase, (train_config, model_config, sources) in plan.items():
        out = Path(args.out) / phase if args.phase == "all" else Path(args.out)
        frame = train_config.motion_frame or "first"
        if frame not in stats:
            stats[frame] = union_stats(run_data, frame)
        print(f"== {phase}: {PHASE_HELP[phase]} -> {out}")
        Trainer(sources, str(out), train_config, init=init, model_config=model_config, progress=not args.quiet,
                command=getattr(args, "command_line", None), stats=stats[frame], run_data=run_data).fit()
        init = str(out)
    return 0
