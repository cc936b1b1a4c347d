"""Safe files: atomic writes, one writer per output folder, state files without pickle.

- Every file lexmotion writes goes to a temporary name in the same folder and is
  renamed over the old one, so a killed process leaves the previous complete file.
- ``output_lock(out)`` holds an exclusive ``flock`` on ``.<name>.lock`` beside OUT while a
  command writes OUT; a second process is refused at once. The kernel drops the lock
  when the holder dies, even by SIGKILL, so no stale lock blocks a resume.
- Trainer states hold tensors and plain containers only, and are read with
  ``torch.load(weights_only=True)``: a run folder handed over by someone else cannot run code.
- ``crash_point(name)``: where the fault-injection tests may kill the process
  (``LEXMOTION_KILL_AT=N`` or ``arm_crash(N)``: SIGKILL at the N-th point reached).
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import tempfile
from pathlib import Path

import numpy as np
import torch

from lexmotion.errors import (
    BadValueError,
    CorruptFileError,
    OldFormatError,
    OutputLockedError,
    WrongPathError,
)

STATE_FORMAT = 2          # trainer_state.pt: 1 = pickled (the first version), 2 = tensors and plain containers

# --- crash points (fault-injection tests) ---------------------------------------------
_crash = {"at": int(os.environ.get("LEXMOTION_KILL_AT", "0") or 0), "hits": 0}


def arm_crash(n: int) -> None:
    """Kill this process (SIGKILL) at the n-th crash point from now; 0 disarms and only counts."""
    _crash.update(at=n, hits=0)


def crash_point(name: str) -> None:
    _crash["hits"] += 1
    if _crash["at"] and _crash["hits"] == _crash["at"]:
        log = os.environ.get("LEXMOTION_KILL_LOG")      # the tests record where each kill landed
        if log:
            with open(log, "a") as f:
                f.write(name + "\n")
        os.kill(os.getpid(), signal.SIGKILL)


_UMASK = os.umask(0)
os.umask(_UMASK)

# --- atomic writes ----------------------------------------------------------------------
@contextlib.contextmanager
def _replacing(path: Path, mode: str = "w"):
    """Yield a temporary file beside ``path``; rename it over ``path`` when the block succeeds."""
    path = Path(path)      # the temporary keeps the suffix: numpy appends .npz to a name without it
    if path.is_dir():
        raise WrongPathError(f"{path}: is a folder; expected a file to write")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    try:
        with os.fdopen(fd, mode) as f:
            yield f, tmp
        os.chmod(tmp, 0o666 & ~_UMASK)   # mkstemp makes 0600; the file gets the mode a plain open would give
        _fsync(tmp)                  # the bytes reach the disk before the name does (power loss too)
        crash_point(f"write {path.name}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fsync(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    with _replacing(Path(path)) as (f, _):
        f.write(text)


def write_json(path: str | Path, obj) -> None:
    """Write JSON atomically (temporary file in the same folder, then rename)."""
    atomic_write_text(path, json.dumps(obj, indent=1) + "\n")


def read_json(path: str | Path):
    """JSON from a file lexmotion wrote; a missing or damaged file is a one-line error naming it."""
    path = require_file(path)
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{path}: damaged JSON ({err})") from None


def write_jsonl(path: str | Path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def atomic_save(path: str | Path, save) -> None:
    """``save(tmp_path)`` writes the file under a temporary name; it is then renamed to ``path``."""
    with _replacing(Path(path), "wb") as (_, tmp):
        save(tmp)


def remove_temporaries(folder: str | Path) -> None:
    """Delete the ``.name.XXXX.tmp*`` files a killed writer left in ``folder``."""
    for p in Path(folder).glob(".*.tmp*"):
        with contextlib.suppress(OSError):
            p.unlink()


def load_npy(path: str | Path) -> np.ndarray:
    """A .npy array, without pickles; any damage (truncated, bad header) is one CorruptFileError."""
    try:
        return np.load(path)
    except Exception as err:        # numpy raises ValueError, EOFError, SyntaxError, TokenError... on bad bytes
        reason = str(err).splitlines()[0][:100] if str(err) else type(err).__name__
        raise CorruptFileError(f"{path}: not a readable .npy file ({reason})") from None


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write a matplotlib ``Figure`` atomically, in the format its suffix names (.png, .pdf, .svg, ...).
    Needs no pyplot and sets no backend, so notebooks keep theirs."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    path = Path(path)
    canvas = fig.canvas if hasattr(fig.canvas, "print_figure") else FigureCanvasAgg(fig)
    formats = canvas.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in formats:
        raise BadValueError(f"{path}: a figure is written as {', '.join('.' + f for f in sorted(formats))}, "
                            f"not {path.suffix or 'a name without suffix'}")
    atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=path.suffix.lower().lstrip(".")))
    return path


# --- output folders -----------------------------------------------------------------------
def replace_folder(tmp: Path, out: Path) -> None:
    """Put the finished folder TMP at OUT. OUT is always the old complete folder, briefly absent, or the new one."""
    if out.exists():
        trash = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, trash)
        crash_point(f"swap {out.name}")
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, out)


def remove_leftovers(out: Path) -> None:
    """Delete the ``.OUT.partial-*`` and ``.OUT.old-*`` folders a killed writer left beside OUT (hold the lock)."""
    for p in list(out.parent.glob(f".{out.name}.partial-*")) + list(out.parent.glob(f".{out.name}.old-*")):
        shutil.rmtree(p, ignore_errors=True)


def check_output_folder(out: str | Path, option: str = "--out") -> Path:
    """OUT as an absolute path (so ``.`` has a name), refused when it is an existing file."""
    out = Path(os.path.abspath(out))
    if out.exists() and not out.is_dir():
        raise WrongPathError(f"{out}: {option} is an existing file; it must be a folder (or a new name)")
    return out


# --- which folders are ours ---------------------------------------------------------------
MARKER = ".lexmotion-folder.json"     # written into every folder a command makes: what it is, by which version


def mark_folder(folder: str | Path, kind: str) -> None:
    """Record in FOLDER that lexmotion made it as a KIND (what ``--overwrite`` and resuming check)."""
    from lexmotion import __version__
    if _json_dict(Path(folder) / MARKER).get("kind") == kind:      # a resumed run: nothing to write
        return
    write_json(Path(folder) / MARKER, {"made_by": "lexmotion", "kind": kind, "lexmotion_version": __version__})


def _json_dict(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def folder_kind(folder: str | Path) -> str | None:
    """What lexmotion made FOLDER as ("index", "dataset", "checkpoint", ...), or None if not lexmotion's.

    Folders from before the marker are recognised by the files only lexmotion writes there."""
    folder = Path(folder)
    marker = _json_dict(folder / MARKER)
    if marker.get("made_by") == "lexmotion" and isinstance(marker.get("kind"), str):
        return marker["kind"]
    if "format" in _json_dict(folder / "index.json"):
        return "index"
    if "source" in _json_dict(folder / "lexmotion.json"):
        return "dataset"
    config = _json_dict(folder / "config.json")
    if "lexmotion_version" in config:
        if config.get("kind") == "captioner":
            return "captioner"
        card = folder / "README.md"
        return "export" if card.is_file() and "library_name: lexmotion" in card.read_text(errors="replace")[:200] \
            else "checkpoint"
    if (folder / "last" / "trainer_state.pt").is_file():
        return "captioner"
    return None


def claim_run_folder(out: Path, kind: str, state: str, inputs=()) -> None:
    """Make or mark OUT for a training run that resumes from OUT/STATE: the same run resumes, a fresh
    one starts only in a new, empty or unfinished folder of its own; a finished checkpoint whose state is
    gone (cleaned, copied, exported) is never trained over."""
    claim_output(out, kind, resume=True, inputs=inputs, can_overwrite=False)
    if (out / state).is_file():
        return
    if (out / "DONE").is_file() or (out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file()):
        raise WrongPathError(f"{out}: holds a {kind} with no trainer state to resume from (finished and cleaned, "
                             "or copied); choose a new --out (nothing was changed)")
    out.mkdir(parents=True, exist_ok=True)
    mark_folder(out, kind)


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def claim_output(out: str | Path, kind: str, *, overwrite: bool = False, inputs=(), option: str = "--out",
                 resume: bool = False, can_overwrite: bool = True) -> Path:
    """Check that a command may write OUT as a KIND; -> OUT (absolute). Nothing is changed here.

    OUT may be new or an empty folder. An existing folder of the same KIND is accepted when the command
    resumes (``resume``) or with ``overwrite``; anything else, a folder lexmotion did not make above all,
    is refused in one line. OUT may never be an input (checkpoint, dataset, index), a folder holding one,
    or a folder inside one."""
    out = check_output_folder(out, option)
    real = out.resolve()
    for given in inputs:
        if given is None or str(given).startswith("hf://"):
            continue
        source = Path(given).resolve()
        if _within(source, real):
            raise WrongPathError(f"{out}: {option} is {given} or holds it, an input of this command; "
                                 f"choose a new {option} (nothing was changed)")
        if _within(real, source):
            raise WrongPathError(f"{out}: {option} is inside {given}, an input of this command; "
                                 f"choose a new {option} (nothing was changed)")
    if not out.exists() or not any(out.iterdir()):
        return out
    found = folder_kind(out)
    if found is None:
        raise WrongPathError(f"{out}: {option} holds files that lexmotion did not make; choose a new or empty "
                             f"{option} (nothing was changed)")
    if found != kind:
        raise WrongPathError(f"{out}: {option} holds a lexmotion {found}, not a {kind}; choose a new {option} "
                             "(nothing was changed)")
    if resume or overwrite:
        return out
    hint = "pass --overwrite to replace it" if can_overwrite else f"choose a new {option}"
    raise WrongPathError(f"{out}: {option} already holds a lexmotion {kind}; {hint} (nothing was changed)")


def require_file(path: str | Path, what: str = "file") -> Path:
    path = Path(path)
    if path.is_dir():
        raise WrongPathError(f"{path}: is a folder; expected a {what}")
    if not path.is_file():
        raise WrongPathError(f"{path}: no such {what}")
    return path


_held_locks: dict[str, int] = {}


@contextlib.contextmanager
def output_lock(out: str | Path):
    """Hold ``.<name>.lock`` beside OUT while writing OUT; refuse if another process holds it.

    Re-entrant within one process (a command that locks OUT may call a writer that locks it too)."""
    import fcntl
    out = check_output_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.parent / f".{out.name}.lock"
    key = str(lock.resolve())
    if _held_locks.get(key):
        _held_locks[key] += 1
        try:
            yield out
        finally:
            _held_locks[key] -= 1
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputLockedError(f"{out}: another process is writing it (lock file {lock} is held); "
                                    "wait for it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _held_locks[key] = 1
        try:
            yield out
        finally:
            _held_locks.pop(key, None)
    finally:
        os.close(fd)


# --- trainer states -------------------------------------------------------------------------
def save_state(path: str | Path, state: dict) -> None:
    """A trainer state (tensors and plain containers only), written atomically."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_save(path, lambda tmp: torch.save({**state, "state_format": STATE_FORMAT}, tmp))


def load_state(path: str | Path, restart_hint: str) -> dict:
    """Read a trainer state with ``weights_only=True``; an old pickled or damaged one is refused in one line."""
    import pickle
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise OldFormatError(f"{path}: a trainer state in the old pickled format (or a file that is not one), which "
                             f"this lexmotion does not read; {restart_hint}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CorruptFileError(f"{path}: damaged trainer state ({str(err).splitlines()[0][:120]}); "
                               f"{restart_hint}") from None
    if not isinstance(state, dict) or state.get("state_format") != STATE_FORMAT:
        raise OldFormatError(f"{path}: a trainer state of format {state.get('state_format', 1) if isinstance(state, dict) else '?'} "
                             f"(this lexmotion reads format {STATE_FORMAT}); {restart_hint}")
    return state


def rng_state() -> dict:
    """Python, NumPy, torch (and CUDA) random states, as tensors."""
    version, mt, gauss = random.getstate()
    _, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": torch.tensor([version, *mt, -1 if gauss is None else 1], dtype=torch.int64),
             "python_gauss": torch.tensor(0.0 if gauss is None else gauss, dtype=torch.float64),
             "numpy": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
             "numpy_pos": torch.tensor([pos, has_gauss], dtype=torch.int64),
             "numpy_gauss": torch.tensor(cached, dtype=torch.float64),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    py = state["python"].tolist()
    random.setstate((py[0], tuple(py[1:-1]), None if py[-1] < 0 else float(state["python_gauss"])))
    pos, has_gauss = state["numpy_pos"].tolist()
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), pos, has_gauss,
                         float(state["numpy_gauss"])))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
