"""A checkpoint's config.json is checked before any tensor is allocated.

Every size, count, name and path is checked against a range (``check_model_config``), then against
the shapes the weights file's header declares (``check_against_weights``), so an edited config is one
line naming the key, never a traceback, a MemoryError or a text model loaded from elsewhere.
"""
from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path

from lexmotion.data.features import FEATURE_DIM
from lexmotion.errors import CorruptFileError, LexmotionError

KINDS = ("lexical", "dense")
VOCABULARIES = ("full", "clean", "domain")
TEXT_SIDES = ("encoder", "inference-free")
LONG_MOTIONS = ("centre", "windows")           # a served motion longer than the encoder's window
WINDOW_FRAMES = ("own", "clip")                # the frame a window of a longer motion is read in

# key -> (low, high, whole number?)
_MOTION_RANGES = {"feature_dim": (FEATURE_DIM, FEATURE_DIM, True), "patch_frames": (1, 200, True),
                  "max_frames": (1, 12_000, True), "dim": (8, 2048, True), "depth": (1, 48, True),
                  "heads": (1, 64, True), "mlp_ratio": (0.25, 16, False), "dropout": (0, 0.99, False),
                  "drop_path": (0, 0.99, False)}
_MODEL_RANGES = {"dense_dim": (1, 8192, True), "decoder_layers": (0, 24, True), "max_text_len": (2, 512, True),
                 "initial_lexical_bias": (-100, 100, False), "own_word_floor": (0, 1, False),
                 "motion_max_words": (0, 1_000_000, True)}
_TEXT_RANGES = {"hidden_size": (8, 4096, True), "num_hidden_layers": (1, 48, True),
                "num_attention_heads": (1, 64, True), "intermediate_size": (8, 16_384, True),
                "vocab_size": (100, 500_000, True), "max_position_embeddings": (2, 8192, True)}
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?$")


def _check_number(section: dict, key: str, rule: tuple, where: str) -> None:
    low, high, whole = rule
    value = section[key]
    kind = "a whole number" if whole else "a number"
    ok = not isinstance(value, bool) and (isinstance(value, int) if whole else isinstance(value, (int, float)))
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise LexmotionError(f"{where}: {key} is {value!r}; it must be {kind} from {low:g} to {high:g}")


def _check_section(section, rules: dict, where: str, allowed=()) -> None:
    if not isinstance(section, dict):
        raise LexmotionError(f"{where}: must be an object, not {type(section).__name__}")
    unknown = sorted(set(section) - set(rules) - set(allowed))
    if unknown:
        raise LexmotionError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted({*rules, *allowed}))})")
    for key, rule in rules.items():
        if key in section:
            _check_number(section, key, rule, where)


def check_model_config(model: dict, source: str) -> None:
    """The "model" section of a checkpoint's config.json, within range; one LexmotionError otherwise."""
    where = f"{source} model"
    _check_section(model, _MODEL_RANGES, where,
                   allowed=("kind", "text_model", "motion", "vocabulary", "text_side", "mirror_average", "long_motion",
                            "window_frame", "whole_take_words"))
    for key in ("mirror_average", "whole_take_words"):
        if not isinstance(model.get(key, False), bool):
            raise LexmotionError(f"{where}: {key} is {model[key]!r}; it must be true or false")
    for key, choices in (("kind", KINDS), ("vocabulary", VOCABULARIES), ("text_side", TEXT_SIDES),
                         ("long_motion", LONG_MOTIONS), ("window_frame", WINDOW_FRAMES)):
        if key in model and model[key] not in choices:
            raise LexmotionError(f"{where}: {key} is {model[key]!r}; it must be one of {', '.join(choices)}")
    name = model.get("text_model", "")
    if not isinstance(name, str) or not 0 < len(name) <= 1000 or "\0" in name:
        raise LexmotionError(f"{where}: text_model must be a model name or path of at most 1000 characters")
    motion = model.get("motion", {})
    _check_section(motion, _MOTION_RANGES, f"{where}.motion")
    dim, heads = motion.get("dim", 256), motion.get("heads", 4)
    if dim % heads:
        raise LexmotionError(f"{where}.motion: dim {dim} is not a multiple of heads {heads}")
    if motion.get("patch_frames", 4) > motion.get("max_frames", 200):
        raise LexmotionError(f"{where}.motion: patch_frames {motion.get('patch_frames')} is longer than max_frames "
                             f"{motion.get('max_frames', 200)}")


def check_text_model_name(name: str, has_text_files: bool, source: str) -> None:
    """A checkpoint without its own text_model/ folder may name a text model only as a hub id (read from
    the Hugging Face cache), never by a path, which would reach outside the checkpoint."""
    from lexmotion.models.text import DEFAULT_TEXT_MODEL
    if has_text_files or name in (DEFAULT_TEXT_MODEL, "minilm"):
        return
    if not _HUB_NAME.match(name) or ".." in name:
        raise LexmotionError(f"{source}: names its text model by the path {name[:200]!r}, outside the checkpoint; "
                             "a checkpoint loads its text model from its own text_model/ folder or by a hub id")


def check_text_config(folder: Path) -> dict:
    """A checkpoint's text_model/config.json, within range, before the text encoder is built."""
    path = Path(folder) / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{path}: damaged text-model config ({err})") from None
    if not isinstance(config, dict):
        raise CorruptFileError(f"{path}: not a text-model config")
    for key, rule in _TEXT_RANGES.items():
        if key in config:
            _check_number(config, key, rule, str(path))
    if config.get("hidden_size", 384) % config.get("num_attention_heads", 12):
        raise LexmotionError(f"{path}: hidden_size is not a multiple of num_attention_heads")
    return config


def weights_header(path: Path) -> dict:
    """The tensor names and shapes a .safetensors file declares, read from its header alone."""
    try:
        with open(path, "rb") as f:
            size = struct.unpack("<Q", f.read(8))[0]
            if size > 100 * 2 ** 20:
                raise ValueError(f"a header of {size:,} bytes")
            header = json.loads(f.read(size))
    except (OSError, struct.error, ValueError, UnicodeDecodeError) as err:
        raise CorruptFileError(f"{path}: damaged weights file ({str(err).splitlines()[0][:120]})") from None
    if not isinstance(header, dict):
        raise CorruptFileError(f"{path}: damaged weights file (its header is not a table of tensors)")
    return {k: v.get("shape") for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)}


def check_against_weights(model: dict, text_config: dict | None, weights: Path, source: str) -> None:
    """The config's motion width, depth and time patches, and the text width, equal the weights' shapes."""
    shapes = weights_header(weights)
    motion = model.get("motion", {})
    dim = motion.get("dim", 256)
    declared = {
        "motion dim": (dim, (shapes.get("motion_encoder.norm.weight") or [None])[0]),
        "motion depth": (motion.get("depth", 4),
                         len({k.split(".")[2] for k in shapes if k.startswith("motion_encoder.blocks.")}) or None),
        "motion time patches (max_frames / patch_frames)":
            (-(-motion.get("max_frames", 200) // motion.get("patch_frames", 4)),
             (shapes.get("motion_encoder.time_embedding") or [None])[0]),
    }
    if text_config is not None:
        declared["text hidden_size"] = (text_config.get("hidden_size"),
                                        (shapes.get("text_encoder.embeddings.LayerNorm.weight") or [None])[0])
        positions = (shapes.get("text_encoder.embeddings.position_embeddings.weight") or [None])[0]
        if positions is not None and model.get("max_text_len", 40) > positions:
            raise LexmotionError(f"{source}: max_text_len {model['max_text_len']} is more than the text model's "
                                 f"{positions} positions")
    for what, (config_value, weights_value) in declared.items():
        if weights_value is not None and config_value != weights_value:
            raise LexmotionError(f"{source}: {what} is {config_value} in config.json but {weights_value} in "
                                 "model.safetensors; the config was edited or belongs to other weights")
