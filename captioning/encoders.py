"""Motion encoders of the captioners. Each maps normalised 20 fps part features
(B, T, 105) with a frame mask to a memory dict:

    frames (B, T', H)       one vector per time step (every encoder)
    parts  (B, T', 6, H)    one vector per body part and time step (part-based encoders)
    mask   (B, T')          real time steps
    summary (B, H)          a whole-clip vector that initialises the decoder

- ``parts``: the guided-attention encoder. Per part, positions and velocities go
  through their own FC(128)+tanh -> FC(64)+tanh, concatenated (128 per part).
- ``mlp``: Motion2Language's frame-level MLP over the whole pose.
- ``gru`` / ``bigru``: the MLP followed by a (bidirectional) GRU.
- ``lexical:CKPT``: the pretrained LexMotion motion-patch transformer; its part
  tokens become ``parts``/``frames`` and its sparse lexical vector, read through
  the shared word embeddings, becomes ``summary``. A frozen backbone's outputs
  are computed once per clip (``cache_memory``) and batched with ``pad_memory``.
The non-lexical encoders take every second frame (10 fps).
"""
from __future__ import annotations

import torch
from torch import nn

from lexmotion.data.features import FEATURE_DIM, FEATURE_LAYOUT, WORKING_FPS
from lexmotion.data.skeletons import PARTS
from lexmotion.errors import WrongKindError

STRIDE = 2   # 20 fps -> 10 fps for the non-lexical encoders


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask[..., None].to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1)


def _split_pos_vel(part: str) -> tuple[slice, slice]:
    """Position and velocity columns of one part (root: 5 + 4, others: 3n + 3n)."""
    a, b = FEATURE_LAYOUT[part]
    mid = a + 5 if part == "root" else a + (b - a) // 2
    return slice(a, mid), slice(mid, b)


class PartEncoder(nn.Module):
    def __init__(self, hidden: int = 128, first: int = 128):
        super().__init__()
        self.dim = hidden
        self.seconds_per_step = STRIDE / WORKING_FPS
        half = hidden // 2
        self.slices = [_split_pos_vel(p) for p in PARTS]

        def branch(width):
            return nn.Sequential(nn.Linear(width, first), nn.Tanh(), nn.Linear(first, half), nn.Tanh())
        self.pos = nn.ModuleList(branch(s.stop - s.start) for s, _ in self.slices)
        self.vel = nn.ModuleList(branch(v.stop - v.start) for _, v in self.slices)

    def forward(self, motion, mask) -> dict:
        motion, mask = motion[:, ::STRIDE], mask[:, ::STRIDE]
        parts = torch.stack([torch.cat([fp(motion[..., s]), fv(motion[..., v])], dim=-1)
                             for (s, v), fp, fv in zip(self.slices, self.pos, self.vel)], dim=2)   # (B, T, 6, H)
        frames = parts.mean(dim=2)
        return {"parts": parts, "frames": frames, "mask": mask, "summary": _masked_mean(frames, mask)}


class FrameEncoder(nn.Module):
    """``mlp``: Linear-tanh-Linear-tanh per frame; ``gru``/``bigru``: the same, then a GRU."""

    def __init__(self, kind: str = "mlp", hidden: int = 256):
        super().__init__()
        self.kind, self.dim = kind, hidden
        self.seconds_per_step = STRIDE / WORKING_FPS
        self.mlp = nn.Sequential(nn.Linear(FEATURE_DIM, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.rnn = None
        if kind in ("gru", "bigru"):
            bi = kind == "bigru"
            self.rnn = nn.GRU(hidden, hidden // 2 if bi else hidden, batch_first=True, bidirectional=bi)

    def forward(self, motion, mask) -> dict:
        motion, mask = motion[:, ::STRIDE], mask[:, ::STRIDE]
        frames = self.mlp(motion)
        if self.rnn is not None:
            lengths = mask.sum(1).clamp(min=1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(frames, lengths, batch_first=True, enforce_sorted=False)
            frames, _ = self.rnn(packed)
            frames, _ = nn.utils.rnn.pad_packed_sequence(frames, batch_first=True, total_length=mask.shape[1])
        return {"parts": None, "frames": frames, "mask": mask, "summary": _masked_mean(frames, mask)}


class LexicalEncoder(nn.Module):
    """The pretrained motion encoder and lexical head of a LexMotion checkpoint.

    Clips longer than the encoder's ``max_frames`` are cut into consecutive windows
    encoded separately; their tokens are concatenated in time and the lexical
    vector is the max over windows (the same max-pooling as within a window).
    """

    def __init__(self, lexmotion_model, finetune: bool = False):
        super().__init__()
        if not lexmotion_model.has_words:
            raise WrongKindError("--encoder lexical:CKPT needs a lexical checkpoint (this one is dense)")
        self.motion_encoder = lexmotion_model.motion_encoder
        self.motion_head = lexmotion_model.motion_head
        self.register_buffer("vocab_mask", lexmotion_model.motion_mask.clone())
        self.finetune = finetune
        self.dim = lexmotion_model.config.motion.dim
        self.window = lexmotion_model.config.motion.max_frames
        self.patch = lexmotion_model.config.motion.patch_frames
        self.seconds_per_step = self.patch / WORKING_FPS
        self.word_dim = self.motion_head.word_embeddings.embedding_dim
        self.lexical_projection = nn.Linear(self.word_dim, self.dim)
        if not finetune:
            for p in list(self.motion_encoder.parameters()) + list(self.motion_head.parameters()):
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if not self.finetune:          # a frozen backbone stays in eval mode (no dropout)
            self.motion_encoder.eval()
            self.motion_head.eval()
        return self

    def read(self, motion, mask) -> dict:
        """The backbone's outputs: part tokens, time tokens, their mask, the lexical vector (B, V) and
        ``words``, that vector read through the shared word embeddings (B, word_dim). With a frozen
        backbone these never change, so training computes them once per clip (``cache_memory``)."""
        from lexmotion.models.lexical import lexical_weights, pool_over_vocabulary

        parts, frames, masks, lexical = [], [], [], None
        with torch.set_grad_enabled(self.finetune and torch.is_grad_enabled()):
            for start in range(0, motion.shape[1], self.window):
                m = mask[:, start:start + self.window]
                if not m.any():
                    break
                empty = ~m.any(dim=1)      # clips that ended before this window
                safe = m.clone()
                safe[empty, 0] = True       # keep attention defined; their outputs are dropped below
                out = self.motion_encoder(motion[:, start:start + self.window], safe)
                B, n_t = out["time_mask"].shape
                time_mask = out["time_mask"] & ~empty[:, None]
                keep = time_mask[..., None]
                parts.append(out["tokens"].view(B, n_t, len(PARTS), -1) * keep[..., None])
                frames.append(out["time_tokens"] * keep)
                masks.append(time_mask)
                w = lexical_weights(pool_over_vocabulary(self.motion_head, out["time_tokens"], time_mask,
                                                         self.vocab_mask))
                lexical = w if lexical is None else torch.maximum(lexical, w)
            words = self.motion_head.word_embeddings.weight.detach()
            summary = (lexical / lexical.sum(-1, keepdim=True).clamp(min=1e-6)) @ words
        return {"parts": torch.cat(parts, 1), "frames": torch.cat(frames, 1), "mask": torch.cat(masks, 1),
                "words": summary, "lexical": lexical}

    def from_read(self, read: dict) -> dict:
        """Memory for the decoder from ``read``'s outputs (or their cached copies)."""
        return {**read, "summary": torch.tanh(self.lexical_projection(read["words"]))}

    def forward(self, motion, mask) -> dict:
        return self.from_read(self.read(motion, mask))


TOP_WORDS = 64      # lexical entries kept per cached clip (decoding guidance reads the top 20)


@torch.no_grad()
def cache_memory(encoder: LexicalEncoder, features: list, batch_size: int = 32, device="cpu") -> list[dict]:
    """``encoder.read`` of each clip's features (T, 105), one dict per clip on the CPU: its real
    steps of parts/frames, ``words``, and its top lexical entries (``top_ids``, ``top_weights``)."""
    from lexmotion.data.batching import pad_motions
    encoder.eval()
    order = sorted(range(len(features)), key=lambda i: len(features[i]))
    out: list = [None] * len(features)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        motion, mask, _ = pad_motions([torch.as_tensor(features[i]) for i in idx])
        read = encoder.read(motion.to(device), mask.to(device))
        steps = read["mask"].sum(1).tolist()
        top = read["lexical"].topk(min(TOP_WORDS, read["lexical"].shape[1]), dim=1)
        for b, i in enumerate(idx):
            n = int(steps[b])
            out[i] = {"parts": read["parts"][b, :n].cpu(), "frames": read["frames"][b, :n].cpu(),
                      "words": read["words"][b].cpu(), "top_ids": top.indices[b].cpu(),
                      "top_weights": top.values[b].cpu()}
    return out


def pad_memory(items: list[dict]) -> dict:
    """Batch cached memories: parts and frames padded in time, with their mask; ``words`` and the
    top lexical entries stacked."""
    n = max(len(it["frames"]) for it in items)
    B = len(items)
    first = items[0]
    parts = first["parts"].new_zeros(B, n, *first["parts"].shape[1:])
    frames = first["frames"].new_zeros(B, n, first["frames"].shape[1])
    mask = torch.zeros(B, n, dtype=torch.bool)
    for b, it in enumerate(items):
        t = len(it["frames"])
        parts[b, :t], frames[b, :t], mask[b, :t] = it["parts"], it["frames"], True
    return {"parts": parts, "frames": frames, "mask": mask, "words": torch.stack([it["words"] for it in items]),
            "top_ids": torch.stack([it["top_ids"] for it in items]),
            "top_weights": torch.stack([it["top_weights"] for it in items])}
