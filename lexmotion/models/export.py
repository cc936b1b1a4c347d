"""Checkpoints that travel: ``lexmotion export CKPT OUT`` and loading by Hugging Face hub id.

An exported folder holds what loading needs (model.safetensors, config.json, stats.json,
vocab.json, text_model/ with the tokenizer files), the run's metrics.jsonl and sparsity.json,
and a README.md model card: the phase, the data with their licences, the metrics and
grounding figures copied from those two files, the exact command, and how to load it. The
trainer state (optimiser, random states) stays behind. Upload the folder to the hub as it is
(``huggingface-cli upload OWNER/NAME OUT``); ``lexmotion.load("hf://OWNER/NAME")`` then loads it.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from lexmotion import __version__
from lexmotion.errors import LexmotionError, WrongPathError
from lexmotion.files import (
    claim_output,
    mark_folder,
    output_lock,
    read_json,
    replace_folder,
)
from lexmotion.models.hub import local_checkpoint

# the tagger's thresholds and the hub prior's query bank travel too: a search from the export ranks as the original
FILES = ("model.safetensors", "config.json", "stats.json", "vocab.json", "metrics.jsonl", "sparsity.json",
         "thresholds.json", "querybank.json")
def _metrics(path: Path) -> dict:
    """The last line of metrics.jsonl (the finished run's last epoch), or {}."""
    from lexmotion.errors import CorruptFileError
    lines = [line for line in (path / "metrics.jsonl").read_text().splitlines() if line.strip()] \
        if (path / "metrics.jsonl").is_file() else []
    try:
        return json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError as err:
        raise CorruptFileError(f"{path / 'metrics.jsonl'}: damaged last line ({err})") from None


def _fmt(value) -> str:
    """A number as its file stores it (the card states the same numbers as metrics.jsonl / sparsity.json)."""
    return json.dumps(value)


def model_card(cfg: dict, metrics: dict, sparsity: dict, name: str) -> str:
    """README.md of an exported checkpoint (YAML front matter for the hub, then the card)."""
    model, train, prov = cfg["model"], cfg.get("train", {}), cfg.get("provenance") or {}
    data = prov.get("data", [])
    non_commercial = [d for d in data if d.get("non_commercial")]
    licence = "cc-by-nc-4.0" if any("CC BY-NC 4.0" in d.get("licence", "") for d in non_commercial) else \
        ("other" if non_commercial else "mit")
    kind, phase = model.get("kind", "lexical"), cfg["phase"]
    chain, parent = [], prov
    while parent:
        chain.append(parent.get("phase", "?"))
        parent = parent.get("parent")
    lines = ["---", "library_name: lexmotion", f"license: {licence}",
             "tags: [lexmotion, motion-retrieval, text-to-motion, motion-language, "
             + ("sparse-retrieval, lexical]" if kind == "lexical" else "dense-retrieval]"), "---", "",
             f"# {name}", "",
             f"A lexmotion {kind} checkpoint after the **{phase}** phase"
             + (f" (training chain: {' → '.join(reversed(chain))})" if len(chain) > 1 else "") + ". "
             + ("Texts and motions are embedded as sparse vectors over the words of the text model's vocabulary, "
                "so every vector, search hit and score can be read as words." if kind == "lexical" else
                "Texts and motions are embedded as dense vectors (the baseline of lexmotion's lexical models)."),
             "", f"- text model: `{model.get('text_model')}`; vocabulary prior: `{model.get('vocabulary', 'full')}`; "
             f"text side: `{model.get('text_side', 'encoder')}`"
             + (f"; own-word floor: {model.get('own_word_floor', 1.0)}"
                if kind == "lexical" and model.get("text_side", "encoder") == "encoder" else "")
             + (f"; motion vectors pruned to their {model['motion_max_words']} largest words"
                if kind == "lexical" and model.get("motion_max_words") else ""),
             f"- motion encoder: width {model['motion']['dim']}, depth {model['motion']['depth']}, "
             f"{model['motion']['patch_frames']}-frame patches, up to {model['motion']['max_frames']} frames at 20 fps",
             f"- lexmotion {cfg.get('lexmotion_version', __version__)}, checkpoint format {cfg.get('format_version')}",
             "", "## Training data", ""]
    if data:
        lines += ["| dataset | source | licence |", "|---|---|---|"]
        lines += [f"| `{d['path']}` | {d['source']} | {d['licence']} |" for d in data]
        if non_commercial:
            lines += ["", f"**Non-commercial use only**: trained on data under {non_commercial[0]['licence']}."]
    else:
        lines.append("Not recorded (a checkpoint from before lexmotion kept its provenance).")
    lines += ["", "## Training", ""]
    if prov.get("command"):
        lines += ["```bash", prov["command"], "```", ""]
    lines.append(f"Seed {train.get('seed')}, batch {train.get('batch_size')}, learning rate {train.get('lr')}"
                 + (f", created {prov['created']}" if prov.get("created") else "") + ".")
    if metrics:
        lines += ["", "## Metrics (`metrics.jsonl`, last epoch; `val_` = validation split)", "",
                  "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in metrics.items()]
    grounding = sparsity.get("grounding", {})
    if sparsity:
        lines += ["", f"## Sparsity and grounding (`sparsity.json`, {sparsity.get('clips')} clips of the "
                      f"{sparsity.get('split_used')} split)", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in grounding.items()]
        for side in ("text", "motion"):
            if f"{side}_nonzeros" in sparsity:
                lines.append(f"| {side} non-zeros (median) | {_fmt(sparsity[f'{side}_nonzeros']['median'])} |")
    lines += ["", "## Usage", "", "```python", "import lexmotion", "",
              'model = lexmotion.load("hf://OWNER/NAME")      # or the path of this folder',
              'text = model.encode_text(["a person kicks with the left leg"])']
    if kind == "lexical":
        lines.append("print(model.explain(text[0], k=10))               # the query's top words")
    lines += ["```", "", "```bash",
              "lexmotion index build --model hf://OWNER/NAME --data data/kitml --out idx/kit",
              'lexmotion search --index idx/kit "a person kicks +left -jump"', "```", ""]
    return "\n".join(lines)


def export_checkpoint(ckpt, out, overwrite: bool = False) -> Path:
    """Write the publishable folder OUT (see the module docstring); -> OUT.

    OUT must be new or empty; ``overwrite`` replaces an earlier export, never another folder."""
    from lexmotion.models.checkpoint import (
        TEXT_FILES,
        checked_model_config,
        read_config,
        text_files_of,
    )

    ckpt = local_checkpoint(ckpt)
    cfg = read_config(ckpt)                       # a captioner or a damaged folder is refused here
    checked_model_config(ckpt, cfg)               # so is a config that does not describe its weights
    if text_files_of(ckpt) is None:
        raise LexmotionError(f"{ckpt}: has no {TEXT_FILES}/ (tokenizer files), so it cannot load on another "
                             "machine; re-save it by resuming its run with this lexmotion")
    if Path(out).resolve() == ckpt.resolve():
        raise WrongPathError(f"{out}: is the checkpoint itself; export it to another folder")
    claim_output(out, "export", overwrite=overwrite, inputs=[ckpt], option="OUT")
    with output_lock(out) as out:
        claim_output(out, "export", overwrite=overwrite, inputs=[ckpt], option="OUT")     # again, under the lock
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
        try:
            for name in FILES:
                if (ckpt / name).is_file():
                    shutil.copy2(ckpt / name, tmp / name)
            shutil.copytree(ckpt / TEXT_FILES, tmp / TEXT_FILES)
            sparsity = read_json(ckpt / "sparsity.json") if (ckpt / "sparsity.json").is_file() else {}
            card = model_card(cfg, _metrics(ckpt), sparsity, f"lexmotion {cfg['phase']} ({out.name})")
            (tmp / "README.md").write_text(card)
            mark_folder(tmp, "export")
            replace_folder(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return out
