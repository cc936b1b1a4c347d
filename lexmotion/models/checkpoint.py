"""Checkpoint folders: weights, resolved config, statistics, vocabulary mask, version, metrics.

    CKPT/model.safetensors      weights (tied tensors stored once)
    CKPT/config.json            lexmotion version, phase, model config, training config
    CKPT/stats.json             feature normalisation statistics used in training
    CKPT/vocab.json             vocabulary size, hash of the vocabulary and of the mask
    CKPT/text_model/            the tokenizer files and text-model config (no weights): the folder
                                loads without the MiniLM package or the Hugging Face cache
    CKPT/metrics.jsonl          one line per epoch
    CKPT/thresholds.json        LexCMLP: the tagger's calibrated per-word thresholds (thresholds.py)
    CKPT/querybank.json         LexCMLP and dense: the hub prior's training captions (querybank.py)
    CKPT/trainer_state.pt       for resuming: trained weights, optimizer, scheduler, step, RNG states,
                                finished epochs (tensors and plain containers: weights_only=True)

Every file is written to a temporary name and renamed, so a killed run leaves
the previous complete checkpoint in place.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from lexmotion import __version__
from lexmotion.errors import (
    CorruptFileError,
    LexmotionError,
    OldFormatError,
    WrongKindError,
    WrongPathError,
)
from lexmotion.files import (
    atomic_save,
    read_json,
    replace_folder,
    save_state,
    write_json,
)

FORMAT_VERSION = 1
TEXT_FILES = "text_model"


def vocabulary_fingerprint(model) -> dict:
    vocab = model.tokenizer.get_vocab()
    words = "\n".join(sorted(vocab, key=vocab.get))
    return {"size": len(vocab), "sha1": hashlib.sha1(words.encode()).hexdigest(),
            "mask_sha1": hashlib.sha1(model.vocab_mask.cpu().numpy().tobytes()).hexdigest(),
            "active": int(model.vocab_mask.sum())}


def save_weights(model, out: Path) -> None:
    """OUT/model.safetensors, written to a temporary name and renamed (tied tensors stored once)."""
    from safetensors.torch import save_model
    out.mkdir(parents=True, exist_ok=True)
    atomic_save(out / "model.safetensors", lambda tmp: save_model(model, tmp))


def load_weights(model, path: Path) -> None:
    """Strictly load PATH/model.safetensors; a mismatch or a damaged file is a one-line LexmotionError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model
    try:
        load_model(model, path / "model.safetensors", strict=True)
    except RuntimeError as err:
        raise LexmotionError(f"{path}: weights do not match the model its config describes "
                             f"({str(err).splitlines()[0][:200]})") from None
    except (SafetensorError, OSError, ValueError) as err:
        raise CorruptFileError(f"{path / 'model.safetensors'}: damaged weights file ({str(err).splitlines()[0][:120]}); "
                               "copy the checkpoint again or retrain it") from None


def read_folder_config(path: str | Path, what: str = "checkpoint", hint: str = "") -> dict:
    """config.json of a model folder, checked for presence and format version."""
    path = Path(path)
    if not path.exists():
        raise WrongPathError(f"{path}: no such {what} folder")
    if not path.is_dir():
        raise WrongPathError(f"{path}: is a file; a {what} is a folder")
    cfg_file = path / "config.json"
    if not cfg_file.is_file() or not (path / "model.safetensors").is_file():
        raise WrongKindError(f"{path}: not a lexmotion {what} (needs config.json and model.safetensors{hint})")
    cfg = read_json(cfg_file)
    if not isinstance(cfg, dict):
        raise CorruptFileError(f"{cfg_file}: not a lexmotion config")
    if cfg.get("format_version") != FORMAT_VERSION:
        raise OldFormatError(f"{path}: {what} format {cfg.get('format_version')} (written by lexmotion "
                             f"{cfg.get('lexmotion_version')}), but this lexmotion {__version__} reads format "
                             f"{FORMAT_VERSION}")
    return cfg


def save_checkpoint(out: str | Path, model, phase: str, train_config: dict, trainer_state: dict | None = None) -> Path:
    out = Path(out)
    save_weights(model, out)
    save_text_files(model.tokenizer, model.text_encoder.config, out / TEXT_FILES)
    write_json(out / "stats.json", model.stats)
    write_json(out / "vocab.json", vocabulary_fingerprint(model))
    write_json(out / "config.json", {"lexmotion_version": __version__, "format_version": FORMAT_VERSION,
                                     "phase": phase, "model": model.config.to_dict(), "train": train_config,
                                     "provenance": getattr(model, "provenance", None)})
    if trainer_state is not None:
        save_state(out / "trainer_state.pt", trainer_state)
    return out


def save_text_files(tokenizer, text_config, folder: Path) -> None:
    """Tokenizer files and the text encoder's config, once (they never change within a run)."""
    if (folder / "config.json").is_file():
        return
    tmp = folder.with_name(f".{folder.name}.partial")
    tokenizer.save_pretrained(str(tmp))
    text_config.save_pretrained(str(tmp))
    replace_folder(tmp, folder)


def text_files_of(path: Path):
    """A checkpoint folder's text_model folder, or None for checkpoints written before it existed."""
    folder = Path(path) / TEXT_FILES
    return folder if (folder / "config.json").is_file() else None


def provenance(phase: str, datasets, init: str | None, parent: dict | None, command: str) -> dict:
    """What a checkpoint was trained from, for its config.json: the data with their licences (a
    parent's non-commercial data stay with the child), the --init parent and its own provenance,
    the lexmotion version, the command line and the time."""
    from datetime import datetime, timezone

    from lexmotion.data.dataset import data_licence
    data = [{"path": str(d.path), "source": d.meta.get("source", "unknown"), **data_licence(d.meta.get("source", ""))}
            for d in datasets]
    inherited = [d for d in (parent or {}).get("data", []) if d["path"] not in {x["path"] for x in data}]
    return {"lexmotion_version": __version__, "phase": phase, "command": command,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": data + inherited, "init": str(init) if init else None, "parent": parent}


def note_non_commercial(path, provenance: dict | None) -> None:
    """On loading: say so (stderr) when the model was trained on data of a non-commercial licence."""
    data = [d for d in (provenance or {}).get("data", []) if d.get("non_commercial")]
    if data:
        import sys
        names = ", ".join(sorted({d["source"] for d in data}))
        print(f"note: {path}: trained on {names} ({data[0]['licence']}): for non-commercial use only", file=sys.stderr)


def read_config(path: str | Path) -> dict:
    from lexmotion.models.hub import local_checkpoint
    cfg = read_folder_config(local_checkpoint(path))
    if cfg.get("kind") == "captioner":
        raise WrongKindError(f"{path}: this is a captioner, not a pretraining checkpoint")
    return cfg


def load(path: str | Path, device: str | torch.device = "cpu"):
    """Rebuild a model from a checkpoint folder, or a hub id (``hf://owner/name``; see export.py)."""
    from lexmotion.models.hub import local_checkpoint
    from lexmotion.models.model import LexMotionModel

    path = local_checkpoint(path)
    cfg = read_config(path)
    config = checked_model_config(path, cfg)
    model = LexMotionModel(config, load_pretrained_text=False, text_files=text_files_of(path))
    saved_vocab = read_json(path / "vocab.json")
    ours = vocabulary_fingerprint(model)
    if (saved_vocab["size"], saved_vocab["sha1"]) != (ours["size"], ours["sha1"]):
        raise LexmotionError(f"{path}: checkpoint vocabulary ({saved_vocab['size']} words) does not match the "
                             f"text model's ({ours['size']} words)")
    load_weights(model, path)
    model.stats = read_json(path / "stats.json")
    from lexmotion.data.features import CROP_FRAMES, FRAMES, crops_of, frame_of
    if frame_of(model.stats) not in FRAMES:
        raise LexmotionError(f"{path}: stats.json reads motions in frame {frame_of(model.stats)!r}; this version "
                             f"knows {', '.join(FRAMES)}")
    if crops_of(model.stats) not in CROP_FRAMES:
        raise LexmotionError(f"{path}: stats.json reads crops in frame {crops_of(model.stats)!r}; this version "
                             f"knows {', '.join(CROP_FRAMES)}")
    model.phase = cfg["phase"]
    model.path = str(path)
    model.provenance = cfg.get("provenance")
    from lexmotion.models.querybank import read_querybank
    model.querybank = read_querybank(path)        # None: clips have no hub prior
    note_non_commercial(path, model.provenance)
    return model.to(device).eval()


def checked_model_config(path: Path, cfg: dict):
    """The ModelConfig of a checkpoint folder, every key checked against its range and against the
    weights' shapes before anything is allocated (``lexmotion.models.validate``)."""
    from lexmotion.models.model import ModelConfig
    from lexmotion.models.validate import (
        check_against_weights,
        check_text_config,
        check_text_model_name,
    )
    source = str(path / "config.json")
    model = cfg.get("model")
    if not isinstance(model, dict):
        raise CorruptFileError(f"{source}: has no model section")
    config = ModelConfig.from_dict(model, source)
    text_files = text_files_of(path)
    check_text_model_name(config.text_model, text_files is not None, source)
    text_config = check_text_config(text_files) if text_files is not None else None
    check_against_weights(model, text_config, path / "model.safetensors", source)
    return config


def config_fingerprint(path: str | Path) -> str:
    """SHA-1 of a checkpoint's model-defining config (the "model" section): an index remembers it too."""
    import json

    from lexmotion.models.hub import local_checkpoint
    model = read_config(local_checkpoint(path)).get("model", {})
    return hashlib.sha1(json.dumps(model, sort_keys=True).encode()).hexdigest()


def weights_fingerprint(path: str | Path) -> str:
    """SHA-1 of a checkpoint's model.safetensors: an index remembers the exact weights it was built with."""
    from lexmotion.files import require_file
    from lexmotion.models.hub import local_checkpoint
    weights = require_file(local_checkpoint(path) / "model.safetensors", "checkpoint weights file")
    h = hashlib.sha1()
    with open(weights, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def copy_checkpoint_with(model_path, out, files: dict) -> Path:
    """A copy of the checkpoint MODEL_PATH at OUT, with FILES (name -> JSON content) written in or over it:
    a calibrated tagger, a query bank. The given checkpoint is not touched; OUT must be new."""
    import shutil
    import tempfile

    from lexmotion.files import claim_output, mark_folder, output_lock
    from lexmotion.models.hub import local_checkpoint
    source = local_checkpoint(model_path)
    claim_output(out, "checkpoint", inputs=[source], can_overwrite=False)
    with output_lock(out) as out:
        claim_output(out, "checkpoint", inputs=[source], can_overwrite=False)      # again, under the lock
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
        try:
            for item in source.iterdir():
                if item.name == "trainer_state.pt" or item.name in files or item.name.startswith("."):
                    continue
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp / item.name)
            for name, content in files.items():
                write_json(tmp / name, content)
            mark_folder(tmp, "checkpoint")
            (tmp / "DONE").write_text('{"copied": true}\n')       # finished: never trained over
            replace_folder(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return out

