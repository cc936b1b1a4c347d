"""Device choice shared by every trainer and command: ``auto`` means CUDA when present."""
from __future__ import annotations

import torch

from lexmotion.errors import BadValueError, LexmotionError


def add_device_option(parser, what: str, default: str | None = "auto") -> None:
    """--device for a command: the same choices and default (auto) everywhere; WHAT says what runs there.
    ``default=None`` leaves it to a config file, whose own default is auto too (pretrain)."""
    parser.add_argument("--device", default=default,
                        help=f"auto (the default: CUDA when available), cpu or cuda; {what}")


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """auto -> cuda when available, else cpu; a one-line error when cuda is asked for but absent."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise LexmotionError("--device cuda was asked for, but no CUDA device is available")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise BadValueError(f"--device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def peak_memory_gib(device: torch.device) -> float:
    """The most memory this process has held: CUDA's peak allocation, or on CPU the peak resident size."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 30
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20      # KiB on Linux


def out_of_memory(device: torch.device, batch_size: int) -> str:
    """The one-line message for a batch that does not fit (instead of a bare OOM traceback)."""
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory / 2 ** 30
        where = f"{torch.cuda.get_device_name(device)} ({total:.1f} GiB)"
    else:
        where = "this machine's memory"
    return (f"batch size {batch_size} does not fit in {where}: out of memory after a peak of "
            f"{peak_memory_gib(device):.1f} GiB; pass a smaller --batch-size")


def compile_modules(modules, device: torch.device) -> str | None:
    """torch.compile each module in place (dynamic shapes: captions and clips vary in length).
    Returns None, or why the compiler does not work here (nothing is compiled then): a tiny
    function is compiled and run first, so a missing C++ compiler or Triton shows up now."""
    try:
        probe = torch.compile(lambda x: torch.nn.functional.gelu(x) * 2 + 1, dynamic=False)
        probe(torch.ones(8, device=device))
    except Exception as e:      # any failure of the compiler stack: report it, train without
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"{type(e).__name__}: {reason}"[:200]
    for module in modules:
        module.compile(dynamic=True)
    return None
