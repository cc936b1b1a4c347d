"""Motion-patch transformer (MotionPatches-style) over the per-part features.

A clip's features (T, 105) at 20 fps are cut into patches of ``patch_frames``
frames per body part; each part has its own patch projection, learnable part
and time embeddings are added, and timm transformer blocks mix all tokens.
Padding is masked in attention. The motion lexical head reads one token per
time step (the mean of its six part tokens), which keeps the (tokens x 30,522)
logits small enough to train on a CPU.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from lexmotion.data.features import FEATURE_DIM, FEATURE_LAYOUT
from lexmotion.data.skeletons import PARTS


@dataclass
class MotionEncoderConfig:
    feature_dim: int = FEATURE_DIM
    patch_frames: int = 4          # 0.2 s at 20 fps
    max_frames: int = 200          # 10 s; longer clips are cropped by the data pipeline
    dim: int = 256
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    drop_path: float = 0.05

    @property
    def max_time_patches(self) -> int:
        return -(-self.max_frames // self.patch_frames)

    def to_dict(self) -> dict:
        return asdict(self)


class MotionPatchEncoder(nn.Module):
    def __init__(self, config: MotionEncoderConfig):
        super().__init__()
        from timm.models.vision_transformer import Block

        self.config = config
        w = config.patch_frames
        self.part_slices = [FEATURE_LAYOUT[p] for p in PARTS]
        self.patch_embed = nn.ModuleList(nn.Linear((b - a) * w, config.dim) for a, b in self.part_slices)
        self.part_embedding = nn.Parameter(torch.zeros(len(PARTS), config.dim))
        self.time_embedding = nn.Parameter(torch.zeros(config.max_time_patches, config.dim))
        self.mask_token = nn.Parameter(torch.zeros(config.dim))    # replaces masked patches (CMMM)
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        nn.init.trunc_normal_(self.part_embedding, std=0.02)
        nn.init.trunc_normal_(self.time_embedding, std=0.02)
        rates = torch.linspace(0, config.drop_path, config.depth).tolist()
        self.blocks = nn.ModuleList(
            Block(config.dim, config.heads, mlp_ratio=config.mlp_ratio, qkv_bias=True, proj_drop=config.dropout,
                  attn_drop=config.dropout, drop_path=rate) for rate in rates)
        self.norm = nn.LayerNorm(config.dim)
        self.checkpointing = False     # training: keep only each block's input, recompute the rest in backward

    def set_regularisation(self, dropout: float | None = None, drop_path: float | None = None) -> None:
        """Change dropout and stochastic depth in place, weights untouched (a phase continuing an --init
        checkpoint under other regularisation); None keeps the current value. The config records it."""
        from timm.layers import DropPath
        if dropout is not None:
            self.config.dropout = dropout
            for block in self.blocks:
                for drop in (block.attn.attn_drop, block.attn.proj_drop, block.mlp.drop1, block.mlp.drop2):
                    drop.p = dropout
        if drop_path is not None:
            self.config.drop_path = drop_path
            for block, rate in zip(self.blocks, torch.linspace(0, drop_path, self.config.depth).tolist()):
                block.drop_path1 = DropPath(rate) if rate > 0 else nn.Identity()
                block.drop_path2 = DropPath(rate) if rate > 0 else nn.Identity()

    def num_time_patches(self, num_frames: int) -> int:
        return -(-num_frames // self.config.patch_frames)

    def patchify(self, motion: torch.Tensor) -> list[torch.Tensor]:
        """(B, T, F) -> per part (B, n_t, patch_frames * d_part), zero-padded in time."""
        B, T, _ = motion.shape
        w = self.config.patch_frames
        pad = (-T) % w
        if pad:
            motion = nn.functional.pad(motion, (0, 0, 0, pad))
        n_t = motion.shape[1] // w
        return [motion[..., a:b].reshape(B, n_t, w * (b - a)) for a, b in self.part_slices]

    def forward(self, motion: torch.Tensor, mask: torch.Tensor, patch_mask: torch.Tensor | None = None) -> dict:
        """motion (B, T, F) normalised features, mask (B, T) of real frames,
        patch_mask (B, n_t, 6) True where a patch is hidden behind the mask token.

        Returns tokens (B, n_t * 6, D) with token_mask, and time_tokens (B, n_t, D)
        with time_mask (one token per time patch: the mean over the six parts).
        """
        B, T, _ = motion.shape
        w = self.config.patch_frames
        if T > self.config.max_frames:
            raise ValueError(f"{T} frames > max_frames {self.config.max_frames}: crop in the data pipeline")
        patches = self.patchify(motion * mask[..., None])
        n_t = patches[0].shape[1]
        time_mask = nn.functional.pad(mask, (0, n_t * w - T)).view(B, n_t, w).any(dim=-1)   # (B, n_t)
        parts = []
        for p, (patch, embed) in enumerate(zip(patches, self.patch_embed)):
            x = embed(patch)                                                        # (B, n_t, D)
            if patch_mask is not None:
                x = torch.where(patch_mask[:, :, p, None], self.mask_token.to(x.dtype), x)
            parts.append(x + self.part_embedding[p] + self.time_embedding[:n_t])
        tokens = torch.stack(parts, dim=2).reshape(B, n_t * len(PARTS), -1)         # (B, n_t * parts, D)
        token_mask = time_mask[:, :, None].expand(B, n_t, len(PARTS)).reshape(B, -1)
        attn_mask = token_mask[:, None, None, :]                                     # (B, 1, 1, N) keys
        recompute = self.checkpointing and self.training and torch.is_grad_enabled()
        for block in self.blocks:
            if recompute:       # the same dropout masks are replayed (the RNG state is kept)
                tokens = checkpoint(block, tokens, attn_mask=attn_mask, use_reentrant=False)
            else:
                tokens = block(tokens, attn_mask=attn_mask)
        tokens = self.norm(tokens)
        time_tokens = tokens.view(B, n_t, len(PARTS), -1).mean(dim=2)               # (B, n_t, D)
        return {"tokens": tokens, "token_mask": token_mask, "time_tokens": time_tokens, "time_mask": time_mask}

    @staticmethod
    def pooled(tokens: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        """Masked mean of tokens: (B, N, D) -> (B, D)."""
        m = token_mask[..., None].to(tokens.dtype)
        return (tokens * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
