"""Where one training step's time goes, on the real data, and whether CPU AdamW's fused kernel saves any.

    OMP_NUM_THREADS=2 python docs/scripts/profile_step.py --phase lexcmlp [--config pretrain/configs/default.json]

Builds the phase's trainer as `lexmotion pretrain` does (through `pretrain.bench`), takes 8 batches of
data/kitml-desc and data/cmu-extra, warms up on 2, then:
- times 6 steps with the default multi-tensor AdamW and 6 with the fused one, in turn, --repeats times
  (both optimisers step the same weights, so the order matters little), and prints ms/step of each;
- profiles 6 more steps with torch.profiler and prints the operators that took the most CPU time.
Run it on an otherwise idle machine: the figures are wall-clock. Run from the repository root.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from pretrain.bench import _configs
from pretrain.trainer import Trainer

DATA = ["data/kitml-desc", "data/cmu-extra"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--phase", default="lexcmlp", help="lexcmlp or dense (or another phase)")
    p.add_argument("--config", default="pretrain/configs/default.json")
    p.add_argument("--repeats", type=int, default=4)
    p.add_argument("--rows", type=int, default=25, help="operators to print")
    args = p.parse_args()
    spec = dict(phase=args.phase, config=args.config, batch_size=32, device="cpu", seed=0, workers=0, compile=False,
                checkpointing=None, text_corpus=None, text_model=None)
    train_config, model_config = _configs(spec)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(DATA, out, train_config, model_config=model_config, progress=False,
                          command="docs/scripts/profile_step.py")
        items, collate = trainer.train_set()
        source = trainer.batches(items, collate, trainer.epoch_order(items, 0))
        batches = [next(source) for _ in range(8)]
        groups = trainer._params()
        optimisers = {}
        for name, options in (("multi-tensor", {}), ("fused", {"fused": True})):
            optimiser = torch.optim.AdamW(groups, weight_decay=trainer.config.weight_decay, **options)
            optimisers[name] = (optimiser, torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1.0))
        trainer.module.train()
        for i, batch in enumerate(batches[:2]):
            trainer.train_step(batch, i, *optimisers["multi-tensor"])
        seconds = {name: [] for name in optimisers}
        for _ in range(args.repeats):
            for name, pair in optimisers.items():
                start = time.perf_counter()
                for batch in batches[2:]:
                    trainer.train_step(batch, 10, *pair)
                seconds[name].append((time.perf_counter() - start) / len(batches[2:]))
        print(f"| {args.phase}: AdamW | ms/step, mean ± std of {args.repeats} | each |\n|---|---|---|")
        for name, values in seconds.items():
            print(f"| {name} | {np.mean(values) * 1e3:.0f} ± {np.std(values) * 1e3:.0f} | "
                  + ", ".join(f"{v * 1e3:.0f}" for v in values) + " |")
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch in batches[2:]:
                trainer.train_step(batch, 10, *optimisers["multi-tensor"])
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))
        trainer._lock.close()


if __name__ == "__main__":
    main()
