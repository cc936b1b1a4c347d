"""Where a training run stands: what each save writes into ``trainer_state.pt`` (beside the optimiser's,
the scheduler's and the random states) and what resuming restores."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunState:
    step: int = 0
    epoch: int = 0                  # the epoch in progress
    batch_in_epoch: int = 0         # its batches already trained
    history: list[dict] = field(default_factory=list)    # one metrics line per epoch (or epoch cut short)
    sums: dict = field(default_factory=dict)             # the epoch's running sums of the loss terms
    count: int = 0                                       # ... over this many steps

    @classmethod
    def from_state(cls, state: dict) -> "RunState":
        run = cls(state["step"], state["epoch"], state["batch_in_epoch"], list(state["history"]),
                  dict(state["epoch_sums"]), state["epoch_count"])
        if run.batch_in_epoch and run.history and run.history[-1]["epoch"] == run.epoch + 1:
            run.history.pop()       # the line of an epoch cut short by --max-steps: its end replaces it
        return run

    def to_state(self) -> dict:
        return {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                "history": self.history, "epoch_sums": self.sums, "epoch_count": self.count}

    def add(self, values: dict) -> None:
        """One step's loss terms into the epoch's running means."""
        self.count += 1
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v

    def means(self) -> dict:
        return {f"train_{k}": v / max(self.count, 1) for k, v in self.sums.items()}

    def next_epoch(self) -> None:
        self.epoch, self.batch_in_epoch, self.sums, self.count = self.epoch + 1, 0, {}, 0
