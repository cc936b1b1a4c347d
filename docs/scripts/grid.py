"""The experiment grid of docs/results/grid.md: rows of committed configs, each trained phase by phase,
scored on kitml-cmu test (KIT-ML captions, protocol all) and cmu-extra test (CMU descriptions, protocol
threshold), and written as one small JSON per finished run under docs/results/grid/, to commit as it lands.

    python docs/scripts/grid.py                        # every row, seeds 0-2, skipping finished runs
    python docs/scripts/grid.py --rows today,all-motions --seeds 0
    python docs/scripts/grid.py --plan                 # what would run, and which phases rows share
    python docs/scripts/grid.py --rows today --folders # its runs' final checkpoint folders (for scripts)
    python docs/scripts/grid.py --report               # docs/results/grid.md from the JSON files
    python docs/scripts/grid.py --rows today --seeds 1 --train   # its lost phase folders trained again, not scored

Rows share the phases they have in common: a phase's folder (WORK/phases/PHASE-KEY) is named by a hash
of what decides it (the phase's config and data, the settings its loss reads, the seed, and the phase it
starts from), so two rows that agree up to a phase train it once. A run whose JSON exists is skipped;
an interrupted phase resumes where it stopped. Run from the repository root.

Rows before cmu-words trained on data built before `data build` read CMU's descriptions as words (their JSON names
the commit); built today, data/kitml-desc and data/cmu-extra hold the readable descriptions.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

from pretrain.phases import MIRROR_PAIR_PHASES
from pretrain.settings import load_recipe

SHARED = Path("../shared/data")
RESULTS = Path("docs/results/grid")
LEXICAL = ("lexmlm", "cmmm", "lexmmm", "lexcmlp")
DATA = {"data/kitml": ["kitml-cmu", "--root", SHARED / "kitml-cmu"],
        "data/kitml-desc": ["kitml-cmu", "--root", SHARED / "kitml-cmu", "--extra-captions", SHARED / "cmu-extra.tar.xz"],
        "data/cmu-extra": ["kitml-cmu", "--root", SHARED / "cmu-extra.tar.xz"]}
TESTS = {"kitml": ("data/kitml", "all"), "cmu-extra": ("data/cmu-extra", "threshold")}
V1 = "pretrain/configs/baselines/cpu-small-v1.json"
GRID = "pretrain/configs/grid"
# row -> its config, the phases it trains (in order), and --data for phases whose config names none
ROWS = {
    "today": {"config": V1, "phases": LEXICAL, "data": ["data/kitml"]},
    "dense-today": {"config": V1, "phases": ("dense",), "data": ["data/kitml"]},
    "all-motions": {"config": f"{GRID}/all-motions.json", "phases": LEXICAL},
    "descriptions": {"config": f"{GRID}/descriptions.json", "phases": LEXICAL},
    "dense-descriptions": {"config": f"{GRID}/dense-descriptions.json", "phases": ("dense",)},
    "cmu-descriptions": {"config": f"{GRID}/cmu-descriptions.json", "phases": LEXICAL},
    # the learning curve of the default recipe (all-motions is its 100%)
    "learning-25": {"config": f"{GRID}/learning-25.json", "phases": LEXICAL},
    "learning-50": {"config": f"{GRID}/learning-50.json", "phases": LEXICAL},
    # each phase's worth, on the candidate default (all-motions): the pipeline without one phase
    "all-motions-no-lexmlm": {"config": f"{GRID}/all-motions.json", "phases": ("cmmm", "lexmmm", "lexcmlp")},
    "all-motions-no-cmmm": {"config": f"{GRID}/all-motions.json", "phases": ("lexmlm", "lexmmm", "lexcmlp")},
    "all-motions-no-lexmmm": {"config": f"{GRID}/all-motions.json", "phases": ("lexmlm", "cmmm", "lexcmlp")},
    # the default uses 10 of its 60 minutes: LexCMLP 3x as long
    "long-lexcmlp": {"config": f"{GRID}/long-lexcmlp.json", "phases": LEXICAL},
    # cmu-descriptions with kitml-cmu's clips getting as many updates as in all-motions
    "cmu-descriptions-long": {"config": f"{GRID}/cmu-descriptions-long.json", "phases": LEXICAL},
    "dense-cmu-descriptions-long": {"config": f"{GRID}/dense-cmu-descriptions-long.json", "phases": ("dense",)},
    # ... and each LexCMLP batch from one dataset
    "cmu-descriptions-long-split": {"config": f"{GRID}/cmu-descriptions-long-split.json", "phases": LEXICAL},
    # cmu-descriptions-long with kitml-cmu's CMU descriptions too, at the steps that keep each KIT-ML caption's updates
    "descriptions-long": {"config": f"{GRID}/descriptions-long.json", "phases": LEXICAL},
    "dense-descriptions-long": {"config": f"{GRID}/dense-descriptions-long.json", "phases": ("dense",)},
    # the naive mix: today's recipe with every phase on both datasets (epochs grow with the data)
    "naive-mix": {"config": V1, "phases": LEXICAL, "data": ["data/kitml", "data/cmu-extra"]},
    # cmu-descriptions-long with a motion encoder twice as wide and deep (256 x 4): is the encoder the limit?
    "wide-motion": {"config": f"{GRID}/wide-motion.json", "phases": LEXICAL},
    # the default with LexCMLP's localisation hinge on joined pairs of clips: do words say when? (issue 35)
    "localise": {"config": f"{GRID}/localise.json", "phases": LEXICAL},
    "localise-3": {"config": f"{GRID}/localise-3.json", "phases": LEXICAL},
    "ema": {"config": f"{GRID}/ema.json", "phases": LEXICAL},
    "absent": {"config": f"{GRID}/absent.json", "phases": LEXICAL},
    "absent-motion": {"config": f"{GRID}/absent-motion.json", "phases": LEXICAL},
    # the default with CMU's run-together descriptions split into words (docs/scripts/cmu_words.sh builds its data)
    "cmu-words": {"config": f"{GRID}/cmu-words.json", "phases": LEXICAL},
    # the dense baseline on exactly that data (docs/scripts/dense_cmu_words.sh)
    "dense-cmu-words": {"config": f"{GRID}/cmu-words.json", "phases": ("dense",)},
    # the default with LexCMLP's text encoder at 5x the learning rate (docs/scripts/text_lr.sh)
    "text-lr": {"config": f"{GRID}/text-lr.json", "phases": LEXICAL},
    "dense-text-lr": {"config": f"{GRID}/text-lr.json", "phases": ("dense",)},
    # ... and at 3e-4, the rest of the model's rate (docs/scripts/text_lr_3e4.sh)
    "text-lr-3e-4": {"config": f"{GRID}/text-lr-3e-4.json", "phases": LEXICAL},
    # the default with LexCMLP's batches twice as large for half the steps: a one-seed probe (docs/scripts/batch_64.sh)
    "batch-64": {"config": f"{GRID}/batch-64.json", "phases": LEXICAL},
    # the default with LexMLM's text encoder at 1e-4 too: a one-seed probe (docs/scripts/lexmlm_text_lr.sh)
    "lexmlm-text-lr": {"config": f"{GRID}/lexmlm-text-lr.json", "phases": LEXICAL},
    # the default with LexCMLP's clips replayed at 0.9 / 1.0 / 1.1 times their speed (docs/scripts/speeds.sh)
    "speeds": {"config": f"{GRID}/speeds.json", "phases": LEXICAL},
    # the default with LexCMLP, and dense, reading motions in the body's own frame (docs/scripts/body_frame.sh)
    "body-frame": {"config": f"{GRID}/body-frame.json", "phases": LEXICAL},
    "dense-body-frame": {"config": f"{GRID}/body-frame.json", "phases": ("dense",)},
    "crop-frame": {"config": f"{GRID}/crop-frame.json", "phases": LEXICAL},
    # the default with LexCMLP's motion words read from the whole take as well as its patches (more-like.md)
    "take-words": {"config": f"{GRID}/take-words.json", "phases": LEXICAL},
    # the default with each side-naming LexCMLP pair told apart from its mirror image (more-like.md)
    "mirror-pairs": {"config": f"{GRID}/mirror-pairs.json", "phases": LEXICAL},
    # ... and dense with the same pairs, so that lexical against dense stays fair if the default takes them
    "dense-mirror-pairs": {"config": f"{GRID}/mirror-pairs.json", "phases": ("dense",)},
    # the default with LexCMLP ranking each pair's named side word above its mirror (docs/scripts/side_words_row.sh)
    "side-words": {"config": f"{GRID}/side-words.json", "phases": LEXICAL},
    # ... and the shown side word lifted above the margin, since ranked below 0 both weigh 0 (side_words_row.sh)
    "side-lift": {"config": f"{GRID}/side-lift.json", "phases": LEXICAL},
    # the default with LexCMLP and dense at 1,200 steps, to fit the time limits (docs/scripts/steps_1200_row.sh)
    "steps-1200": {"config": f"{GRID}/steps-1200.json", "phases": LEXICAL},
    "dense-steps-1200": {"config": f"{GRID}/steps-1200.json", "phases": ("dense",)},
}
# the PhaseSettings each loss reads (pretrain/phases.py); the other phases read them all. tests/test_grid.py traces
# each loss as it trains and fails if a setting it reads does not change its folder's name.
SETTINGS_READ = {"lexmlm": ("mlm_ratio", "decoder_mask_ratio", "identity"),
                 "cmmm": ("motion_mask_ratio", "view_temperature")}
# settings that only these phases read: the rows share their other phases
ONLY_READ_BY = {**dict.fromkeys(("localise_motion", "select_motion", "select_text", "absent_motion", "absent_text",
                                 "distil", "side_words", "side_lift"), ("lexcmlp",)), "mirror_pairs": MIRROR_PAIR_PHASES}
# everyday queries over cmu-extra test, each judged by a pattern on the clip's CMU description (issue 33)
EVERYDAY = {"a person runs": r"\brun|\bjog", "someone carries a suitcase": r"suitcase",
            "a person sits on a stool": r"stool", "a person does jumping jacks": r"jumping jack",
            "a person dances": r"danc|salsa|waltz|tango|charleston"}
# which rows each row is compared with in the report (B against A)
COMPARISONS = [("today", "all-motions"), ("all-motions", "descriptions"), ("today", "descriptions"),
               ("all-motions", "cmu-descriptions"), ("today", "cmu-descriptions"),
               ("dense-today", "today"), ("dense-today", "all-motions"), ("dense-descriptions", "descriptions"),
               ("learning-25", "all-motions"), ("learning-50", "all-motions"), ("learning-25", "learning-50"),
               ("all-motions-no-lexmlm", "all-motions"), ("all-motions-no-cmmm", "all-motions"),
               ("all-motions-no-lexmmm", "all-motions"), ("all-motions", "long-lexcmlp"),
               ("all-motions", "cmu-descriptions-long"), ("cmu-descriptions", "cmu-descriptions-long"),
               ("cmu-descriptions-long", "cmu-descriptions-long-split"), ("all-motions", "cmu-descriptions-long-split"),
               ("today", "cmu-descriptions-long"), ("dense-cmu-descriptions-long", "cmu-descriptions-long"),
               ("naive-mix", "cmu-descriptions-long"), ("cmu-descriptions-long", "descriptions-long"),
               ("dense-descriptions-long", "descriptions-long"),
               ("cmu-descriptions-long", "wide-motion"), ("descriptions-long", "localise"), ("dense-descriptions-long", "localise"),
               ("localise", "localise-3"), ("localise", "ema"), ("localise", "absent"), ("today", "absent"),
               ("localise", "absent-motion"), ("today", "absent-motion"), ("localise", "cmu-words"),
               ("dense-cmu-words", "cmu-words"), ("cmu-words", "text-lr"), ("dense-cmu-words", "text-lr"),
               ("dense-cmu-words", "dense-text-lr"), ("dense-text-lr", "text-lr"),
               ("text-lr", "text-lr-3e-4"), ("dense-text-lr", "text-lr-3e-4"), ("text-lr", "batch-64"),
               ("text-lr", "lexmlm-text-lr"), ("text-lr", "speeds"), ("dense-text-lr", "speeds"),
               ("text-lr", "body-frame"), ("dense-text-lr", "body-frame"), ("text-lr", "take-words"), ("text-lr", "mirror-pairs"),
               ("dense-text-lr", "dense-mirror-pairs"), ("dense-mirror-pairs", "mirror-pairs"),
               ("dense-text-lr", "dense-body-frame"), ("dense-body-frame", "body-frame"),
               ("text-lr", "crop-frame"), ("dense-text-lr", "crop-frame"), ("mirror-pairs", "side-words"),
               ("dense-mirror-pairs", "side-words"), ("mirror-pairs", "steps-1200"), ("mirror-pairs", "side-lift"),
               ("dense-mirror-pairs", "dense-steps-1200"), ("dense-steps-1200", "steps-1200")]


def phase_key(recipe: dict, phase: str, seed: int, previous: str | None, data: list) -> str:
    settings = {k: v for k, v in recipe.get("settings", {}).items() if phase in ONLY_READ_BY.get(k, (phase,))}
    read = SETTINGS_READ.get(phase)
    decided = {"phase": phase, "seed": seed, "previous": previous, "model": recipe.get("model", {}),
               "train": recipe.get("train", {}), "section": recipe.get("phases", {}).get(phase, {}),
               "data": data, "settings": {k: v for k, v in settings.items() if read is None or k in read}}
    return hashlib.sha1(json.dumps(decided, sort_keys=True, default=str).encode()).hexdigest()[:10]


def plan(row: str, seed: int, work: Path) -> list[dict]:
    """The row's phases: [{phase, folder, command}] in order, each starting from the one before."""
    spec = ROWS[row]
    recipe = load_recipe(spec["config"])           # laid over its base chain, as `lexmotion pretrain` reads it
    steps, previous = [], None
    for phase in spec["phases"]:
        data = [] if recipe.get("phases", {}).get(phase, {}).get("data") else spec.get("data", [])
        key = phase_key(recipe, phase, seed, previous and previous["key"], data)
        folder = work / "phases" / f"{phase}-{key}"
        command = ["lexmotion", "pretrain", phase, "--config", spec["config"], "--seed", str(seed), "--out", str(folder),
                   "--text-corpus", str(SHARED / "kitml-text"), "--quiet", "--wandb", "disabled"]
        command += [x for d in data for x in ("--data", d)]
        if previous:
            command += ["--init", previous["folder"]]
        previous = {"phase": phase, "key": key, "folder": str(folder), "command": command}
        steps.append(previous)
    return steps


def ensure_data() -> None:
    for out, args in DATA.items():
        if not (Path(out) / "lexmotion.json").is_file():
            subprocess.run(["lexmotion", "data", "build", *map(str, args), "--out", out, "--quiet"], check=True)


def train(steps: list[dict]) -> list[dict]:
    done = []
    for step in steps:
        folder = Path(step["folder"])
        if not (folder / "DONE").is_file():
            print("$ " + " ".join(step["command"]), flush=True)
            subprocess.run(step["command"], check=True)
        metrics = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]
        done.append({"phase": step["phase"], "folder": folder.name, "seconds": metrics[-1].get("seconds"),
                     "steps": metrics[-1].get("step"), "command": " ".join(step["command"])})
    return done


def everyday(model, data: str = "data/cmu-extra") -> dict:
    """Precision@10 of each EVERYDAY query over DATA's test clips, judged by its pattern on their descriptions
    (each clip's cosine less its hub prior when the model holds a query bank)."""
    import re

    import numpy as np

    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.models.querybank import clip_priors
    items = MotionTextDataset(MotionDataset(data), "test", model.stats, model.config.motion.max_frames)

    def rows(v):
        v = (v.to_dense() if v.is_sparse else v).float().cpu().numpy()
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    motions = rows(model.encode_motion([r["features"] for r in items.rows]))
    queries = rows(model.encode_text(list(EVERYDAY)))
    bank = getattr(model, "querybank", None)
    priors = clip_priors(model, bank, motions) if bank else np.zeros(len(motions), dtype=np.float32)
    out = {}
    for (query, pattern), q in zip(EVERYDAY.items(), queries):
        top = np.argsort(-(motions @ q - priors), kind="stable")[:10]
        out[query] = float(np.mean([bool(re.search(pattern, items.rows[i]["texts"][0].lower())) for i in top]))
    return {"precision@10": out, "mean": float(np.mean(list(out.values())))}


def score(checkpoint: str) -> dict:
    """Each test set's metrics and per-query ranks (for paired intervals later), the moments benchmark on
    kitml-cmu test (3 parts, seed 0), and the motion words."""
    from lexmotion.models.checkpoint import load
    from retrieval.evaluate import evaluate_protocols
    from retrieval.words import evaluate_words
    model = load(checkpoint)
    model.querybank = None        # recipes compare on the plain cosine; the hub prior is measured apart (querybank.md)
    out = {}
    for name, (data, protocol) in TESTS.items():
        result = evaluate_protocols(model, data, "test", (protocol,), keep_ranks=True)[0]
        out[name] = {"protocol": protocol, "queries": result["n"],
                     "metrics": {f"{d}_{k}": v for d in ("t2m", "m2t") for k, v in result[d].items()},
                     "query_ranks": result["query_ranks"]}
    out["everyday"] = everyday(model)
    from retrieval.moments import build_sequences, evaluate_moments
    moments = evaluate_moments([checkpoint], build_sequences("data/kitml", "test"))
    out["moments"] = {k: v for k, v in moments["runs"][checkpoint].items()}
    words = evaluate_words(model, "data/kitml", "test")      # a dense model: query AP alone
    out["words"] = {**words["mean"], **{k: words[k] for k in ("motion_nonzeros_median", "text_nonzeros_median")
                                        if k in words}}
    return out


def run(rows: list[str], seeds: list[int], work: Path) -> None:
    from lexmotion import __version__
    from lexmotion.files import write_json
    ensure_data()
    for row in rows:
        for seed in seeds:
            target = RESULTS / row / f"seed{seed}.json"
            if target.is_file():
                print(f"{row} seed {seed}: done ({target})")
                continue
            start = time.time()
            phases = train(plan(row, seed, work))
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
            result = {"row": row, "config": ROWS[row]["config"], "seed": seed, "phases": phases,
                      "lexmotion_version": __version__, "commit": commit,
                      "tests": score(str(work / "phases" / phases[-1]["folder"])),
                      "wall_seconds_this_session": round(time.time() - start, 1)}
            target.parent.mkdir(parents=True, exist_ok=True)
            write_json(target, result)
            print(f"{row} seed {seed}: wrote {target}", flush=True)


def rescore(rows: list[str], seeds: list[int], work: Path) -> None:
    from lexmotion.files import write_json
    for row in rows:
        for seed in seeds:
            target = RESULTS / row / f"seed{seed}.json"
            if not target.is_file():
                continue
            result = json.loads(target.read_text())
            checkpoint = work / "phases" / result["phases"][-1]["folder"]
            if not (checkpoint / "DONE").is_file():
                print(f"{row} seed {seed}: {checkpoint} is not here; kept as it was")
                continue
            result["tests"] = score(str(checkpoint))
            write_json(target, result)
            print(f"{row} seed {seed}: scored again -> {target}", flush=True)


def report() -> str:
    """docs/results/grid.md: each row's mean ± std, and the comparisons with paired 95% intervals."""
    import numpy as np

    from retrieval.compare import compare_ranks
    runs = {row: sorted((json.loads(p.read_text()) for p in (RESULTS / row).glob("seed*.json")), key=lambda r: r["seed"])
            for row in ROWS if (RESULTS / row).is_dir()}
    lines = ["# The experiment grid", "", "Made by `python docs/scripts/grid.py --report` from `docs/results/grid/*/seed*.json`, "
             "which `python docs/scripts/grid.py` writes (rows and configs: its `ROWS`).", ""]
    for test, (_, protocol) in TESTS.items():
        lines += [f"## {test} test (protocol {protocol})", "", "| row | seeds | t2m R@1 | t2m R@5 | t2m R@10 | m2t R@1 | m2t R@10 |",
                  "|---|---|---|---|---|---|---|"]
        for row, rs in runs.items():
            cells = []
            for metric in ("t2m_R@1", "t2m_R@5", "t2m_R@10", "m2t_R@1", "m2t_R@10"):
                values = [r["tests"][test]["metrics"][metric] for r in rs]
                cells.append(f"{np.mean(values):.2f} ± {np.std(values):.2f}")
            lines.append(f"| {row} | {','.join(str(r['seed']) for r in rs)} | " + " | ".join(cells) + " |")
        lines += ["", "| B vs A | seeds | t2m R@1 B − A [95%] | t2m R@10 B − A [95%] | verdict (R@10) |", "|---|---|---|---|---|"]
        for a, b in COMPARISONS:
            seeds = sorted({r["seed"] for r in runs.get(a, [])} & {r["seed"] for r in runs.get(b, [])})
            if not seeds:
                continue
            side = {row: [r["tests"][test]["query_ranks"] for r in runs[row] if r["seed"] in seeds] for row in (a, b)}
            c = compare_ranks(side[a], side[b])["t2m"]
            cell = {m: f"{c[m]['difference']:+.2f} [{c[m]['low']:+.2f}, {c[m]['high']:+.2f}]" for m in ("R@1", "R@10")}
            lines.append(f"| {b} vs {a} | {','.join(map(str, seeds))} | {cell['R@1']} | {cell['R@10']} | {c['R@10']['verdict']} |")
        lines.append("")
    lines += ["## Beyond retrieval", "", "Everyday queries: precision@10 over cmu-extra test, judged by the CMU "
              "description (`EVERYDAY`). Word AP: `eval words` on kitml-cmu test (query AP: the clips ranked by "
              "their score against the word as a query; rows scored before it existed show –). Moments and word "
              "localisation: "
              "`eval moments` on kitml-cmu test (3 parts, seed 0). Training: the seconds of the row's phases as "
              "their metrics record them (shared phases counted in every row that uses them; this machine was "
              "never idle while they ran).", "",
              "| row | seeds | everyday P@10 | word AP | query AP | moment R@1 IoU 0.5 | word localisation (chance) | training s |",
              "|---|---|---|---|---|---|---|---|"]
    for row, rs in runs.items():
        def mean(get):
            values = [get(r) for r in rs]
            return "–" if any(v is None for v in values) else f"{np.mean(values):.3f}"
        seconds = np.mean([sum(p["seconds"] or 0 for p in r["phases"]) for r in rs])
        lines.append(f"| {row} | {','.join(str(r['seed']) for r in rs)} | "
                     f"{mean(lambda r: r['tests'].get('everyday', {}).get('mean'))} | "
                     f"{mean(lambda r: r['tests'].get('words', {}).get('ap'))} | "
                     f"{mean(lambda r: r['tests'].get('words', {}).get('ap_query'))} | "
                     f"{mean(lambda r: r['tests']['moments']['moment_R1_iou0.5'])} | "
                     f"{mean(lambda r: r['tests']['moments']['word_localisation'])} "
                     f"({mean(lambda r: r['tests']['moments']['word_chance'])}) | {seconds:.0f} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows (default all: {', '.join(ROWS)})")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--work", default="runs/grid", help="where the phases are trained (default runs/grid)")
    p.add_argument("--plan", action="store_true", help="print the phases each run needs, and stop")
    p.add_argument("--folders", action="store_true", help="print each run's last phase folder, for scripts, and stop")
    p.add_argument("--report", action="store_true", help="write docs/results/grid.md from the finished runs")
    p.add_argument("--train", action="store_true", help="train the runs' missing phases even when their JSON exists "
                                                       "(folders lost since), without scoring them")
    p.add_argument("--rescore", action="store_true", help="score the finished runs again (their checkpoints must be "
                                                          "in --work), keeping how they were trained")
    args = p.parse_args()
    rows, seeds = args.rows.split(","), [int(s) for s in args.seeds.split(",")]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        p.error(f"unknown rows {unknown}; the rows are {', '.join(ROWS)}")
    if args.rescore:
        rescore(rows, seeds, Path(args.work))
    elif args.train:
        ensure_data()
        for row in rows:
            for seed in seeds:
                train(plan(row, seed, Path(args.work)))
    elif args.report:
        Path("docs/results/grid.md").write_text(report() + "\n")
        print("wrote docs/results/grid.md")
    elif args.folders:
        print(" ".join(plan(row, seed, Path(args.work))[-1]["folder"] for row in rows for seed in seeds))
    elif args.plan:
        for row in rows:
            for seed in seeds:
                done = (RESULTS / row / f"seed{seed}.json").is_file()
                print(f"{row} seed {seed}{' (done)' if done else ''}: "
                      + " -> ".join(Path(s["folder"]).name for s in plan(row, seed, Path(args.work))))
    else:
        run(rows, seeds, Path(args.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
