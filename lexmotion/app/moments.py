"""`lexmotion eval moments` (retrieval/moments.py): the benchmark's sequences, the checkpoints and dense baselines
scored on them, and the captioners' localisation (captioning/analysis.py) on the same sequences."""
from __future__ import annotations

from pathlib import Path


def main_moments(args) -> int:
    from captioning.analysis import localise_captions
    from captioning.model import read_captioner_config
    from lexmotion.device import resolve_device
    from lexmotion.errors import WrongPathError, check_settings
    from lexmotion.files import write_json
    from lexmotion.models.checkpoint import read_config
    from lexmotion.models.model import served_overrides
    from retrieval.collection import check_window_length
    from retrieval.index import MOMENT_TOLERANCE
    from retrieval.moments import WINDOWS_S, build_sequences, evaluate_moments, format_moments
    models, dense = list(dict.fromkeys(args.model)), list(dict.fromkeys(args.dense or []))
    captioners = list(dict.fromkeys(args.captioner or []))
    against = list(dict.fromkeys(args.against or []))
    asked = _lengths(args.windows) if args.windows else ()   # the default's lengths: those the encoder takes
    for path in models + dense + against:
        motion = read_config(path)["model"]["motion"]     # a missing checkpoint is named before any work
        for seconds in asked:
            check_window_length(seconds, motion["patch_frames"], motion["max_frames"], "--windows")
    if against:
        from retrieval.compare import check_same_vocabulary
        check_same_vocabulary(models + against)     # the words placed are the tokenizer's
    for path in captioners:
        read_captioner_config(Path(path))
    if args.json and Path(args.json).is_dir():
        raise WrongPathError(f"{args.json}: is a folder; --json is the file to write")
    if args.proposals == "segments" and (args.windows or args.moment_tolerance is not None):
        from lexmotion.errors import BadValueError
        raise BadValueError("--windows and --moment-tolerance shape fixed windows; --proposals segments cuts its own "
                            "spans where the motion changes and ranks them as they are")
    tolerance = MOMENT_TOLERANCE if args.moment_tolerance is None else args.moment_tolerance
    check_settings("eval moments", moment_tolerance=(tolerance, "probability"))
    device = resolve_device(args.device)
    sequences = build_sequences(args.data, args.split, args.parts, args.sequences, args.seed)
    result = {"data": str(args.data), "split": args.split,
              **evaluate_moments(models, sequences, args.seed, tuple(dense), device, progress=not args.quiet,
                                 against=tuple(against), querybank=args.querybank,
                                 serving=served_overrides(args),
                                 tolerance=tolerance, lengths=asked or WINDOWS_S,
                                 proposals=args.proposals)}
    result["captioners"] = [localise_captions(c, sequences, device, progress=not args.quiet) for c in captioners]
    print(format_moments(result))
    if args.json:
        write_json(Path(args.json), result)
        print(f"wrote {args.json}")
    return 0


def _lengths(text: str) -> tuple[float, ...]:
    """--windows "2,4,8" -> (2.0, 4.0, 8.0), each length once, in the order given."""
    from lexmotion.errors import BadValueError
    try:
        lengths = tuple(dict.fromkeys(float(x) for x in text.split(",")))
    except ValueError:
        raise BadValueError(f"--windows takes window lengths in seconds, separated by commas (e.g. 2,4,8), "
                            f"not {text!r}") from None
    return lengths
