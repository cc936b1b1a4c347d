"""One exception family for problems in the user's input (files, values, options).

The command line prints any of these as a single line, ``error: ...``, and exits 2,
without a traceback. The subclasses let Python callers tell the cases apart; the
message is the same one the command line prints.
"""
import math


class LexmotionError(Exception):
    """A problem with the user's input, stated in one line that names the file or value."""


class BadValueError(LexmotionError):
    """An option's value is out of range (``-k 0``, ``--nprobe -1``)."""


class WrongPathError(LexmotionError):
    """A path is missing, or is a folder where a file is expected (or the other way round)."""


class CorruptFileError(LexmotionError):
    """A file is there but cannot be read: truncated, not the format its name says, NaN where numbers are due."""


class OldFormatError(LexmotionError):
    """A file written by another lexmotion version, in a format this one does not read."""


class WrongKindError(LexmotionError):
    """A folder of the wrong kind: a dense checkpoint where a lexical one is needed, a captioner for a retrieval model."""


class EmptyQueryError(LexmotionError):
    """A query with no word that the model can use."""


class OutputLockedError(LexmotionError):
    """Another process is writing the same output folder."""


# kind -> (what a value must be, the test it passes)
_SETTING_RULES = {
    "count": ("a whole number of at least 1", lambda v: isinstance(v, int) and v >= 1),
    "non-negative": ("a whole number of at least 0", lambda v: isinstance(v, int) and v >= 0),
    "rate": ("a number above 0", lambda v: isinstance(v, (int, float)) and 0 < v < float("inf")),
    "probability": ("a number from 0 to 1", lambda v: isinstance(v, (int, float)) and 0 <= v <= 1),
}


def check_settings(owner: str, **values) -> None:
    """Numeric settings: counts (epochs, batch size, steps) at least 1, non-negative counts (0 = off), rates
    above 0, probabilities in [0, 1]. ``values`` maps a name to (value, kind) with kind "count",
    "non-negative", "rate" or "probability"; None is left alone."""
    for name, (value, kind) in values.items():
        rule, ok = _SETTING_RULES[kind]
        if value is not None and (isinstance(value, bool) or not ok(value)):
            raise BadValueError(f"{owner}: --{name.replace('_', '-')} must be {rule}, not {value!r}")


def check_finite_loss(loss, where: str, kept: str) -> None:
    """Stop training at the first NaN or infinite loss (a float or a one-element tensor), before it is
    saved; ``kept`` says what is still good, e.g. "OUT keeps its last saved step"."""
    value = float(loss)
    if not math.isfinite(value):
        raise BadValueError(f"the training loss became {value} in {where}; {kept}: try a lower --lr, "
                            "or report it with the command you ran")
