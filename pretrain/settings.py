"""The settings of a pretraining phase, resolved in one place.

Precedence, lowest first: the dataclass defaults (``TrainConfig``, ``PhaseSettings``, ``ModelConfig``)
← the config file's ``train`` / ``settings`` / ``model`` sections ← its ``phases.<phase>`` section ←
flags (command-line options, or keyword arguments from Python). ``resolve`` is a pure function of
those dicts; the command line, the demo, the benchmark and the tests all call it.

A config file may name another as its ``base`` (a path relative to itself) and give only what it changes:
objects merge key by key, any other value (a number, a list such as a phase's ``data``) replaces the
base's, and the ``comment`` is the file's own. An experiment then reads as the one thing it changes.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from lexmotion.data.features import CROP_FRAMES, FRAMES
from lexmotion.errors import LexmotionError
from lexmotion.files import read_json, require_file

SECTIONS = ("base", "train", "settings", "model", "phases", "comment")     # comment: what the file is for
PHASE_NAMES = ("lexmlm", "cmmm", "lexmmm", "lexcmlp", "dense")
# LexCMLP spreads motion vectors over every clean word after phases under the domain vocabulary (why:
# docs/results/ablation.md, "Each mechanism left out"). A config or flag naming a vocabulary wins.
CONTRASTIVE_VOCABULARY = "clean"
# flags that set a field of PhaseSettings or ModelConfig; every other flag names a TrainConfig field
SETTING_FLAGS = ("temperature",)
MODEL_FLAGS = ("text_model",)


def merged(base: dict, changes: dict) -> dict:
    """BASE with CHANGES laid over it: objects merge key by key, any other value replaces."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _with_bases(path: Path, chain: tuple = ()) -> dict:
    """The config file at PATH laid over its ``base`` chain (CHAIN: the files that named it, for a cycle)."""
    recipe = read_json(require_file(path, "config file"))
    if not isinstance(recipe, dict):
        raise LexmotionError(f"{path}: a config is a JSON object with keys train / settings / model / phases")
    base = recipe.pop("base", None)
    if base is None:
        return recipe
    if not isinstance(base, str) or not base:
        raise LexmotionError(f"{path}: base names another config file, as a path relative to this one; got {base!r}")
    parent = (path.parent / base).resolve()
    if parent in chain or parent == path.resolve():
        raise LexmotionError(f"{path}: its base chain comes back to {parent.name}, a loop")
    if not parent.is_file():
        raise LexmotionError(f"{path}: its base {base} is not a file ({parent})")
    inherited = _with_bases(parent, (*chain, path.resolve()))
    inherited.pop("comment", None)                  # a comment says what its own file is for
    return merged(inherited, recipe)


def load_recipe(path: str | Path) -> dict:
    """A config file laid over its ``base`` chain, checked for its shape (the values are checked by ``resolve``)."""
    recipe = _with_bases(Path(path))
    unknown = set(recipe) - set(SECTIONS)
    if unknown:
        raise LexmotionError(f"{path}: unknown keys {sorted(unknown)}; a config has train / settings / model / phases")
    for key in ("train", "settings", "model"):
        if not isinstance(recipe.get(key, {}), dict):
            raise LexmotionError(f"{path}: {key} must be a JSON object of {key} keys")
    phases = recipe.get("phases", {})
    if not isinstance(phases, dict) or set(phases) - set(PHASE_NAMES) or not all(isinstance(v, dict) for v in phases.values()):
        raise LexmotionError(f"{path}: phases maps a phase ({', '.join(sorted(PHASE_NAMES))}) to an object of its "
                             "train keys")
    return {**recipe, "source": str(path)}


def _known(cls, values: dict, source: str) -> dict:
    unknown = set(values) - {f.name for f in fields(cls)}
    if unknown:
        raise LexmotionError(f"{source}: unknown {cls.__name__} keys {sorted(unknown)}")
    return dict(values)


def _model_config(phase: str, recipe: dict, phase_train: dict, flags: dict, source: str):
    from lexmotion.models.model import ModelConfig
    from lexmotion.models.motion_encoder import MotionEncoderConfig
    from lexmotion.models.validate import check_model_config
    model = dict(recipe.get("model", {}))
    motion = MotionEncoderConfig(**_known(MotionEncoderConfig, model.pop("motion", {}), source))
    _known(ModelConfig, model, source)
    if flags.get("text_model"):
        model["text_model"] = flags["text_model"]
    for key in ("vocabulary", "text_side"):         # a fresh model of this phase takes them too
        value = flags.get(key) or phase_train.get(key)
        if value:
            model[key] = value
    if model.get("text_side") == "inference-free" and model.get("vocabulary", "full") == "full":
        model["vocabulary"] = "clean"               # the inference-free side needs IDF weights
    config = ModelConfig(**{**model, "kind": "dense" if phase == "dense" else "lexical", "motion": motion})
    check_model_config(config.to_dict(), source)      # a bad value is one line now, not a checkpoint that will not load
    return config


def resolve(phase: str, recipe: dict | None = None, **flags):
    """(TrainConfig, ModelConfig) of PHASE: dataclass defaults ← RECIPE (``load_recipe``) ← its phase
    section ← FLAGS (field names; None means not given)."""
    from pretrain.phases import PhaseSettings
    from pretrain.trainer import TrainConfig
    recipe = recipe or {}
    source = recipe.get("source", "config")
    flags = {k: v for k, v in flags.items() if v is not None}
    settings = _known(PhaseSettings, recipe.get("settings", {}), source)
    for key in SETTING_FLAGS:
        if key in flags:
            if not flags[key] > 0:
                raise LexmotionError(f"--{key} must be positive, got {flags[key]}")
            settings[key] = flags[key]
    phase_train = _known(TrainConfig, recipe.get("phases", {}).get(phase, {}), source)
    train = {**_known(TrainConfig, recipe.get("train", {}), source), **phase_train}
    named = "vocabulary" in flags or any("vocabulary" in part for part in (recipe.get("model", {}), train))
    if phase == "lexcmlp" and not named:
        train["vocabulary"] = CONTRASTIVE_VOCABULARY    # the recipe's switch, for an --init checkpoint
    train.update(_known(TrainConfig, {k: v for k, v in flags.items()
                                      if k not in (*SETTING_FLAGS, *MODEL_FLAGS, "text_corpus")}, "flags"))
    model_config = _model_config(phase, recipe, phase_train, flags, source)
    train_config = TrainConfig(**{**train, "phase": phase, "settings": PhaseSettings(**settings),
                                  "text_corpus": list(flags.get("text_corpus") or train.get("text_corpus", []))})
    train_config.max_frames = model_config.motion.max_frames
    if not 0 < train_config.train_share <= 1:
        raise LexmotionError(f"{source}: train_share is the share of training clips kept, in (0, 1]; got "
                             f"{train_config.train_share}")
    if isinstance(train_config.ema, bool) or not isinstance(train_config.ema, (int, float)) \
            or not 0 <= train_config.ema < 1:
        raise LexmotionError(f"{source}: ema is the decay of the weight average, in [0, 1) (0: off); got "
                             f"{train_config.ema!r}")
    for key in ("motion_dropout", "motion_drop_path"):
        value = getattr(train_config, key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1):
            raise LexmotionError(f"{source}: {key} is a probability in [0, 1) (or absent: the model's); got {value!r}")
    speeds = train_config.speeds
    if not isinstance(speeds, list) or not speeds or any(isinstance(v, bool) or not isinstance(v, (int, float))
                                                         or not v > 0 for v in speeds):
        raise LexmotionError(f"{source}: speeds is a list of playback rates above 0 (1.0: as captured); got {speeds!r}")
    if train_config.motion_frame is not None and train_config.motion_frame not in FRAMES:
        raise LexmotionError(f"{source}: motion_frame is one of {', '.join(FRAMES)} (or absent: the --init "
                             f"checkpoint's); got {train_config.motion_frame!r}")
    if train_config.crop_frame is not None and train_config.crop_frame not in CROP_FRAMES:
        raise LexmotionError(f"{source}: crop_frame is one of {', '.join(CROP_FRAMES)} (or absent: the --init "
                             f"checkpoint's); got {train_config.crop_frame!r}")
    if not isinstance(train_config.batch_by_dataset, bool):
        raise LexmotionError(f"{source}: batch_by_dataset is true or false; got {train_config.batch_by_dataset!r}")
    if train_config.whole_take_words is not None and not isinstance(train_config.whole_take_words, bool):
        raise LexmotionError(f"{source}: whole_take_words is true or false (or absent: the --init checkpoint's); "
                             f"got {train_config.whole_take_words!r}")
    return train_config, model_config
