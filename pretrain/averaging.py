"""An exponential moving average of a phase's trained weights (``ema`` in a phase's train keys).

On 1,700 training clips the retrieval phases end on a noisy plateau: their validation recall moves by
several points from one epoch to the next, and two seeds' scores summed retrieve better on average than
either (docs/results/ensembles.md). An average of the weights along the plateau keeps one model's cost
and may take some of that gain. The average is what a checkpoint serves; the raw weights stay in the trainer
state, so a resumed run continues both exactly.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from lexmotion.errors import LexmotionError


class WeightAverage:
    """The running average of MODEL's trainable parameters: avg <- d * avg + (1 - d) * weight after every
    optimiser step, with d = min(decay, (1 + step) / (10 + step)), so the first steps do not pin it to
    the starting weights."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0 < decay < 1:
            raise LexmotionError(f"ema is the decay of the weight average, in (0, 1) (0 turns it off); got {decay}")
        self.decay = decay
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        self.average = [p.detach().clone() for n, p in model.named_parameters() if p.requires_grad]

    def _weights(self, model: nn.Module) -> list[torch.Tensor]:
        params = dict(model.named_parameters())
        return [params[n] for n in self.names]

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_(self.average, [p.detach() for p in self._weights(model)], 1 - d)

    @contextmanager
    def swapped(self, model: nn.Module):
        """MODEL holds the average inside the block and its own weights again after it."""
        weights = self._weights(model)
        own = [p.detach().clone() for p in weights]
        self.copy_to(model)
        try:
            yield model
        finally:
            with torch.no_grad():
                torch._foreach_copy_(weights, own)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        torch._foreach_copy_(self._weights(model), self.average)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "average": {n: a.cpu() for n, a in zip(self.names, self.average)}}

    def load_state_dict(self, state: dict, source: str) -> None:
        saved = state["average"]
        if sorted(saved) != sorted(self.names):
            raise LexmotionError(f"{source}: its weight average covers other parameters than this phase trains; "
                                 "use another --out")
        for a, n in zip(self.average, self.names):
            a.copy_(saved[n].to(a.device))
