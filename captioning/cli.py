"""``lexmotion caption train|eval|describe|analyze``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from captioning.rerank import DEFAULT_NEIGHBOURS
from lexmotion.device import add_device_option
from lexmotion.errors import LexmotionError, check_settings
from lexmotion.files import check_output_folder

DEFAULT_GUIDE_WEIGHT = 0.0     # off: guidance cost BLEU@4 and CIDEr (docs/results/captioning.md)


def add_caption_commands(groups) -> None:
    caption = groups.add_parser(
        "caption", help="train, evaluate and explain motion captioners (guided, local, lexical backbone)",
        description="Interpretable motion captioning: the guided-attention captioner (spatial attention over six "
                    "body parts, Gaussian temporal attention, adaptive gate beta) and Motion2Language's recurrent "
                    "local attention captioner, on their own encoders or on a pretrained lexical motion encoder.")
    cmds = caption.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    _add_train(cmds)
    _add_eval(cmds)
    _add_describe(cmds)
    _add_analyze(cmds)


def _add_train(cmds) -> None:
    """`lexmotion caption train`, its defaults those of CaptionerConfig and CaptionTrainConfig."""
    from captioning.model import DEFAULT_HIDDEN, CaptionerConfig
    from captioning.train import SELECT, CaptionTrainConfig
    tr = cmds.add_parser(
        "train", help="train a captioner on a dataset folder",
        description="Train a captioner with teacher forcing. After every epoch the selection set (the validation "
                    "split plus a held-out 10% of the training split, the same clips for every seed) is captioned "
                    "greedily; the epoch with the best CIDEr is kept in OUT, the latest in OUT/last. A frozen "
                    "lexical backbone is run once per clip, not at every step. Run again with the same --out to "
                    "resume.",
        epilog="examples:\n"
               "  lexmotion caption train --arch guided --encoder parts --data data/kitml --out cap/guided "
               "--lambda-spat 2 --lambda-adapt 3\n"
               "  lexmotion caption train --arch local --encoder mlp --data data/kitml --out cap/local\n"
               "  lexmotion caption train --arch guided --encoder lexical:runs/kit/lexcmlp --data data/kitml "
               "--out cap/lex",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    model, train = CaptionerConfig(), CaptionTrainConfig()      # every default below is theirs
    tr.add_argument("--arch", choices=["guided", "local"], default=model.arch,
                    help=f"guided: guided-attention captioner; local: GRU with recurrent local attention "
                         f"(default {model.arch})")
    tr.add_argument("--encoder", default=model.encoder,
                    help="parts (per-part FC encoder), mlp, gru, bigru, or lexical:CKPT (a pretrained lexical "
                         f"checkpoint folder); guided needs parts or lexical (default {model.encoder})")
    tr.add_argument("--finetune", action="store_true", help="lexical encoder: train the backbone too (default frozen)")
    tr.add_argument("--data", required=True, help="a dataset folder from `lexmotion data build` (train and val splits)")
    tr.add_argument("--out", required=True, help="the captioner folder to write (or resume)")
    tr.add_argument("--lambda-spat", type=float, default=train.lambda_spat,
                    help=f"weight of the spatial-attention guidance loss (default {train.lambda_spat:g})")
    tr.add_argument("--lambda-adapt", type=float, default=train.lambda_adapt,
                    help=f"weight of the adaptive-gate guidance loss (default {train.lambda_adapt:g})")
    tr.add_argument("--epochs", type=int, default=train.epochs, help=f"epochs (default {train.epochs})")
    tr.add_argument("--batch-size", type=int, default=train.batch_size, help=f"batch size (default {train.batch_size})")
    tr.add_argument("--lr", type=float, default=train.lr, help=f"learning rate (default {train.lr:g}; a fine-tuned "
                                                               f"backbone uses {train.backbone_lr:g})")
    tr.add_argument("--hidden", type=int, help="decoder hidden size (default: guided "
                                               f"{DEFAULT_HIDDEN['guided']}, local {DEFAULT_HIDDEN['local']})")
    tr.add_argument("--window", type=float, default=model.window,
                    help=f"local: attention window D in encoder steps (default {model.window:g})")
    tr.add_argument("--no-truncate", action="store_true", help="local: no truncation mask during training")
    tr.add_argument("--min-count", type=int, default=train.min_count,
                    help=f"words seen fewer times become <unk> (default {train.min_count})")
    tr.add_argument("--mirror", type=float, default=train.mirror_prob,
                    help=f"probability of a mirrored training pair (default {train.mirror_prob:g})")
    tr.add_argument("--lm-corpus", action="append", default=[], metavar="DIR",
                    help="a kitml-text folder: first train the decoder as a language model on its training captions "
                         "(those of this data's val/test clips and held-out slice left out); repeatable")
    tr.add_argument("--lm-epochs", type=int, default=train.lm_epochs,
                    help=f"epochs of that language pretraining (default {train.lm_epochs})")
    tr.add_argument("--label-smoothing", type=float, default=train.label_smoothing,
                    help=f"label smoothing of the word loss (default {train.label_smoothing:g})")
    tr.add_argument("--val-split", default=train.val_split,
                    help=f"split for epoch selection, with the held-out slice (default {train.val_split})")
    tr.add_argument("--holdout", type=float, default=train.holdout,
                    help="share of the training split held out (not trained on) for epoch selection; 0 = the "
                         f"validation split alone (default {train.holdout:g})")
    tr.add_argument("--select", choices=list(SELECT), default=train.select,
                    help=f"the selection score (default {train.select})")
    tr.add_argument("--seed", type=int, default=train.seed, help="random seed; train several and pass them all to "
                                                                 f"`caption eval --model` for mean ± std (default {train.seed})")
    add_device_option(tr, "where the captioner trains")
    tr.add_argument("--wandb", choices=["offline", "online", "disabled"], default=train.wandb, help=f"default {train.wandb}")
    tr.add_argument("--quiet", action="store_true", help="no progress bars")
    tr.set_defaults(run=run_train)


def _add_eval(cmds) -> None:
    """`lexmotion caption eval`."""
    ev = cmds.add_parser(
        "eval", help="caption a split and score it (BLEU@1/4, ROUGE-L, CIDEr, BERTScore); several runs: mean ± std",
        description="Caption every clip of a split (kitml-cmu duplicates removed) and score the captions against "
                    "all references: BLEU@1, BLEU@4, ROUGE-L, CIDEr (pycocoevalcap) and BERTScore F1 (local MiniLM, "
                    "layer 6, no rescaling), x100. Several --model folders (seeds) give one row each and their "
                    "mean ± std. A captioner with a lexical backbone decodes with consensus reranking by default "
                    "(--rerank: the beam's hypotheses compete with the motion's nearest training captions). "
                    "--baseline nearest scores the nearest-caption baseline instead: each motion gets "
                    "the training caption that a retrieval checkpoint (lexical or dense) ranks first; --baseline "
                    "consensus, the one of its --rerank K first that the others agree with most. Writes the "
                    "JSON and, next to it, the predictions (JSON.predictions.jsonl, one file per run).",
        epilog="examples:\n"
               "  lexmotion caption eval --model cap/lex-0 cap/lex-1 cap/lex-2 --data data/kitml --json r.json\n"
               "  lexmotion caption eval --model cap/lex-0 --data data/kitml --guide-weight 2\n"
               "  lexmotion caption eval --model cap/parts-0 --guide-model runs/g0/lexcmlp --guide-weight 2 "
               "--data data/kitml\n"
               "  lexmotion caption eval --baseline nearest --model runs/g0/lexcmlp runs/g1/lexcmlp --data data/kitml\n"
               "  lexmotion caption eval --model cap/parts-0 cap/parts-1 --rerank-model runs/g0/lexcmlp runs/g1/lexcmlp "
               "--data data/kitml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ev.add_argument("--model", required=True, nargs="+",
                    help="captioner folders from `lexmotion caption train` (one per seed); with --baseline nearest, "
                         "retrieval checkpoints")
    ev.add_argument("--baseline", choices=["nearest", "consensus"],
                    help="nearest: copy the training caption the retrieval checkpoint ranks first for each motion; "
                         "consensus: of its --rerank K (default 20) first, copy the one the others agree with most")
    ev.add_argument("--data", required=True, help="a dataset folder")
    ev.add_argument("--split", default="test",
                    help="default test; `selection`: each captioner's own selection set (val + its held-out training "
                         "slice, neighbours only from the clips it trained on), for choosing decoding settings")
    dec = ev.add_mutually_exclusive_group()
    dec.add_argument("--beam", type=int, default=2, help="beam size (default 2, length-normalised)")
    dec.add_argument("--greedy", action="store_true", help="greedy decoding")
    ev.add_argument("--synergy", metavar="OTHER_MODEL", nargs="+",
                    help="motion synergetic decoding with a second captioner (same data and vocabulary); one per "
                         "--model, paired in order")
    ev.add_argument("--synergy-components", default="1,2,3,4,5",
                    help="synergy terms L1..L5 to use, e.g. 1,2,3 or none (ablation; default all)")
    ev.add_argument("--no-prune", action="store_true", help="synergy: no distribution pruning (ablation)")
    ev.add_argument("--guide-weight", type=float, default=None,
                    help="lexically guided decoding: add this weight times each caption word's bonus (its motion's "
                         "lexical weight, matched by stem, scaled to [0, 1]) to the next-word log-probabilities; "
                         f"0 = off (default {DEFAULT_GUIDE_WEIGHT:g}: on kitml-cmu it raised word use and BERTScore but "
                         f"lowered BLEU@4 and CIDEr; docs/results/captioning.md)")
    ev.add_argument("--guide-model", metavar="CKPT",
                    help="a lexical retrieval checkpoint whose motion words guide (default: the captioner's own "
                         "lexical backbone; needed for other encoders)")
    ev.add_argument("--guide-top", type=int, default=20, help="how many of the motion's top words count (default 20)")
    _add_rerank_options(ev)
    ev.add_argument("--rerank-data", metavar="DATA",
                    help="--rerank: the dataset whose training captions are the neighbours (default: --data's; "
                         "give the captioner's training data to score motions from elsewhere as `caption describe` "
                         "captions them)")
    ev.add_argument("--json", help="write the scores here (and the predictions, each with its source, to "
                                   "JSON.predictions.jsonl)")
    add_device_option(ev, "where captions are decoded and scored")
    ev.set_defaults(run=run_eval)


def _add_describe(cmds) -> None:
    """`lexmotion caption describe`."""
    de = cmds.add_parser(
        "describe", help="caption one motion file and draw its attention figure",
        description="Caption one motion (a .npy of joints (frames, joints, 3) or a .bvh). The figure shows, per "
                    "generated word, the attention over body parts x time, beta, and the word's time window.",
        epilog="example: lexmotion caption describe --model cap/guided --motion clip.bvh --figure clip.png")
    de.add_argument("--model", required=True, help="a captioner folder")
    de.add_argument("--motion", required=True, help="a .npy (frames, joints, 3) or a .bvh file")
    de.add_argument("--skeleton", help=".npy: registered skeleton (default by joint count: 21 kitml-cmu, 22 humanml3d)")
    de.add_argument("--fps", type=float, default=20.0, help=".npy: its frame rate (default 20)")
    de.add_argument("--beam", type=int, default=2, help="beam size (default 2; 1 = greedy)")
    de.add_argument("--no-repeat", type=int, default=0, metavar="N",
                    help="forbid repeating any N-gram of words (default 0: off, as in evaluation)")
    de.add_argument("--guide-weight", type=float, default=None,
                    help=f"lexically guided decoding weight (default {DEFAULT_GUIDE_WEIGHT:g}; see `caption eval --help`)")
    de.add_argument("--guide-model", metavar="CKPT", help="a lexical checkpoint whose motion words guide and are shown "
                                                           "(default: the captioner's own lexical backbone)")
    de.add_argument("--guide-top", type=int, default=20, help="how many of the motion's top words count (default 20)")
    _add_rerank_options(de)
    de.add_argument("--rerank-data", metavar="DATA",
                    help="--rerank: the dataset whose training captions are the neighbours (default: the one the "
                         "captioner was trained on)")
    de.add_argument("--figure", help="write the attention figure here; the format follows the suffix (.png, .pdf, .svg)")
    de.add_argument("--json", action="store_true", help="print the caption and per-word attention as JSON")
    de.set_defaults(run=run_describe)


def _add_analyze(cmds) -> None:
    """`lexmotion caption analyze`."""
    an = cmds.add_parser(
        "analyze", help="attention statistics over a test set (beta densities, part histograms, localisation)",
        description="Over a split: beta densities of motion vs non-motion words, per motion word the histogram "
                    "of the most attended part, action localisation from the temporal window, and (Bandai labels) "
                    "the body-part accuracy of the spatial attention. Writes figures and analysis.json to OUT.")
    an.add_argument("--model", required=True, help="a guided captioner folder")
    an.add_argument("--data", required=True, help="a dataset folder")
    an.add_argument("--split", default="test", help="default test")
    an.add_argument("--out", required=True, help="folder for the figures and analysis.json")
    an.set_defaults(run=run_analyze)


def _add_rerank_options(parser) -> None:
    several = parser.prog.endswith("eval")
    parser.add_argument("--rerank", type=int, default=None, metavar="K",
                        help="consensus reranking: among the beam's hypotheses and the K training captions a retrieval "
                             "checkpoint ranks first for the motion, keep the one those K agree with most (CIDEr-D); "
                             f"0 = off (default {DEFAULT_NEIGHBOURS} when the captioner has a lexical backbone or "
                             "--rerank-model is given, else off" + ("" if several else
                             ", and off for a motion on a skeleton the neighbours' data does not hold") +
                             "; docs/captioning.md)")
    parser.add_argument("--rerank-model", metavar="CKPT", nargs="+" if several else None,
                        help="--rerank: the retrieval checkpoint (lexical or dense) that finds the neighbours "
                             "(default: the captioner's own lexical backbone checkpoint; needed for other encoders)"
                             + ("; one for all --model folders, or one per --model, paired in order" if several else ""))


def run_train(args) -> int:
    from captioning.model import DEFAULT_HIDDEN, CaptionerConfig
    from captioning.train import CaptionTrainConfig, train_captioner
    hidden = args.hidden or DEFAULT_HIDDEN[args.arch]
    config = CaptionerConfig(arch=args.arch, encoder=args.encoder, finetune=args.finetune, hidden=hidden,
                             window=args.window, truncate=not args.no_truncate)
    train = CaptionTrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                               lambda_spat=args.lambda_spat, lambda_adapt=args.lambda_adapt, min_count=args.min_count,
                               mirror_prob=args.mirror, label_smoothing=args.label_smoothing, seed=args.seed,
                               device=args.device, wandb=args.wandb, val_split=args.val_split, holdout=args.holdout,
                               select=args.select, lm_corpus=tuple(args.lm_corpus), lm_epochs=args.lm_epochs)
    result = train_captioner(args.data, args.out, config, train, progress=not args.quiet)
    print(f"{args.out}: best selection {result['select']} {result['best']:.2f} at epoch {result['best_epoch']} "
          f"of {result['epochs']}")
    return 0


def _components(text: str) -> tuple:
    if text.strip().lower() in ("none", ""):
        return ()
    try:
        out = tuple(sorted({int(x) for x in text.split(",")}))
    except ValueError:
        raise LexmotionError(f"--synergy-components takes numbers 1-5 separated by commas, got {text!r}") from None
    if not set(out) <= {1, 2, 3, 4, 5}:
        raise LexmotionError(f"--synergy-components takes numbers 1-5, got {text!r}")
    return out


def _check_folders(paths: list[str], what: str, read) -> None:
    """Name a missing or wrong run before any work starts."""
    for path in paths:
        read(path)
    if len(set(paths)) != len(paths):
        raise LexmotionError(f"{what}: the same folder is given twice")


def run_eval(args) -> int:
    """`lexmotion caption eval`: each captioner (or baseline) on the split, a table, then mean ± std."""
    check_settings("caption eval", beam=(args.beam, "count"), guide_top=(args.guide_top, "count"),
                   rerank=(args.rerank, "non-negative"))
    from lexmotion.device import resolve_device
    args.device = str(resolve_device(args.device))
    from captioning.evaluate import TABLE_HEADER, aggregate, markdown_row
    from lexmotion.files import write_json
    if args.json and Path(args.json).is_dir():
        raise LexmotionError(f"{args.json}: is a folder; --json is the file to write")
    _check_eval_models(args)
    rerank_models = args.rerank_model or [None]
    if len(rerank_models) not in (1, len(args.model)):
        raise LexmotionError(f"--rerank-model: give one checkpoint for all, or one per --model ({len(args.model)}), "
                             f"not {len(rerank_models)}")
    rerank_models = rerank_models * (len(args.model) // len(rerank_models))
    from captioning.decoding import SynergyOptions
    decoding = {"options": SynergyOptions(components=_components(args.synergy_components), prune=not args.no_prune),
                "guide_weight": _guide_weight(args)}          # checked once, before any captioner runs
    results = [{"model": path, **_evaluate_one(args, i, path, rerank_models[i], decoding)}
               for i, path in enumerate(args.model)]
    print(TABLE_HEADER)
    for r in results:
        print(markdown_row(r["model"], r))
    summary = aggregate(results) if len(results) > 1 else None
    if summary:
        print(markdown_row(f"mean ± std over {len(results)} runs", summary))
    _print_caption_notes(results)
    if args.json:
        write_json(Path(args.json), results[0] if summary is None else {"runs": results, "mean_std": summary})
        print(f"wrote {args.json} and the predictions next to it")
    return 0


def _check_eval_models(args) -> None:
    """The --model folders (captioners, or retrieval checkpoints for a baseline) and the options they allow."""
    if args.baseline:
        from lexmotion.models.checkpoint import read_config
        if args.synergy or args.guide_model or args.guide_weight or args.rerank_model or args.rerank_data or (
                args.rerank and args.baseline == "nearest"):
            raise LexmotionError(f"--baseline {args.baseline} copies captions: --synergy, --guide-*, --rerank-model "
                                 f"and --rerank-data do not apply" + (", nor --rerank" if args.baseline == "nearest" else ""))
        _check_folders(args.model, "--model", read_config)
        return
    from captioning.model import read_captioner_config
    _check_folders(args.model, "--model", read_captioner_config)
    if args.synergy:
        if len(args.synergy) != len(args.model):
            raise LexmotionError(f"--synergy: give one folder per --model ({len(args.model)}), not {len(args.synergy)}")
        _check_folders(args.synergy, "--synergy", read_captioner_config)


def _evaluate_one(args, i: int, path: str, rerank_model, decoding: dict) -> dict:
    """The i-th --model's scores (and its predictions beside --json)."""
    from captioning.evaluate import evaluate_captioner, evaluate_nearest
    preds = f"{args.json}.predictions.jsonl" if args.json else None
    if preds and len(args.model) > 1:
        preds = f"{args.json}.{i}.predictions.jsonl"
    if args.baseline:
        k = (args.rerank or DEFAULT_NEIGHBOURS) if args.baseline == "consensus" else 0
        result = evaluate_nearest(path, args.data, args.split, args.device, predictions_out=preds, consensus=k)
        if k:
            result["decoding"] += f"; --rerank {k}"
        return result
    return evaluate_captioner(path, args.data, args.split, 1 if args.greedy else args.beam,
                              args.synergy[i] if args.synergy else None, decoding["options"], args.device,
                              predictions_out=preds, guide_weight=decoding["guide_weight"], guide_model=args.guide_model,
                              guide_top=args.guide_top, rerank=_rerank(args, path), rerank_model=rerank_model,
                              rerank_data=args.rerank_data)


def _print_caption_notes(results: list[dict]) -> None:
    print(f"decoding: {results[0]['decoding']}; {results[0]['duplicates_removed']} duplicate clips removed")
    for r in results:
        if "from_captioner" in r:
            print(f"{r['model']}: {r['from_captioner']:.1%} of the captions are the captioner's own, the rest "
                  f"are training captions chosen by consensus")
    for r in results:
        if "lexical_words" in r:
            w = r["lexical_words"]
            print(f"{r['model']}: {w['content_words_in_top']:.1%} of the captions' content words are among their "
                  f"motion's top {w['top']} words ({w['source']}); references: "
                  f"{w['references']['content_words_in_top']:.1%}")


def _rerank(args, captioner: str) -> int:
    """--rerank, or its default: DEFAULT_NEIGHBOURS where neighbours can be found (the captioner's own
    lexical backbone checkpoint, or --rerank-model; for describe, the captioner's training data or
    --rerank-data), else 0 with a one-line note when the captioner names folders that are gone."""
    if args.rerank is not None:
        return args.rerank
    from captioning.model import read_captioner_config
    cfg = read_captioner_config(captioner)
    encoder = cfg["captioner"]["encoder"]
    if not (encoder.startswith("lexical:") or args.rerank_model):
        return 0
    needed = [] if args.rerank_model else [encoder.split(":", 1)[1]]     # (a named one may be a hub id)
    if getattr(args, "rerank_data", None) is None and not hasattr(args, "data"):
        needed.append(cfg["train"].get("data") or "(no training data named)")
    missing = [p for p in needed if not Path(p).exists()]
    if missing:
        print(f"note: {captioner}: {missing[0]} is not here, so no consensus reranking (give --rerank-model"
              f"{'' if hasattr(args, 'data') else ' / --rerank-data'}, or --rerank 0 to silence this)", file=sys.stderr)
        return 0
    return DEFAULT_NEIGHBOURS


def _guide_weight(args) -> float:
    """--guide-weight, checked, or the default."""
    if args.guide_weight is None:
        return DEFAULT_GUIDE_WEIGHT
    if not 0 <= args.guide_weight < float("inf"):
        raise LexmotionError(f"--guide-weight must be a number of at least 0, not {args.guide_weight}")
    return args.guide_weight


def run_describe(args) -> int:
    check_settings("caption describe", beam=(args.beam, "count"), guide_top=(args.guide_top, "count"),
                   rerank=(args.rerank, "non-negative"))
    from captioning.analysis import describe_file
    weight = _guide_weight(args)
    result = describe_file(args.model, args.motion, skeleton=args.skeleton, fps=args.fps, beam=args.beam,
                           figure=args.figure, no_repeat=args.no_repeat, guide_weight=weight,
                           guide_model=args.guide_model, guide_top=args.guide_top, rerank=_rerank(args, args.model),
                           rerank_model=args.rerank_model, rerank_data=args.rerank_data,
                           rerank_other_skeletons=args.rerank is not None)
    if result.get("note"):
        print(f"note: {result['note']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(result["caption"])
        if result.get("rerank"):
            print(f"  chosen by consensus of the motion's {result['rerank']} nearest training captions: "
                  + ("the captioner's own" + (f" (beam hypothesis {result['rank'] + 1})" if result["rank"] else "")
                     if result["source"] == "captioner" else f"training caption, neighbour {result['rank'] + 1}"))
        if "motion_words" in result:
            print(f"  motion's top words: {', '.join(result['motion_words'][:10])}")
            print(f"  used in the caption: {', '.join(result['motion_words_used']) or 'none'}"
                  f" (guidance weight {weight:g})")
        for w in result["words"]:
            extra = f"  top part {w['top_part']}" if w.get("top_part") else ""
            span = w.get("span_seconds")
            span = f"  {span[0]:.1f}-{span[1]:.1f} s" if span else ""
            beta = f"  beta {w['beta']:.2f}" if w.get("beta") is not None else ""
            print(f"  {w['word']:<14}{beta}{extra}{span}")
        if args.figure:
            print(f"wrote {args.figure}")
    return 0


def run_analyze(args) -> int:
    from captioning.analysis import analyze
    result = analyze(args.model, args.data, args.split, check_output_folder(args.out))
    print(json.dumps(result["summary"], indent=2))
    print(f"wrote figures and analysis.json to {args.out}")
    return 0
