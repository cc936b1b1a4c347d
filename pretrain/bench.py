"""Training benchmark: ``python -m pretrain.bench --data DIR [--config JSON]``.

For every phase (default: lexcmlp and dense), batch size and lexical-head path (--lexical-head
fast, the path training takes, or reference: the logits of every token position for every
active word, then the masked max, the formula the fast path is tested against) and
activation-checkpointing setting (--activation-checkpointing off,on), one fresh process builds
the phase's model from --config as ``lexmotion pretrain`` does, takes --warmup steps, then times
--steps optimiser steps of the trainer's own step function (``Trainer.train_step``) on the same
batches for every row:

- samples/s, and per step the data time (crop, mirror, collate, tokenise, copy to the device),
  forward, backward and optimiser (clip, AdamW, schedule) in ms;
- peak memory: on CUDA the peak allocation, on CPU the peak resident size sampled every
  millisecond during the timed steps; "step MiB" is that peak minus the memory held between
  steps (weights, optimiser state, data): what one step adds;
- GFLOP per step: the matmuls and convolutions actually executed in one forward + backward,
  counted by torch's FlopCounterMode; MFU = GFLOP/step x steps/s / the device's dense bf16
  peak (known data-centre GPUs, or --peak-tflops).

--repeats R runs every row R times, interleaved, and reports mean +- std. --torchrun N runs
every row under ``torchrun --nproc_per_node N`` (DDP; samples/s over all processes).
The table is markdown on stdout; --json writes every row.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) from NVIDIA's data sheets, matched in order
# against torch.cuda.get_device_name().
PEAK_BF16_TFLOPS = (("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("GH200", 989.0), ("H100", 989.0),
                    ("H200", 989.0), ("B200", 2250.0), ("A100", 312.0), ("L40S", 362.0), ("A10G", 70.0),
                    ("L4", 121.0))
PARTS = ("data", "forward", "backward", "optimiser")


def peak_tflops(device_name: str, given: float | None) -> float | None:
    if given:
        return given
    return next((peak for key, peak in PEAK_BF16_TFLOPS if key in device_name), None)


class ResidentPeak:
    """Samples this process's resident memory every millisecond in a thread (torch ops release the GIL)."""

    def __init__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak, self._stop = 0, threading.Event()

    def now(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _run(self):
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, self.now())

    def __enter__(self):
        self.peak = self.now()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def _configs(spec: dict):
    """(TrainConfig, ModelConfig) of a row, resolved as `lexmotion pretrain` resolves them (only what the benchmark sets)."""
    from pretrain.settings import load_recipe, resolve
    return resolve(spec["phase"], load_recipe(spec["config"]) if spec["config"] else {}, batch_size=spec["batch_size"],
                   device=spec["device"], wandb="disabled", seed=spec["seed"], workers=spec["workers"],
                   compile=spec["compile"] or None, activation_checkpointing=spec.get("checkpointing") or None,
                   text_corpus=spec["text_corpus"], text_model=spec["text_model"])


def measure(spec: dict) -> dict | None:
    """One row, in this process: build, warm up, time. None on ranks other than 0."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from lexmotion.models.lexical import LexicalHead
    from pretrain.trainer import Trainer

    LexicalHead.fused = spec["head"] == "fast"
    train_config, model_config = _configs(spec)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(spec["data"], out, train_config, model_config=model_config, progress=False,
                          command="python -m pretrain.bench")
        device, world, rank = trainer.device, trainer.world, trainer.rank
        cuda = device.type == "cuda"
        train_set, collate = trainer.train_set()
        n_steps = spec["warmup"] + spec["steps"] + 1
        optimizer, scheduler = trainer.optimizer(10 ** 6)

        def loaded():
            epoch = 0
            while True:
                yield from trainer.batches(train_set, collate, trainer.epoch_order(train_set, epoch))
                epoch += 1

        source = loaded()
        times = {k: [] for k in PARTS}

        def step(i: int, timed: bool) -> None:
            last = [time.perf_counter()]

            def mark(name):
                if cuda:
                    torch.cuda.synchronize(device)
                now = time.perf_counter()
                if timed:
                    times[name].append(now - last[0])
                last[0] = now

            batch = next(source)
            mark("data")
            trainer.train_step(batch, i, optimizer, scheduler, mark)

        trainer.module.train()
        for i in range(spec["warmup"]):
            step(i, False)
        optimizer.zero_grad(set_to_none=True)    # held between steps: weights, optimiser state, data
        if cuda:
            torch.cuda.synchronize(device)
            held = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
        with ResidentPeak() as resident:
            held_cpu = resident.now()
            for i in range(spec["steps"]):
                step(spec["warmup"] + i, True)
        peak, held = (torch.cuda.max_memory_allocated(device), held) if cuda else (resident.peak, held_cpu)
        with FlopCounterMode(display=False) as flops:
            step(n_steps, False)
        trainer._lock.close()
    if rank != 0:
        return None
    per_step = {k: float(np.mean(v)) for k, v in times.items()}
    seconds = sum(per_step.values())
    samples_per_second = spec["batch_size"] * world / seconds
    name = torch.cuda.get_device_name(device) if cuda else f"CPU ({torch.get_num_threads()} threads)"
    gflop = flops.get_total_flops() / 1e9 * world
    peak_flops = peak_tflops(name, spec["peak_tflops"]) if cuda or spec["peak_tflops"] else None
    return {"phase": spec["phase"], "head": spec["head"] if spec["phase"] != "dense" else "-",
            "batch_size": spec["batch_size"], "world": world, "ddp": trainer.ddp, "device": name,
            "compile": spec["compile"], "checkpointing": bool(spec.get("checkpointing")),
            "samples_per_second": samples_per_second, "step_ms": seconds * 1e3,
            **{f"{k}_ms": v * 1e3 for k, v in per_step.items()},
            "peak_mib": peak / 2 ** 20, "step_mib": (peak - held) / 2 ** 20, "gflop_per_step": gflop,
            "mfu": gflop * 1e9 / seconds / (peak_flops * 1e12) if peak_flops else None,
            "torch": torch.__version__}


def _run_row(spec: dict, torchrun: int) -> dict:
    """One row in a fresh process (its own memory peak), under torchrun when asked."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={torchrun}"] \
        if torchrun else [sys.executable]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072",   # freed tensors leave the resident size
           "TOKENIZERS_PARALLELISM": "false", "WANDB_MODE": "disabled"}
    done = subprocess.run(launcher + ["-m", "pretrain.bench", "--child", json.dumps(spec)], env=env,
                          capture_output=True, text=True)
    rows = [json.loads(line[len("ROW "):]) for line in done.stdout.splitlines() if line.startswith("ROW ")]
    if done.returncode or not rows:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        error = next((line for line in reversed(lines) if line.startswith("error:")), lines[-1] if lines else "")
        return {**spec, "error": error.removeprefix("error: ")[:300]}
    return rows[0]


def _mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.1f} ± {np.std(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def table(rows: list[dict]) -> str:
    """Markdown: one line per (phase, head, activation checkpointing, batch), mean +- std over the repeats."""
    head = ("| phase | lexical head | act. ckpt | batch | samples/s | step ms | data | forward | backward | optimiser "
            "| peak MiB | step MiB | GFLOP/step | MFU |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["phase"], r.get("head", "-"), _ckpt(r), r["batch_size"]), []).append(r)
    for (phase, headpath, ckpt, batch), group in groups.items():
        failed = [g for g in group if "error" in g]
        if failed:
            lines.append(f"| {phase} | {headpath} | {ckpt} | {batch} | failed: {failed[0]['error']} |" + " |" * 9)
            continue
        cell = {k: _mean_std([g[k] for g in group]) for k in
                ("samples_per_second", "step_ms", "data_ms", "forward_ms", "backward_ms", "optimiser_ms",
                 "peak_mib", "step_mib")}
        mfu = group[0]["mfu"]
        lines.append(f"| {phase} | {headpath} | {ckpt} | {batch} | {cell['samples_per_second']} | {cell['step_ms']} "
                     f"| {cell['data_ms']} | {cell['forward_ms']} | {cell['backward_ms']} | {cell['optimiser_ms']} "
                     f"| {cell['peak_mib']} | {cell['step_mib']} | {group[0]['gflop_per_step']:.1f} "
                     f"| {f'{100 * mfu:.1f}%' if mfu is not None else '-'} |")
    return "\n".join(lines)


def _ckpt(row: dict) -> str:
    return "on" if row.get("checkpointing") else "off"


def ratios(rows: list[dict]) -> list[str]:
    """The comparisons the targets are stated in: lexical vs dense speed (same activation checkpointing),
    and step memory against the reference head without checkpointing (the trainer before the fast head)."""
    def mean(phase, head, key, batch, ckpt):
        values = [r[key] for r in rows if r["phase"] == phase and r.get("head") == head and _ckpt(r) == ckpt
                  and r["batch_size"] == batch and "error" not in r]
        return float(np.mean(values)) if values else None

    out = []
    for batch in sorted({r["batch_size"] for r in rows}):
        for phase in sorted({r["phase"] for r in rows} - {"dense"}):
            ref_mem = mean(phase, "reference", "step_mib", batch, "off")
            for ckpt in ("off", "on"):
                dense = mean("dense", "-", "samples_per_second", batch, ckpt)
                label = " with activation checkpointing" if ckpt == "on" else ""
                for head in ("fast", "reference"):
                    speed = mean(phase, head, "samples_per_second", batch, ckpt)
                    if dense and speed:
                        out.append(f"batch {batch}: {phase} ({head} head{label}) runs at {speed / dense:.2f}x "
                                   "dense samples/s")
                fast_mem = mean(phase, "fast", "step_mib", batch, ckpt)
                if fast_mem and ref_mem:
                    out.append(f"batch {batch}: {phase} step memory, reference head / fast head{label}: "
                               f"{ref_mem / fast_mem:.2f}x ({ref_mem:.0f} -> {fast_mem:.0f} MiB)")
    return out


def main(argv=None) -> int:
    from lexmotion.device import add_device_option
    p = argparse.ArgumentParser(prog="python -m pretrain.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", action="append", help="a dataset folder from `lexmotion data build` (repeatable)")
    p.add_argument("--config", help="pretraining config JSON, as `lexmotion pretrain --config` (default: the "
                                    "built-in defaults, the GPU-sized model)")
    p.add_argument("--phases", default="lexcmlp,dense", help="comma-separated: lexmlm, cmmm, lexmmm, lexcmlp, "
                                                             "dense (default lexcmlp,dense)")
    p.add_argument("--batch-sizes", default="32", help="comma-separated batch sizes per process (default 32)")
    p.add_argument("--lexical-head", default="fast", help="comma-separated: fast (training's path), reference "
                                                          "(every token position x every active word, then the max)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per row (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--repeats", type=int, default=1, help="run every row this many times, interleaved (default 1)")
    add_device_option(p, "where the rows train")
    p.add_argument("--compile", action="store_true", help="torch.compile the encoders, as `pretrain --compile`")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers, as `pretrain --workers` (default 0)")
    p.add_argument("--activation-checkpointing", default="off", metavar="off,on",
                   help="comma-separated: off and/or on (recompute encoder layers in the backward pass, as "
                        "`pretrain --activation-checkpointing`; default off)")
    p.add_argument("--torchrun", type=int, default=0, metavar="N", help="run every row under torchrun with N processes")
    p.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, for MFU on a GPU the table "
                                                     "does not know (or on a CPU)")
    p.add_argument("--text-corpus", action="append", default=[], help="lexmlm: extra caption corpus, as pretrain")
    p.add_argument("--text-model", help="text encoder (default: the config's, else the offline MiniLM)")
    p.add_argument("--seed", type=int, default=0, help="seed of the batch order and the model (default 0)")
    p.add_argument("--json", help="write every row (and the ratios) to this JSON file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        row = measure(json.loads(args.child))
        if row is not None:
            print("ROW " + json.dumps(row), flush=True)
        return 0
    return _main(p, args)


def _checked_options(args) -> dict:
    """The benchmark's comma-separated choices as lists, each refused in one line when it names nothing valid."""
    from lexmotion.device import resolve_device
    from lexmotion.errors import LexmotionError
    from pretrain.phases import ALL_PHASES

    if not args.data:
        raise LexmotionError("--data is required: a dataset folder from `lexmotion data build`")
    for d in args.data:
        if not Path(d).is_dir():
            raise LexmotionError(f"{d}: no such dataset folder")
    chosen = {name: [x for x in getattr(args, name).split(",") if x]
              for name in ("phases", "lexical_head", "activation_checkpointing", "batch_sizes")}
    allowed = {"phases": set(ALL_PHASES), "lexical_head": {"fast", "reference"},
               "activation_checkpointing": {"off", "on"}}
    for name, values in allowed.items():
        if not chosen[name] or set(chosen[name]) - values:
            raise LexmotionError(f"--{name.replace('_', '-')}: choose from {', '.join(sorted(values))}, "
                                 f"not {getattr(args, name)!r}")
    if not all(x.isdigit() and int(x) >= 1 for x in chosen["batch_sizes"]) or not chosen["batch_sizes"]:
        raise LexmotionError(f"--batch-sizes: positive whole numbers, not {args.batch_sizes!r}")
    chosen["batch_sizes"] = [int(x) for x in chosen["batch_sizes"]]
    for name in ("steps", "warmup", "repeats"):
        if getattr(args, name) < (0 if name == "warmup" else 1):
            raise LexmotionError(f"--{name} must be {'0 or more' if name == 'warmup' else 'at least 1'}")
    if args.config and not Path(args.config).is_file():
        raise LexmotionError(f"{args.config}: no such config file")
    resolve_device(args.device)           # --device cuda without CUDA: one line now, not one per row
    return chosen


def _main(p: argparse.ArgumentParser, args) -> int:
    from tqdm.auto import tqdm

    from lexmotion.errors import LexmotionError
    from lexmotion.files import write_json
    try:
        chosen = _checked_options(args)
    except LexmotionError as e:
        p.exit(2, f"error: {e}\n")
    specs = [{"phase": phase, "head": head, "batch_size": size, "data": args.data, "config": args.config,
              "steps": args.steps, "warmup": args.warmup, "device": args.device, "compile": args.compile,
              "workers": args.workers, "peak_tflops": args.peak_tflops, "text_corpus": args.text_corpus,
              "text_model": args.text_model, "seed": args.seed, "checkpointing": ckpt == "on"}
             for size in chosen["batch_sizes"] for ckpt in chosen["activation_checkpointing"]
             for phase in chosen["phases"] for head in (chosen["lexical_head"] if phase != "dense" else ["fast"])]
    rows = []
    for _ in tqdm(range(args.repeats), desc="repeats", disable=args.repeats == 1):
        for spec in tqdm(specs, desc="rows", leave=False):
            rows.append(_run_row(spec, args.torchrun))
            if "error" in rows[-1]:
                print(f"{spec['phase']} batch {spec['batch_size']}: failed: {rows[-1]['error']}", file=sys.stderr)
    for r in rows:
        if r.get("phase") == "dense":
            r["head"] = "-"
    first = next((r for r in rows if "error" not in r), None)
    if first:
        print(f"device: {first['device']}, torch {first['torch']}, "
              f"{'DDP over ' if first['ddp'] else ''}{first['world']} process(es), "
              f"{args.steps} timed steps after {args.warmup}, {args.repeats} repeat(s)"
              + (", torch.compile" if args.compile else ""))
    print(table(rows))
    for line in ratios(rows):
        print(line)
    if args.json:
        write_json(args.json, {"rows": rows, "ratios": ratios(rows), "command": " ".join(sys.argv)})
    return 0 if first else 1


if __name__ == "__main__":
    raise SystemExit(main())
