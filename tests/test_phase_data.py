"""Each phase its own data: a config's phases.<phase>.data names a phase's datasets and caption sources;
one normalisation and one vocabulary serve the run; no phase trains on a val or test clip, and LexMLM's
corpus leaves out the val/test captions of every dataset of the run; a step budget is honoured."""
import json
import shutil

import pytest
from conftest import pretrain_tiny
from test_hardening import fails

from lexmotion.app.cli import main
from lexmotion.data.dataset import MotionDataset, build_dataset
from lexmotion.errors import LexmotionError
from pretrain.data_sources import union_stats
from pretrain.text_corpus import load_caption_corpus


@pytest.fixture(scope="module")
def extra(tiny_setup, sample_root, tmp_path_factory):
    """A second dataset in cmu-extra's layout: 10 other sample clips, captions of source cmu-description."""
    root = tmp_path_factory.mktemp("extra")
    src = root / "src"
    (src / "joints").mkdir(parents=True)
    rows = [json.loads(line) for line in (sample_root / "annotations.jsonl").read_text().splitlines() if line]
    picked = [{**r, "split": "test" if i >= 8 else "train"} for i, r in enumerate(rows[-10:])]
    for r in picked:
        shutil.copy(sample_root / "joints" / f"{r['id']}.npy", src / "joints")
    (src / "annotations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in picked))
    (src / "descriptions.tsv").write_text("trial\tdescription\n")
    build_dataset("kitml-cmu", src, root / "data", progress=False)
    return root / "data"


def _config(tiny_setup, tmp_path, phases: dict) -> str:
    config = json.loads((tiny_setup / "tiny.json").read_text())
    config["phases"] = phases
    path = tmp_path / "phases.json"
    path.write_text(json.dumps(config))
    return path


def test_each_phase_trains_on_its_own_data_and_captions(capsys, tiny_setup, extra, tmp_path):
    kit = str(tiny_setup / "kit")
    config = _config(tiny_setup, tmp_path, {
        "cmmm": {"data": [kit, str(extra)]},
        "lexcmlp": {"data": [{"path": kit, "captions": ["kitml"]}]}})
    code = main([str(a) for a in ["pretrain", "all", "--config", config, "--data", kit, "--out", tmp_path / "run",
                                  "--batch-size", 4, "--max-steps", 2, "--wandb", "disabled", "--quiet"]])
    assert code == 0, capsys.readouterr().err
    saved = {p: json.loads((tmp_path / "run" / p / "config.json").read_text()) for p in ("cmmm", "lexcmlp")}
    assert [d["path"] for d in saved["cmmm"]["provenance"]["data"]][:2] == [kit, str(extra)]
    assert saved["lexcmlp"]["train"]["data"] == [{"path": kit, "captions": ["kitml"]}]
    stats = json.loads((tmp_path / "run" / "lexmlm" / "stats.json").read_text())
    assert stats == union_stats([kit, str(extra)]) and stats["pooled_from"] == [kit, str(extra)]
    for phase in ("cmmm", "lexmmm", "lexcmlp"):           # one normalisation, from the first phase on
        assert json.loads((tmp_path / "run" / phase / "stats.json").read_text()) == stats


def test_a_folder_of_the_same_motions_counts_once_in_the_run_s_statistics(tiny_setup, extra, tmp_path):
    # the default reads data/kitml and data/kitml-desc, one set of motions with two sets of captions
    kit = str(tiny_setup / "kit")
    again = shutil.copytree(kit, tmp_path / "kit-again")
    once = union_stats([kit, str(extra)])
    assert union_stats([kit, str(extra), str(again)]) == once and once["pooled_from"] == [kit, str(extra)]
    assert union_stats([kit, str(again)]) == MotionDataset(kit).stats


def test_no_phase_sees_a_val_or_test_clip_and_lexmlm_leaves_out_every_dataset_s(tiny_setup, extra, tmp_path):
    from pretrain.data_sources import DataSource
    from pretrain.trainer import TrainConfig, Trainer
    kit, more = MotionDataset(tiny_setup / "kit"), MotionDataset(extra)
    held = {i for d in (kit, more) for i, s in zip(d.table["id"], d.table["split"]) if s in ("val", "test")}
    corpus = tmp_path / "kitml-text"
    (corpus / "splits").mkdir(parents=True)
    ids = sorted(held) + ["99999"]
    (corpus / "annotations.json").write_text(json.dumps(
        {i: {"annotations": [{"text": f"caption of {i}"}]} for i in ids}))
    (corpus / "splits" / "train.txt").write_text("\n".join(ids))
    # LexMLM on kit alone, in a run that also holds `extra`: extra's test captions stay out too
    captions = load_caption_corpus([str(corpus)], [kit], held_out_from=[kit, more])
    assert "caption of 99999" in captions and not [c for c in captions if c.split()[-1] in held]
    config = TrainConfig(phase="cmmm", batch_size=4, max_steps=1, wandb="disabled")
    trainer = Trainer([DataSource(str(tiny_setup / "kit")), DataSource(str(extra))], str(tmp_path / "t"), config,
                      model_config=None, progress=False)
    items, _ = trainer.train_set()
    trained = {d.table["id"][r["index"]] for dataset, d in zip(items.datasets, (kit, more)) for r in dataset.rows}
    assert trained and not trained & held


def test_a_step_budget_is_honoured_as_given(tiny_setup, tmp_path):
    # 8 training captions at batch 4 fill 2 steps an epoch; LexMLM's 3 default epochs used to cut 20 to 6
    assert pretrain_tiny(tiny_setup, "lexmlm", tmp_path / "m", 20) == 0
    assert json.loads((tmp_path / "m" / "DONE").read_text())["step"] == 20


@pytest.mark.parametrize("phases,message", [
    ({"cmmm": {"data": ["/no/such/folder"]}}, "no such dataset folder"),
    ({"lexcmlp": {"data": [{"path": "KIT", "captions": ["cmu-description"]}]}}, "it holds kitml"),
    ({"cmmm": {"data": [42]}}, "a data entry is a dataset folder"),
])
def test_bad_phase_data_is_one_line_before_training(capsys, tiny_setup, tmp_path, phases, message):
    phases = json.loads(json.dumps(phases).replace('"KIT"', json.dumps(str(tiny_setup / "kit"))))
    config = _config(tiny_setup, tmp_path, phases)
    fails(capsys, ["pretrain", "all", "--config", config, "--data", tiny_setup / "kit", "--out", tmp_path / "run",
                   "--wandb", "disabled", "--quiet"], message)
    assert not (tmp_path / "run").exists()


def test_no_data_at_all_is_one_line(capsys, tiny_setup, tmp_path):
    fails(capsys, ["pretrain", "lexcmlp", "--config", tiny_setup / "tiny.json", "--out", tmp_path / "x"],
          "no data; pass --data")


def test_a_train_share_keeps_the_same_nested_clips_in_every_motion_phase(tiny_setup, tmp_path):
    from pretrain.data_sources import DataSource
    from pretrain.settings import resolve
    from pretrain.trainer import TrainConfig, Trainer

    def kept(phase, share):
        config = TrainConfig(phase=phase, batch_size=4, max_steps=1, wandb="disabled", train_share=share)
        trainer = Trainer([DataSource(str(tiny_setup / "kit"))], str(tmp_path / f"{phase}-{share}"), config,
                          model_config=None, progress=False)
        return {r["id"] for d in trainer.train_set()[0].datasets for r in d.rows}
    every = kept("cmmm", 1.0)
    half, quarter = kept("cmmm", 0.5), kept("cmmm", 0.25)
    assert len(half) == -(-len(every) // 2) and quarter < half < every
    assert kept("lexcmlp", 0.5) == half                  # every captioned clip here: the same clips in each phase
    for share in (0, 1.5):
        with pytest.raises(LexmotionError, match="train_share"):
            resolve("cmmm", {"train": {"train_share": share}})
