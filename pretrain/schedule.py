"""Batch order, learning-rate schedule and optimiser of a pretraining run (shared by the trainer
and the training benchmark, so the benchmark times the step that training takes)."""
from __future__ import annotations

import math
import os
import random

import numpy as np
import torch


def batches(n: int, batch_size: int, seed: int, epoch: int, rank: int, world: int, drop_last: bool) -> list[list[int]]:
    """Epoch ``epoch``'s batches of this rank: a permutation seeded by (seed, epoch), equal shards
    per rank (no rank waits forever), the last short batch dropped when ``drop_last``."""
    g = torch.Generator().manual_seed(seed * 100003 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    order = order[: len(order) - len(order) % world][rank::world]
    out = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if drop_last and len(out) > 1 and len(out[-1]) < batch_size:
        out = out[:-1]
    return out


def dataset_batches(sizes: list[int], batch_size: int, seed: int, epoch: int, rank: int, world: int,
                    drop_last: bool) -> list[list[int]]:
    """``batches`` over datasets of SIZES laid end to end (a ConcatDataset), each batch from one dataset:
    every dataset's batches as ``batches`` makes them, in one seeded order that every rank shares."""
    out, offset = [], 0
    for k, n in enumerate(sizes):
        out += [[offset + i for i in b] for b in batches(n, batch_size, seed + 7919 * k, epoch, rank, world, drop_last)]
        offset += n
    g = torch.Generator().manual_seed(seed * 100003 + epoch + 1)
    return [out[i] for i in torch.randperm(len(out), generator=g).tolist()]


def lr_lambda(warmup: int, total: int):
    """Linear warm-up over ``warmup`` steps, then cosine decay to 5% at ``total``."""
    def f(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))
    return f


def make_optimizer(groups: list[dict], weight_decay: float, device: torch.device, warmup: int, total: int):
    """AdamW (the fused kernel on CUDA: one launch for all parameters) and its LambdaLR schedule."""
    fused = device.type == "cuda"
    optimizer = torch.optim.AdamW(groups, weight_decay=weight_decay, **({"fused": True} if fused else {}))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(min(warmup, max(total // 10, 1)), total))
    return optimizer, scheduler


def distributed() -> tuple[int, int, int]:
    """(world size, rank, local rank) from torchrun's environment; (1, 0, 0) without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
