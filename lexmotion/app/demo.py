"""``lexmotion demo``: the main job on the sample shipped inside the package."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from lexmotion.data import SAMPLE_DIR
from lexmotion.files import claim_output, mark_folder

DEMO_HELD_OUT = 10        # sample clips the demo keeps out of training, as its test split
# A motion encoder small enough to pretrain on a laptop CPU in a few minutes.
DEMO_MOTION = {"dim": 96, "depth": 2, "heads": 4, "patch_frames": 8, "max_frames": 160, "drop_path": 0.0}
DEMO_EPOCHS = {"lexmlm": 4, "cmmm": 10, "lexmmm": 10, "lexcmlp": 25}
DEMO_CAPTION_EPOCHS = 25
DEMO_GUIDE_WEIGHT, DEMO_GUIDE_TOP = 2.0, 20
DEMO_QUERIES = ("a person walks forward", "someone jumps up", "a person waves with the right hand")


def _sample_with_test_split(work: Path) -> Path:
    """Copy the sample's annotations, marking every 10th clip as test (joints stay in the package)."""
    import json
    import shutil

    src = work / "sample-source"
    src.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE_DIR / "skeleton.json", src / "skeleton.json")
    if not (src / "joints").exists():
        (src / "joints").symlink_to(SAMPLE_DIR / "joints", target_is_directory=True)
    rows = [json.loads(line) for line in (SAMPLE_DIR / "annotations.jsonl").read_text().splitlines() if line]
    for i, row in enumerate(rows):
        row["split"] = "test" if i % (len(rows) // DEMO_HELD_OUT) == 0 and i // (len(rows) // DEMO_HELD_OUT) < DEMO_HELD_OUT else "train"
    (src / "annotations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return src


def pretrain_demo(data_dir: Path, out: Path, quick: bool = False) -> Path:
    """Short four-phase pretraining on the sample; returns the LexCMLP checkpoint."""
    from dataclasses import replace

    # The grounding recipe of pretrain/configs/cpu-small.json (vocabulary priors per phase, motion
    # pruning and grounding terms), with the demo's own small encoder and phase lengths.
    import pretrain
    from lexmotion.models.motion_encoder import MotionEncoderConfig
    from pretrain.cli import recipe_configs
    from pretrain.phases import PHASES
    from pretrain.trainer import Trainer
    recipe = Path(pretrain.__file__).parent / "configs" / "cpu-small.json"
    init = None
    for phase in PHASES:
        train, model = recipe_configs(recipe, phase)
        config = replace(train, epochs=1 if quick else DEMO_EPOCHS[phase], max_steps=2 if quick else None,
                         batch_size=16, lr=5e-4, warmup_steps=10, save_every=1000, max_frames=160,
                         wandb="disabled", device="cpu", settings=replace(train.settings, flops_warmup_steps=60))
        print(f"      {phase}: {config.epochs} epoch(s)")
        Trainer([str(data_dir)], str(out / phase), config, init=init,
                model_config=replace(model, motion=MotionEncoderConfig(**DEMO_MOTION)), progress=not quick).fit()
        init = str(out / phase)
    return out / "lexcmlp"


def run_demo(out: str | None = None, quick: bool = False) -> int:
    work = _demo_folder(out)
    data_dir, ds = _demo_data(work)
    print("\n[4/6] pretraining LexMLM -> CMMM -> LexMMM -> LexCMLP on the sample's 90 training clips (CPU)")
    ckpt = pretrain_demo(data_dir, work / "pretrain", quick=quick)
    import lexmotion
    model = lexmotion.load(ckpt)
    _demo_words(model, ckpt, ds)
    _demo_search(model, ckpt, data_dir, work)
    caption_demo(data_dir, ds, work, ckpt, quick)
    # The demo never resumes: its optimiser states are most of its disk use, so they go.
    states = sorted(work.glob("pretrain/*/trainer_state.pt")) + sorted(work.glob("captioner/last/trainer_state.pt"))
    freed = sum(state.stat().st_size for state in states)
    for state in states:
        state.unlink()
    print(f"\ndone: outputs in {work} (the trainer states, {freed / 2**20:.0f} MB, removed: the demo does not resume)")
    print("next: build the full data (`lexmotion data build kitml-cmu --root ../shared/data/kitml-cmu --out data/kitml`)"
          ", pretrain and train captioners on it: the README's 'pipeline in five commands'.")
    return 0


def _demo_folder(out: str | None) -> Path:
    """--out (new, empty, or an earlier demo's), or a new temporary folder; marked as the demo's."""
    work = claim_output(out, "demo", resume=True, can_overwrite=False) if out \
        else Path(tempfile.mkdtemp(prefix="lexmotion-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    mark_folder(work, "demo")
    for earlier in ("pretrain", "captioner"):       # a demo run again starts these afresh; they are its own
        if (work / earlier).is_dir():
            shutil.rmtree(work / earlier)
    return work


def _demo_data(work: Path):
    """Steps 1-3: build the sample, show one clip's features and its mirror, draw it; -> (folder, dataset)."""
    from lexmotion.data.dataset import (
        MotionDataset,
        build_dataset,
        dataset_info,
        format_info,
    )
    from lexmotion.data.features import (
        FEATURE_DIM,
        FEATURE_LAYOUT,
        mirror_joints,
        mirror_text,
        part_features,
    )
    from lexmotion.data.render import render_gif

    data_dir = work / "sample-dataset"
    print(f"[1/6] building the embedded kitml-cmu sample ({SAMPLE_DIR}) into {data_dir}, "
          f"{DEMO_HELD_OUT} clips held out as the demo's test split")
    report = build_dataset("kitml-cmu", _sample_with_test_split(work), data_dir, overwrite=True, progress=False)
    print(f"      {report['clips']} clips, {report['captions']} captions, {report['num_skipped']} skipped\n")
    print(format_info(dataset_info(data_dir)) + "\n")
    ds = MotionDataset(data_dir)
    row = ds.row(0)
    skeleton = ds.skeleton(row["skeleton"])
    feats = part_features(row["joints"], float(row["fps"]), skeleton)
    print(f"[2/6] features of clip {row['id']} ({row['texts'][0]!r}): {row['num_frames']} frames at "
          f"{row['fps']:g} fps -> {feats.shape[0]} frames at 20 fps x {FEATURE_DIM} values")
    print("      parts: " + ", ".join(f"{p} {b - a}" for p, (a, b) in FEATURE_LAYOUT.items()))
    mirrored = [i for i, texts in enumerate(ds.table["texts"]) if any("left" in t.lower() for t in texts)]
    if mirrored:
        m = ds.row(mirrored[0])
        flipped = mirror_joints(m["joints"], ds.skeleton(m["skeleton"]))
        moved = float(np.abs(flipped - m["joints"]).max())
        print(f"      mirror augmentation: {m['texts'][0]!r} -> {mirror_text(m['texts'][0])!r} "
              f"(x reflected, left/right joints swapped; joints move up to {moved:.2f} m)")
    gif = work / f"{row['id']}.gif"
    print(f"\n[3/6] rendering {row['id']} as a stick figure -> {gif}")
    render_gif(row["joints"], float(row["fps"]), skeleton, gif, title=row["texts"][0])
    return data_dir, ds


def _demo_words(model, ckpt: Path, ds) -> None:
    """Three held-out motions: their caption and their top words, after the grounding line."""
    import json

    test = ds.split_indices("test")[:3]
    rows = [ds.row(i) for i in test]
    vectors = model.encode_motion([{"joints": r["joints"], "fps": float(r["fps"]),
                                    "skeleton": ds.skeleton(r["skeleton"])} for r in rows])
    from pretrain.sparsity import format_grounding
    report = json.loads((ckpt / "sparsity.json").read_text())
    print(f"\n      {format_grounding(report['grounding'])} (over the {report['clips']} held-out clips; "
          "definitions in docs/grounding.md)")
    print("\nheld-out test motions: their real caption, then the motion's top-10 lexical words")
    print("(90 training clips and a few minutes of CPU: the words are the sample captions' words; the "
          "full kitml-cmu recipe, docs/results/kitml-cmu.md, gives steadier ones)")
    for r, vec in zip(rows, vectors):
        words = model.explain(vec, k=10)
        print(f"  {r['id']}  caption: {r['texts'][0]}")
        print(f"         words:   {', '.join(f'{w} {v:.2f}' for w, v in words) or '(empty vector)'}")


def _demo_search(model, ckpt: Path, data_dir: Path, work: Path) -> None:
    """Index the sample's motions and answer the demo's queries, each hit with its words."""
    print("\n[5/6] indexing the sample's motions and searching them by text")
    from retrieval.collection import build_index
    try:
        import faiss  # noqa: F401
        backend = "faiss"
    except ImportError:
        backend = "sparse"
    index = build_index(model, ckpt, data_dir, split=None, backend=backend)
    index.save(work / "index", overwrite=True)
    print(f"      {index.meta['n']} motions, backend {backend}, {index.meta.get('active_columns')} active words"
          + ("; score = cosine less the clip's hub prior (docs/retrieval.md)" if "querybank" in index.meta else ""))
    for query in DEMO_QUERIES:
        print(f"\n  query: {query}")
        for rank, hit in enumerate(index.search(model, query, k=3), 1):
            prior = f" (cosine {hit.score + hit.prior:.3f}, prior {hit.prior:.3f})" if hit.prior is not None else ""
            print(f"   {rank}. {hit.id} {hit.score:.3f}{prior}  {hit.texts[0][:70]}\n      {hit.because()}")


def caption_demo(data_dir: Path, ds, work: Path, ckpt: Path, quick: bool = False) -> None:
    """Train a guided captioner on the frozen lexical encoder just pretrained, caption three held-out
    motions with lexically guided decoding and with consensus reranking, draw one attention figure."""
    from captioning.analysis import describe_clip, word_report, words_figure
    from captioning.data import clip_features
    from captioning.model import CaptionerConfig, load_captioner
    from captioning.rerank import DEFAULT_NEIGHBOURS, make_reranker
    from captioning.train import CaptionTrainConfig, train_captioner
    from lexmotion.files import save_figure

    epochs = 1 if quick else DEMO_CAPTION_EPOCHS
    print(f"\n[6/6] training the guided-attention captioner (lambda_spat 2, lambda_adapt 3) on the frozen LexCMLP "
          f"motion encoder, over the sample's 90 training clips for {epochs} epoch(s); the sample has no "
          f"validation split, so the epoch is chosen on the training clips")
    out = work / "captioner"
    train_captioner(str(data_dir), str(out), CaptionerConfig(arch="guided", encoder=f"lexical:{ckpt}"),
                    CaptionTrainConfig(epochs=epochs, lambda_spat=2.0, lambda_adapt=3.0, min_count=1, wandb="disabled",
                                       device="cpu", val_split="train", holdout=0.0), progress=False)
    model = load_captioner(out)
    reranker = make_reranker(model, ds, DEFAULT_NEIGHBOURS, None, "cpu")
    print(f"      held-out motions, their real caption and the generated one (beam 2, no repeated word pair, "
          f"guided by the motion's top {DEMO_GUIDE_TOP} words at weight {DEMO_GUIDE_WEIGHT:g}), the caption that "
          f"consensus reranking keeps among the beam and the motion's {DEFAULT_NEIGHBOURS} nearest training captions, "
          f"the motion's words the caption used, and each word's most attended body part, time span and beta:")
    for n, index in enumerate(ds.split_indices("test")[:3]):
        row = ds.row(index)
        features = clip_features(row["joints"], float(row["fps"]), ds.skeleton(row["skeleton"]), model.stats, row["id"])
        caption, att, words_used, _ = describe_clip(model, features, beam=2, no_repeat=2,
                                                    guide_weight=DEMO_GUIDE_WEIGHT, guide_top=DEMO_GUIDE_TOP)
        reranked, _, _, origin = describe_clip(model, features, beam=2, no_repeat=2, guide_weight=DEMO_GUIDE_WEIGHT,
                                               guide_top=DEMO_GUIDE_TOP, reranker=reranker)
        source = "the captioner's" if origin["source"] == "captioner" else f"training caption {origin['rank'] + 1}"
        print(f"  {row['id']}  real:      {row['texts'][0]}\n         generated: {caption or '(empty)'}\n"
              f"         reranked:  {reranked} ({source})")
        print(f"         motion words: {', '.join(words_used['top'][:8])}; used: {', '.join(words_used['used']) or 'none'}")
        words = [f"{w['word']} ({w['top_part']}, {w['span_seconds'][0]:.1f}-{w['span_seconds'][1]:.1f} s, "
                 f"beta {w['beta']:.2f})" for w in word_report(model, att)]
        print(f"         attention: {'; '.join(words)}")
        if n == 0:
            figure = work / f"{row['id']}-attention.png"
            save_figure(words_figure(model, att, caption), figure)
            print(f"         attention figure (parts x time per word, beta, time window): {figure}")
