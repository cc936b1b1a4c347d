"""Experiment tracking: wandb (offline by default), never allowed to stop a run."""
from __future__ import annotations


def start_wandb(mode: str, name: str, out, config: dict):
    """A wandb run, or None when ``mode`` is "disabled" or wandb cannot start."""
    if mode == "disabled":
        return None
    try:
        import wandb
    except ImportError:
        if mode == "online":
            from lexmotion.errors import LexmotionError
            raise LexmotionError("--wandb online needs the [wandb] extra: pip install 'lexmotion[wandb]'") from None
        print("note: no experiment tracking (wandb is not installed: pip install 'lexmotion[wandb]'); "
              "metrics.jsonl has every epoch")
        return None
    try:
        return wandb.init(project="lexmotion", name=name, dir=str(out), mode=mode, config=config,
                          reinit="finish_previous", settings=wandb.Settings(init_timeout=30, silent=True, disable_git=True))
    except Exception as err:   # logging must never stop training
        print(f"warning: wandb logging is off ({type(err).__name__}: {err})")
        return None
