"""``lexmotion index build`` and ``lexmotion search``."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from lexmotion.data.limits import DEFAULT_LIMITS, check_duration_option
from lexmotion.data.motion_file import read_motion_file
from lexmotion.device import add_device_option, resolve_device
from lexmotion.errors import LexmotionError
from lexmotion.files import claim_output, output_lock
from retrieval.backend import BACKENDS
from retrieval.collection import build_index, moment_label, moment_query
from retrieval.index import Index, check_k


def add_index_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a checkpoint folder from `lexmotion pretrain`")
    p.add_argument("--data", required=True, help="a dataset folder from `lexmotion data build`")
    p.add_argument("--split", default="test", help="split to index, or `all` (default: test)")
    p.add_argument("--out", required=True, help="the index folder to write: a new or empty folder")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out when it holds an earlier index; any other folder is never replaced")
    p.add_argument("--backend", default="faiss", choices=BACKENDS,
                   help="faiss: exact inner product over the active vocabulary (default); faiss-ivf / faiss-hnsw: "
                        "approximate, for large collections; sparse: scipy inverted index (exact); sparse-ivf: "
                        "clustered sparse index, the fastest for 100k+ motions (approximate, see --nprobe of search); "
                        "seismic: pyseismic-lsr (approximate); torch: exact, CPU or GPU")
    p.add_argument("--window", type=float, metavar="SECONDS",
                   help="index windows of every clip, this long (from one patch to the encoder's window); a hit is "
                        "then a moment: the clip, its start and end (default: whole clips)")
    p.add_argument("--stride", type=float, metavar="SECONDS", help="--window: seconds between windows (default: "
                                                                     "half a window)")
    p.add_argument("--segments", action="store_true",
                   help="index moments of every clip cut where its motion changes, as the model sees it: every "
                        "span of 1-10 s between two change points (or a clip's ends); a hit is the clip, its start "
                        "and end (instead of --window)")
    p.add_argument("--texts", action="store_true", help="index the captions instead of the motions "
                                                       "(for `lexmotion search --motion`)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", nargs="?", help='a description, e.g. "a person kicks with the left leg"; +word: every '
                                            'hit carries the word, -word: no hit does, e.g. "a person kicks +left -jump"')
    p.add_argument("--index", required=True, help="an index folder from `lexmotion index build`")
    p.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--motion", help="search with a motion, a .bvh file or a .npy of joints (T, J, 3): on a motion "
                                    "index, the motions most like it; on a caption index (--texts), its captions")
    p.add_argument("--like", metavar="ID", help="a motion index: the motions most like the clip ID of the dataset "
                                                "it was built from (any split), the clip itself left out")
    p.add_argument("--start", type=float, metavar="SECONDS", help="--like: search with the moment of the clip "
                   "from here (default its start), e.g. a windowed hit's; only the windows of the clip that overlap "
                   "the moment are left out")
    p.add_argument("--end", type=float, metavar="SECONDS", help="--like: the moment's end (default the clip's end)")
    p.add_argument("--fps", type=float, default=20.0, help=".npy motion: its frame rate (default 20)")
    p.add_argument("--skeleton", help=".npy motion: registered skeleton (default by joint count: 21 kitml-cmu, "
                                      "22 humanml3d)")
    p.add_argument("--max-duration-s", type=float, default=DEFAULT_LIMITS.max_duration_s,
                   help=f"--motion: the longest clip read, frames / fps (default {DEFAULT_LIMITS.max_duration_s:g})")
    p.add_argument("--model", help="checkpoint to use (default: the one the index was built with)")
    add_device_option(p, "encoding, the torch backend, and faiss / faiss-ivf indexes when faiss-gpu is installed")
    p.add_argument("--ef-search", type=int, help="faiss-hnsw index: size of the candidate list (default 128; "
                                                 "more: better recall, slower)")
    p.add_argument("--nprobe", type=int, help="sparse-ivf / faiss-ivf index: clusters visited per query "
                                              "(defaults 256 / 16; "
                                              "more: better recall, slower)")


def run_index_build(args) -> int:
    from lexmotion.models.checkpoint import load
    # checked before the encoding, so a refused --out costs nothing; save checks again under the lock
    claim_output(args.out, "index", overwrite=args.overwrite, inputs=[args.model, args.data])
    with output_lock(args.out):          # refused at once if another process builds the same --out
        model = load(args.model)
        index = build_index(model, args.model, args.data, None if args.split == "all" else args.split,
                            backend=args.backend, texts=args.texts, progress=not args.quiet, window=args.window,
                            stride=args.stride, segments=args.segments)
        index.save(args.out, overwrite=args.overwrite)
    m = index.meta
    clips = len({item["id"] for item in index.items})
    what = (f"{m['n']} windows of {m['window']:g} s (every {m['stride']:g} s) of {clips} motions" if "window" in m
            else f"{m['n']} segments (cut where the motion changes) of {clips} motions" if "segments" in m
            else f"{m['n']} {m['collection']}")
    print(f"indexed {what} of {args.data} ({args.split}) with {m['backend']} -> {args.out}"
          + (f"; {m['active_columns']} active vocabulary columns of {m['vocab_size']}" if "active_columns" in m else ""))
    return 0


def run_search(args) -> int:
    from lexmotion.models.checkpoint import load
    check_k(args.k)
    limits = check_duration_option(args.max_duration_s)
    if (args.start is not None or args.end is not None) and args.like is None:
        raise LexmotionError("--start and --end choose a moment of the --like clip; give --like ID")
    args.device = str(resolve_device(args.device))
    index_path = Path(args.index)
    model_path = args.model or Index.read_meta(index_path)["model_path"]
    index = Index.load(index_path, model_path=model_path).to(args.device)
    index.set_search_parameters(args.nprobe, args.ef_search)
    model = load(model_path, device=args.device)
    if args.like is not None or args.motion:
        if args.like is not None and (args.motion or args.query):
            raise LexmotionError("--like ID searches with that clip alone: give it without a query or --motion")
        if args.like is not None:
            clip = like_clip(index, args.like)
        else:
            clip = read_motion_file(args.motion, args.fps, args.skeleton, limits)
        source = clip["source"]
        clip, span = moment_query(model, clip, args.start, args.end)
        query = moment_label(source, span)
        hits = index.search_motion(model, clip, k=args.k, exclude=args.like, span=span)
    else:
        if args.query is None or not args.query.strip():
            raise LexmotionError('empty query: give a description such as "a person kicks with the left leg"')
        query = args.query
        n_tokens = len(model.tokenizer(query, add_special_tokens=False, verbose=False)["input_ids"])
        if n_tokens > model.config.max_text_len - 2:
            print(f"note: the query has {n_tokens} tokens; only the first {model.config.max_text_len - 2} are used")
        hits = index.search(model, query, k=args.k)
    constraints = hits.constraints
    if args.json:
        print(json.dumps({"query": query, "index": str(index_path), "hits": [h.to_dict() for h in hits],
                          "constraints": [c.to_dict() for c in constraints]}, indent=1))
        return 0
    print(f"query: {query if len(query) <= 120 else query[:117] + '...'}")
    if constraints:
        from retrieval.constraints import describe
        print(describe(constraints, len(index.items), index.meta.get("thresholds")) + (f"; {len(hits)} left" if len(hits) < args.k else ""))
    for rank, h in enumerate(hits, 1):
        moment = f" [{h.start:.1f}-{h.end:.1f} s]" if h.start is not None else ""
        prior = f" (cosine {h.score + h.prior:.3f} less hub prior {h.prior:.3f})" if h.prior is not None else ""
        print(f"{rank:>2}. {h.id}{moment}  score {h.score:.3f}{prior}  {' | '.join(h.texts)[:100]}")
        if because := h.because():
            print("    " + because)
    return 0


def like_clip(index: Index, clip_id: str) -> dict:
    """The clip CLIP_ID of the dataset that INDEX was built from, for ``search --like``."""
    from lexmotion.data.dataset import MotionDataset
    if index.meta["collection"] != "motions":
        raise LexmotionError("--like needs an index of motions; this one holds captions (search it with --motion FILE)")
    if not Path(index.meta["data"]).is_dir():
        raise LexmotionError(f"--like reads the clip from the index's dataset, {index.meta['data']}, which is not "
                             "there any more; use --motion FILE")
    return MotionDataset(index.meta["data"]).clip(clip_id)


def run_querybank(args) -> int:
    """`lexmotion index querybank`: a copy of --model with the train captions of --data as its query bank."""
    from lexmotion.models.checkpoint import copy_checkpoint_with, read_config
    from lexmotion.models.querybank import BETA, QUERYBANK, make_querybank
    from pretrain.data_sources import check_data, data_sources
    read_config(args.model)                        # a missing or damaged checkpoint is one line, first
    sources = data_sources(args.data, "--data")
    check_data(sources)
    bank = make_querybank(sources, BETA if args.beta is None else args.beta)
    out = copy_checkpoint_with(args.model, args.out, {QUERYBANK: bank})
    print(f"query bank of {len(bank['texts'])} training captions (beta {bank['beta']:g}) -> {out}; "
          "indexes built with it rank text queries by cosine less each clip's hub prior")
    return 0

