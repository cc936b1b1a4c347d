"""Experiment tracking: wandb (offline by default), never allowed to stop a run."""
from __future__ import annotations


def start_wandb(mode: str, name: str, out, config: dict):
    """A wandb run, or None when ``mode`` is "disabled" or wandb cannot start."""
    if mode == "disabled":
        return None
    try:
        import wandb
        return wandb.init(project="lexmotion", name=name, dir=str(out), mode=mode, config=config,
                          reinit="finish_previous", settings=wandb.Settings(init_timeout=30, silent=True, disable_git=True))
    except Exception as err:   # logging must never stop training
        print(f"warning: wandb logging is off ({type(err).__name__}: {err})")
        return None
