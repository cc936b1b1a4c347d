"""The ``lexmotion`` command line.

Every command is a ``main(argv)``-style function that tests call directly.
Problems with the user's input print one line (``error: ...``) and exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lexmotion import __version__
from lexmotion.data.limits import DEFAULT_LIMITS
from lexmotion.device import add_device_option
from lexmotion.errors import LexmotionError


def _cmd_data_build(args) -> int:
    from lexmotion.data.dataset import build_dataset
    options = {"skeleton": args.skeleton, "fps": args.fps, "captions": args.captions,
               "scale": args.scale, "up_axis": args.up_axis, "extra_captions": args.extra_captions}
    if args.extra_captions and args.source != "kitml-cmu":
        raise LexmotionError(f"--extra-captions applies to the kitml-cmu source, not {args.source}")
    report = build_dataset(args.source, args.root, args.out, overwrite=args.overwrite,
                           progress=not args.quiet, **options)
    splits = ", ".join(f"{k} {v}" for k, v in report["splits"].items())
    print(f"built {args.out}: {report['clips']} clips ({splits}), {report['captions']} captions, "
          f"{report['num_skipped']} skipped, in {report['seconds']} s")
    if list(report["splits"]) == ["train"]:
        print("  every clip is in split train: `index build` and `tag` take them with --split all")
    for s in report["skipped"][:10]:
        print(f"  skipped: {s['reason']}" if s["reason"].startswith(s["item"]) else f"  skipped {s['item']}: {s['reason']}")
    if report["num_skipped"] > 10:
        print(f"  ... and {report['num_skipped'] - 10} more: see {Path(args.out) / 'build_report.json'}")
    return 0


def _cmd_data_info(args) -> int:
    from lexmotion.data.dataset import dataset_info, format_info
    info = dataset_info(args.dir, top_words=args.top)
    print(json.dumps(info, indent=1) if args.json else format_info(info))
    return 0


def _cmd_data_render(args) -> int:
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.data.render import render_gif
    ds = MotionDataset(args.dir)
    row = ds.row(ds.find(args.id))
    title = row["texts"][0] if row["texts"] else row["id"]
    if row["caption_source"] == "label":
        title += " (label-derived)"
    render_gif(row["joints"], float(row["fps"]), ds.skeleton(row["skeleton"]), args.out, title=title)
    print(f"wrote {args.out} ({row['id']}: {title})")
    return 0


def _cmd_data_skeletons(args) -> int:
    from lexmotion.data.skeletons import REGISTRY
    if args.json:
        print(json.dumps({n: s.to_dict() for n, s in REGISTRY.items()}, indent=1))
        return 0
    for s in REGISTRY.values():
        print(f"{s.name}: {s.num_joints} joints. {s.description}")
        for part, joints in s.parts.items():
            print(f"  {part:<10} {', '.join(joints)}")
    return 0


def _cmd_pretrain(args) -> int:
    from pretrain.cli import run
    return run(args)


def _cmd_demo(args) -> int:
    from lexmotion.app.demo import run_demo
    return run_demo(out=args.out, quick=args.quick)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lexmotion",
        description="Sparse lexical motion-language toolkit: build motion datasets, pretrain, search, caption.",
        epilog="Start with `lexmotion demo`, then `lexmotion data build --help`.")
    parser.add_argument("--version", action="version", version=f"lexmotion {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)

    _add_data_commands(groups)
    _add_pretrain_command(groups)
    _add_eval_commands(groups)
    _add_index_and_search_commands(groups)
    from captioning.cli import add_caption_commands
    add_caption_commands(groups)
    _add_explain_command(groups)
    _add_tag_command(groups)
    _add_serve_command(groups)
    _add_export_command(groups)
    _add_demo_command(groups)
    return parser


def _add_data_commands(groups) -> None:
    """`lexmotion data build / info / render / skeletons`."""
    data = groups.add_parser("data", help="build, inspect and render motion datasets",
                             description="Build, inspect and render motion datasets.")
    data_cmds = data.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)

    build = data_cmds.add_parser(
        "build", help="import a motion source into a dataset folder",
        description="Import motions and captions into an Arrow dataset folder (datasets.load_from_disk opens it). "
                    "Bad clips are skipped and listed in OUT/build_report.json; the rest is built.",
        epilog="examples:\n"
               "  lexmotion data build kitml-cmu --root ../shared/data/kitml-cmu --out data/kitml\n"
               "  lexmotion data build bandai --root bandai-namco-motion-2.tar.gz --out data/bandai\n"
               "  lexmotion data build guo --root HumanML3D --out data/hml3d\n"
               "  lexmotion data build bvh --root my_bvh_folder --out data/mine",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    build.add_argument("source", choices=["kitml-cmu", "bandai", "guo", "bvh"],
                       help="kitml-cmu: joints/*.npy + annotations.jsonl; bandai: a Bandai Namco Research "
                            "Motiondataset 1 or 2 tarball or folder (captions are label-derived); guo: the "
                            "HumanML3D/KIT-ML layout (new_joints/, texts/, split files); bvh: any folder of BVH "
                            "files plus an optional captions.jsonl")
    build.add_argument("--root", required=True, help="the source folder, or a tarball of one (bandai; kitml-cmu's layout, "
                                                     "e.g. ../shared/data/cmu-extra.tar.xz)")
    build.add_argument("--extra-captions", metavar="TSV",
                       help="kitml-cmu: cmu-extra's descriptions.tsv, or the cmu-extra archive holding it; each clip "
                            "also gets CMU's description of its trial as a caption of source cmu-description")
    build.add_argument("--out", required=True, help="the dataset folder to write")
    build.add_argument("--overwrite", action="store_true",
                       help="replace OUT when it holds an earlier dataset; any other folder is never replaced")
    build.add_argument("--skeleton", choices=["humanml3d", "kitml-mmm"], help="guo: the skeleton (default: by joint count)")
    build.add_argument("--fps", type=float, help="guo: source frame rate (default: 20 for HumanML3D, 12.5 for KIT-ML)")
    build.add_argument("--captions", help="bvh: the captions JSON-lines file (default: ROOT/captions.jsonl)")
    build.add_argument("--scale", type=float, help="bvh: factor from file units to metres (default: guessed)")
    build.add_argument("--up-axis", choices=["y", "z"], default="y", help="bvh: the files' up axis (default: y)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(run=_cmd_data_build)

    info = data_cmds.add_parser("info", help="summarise a dataset folder",
                                description="Clips and captions per split, frame and duration statistics, "
                                            "and the most frequent caption words.")
    info.add_argument("dir", help="a dataset folder written by `lexmotion data build`")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.add_argument("--top", type=int, default=20, help="how many frequent words to list (default: 20)")
    info.set_defaults(run=_cmd_data_info)

    render = data_cmds.add_parser("render", help="draw one clip as an animated stick figure (GIF)",
                                  description="Render one clip of a dataset as an animated stick figure, "
                                              "with its caption as the title.")
    render.add_argument("dir", help="a dataset folder")
    render.add_argument("id", help="the clip id (see `lexmotion data info` or the dataset's id column)")
    render.add_argument("--out", required=True, help="the GIF file to write")
    render.set_defaults(run=_cmd_data_render)

    skel = data_cmds.add_parser("skeletons", help="list the registered skeletons and their body parts",
                                description="List the registered skeletons, their six body parts and joints.")
    skel.add_argument("--json", action="store_true", help="print the full definitions as JSON")
    skel.set_defaults(run=_cmd_data_skeletons)


def _add_pretrain_command(groups) -> None:
    """`lexmotion pretrain PHASE`."""
    from pretrain.cli import add_arguments
    pretrain = groups.add_parser(
        "pretrain", help="run a pretraining phase (lexmlm, cmmm, lexmmm, lexcmlp, dense, all)",
        description="Pretrain the lexical motion-language model phase by phase, or the dense baseline. Each phase "
                    "writes a checkpoint folder (safetensors weights, config, statistics, vocabulary, metrics) and "
                    "resumes where it stopped when run again with the same --out. Under torchrun every phase runs "
                    "with DDP; on CUDA it uses bf16 autocast.",
        epilog="examples:\n"
               "  lexmotion pretrain all --data data/kitml --out runs/kit --text-corpus ../shared/data/kitml-text\n"
               "  lexmotion pretrain dense --data data/kitml --out runs/kit-dense\n"
               "  torchrun --nproc_per_node=4 -m lexmotion.app.cli pretrain lexcmlp --data data/kitml --out runs/x",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(pretrain)
    pretrain.set_defaults(run=_cmd_pretrain)


def _add_eval_commands(groups) -> None:
    """`lexmotion eval retrieval`."""
    evaluation = groups.add_parser("eval", help="evaluate checkpoints: retrieval, B vs A with intervals, motion words, moments",
                                   description="Evaluate a pretrained checkpoint.")
    eval_cmds = evaluation.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    ret = eval_cmds.add_parser(
        "retrieval", help="text-to-motion and motion-to-text retrieval under TMR's protocols",
        description="R@1/2/3/5/10 and MedR (ties averaged), both directions, under TMR's protocols: all, threshold "
                    "(captions with sentence similarity > 0.95 also count), dissimilar (nsim), batch32 (seed 0). "
                    "kitml-cmu duplicates (same_motion_as) are removed; on label-derived data (Bandai) a hit is "
                    "correct when it has the query's (content, style). Lexical checkpoints also get the grounding "
                    "metrics (caption words among a vector's top words; see docs/grounding.md) and, on label-derived "
                    "data, each action label's share of clips whose top 5 motion words hold the label's words.",
        epilog="examples:\n"
               "  lexmotion eval retrieval --model runs/kit/lexcmlp --data data/kitml --protocol every\n"
               "  lexmotion eval retrieval --model runs/s0/lexcmlp runs/s1/lexcmlp runs/s2/lexcmlp --data data/kitml "
               "--json seeds.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ret.add_argument("--model", required=True, nargs="+", action="extend",
                     help="checkpoint folder(s) from `lexmotion pretrain`; several (e.g. seeds) give mean ± std")
    ret.add_argument("--data", required=True, help="a dataset folder")
    ret.add_argument("--split", default="test", help="split to evaluate (default: test)")
    ret.add_argument("--protocol", default="all",
                     choices=["all", "threshold", "dissimilar", "batch32", "every", "normal", "nsim", "guo"],
                     help="the protocol, or `every` for all four (default: all); TMR's names normal, nsim and guo "
                          "mean all, dissimilar and batch32 (TMR's own `all` is our `every`)")
    ret.add_argument("--sentence-model", metavar="NAME_OR_PATH",
                     help="threshold / dissimilar: the sentence model for caption similarity (default: the offline "
                          "MiniLM; TMR uses sentence-transformers/all-mpnet-base-v2, loaded from the local cache)")
    ret.add_argument("--nsim-list", help="dissimilar: TMR's nsim_test.txt (used if 90%% of its ids are in the split)")
    ret.add_argument("--json", help="write the result(s) as JSON here")
    ret.add_argument("--own-word-floor", type=float, metavar="SHARE",
                     help="lexical: override the checkpoint's own-word floor (each clean word of a caption raised to "
                          "SHARE of its text vector's largest weight; default 1); 0 scores the network's text "
                          "vectors as they are")
    ret.add_argument("--motion-max-words", type=int, metavar="K",
                     help="lexical: override the checkpoint's motion pruning (each motion vector keeps its K "
                          "largest words; 0 keeps all; default: the checkpoint's, 256 for new ones)")
    add_served_motion_options(ret)
    add_querybank_option(ret)
    add_device_option(ret, "where the models encode")
    ret.set_defaults(run=lambda args: __import__("retrieval.evaluate", fromlist=["main_eval"]).main_eval(args))
    _add_compare_command(eval_cmds)
    _add_words_command(eval_cmds)
    _add_moments_command(eval_cmds)


def add_querybank_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-querybank", dest="querybank", action="store_false",
                   help="rank text-to-motion by the plain cosine, without each clip's hub prior from the "
                        "checkpoint's query bank (the default uses it when the checkpoint has one, as its indexes do)")


def add_served_motion_options(parser) -> None:
    """--mirror-average, --long-motion and --window-frame: how served motion vectors are made, overriding the
    checkpoint's config for one run (``lexmotion.models.model.served_overrides``)."""
    from lexmotion.models.validate import LONG_MOTIONS, WINDOW_FRAMES
    parser.add_argument("--mirror-average", action=argparse.BooleanOptionalAction, default=None,
                        help="override the checkpoint's mirror averaging: each motion vector the mean of the clip's "
                             "and its left/right mirror image's (left and right words swapped back); default: the "
                             "checkpoint's, off unless its config turns it on")
    parser.add_argument("--long-motion", choices=LONG_MOTIONS,
                        help="override how a clip longer than the encoder's window is encoded: centre (its centred "
                             "crop) or windows (windows of the encoder's length overlapping by half, pooled as the "
                             "patches are); default: the checkpoint's, centre unless its config says windows")
    parser.add_argument("--window-frame", choices=WINDOW_FRAMES,
                        help="override how a window of a longer motion is read: own (as a clip of its own, facing "
                             "forward at its first frame, as an upload of the same frames is read) or clip (in the "
                             "whole motion's first-frame frame, as earlier versions read it); default: the checkpoint's, "
                             "clip unless its config says own")


def _add_words_command(eval_cmds) -> None:
    """`lexmotion eval words`."""
    words = eval_cmds.add_parser(
        "words", help="motion words as taggers: AP, precision and recall of each caption word",
        description="Score each caption word (inflections grouped; on label-derived data, each action label) "
                    "as a tagger of motions: the clips ranked by their motion vector's weight on the word, against "
                    "the clips whose captions hold it. Prints AP and its chance, precision and recall at the served "
                    "threshold (weight > 0), the share of clips holding the word, and the median non-zero words "
                    "per motion and per text vector as the network makes them (no pruning, no own-word floor). "
                    "Beside it, query AP: the clips ranked by their score against the word typed as a query, the "
                    "only score a dense model gets.",
        epilog="example: lexmotion eval words --model runs/d0/lexcmlp --data data/kitml --json words.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    words.add_argument("--model", required=True, nargs="+", action="extend",
                       help="checkpoint folder(s), lexical or dense; several (seeds) give mean ± std")
    words.add_argument("--data", required=True, help="a dataset folder")
    words.add_argument("--split", default="test", help="split to score (default: test)")
    words.add_argument("--min-positives", type=int, default=3,
                       help="score words held by at least this many clips' captions (default 3)")
    words.add_argument("--json", help="write every word's scores as JSON here")
    words.add_argument("--quiet", action="store_true", help="no progress bars")
    add_served_motion_options(words)
    add_device_option(words, "where the models encode")
    words.set_defaults(run=lambda args: __import__("retrieval.words", fromlist=["main_words"]).main_words(args))


def _add_moments_command(eval_cmds) -> None:
    """`lexmotion eval moments`."""
    from retrieval.segments import PROPOSALS
    mom = eval_cmds.add_parser(
        "moments", help="find the moment: moment retrieval and word localisation in joined real clips",
        description="Join real clips of a split (2-10 s each, duplicates removed, no caption shared inside a "
                    "sequence) into sequences of --parts, seeded, blended at each joint, so every boundary is known. "
                    "Then each part's caption searches windows of 2, 4 and 8 s of all sequences (R@1 and R@5 at "
                    "temporal IoU >= 0.5 and 0.7, with the oracle share; a hit is a moment, grown from its best "
                    "window as a windowed index grows it), and each caption word's timeline peak is "
                    "checked against the parts whose captions hold it (word localisation, beside its chance). "
                    "--dense adds dense checkpoints' sliding windows as a baseline; random scores and a uniform "
                    "timeline are always reported.",
        epilog="example: lexmotion eval moments --model runs/d0/lexcmlp --dense runs/dense0 --data data/kitml "
               "--json moments.json\n"
               "         lexmotion eval moments --model runs/new-s0 runs/new-s1 --against runs/old-s0 runs/old-s1 "
               "--data data/kitml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    mom.add_argument("--model", required=True, nargs="+", action="extend",
                     help="checkpoint folder(s) to score; several (seeds) give mean ± std")
    mom.add_argument("--dense", nargs="+", action="extend", metavar="CKPT",
                     help="dense checkpoint(s) scored the same way, as a baseline")
    mom.add_argument("--against", nargs="+", action="extend", metavar="CKPT",
                     help="checkpoint(s) to compare --model with on the same sequences (seeds of another recipe, or "
                          "dense ones): B − A per metric with a paired 95%% interval over queries, words and seeds")
    mom.add_argument("--captioner", nargs="+", action="extend", metavar="CAP",
                     help="captioner folder(s) (`lexmotion caption train`): where each generated word's attention "
                          "peaks, against the parts whose captions hold it")
    mom.add_argument("--data", required=True, help="a dataset folder")
    mom.add_argument("--split", default="test", help="split whose clips are joined (default: test)")
    mom.add_argument("--parts", type=int, default=3, help="clips per sequence, at least 2 (default 3)")
    mom.add_argument("--sequences", type=int, help="sequences to build (default: as many as the split's clips allow)")
    mom.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    mom.add_argument("--json", help="write the results, per checkpoint and each sequence's layout, as JSON here")
    mom.add_argument("--quiet", action="store_true", help="no progress bars")
    add_served_motion_options(mom)
    mom.add_argument("--querybank", action="store_true",
                     help="score each window by its cosine less its hub prior, for checkpoints with a query bank "
                          "(off by default, as in windowed indexes: on windows it did not help)")
    mom.add_argument("--windows", metavar="S[,S...]",
                     help="the windows' lengths in seconds, each searched every half a length (default 2,4,8, those "
                          "the encoder takes); one length measures what an index of such windows finds "
                          "(`index build --window`)")
    mom.add_argument("--moment-tolerance", type=float, default=None, metavar="T",
                     help="a hit grows from its best window through the overlapping windows that score at least "
                          "(1 - T) of it, as windowed indexes do (0 to 1, default 0.2); 0 ranks single windows")
    mom.add_argument("--proposals", choices=PROPOSALS, default="windows",
                     help="what a query ranks: windows (the default: fixed lengths, see --windows, grown into "
                          "moments) or segments (spans between the points where each sequence's motion changes, "
                          "found by the model itself without the query, ranked as they are; as `index build "
                          "--segments` cuts them)")
    add_device_option(mom, "where the models encode")
    mom.set_defaults(run=lambda args: __import__("lexmotion.app.moments", fromlist=["main_moments"]).main_moments(args))


def _add_compare_command(eval_cmds) -> None:
    """`lexmotion eval compare`."""
    cmp = eval_cmds.add_parser(
        "compare", help="is B better than A? retrieval differences with paired 95%% intervals",
        description="Score two sides of checkpoints (A and B; several each, e.g. seeds) on the same queries, then "
                    "give each metric's difference B − A with a paired bootstrap 95% interval over queries "
                    "(resampling each side's checkpoints too when it has several) and a paired permutation "
                    "p-value. An interval that holds 0 reads \"no measurable difference\".",
        epilog="example:\n  lexmotion eval compare --a runs/dense0 runs/dense1 runs/dense2 "
               "--b runs/d0/lexcmlp runs/d1/lexcmlp runs/d2/lexcmlp --data data/kitml --json compare.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    cmp.add_argument("--a", required=True, nargs="+", action="extend", metavar="CKPT", help="side A's checkpoint(s)")
    cmp.add_argument("--b", required=True, nargs="+", action="extend", metavar="CKPT", help="side B's checkpoint(s)")
    cmp.add_argument("--data", required=True, help="a dataset folder")
    cmp.add_argument("--split", default="test", help="split to score (default: test)")
    cmp.add_argument("--protocol", default="all", choices=["all", "threshold", "dissimilar", "batch32"],
                     help="TMR's protocol to score under (default: all)")
    cmp.add_argument("--sentence-model", metavar="NAME_OR_PATH", help="threshold / dissimilar: as eval retrieval")
    cmp.add_argument("--nsim-list", help="dissimilar: as eval retrieval")
    cmp.add_argument("--resamples", type=int, default=2000, help="bootstrap and permutation resamples (default 2000)")
    cmp.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    cmp.add_argument("--json", help="write the comparison as JSON here")
    cmp.add_argument("--quiet", action="store_true", help="no progress bars")
    add_querybank_option(cmp)
    add_device_option(cmp, "where the models encode")
    cmp.set_defaults(run=lambda args: __import__("retrieval.compare", fromlist=["main_compare"]).main_compare(args))


def _add_index_and_search_commands(groups) -> None:
    """`lexmotion index build` and `lexmotion search`."""
    from retrieval.cli import (
        add_index_arguments,
        add_search_arguments,
        run_index_build,
        run_querybank,
        run_search,
    )
    index = groups.add_parser("index", help="build an index of encoded motions (or captions)",
                              description="Build and manage retrieval indexes.")
    index_cmds = index.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    ib = index_cmds.add_parser("build", help="encode a dataset split with a checkpoint and index it",
                               description="Encode a dataset split with a pretrained checkpoint and index the vectors. "
                                           "The index records its model; searching it with another model is refused.")
    add_index_arguments(ib)
    ib.set_defaults(run=run_index_build)
    qb = index_cmds.add_parser(
        "querybank", help="give an older checkpoint a query bank (each clip's hub prior), in a new folder",
        description="Write a copy of a checkpoint with a query bank: the training captions of --data. Indexes "
                    "built with it store each clip's hub prior, the soft maximum of its cosine to the bank's "
                    "captions, and a text query ranks clips by cosine less prior, so a clip near every caption "
                    "stops coming first for queries that do not describe it (querybank normalisation, "
                    "docs/retrieval.md). LexCMLP and dense write one at their end; the given checkpoint is "
                    "never edited.",
        epilog="example: lexmotion index querybank --model runs/d0/lexcmlp --data data/kitml-desc data/cmu-extra "
               "--out runs/d0/lexcmlp-qb",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    qb.add_argument("--model", required=True, help="a checkpoint folder (lexical or dense)")
    qb.add_argument("--data", required=True, nargs="+", action="extend",
                    help="dataset folder(s) whose train-split captions make the bank (the ones the model trained on)")
    qb.add_argument("--beta", type=float, default=None, help="inverse temperature of the prior (default 25, chosen "
                                                             "on the val splits: docs/results/querybank.md)")
    qb.add_argument("--out", required=True, help="the new checkpoint folder")
    qb.set_defaults(run=run_querybank)
    search = groups.add_parser("search", help="search an index with a text (or a motion), with explanations",
                               description="Search an index with a description, or with a motion (--motion FILE, "
                                           "--like ID: the motions most like it). Each hit shows its id, score, "
                                           "captions and the vocabulary terms that contributed most (term, query "
                                           "weight, item weight).",
                               epilog='examples:\n  lexmotion search --index idx/kit "a person kicks with the left leg" -k 5\n'
                                      '  lexmotion search --index idx/kit --like 03424        # motions like clip 03424\n'
                                      '  lexmotion search --index idx/kit --motion take.bvh   # motions like a file',
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    add_search_arguments(search)
    search.set_defaults(run=run_search)


def _add_explain_command(groups) -> None:
    """`lexmotion explain`."""
    ex = groups.add_parser(
        "explain", help="when each word happens in a motion: its timeline, peaks and a plot",
        description="Place words in a motion's time: each word's activation on every time patch (the lexical "
                    "head's weights that the motion vector's max-pool takes), over the whole clip (clips longer "
                    "than the encoder's window are covered by overlapping windows). Prints each word's weight, "
                    "its peaks and, for a calibrated checkpoint, the spans where the motion shows the word (over "
                    "its threshold, as `tag` and +word read it); --plot draws the timelines and thresholds.",
        epilog="examples:\n  lexmotion explain --model runs/d0/lexcmlp --motion take.bvh --words kick,jump --plot t.png\n"
               "  lexmotion explain --model runs/d0/lexcmlp --data data/cmu-extra --id 13_30 --changes",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ex.add_argument("--model", required=True, help="a lexical checkpoint folder")
    ex.add_argument("--motion", help="a .bvh file, or a .npy of joints (frames, joints, 3)")
    ex.add_argument("--data", help="instead of --motion: a dataset folder, with --id (a hit of `search` on its index)")
    ex.add_argument("--id", help="with --data: the clip's id, as `search` and `data info` show it")
    ex.add_argument("--words", help="comma-separated vocabulary words, e.g. kick,jump (default: the motion's 5 "
                                    "strongest words, each at its largest anywhere in the motion)")
    ex.add_argument("--fps", type=float, default=20.0, help=".npy: its frame rate (default 20)")
    ex.add_argument("--skeleton", help=".npy: registered skeleton (default by joint count: 21 kitml-cmu, 22 humanml3d)")
    ex.add_argument("--max-duration-s", type=float, default=DEFAULT_LIMITS.max_duration_s,
                    help=f"the longest clip read, frames / fps (default {DEFAULT_LIMITS.max_duration_s:g})")
    ex.add_argument("--plot", metavar="OUT.png", help="draw the timelines into this figure (.png, .pdf, .svg)")
    ex.add_argument("--changes", action="store_true",
                    help="also find where the motion changes (as `index build --segments` cuts it) and give each "
                         "stretch between changes, encoded alone, with the words' weights and its own top words")
    ex.add_argument("--json", action="store_true", help="print JSON")
    add_device_option(ex, "where the model encodes")
    ex.set_defaults(run=lambda args: __import__("lexmotion.app.explain", fromlist=["run_explain"]).run_explain(args))


def _add_tag_command(groups) -> None:
    """`lexmotion tag`."""
    tag = groups.add_parser(
        "tag", help="keywords for motions: the words each shows, by calibrated per-word thresholds",
        description="Tag motions (a dataset's clips, or .bvh / .npy files and folders of them) with the words they "
                    "show: each word whose weight in the motion's vector is over its threshold. Thresholds are "
                    "calibrated once per checkpoint on held-back captioned clips (--calibrate writes a new "
                    "checkpoint folder with them; the given one is never edited). Unreadable files are skipped "
                    "and listed; the exit status is 2 only when nothing was tagged.",
        epilog="examples:\n  lexmotion tag --calibrate --model runs/d0/lexcmlp --data data/kitml --out runs/d0/tagger\n"
               "  lexmotion tag --model runs/d0/tagger my_mocap_folder/ --json tags.json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    tag.add_argument("files", nargs="*", help="motion files or folders (.bvh, .npy); or use --data")
    tag.add_argument("--model", required=True, help="a checkpoint with calibrated thresholds (or, with --calibrate, "
                                                    "any lexical checkpoint)")
    tag.add_argument("--data", help="a dataset folder: tag its clips (with --calibrate: calibrate on its val split "
                                    "and a held-back slice of train)")
    tag.add_argument("--split", default="test", help="--data: the split to tag, or `all` (default: test)")
    tag.add_argument("--calibrate", action="store_true", help="calibrate thresholds into a new checkpoint (--out)")
    tag.add_argument("--out", help="--calibrate: the new checkpoint folder")
    tag.add_argument("--seed", type=int, default=0, help="--calibrate: seed of the held-back train slice (default 0)")
    tag.add_argument("-k", type=int, default=10, help="at most this many words per motion (default 10)")
    tag.add_argument("--fps", type=float, default=20.0, help=".npy files: their frame rate (default 20)")
    tag.add_argument("--skeleton", help=".npy files: registered skeleton (default by joint count)")
    tag.add_argument("--max-duration-s", type=float, default=DEFAULT_LIMITS.max_duration_s,
                     help=f"the longest clip read, frames / fps (default {DEFAULT_LIMITS.max_duration_s:g})")
    tag.add_argument("--json", help="write the tags (and what was skipped) as JSON here")
    tag.add_argument("--quiet", action="store_true", help="no progress bars")
    add_device_option(tag, "where the model encodes")
    tag.set_defaults(run=lambda args: __import__("retrieval.tagging", fromlist=["main_tag"]).main_tag(args))


def _add_serve_command(groups) -> None:
    """`lexmotion serve`."""
    serve = groups.add_parser("serve", help="a local search page over an index (needs the [web] extra)",
                              description="Serve a web page that searches an index: a search box (with +word / -word "
                                          "keyword constraints), each hit's animated stick figure, captions and the "
                                          "words behind its score, and a motion-to-text tab for an uploaded .bvh or "
                                          ".npy. Binds to 127.0.0.1 unless --host says otherwise.",
                              epilog="example: lexmotion serve --index idx/kit   (then open http://127.0.0.1:7860/)")
    serve.add_argument("--index", required=True, help="an index of motions from `lexmotion index build`")
    serve.add_argument("--model", help="checkpoint (default: the one the index was built with)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    add_device_option(serve, "encoding and the torch backend")
    serve.add_argument("--max-upload-mb", type=float, default=20.0, help="largest motion file accepted (default 20 MB)")
    serve.add_argument("--max-duration-s", type=float, default=DEFAULT_LIMITS.max_duration_s,
                       help="longest uploaded motion, frames / fps, refused before it is read "
                            f"(default {DEFAULT_LIMITS.max_duration_s:g})")
    serve.add_argument("--request-timeout-s", type=float, default=30.0,
                       help="an upload not read and encoded within this time is answered 503 (default 30)")
    serve.set_defaults(run=lambda args: __import__("lexmotion.app.serve", fromlist=["serve"]).serve(args))


def _add_export_command(groups) -> None:
    """`lexmotion export`."""
    export = groups.add_parser("export", help="write a checkpoint as a folder ready to publish, with a model card",
                               description="Copy a pretraining checkpoint's weights, config, statistics and tokenizer "
                                           "files into OUT with a README.md model card (phase, data and licences, "
                                           "the metrics of metrics.jsonl and sparsity.json, the exact command, usage). "
                                           "Upload OUT to the Hugging Face hub as it is; lexmotion.load(\"hf://OWNER/NAME\") "
                                           "and every --model option then take it.",
                               epilog="example: lexmotion export runs/kit/lexcmlp export/lexmotion-kit && "
                                      "huggingface-cli upload me/lexmotion-kit export/lexmotion-kit")
    export.add_argument("checkpoint", nargs="?", help="a checkpoint folder from `lexmotion pretrain` (or --model)")
    export.add_argument("out", nargs="?", help="the folder to write: a new or empty folder (never the checkpoint's "
                                               "own folder or one holding it; or --out)")
    # the names every other command uses, so `--model CKPT --out DIR` works here too
    export.add_argument("--model", help="the checkpoint, as the first argument")
    export.add_argument("--out", dest="out_option", metavar="OUT", help="the folder to write, as the second argument")
    export.add_argument("--overwrite", action="store_true",
                        help="replace OUT when it holds an earlier export; any other folder is never replaced")
    export.set_defaults(run=_cmd_export)


def _add_demo_command(groups) -> None:
    """`lexmotion demo`."""
    demo = groups.add_parser("demo", help="run the main job on the sample shipped with the package",
                             description="Build the embedded kitml-cmu sample (100 real clips with their captions), "
                                         "summarise it, render one clip, pretrain the four lexical phases on it "
                                         "for a few minutes on the CPU, show three held-out motions' top words, "
                                         "then index the sample and answer three text queries with explanations, and finally train a "
                                         "guided-attention captioner and caption three held-out motions with an attention figure.")
    demo.add_argument("--out", help="folder for the demo's outputs (default: a temporary folder)")
    demo.add_argument("--quick", action="store_true", help="2 training steps per phase (a smoke test, seconds)")
    demo.set_defaults(run=_cmd_demo)


def _cmd_export(args) -> int:
    from lexmotion.models.export import export_checkpoint
    for name, given, option in (("checkpoint", args.checkpoint, args.model), ("out", args.out, args.out_option)):
        if given and option and given != option:
            raise LexmotionError(f"export: two {name}s given ({given} and {option}); give one")
    args.checkpoint, args.out = args.checkpoint or args.model, args.out or args.out_option
    if not args.checkpoint or not args.out:
        raise LexmotionError("export needs a checkpoint and an output folder: lexmotion export CKPT OUT "
                             "(or --model CKPT --out OUT)")
    out = export_checkpoint(args.checkpoint, args.out, overwrite=args.overwrite)
    print(f"exported {args.checkpoint} -> {out} ({', '.join(sorted(p.name for p in out.iterdir()))})")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (``error: ...``, exit 2) like every other input error."""

    def error(self, message: str):
        print(f"error: {self.prog}: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        # `tag a.bvh --fps 30 b.npy`: argparse takes a positional list only before the first option
        if extra and isinstance(getattr(args, "files", None), list) and not any(e.startswith("-") for e in extra):
            args.files += extra
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as stop:          # --help, --version, or a bad option (already printed)
        return int(stop.code or 0)
    args.command_line = " ".join(["lexmotion", *(sys.argv[1:] if argv is None else map(str, argv))])
    try:
        return args.run(args)
    except LexmotionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:              # a folder where a file is due, no permission, a full disk
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
