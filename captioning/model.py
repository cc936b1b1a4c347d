"""A captioner = a motion encoder + a decoder + the caption vocabulary, saved as a folder:

    DIR/model.safetensors   weights of the best epoch (by validation BLEU@4)
    DIR/config.json         lexmotion version, format version, CaptionerConfig, training config
    DIR/vocab.json          the caption vocabulary
    DIR/stats.json          feature normalisation statistics
    DIR/last/               the latest epoch's weights and trainer state (for resuming)
    DIR/metrics.jsonl       one line per epoch
Every file is written to a temporary name and renamed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from captioning.decoders import GuidedDecoder, LocalDecoder
from captioning.encoders import FrameEncoder, LexicalEncoder, PartEncoder
from captioning.text import Vocabulary
from lexmotion import __version__
from lexmotion.data.skeletons import PARTS
from lexmotion.errors import LexmotionError, WrongKindError
from lexmotion.files import read_json, write_json
from lexmotion.models.checkpoint import (
    FORMAT_VERSION,
    TEXT_FILES,
    load_weights,
    note_non_commercial,
    read_folder_config,
    save_text_files,
    save_weights,
    text_files_of,
)

ARCHS = ("guided", "local")
ENCODERS = ("parts", "mlp", "gru", "bigru", "lexical:CKPT")


DEFAULT_HIDDEN = {"guided": 128, "local": 256}      # decoder hidden size of each architecture


@dataclass
class CaptionerConfig:
    arch: str = "guided"
    encoder: str = "parts"            # parts | mlp | gru | bigru | lexical:CKPT
    finetune: bool = False            # lexical backbone: train it too
    emb: int = 64
    hidden: int = 128
    att: int = 64
    window: float = 8.0               # local: D, in encoder time steps
    truncate: bool = True             # local: truncation mask in training
    dropout: float = 0.3
    lexical_model: dict | None = None  # the backbone's ModelConfig (lexical encoders), to rebuild it

    def to_dict(self) -> dict:
        return asdict(self)


def check_arch(arch: str, encoder: str) -> None:
    if arch not in ARCHS:
        raise LexmotionError(f"--arch must be one of {', '.join(ARCHS)}, got {arch!r}")
    kind = encoder.split(":", 1)[0]
    if kind not in ("parts", "mlp", "gru", "bigru", "lexical") or (kind == "lexical" and ":" not in encoder):
        raise LexmotionError(f"--encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}")
    if arch == "guided" and kind not in ("parts", "lexical"):
        raise LexmotionError(f"the guided captioner attends over body parts: use --encoder parts or "
                             f"lexical:CKPT, not {encoder!r}")


class Captioner(nn.Module):
    def __init__(self, config: CaptionerConfig, vocab: Vocabulary, lexmotion_model=None):
        super().__init__()
        check_arch(config.arch, config.encoder)
        self.config, self.vocab = config, vocab
        kind = config.encoder.split(":", 1)[0]
        self.provenance = None
        if kind == "lexical":
            if lexmotion_model is None:
                raise ValueError("a lexical encoder needs the LexMotion model")
            self.encoder = LexicalEncoder(lexmotion_model, finetune=config.finetune)
            # saved with the captioner, so that it rebuilds its backbone without the text model's own files
            self._backbone_text = (lexmotion_model.tokenizer, lexmotion_model.text_encoder.config)
        elif kind == "parts":
            self.encoder = PartEncoder(hidden=128)
        else:
            self.encoder = FrameEncoder(kind, hidden=256)
        dim = self.encoder.dim
        if config.arch == "guided":
            self.decoder = GuidedDecoder(len(vocab), dim, config.emb, config.hidden, config.att, config.dropout)
        else:
            self.decoder = LocalDecoder(len(vocab), dim, config.emb, config.hidden, 2 * config.att,
                                        config.window, config.truncate, config.dropout)
        self.stats: dict | None = None

    @property
    def device(self) -> torch.device:
        return next(self.decoder.parameters()).device

    @property
    def word_tokenizer(self):
        """The lexical backbone's tokenizer (its words name the vector's entries); None without one."""
        return self._backbone_text[0] if hasattr(self, "_backbone_text") else None

    @property
    def caches_memory(self) -> bool:
        """A frozen lexical backbone: its outputs are computed once per clip, not at every step."""
        return isinstance(self.encoder, LexicalEncoder) and not self.config.finetune

    def encode(self, motion: torch.Tensor, mask: torch.Tensor, cached: dict | None = None) -> dict:
        """Encoder memory; ``cached``: the frozen backbone's precomputed outputs for these clips."""
        if cached is not None:
            return self.encoder.from_read(cached)
        return self.encoder(motion, mask)

    def empty_memory(self, batch_size: int) -> dict:
        """A memory with one all-zero time step: the decoder reads no motion (language pretraining)."""
        dim, device = self.encoder.dim, self.device
        return {"parts": torch.zeros(batch_size, 1, len(PARTS), dim, device=device),
                "frames": torch.zeros(batch_size, 1, dim, device=device),
                "mask": torch.ones(batch_size, 1, dtype=torch.bool, device=device),
                "summary": torch.zeros(batch_size, dim, device=device)}

    def teacher_forced(self, batch: dict, memory: dict | None = None) -> tuple[torch.Tensor, dict, dict]:
        """-> logits (B, L, V), the step infos stacked along dim 1, and the encoder memory
        (``memory`` given: that one, and the batch's motion is not read)."""
        if memory is None:
            memory = self.encode(batch["motion"], batch["mask"], batch.get("memory"))
        state = self.decoder.init_state(memory)
        logits, infos = [], []
        for t in range(batch["inputs"].shape[1]):
            out, state, info = self.decoder.step(batch["inputs"][:, t], state, memory)
            logits.append(out)
            infos.append(info)
        stacked = {k: torch.stack([i[k] for i in infos], 1) for k in infos[0]}
        return torch.stack(logits, 1), stacked, memory

    def loss(self, batch: dict, lambda_spat: float = 0.0, lambda_adapt: float = 0.0,
             label_smoothing: float = 0.0) -> dict:
        """CE + lambda_spat * BCE(alpha) + lambda_adapt * BCE(beta) (guided-attention paper, eq. 11-14).
        The CE is label-smoothed when ``label_smoothing`` > 0.

        BCE(alpha) is summed over the six parts, averaged over real frames, and divided by the number
        of supervised words; BCE(beta) is averaged over supervised words.
        """
        logits, info, memory = self.teacher_forced(batch)
        targets = batch["targets"]
        lang = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=self.vocab.pad,
                               label_smoothing=label_smoothing)
        out = {"lang": lang, "spat": lang.new_zeros(()), "adapt": lang.new_zeros(())}
        L = targets.shape[1]
        if "beta" in info and lambda_adapt > 0:
            known = batch["beta_known"][:, :L]
            if known.any():
                out["adapt"] = F.binary_cross_entropy(info["beta"][known].clamp(1e-6, 1 - 1e-6), batch["beta"][:, :L][known])
        if "alpha" in info and lambda_spat > 0:
            known = batch["parts_known"][:, :L]
            if known.any():
                alpha = info["alpha"].clamp(1e-6, 1 - 1e-6)                               # (B, L, T, 6)
                target = batch["parts"][:, :L, None, :].expand_as(alpha)
                bce = -(target * alpha.log() + (1 - target) * (1 - alpha).log()).sum(-1)  # (B, L, T)
                mask = memory["mask"][:, None, :].to(bce.dtype)
                per_word = (bce * mask).sum(-1) / mask.sum(-1).clamp(min=1)
                out["spat"] = per_word[known].sum() / known.sum()
        out["total"] = lang + lambda_spat * out["spat"] + lambda_adapt * out["adapt"]
        return out

    # --- saving and loading ------------------------------------------------------------
    def save(self, out: str | Path, train_config: dict | None = None) -> Path:
        out = Path(out)
        save_weights(self, out)
        if hasattr(self, "_backbone_text"):
            save_text_files(*self._backbone_text, out / TEXT_FILES)
        write_json(out / "vocab.json", self.vocab.to_dict())
        write_json(out / "stats.json", self.stats)
        write_json(out / "config.json", {"lexmotion_version": __version__, "format_version": FORMAT_VERSION,
                                         "kind": "captioner", "captioner": self.config.to_dict(),
                                         "train": train_config or {},
                                         "provenance": self.provenance})      # last: a folder with it is complete
        return out


def read_captioner_config(path: str | Path) -> dict:
    cfg = read_folder_config(path, "captioner", "; train one with `lexmotion caption train`")
    if cfg.get("kind") != "captioner":
        raise WrongKindError(f"{path}: this is a pretraining checkpoint, not a captioner")
    return cfg


def build_lexmotion_backbone(model_config: dict, text_files=None):
    from lexmotion.models.model import LexMotionModel, ModelConfig
    if text_files is not None:
        from lexmotion.models.validate import check_text_config
        check_text_config(text_files)
    return LexMotionModel(ModelConfig.from_dict(model_config, "captioner backbone"), load_pretrained_text=False,
                          text_files=text_files)


def load_captioner(path: str | Path, device: str | torch.device = "cpu") -> Captioner:
    """Rebuild a trained captioner from its folder."""
    path = Path(path)
    cfg = read_captioner_config(path)
    config = CaptionerConfig(**cfg["captioner"])
    backbone = build_lexmotion_backbone(config.lexical_model, text_files_of(path)) if config.lexical_model else None
    model = Captioner(config, Vocabulary.load(path / "vocab.json"), backbone)
    load_weights(model, path)
    model.stats = read_json(path / "stats.json")
    model.path = str(path)
    model.provenance = cfg.get("provenance")
    note_non_commercial(path, model.provenance)
    return model.to(device).eval()
