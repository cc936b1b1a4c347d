"""Every committed recipe (pretrain/configs, its ablations) builds each phase's configs, and each ablation
differs from the config it is measured against only where its comment says."""
import json
from pathlib import Path

import pytest

from pretrain.cli import recipe_configs
from pretrain.phases import PHASES

HERE = Path(__file__).resolve().parents[1] / "pretrain" / "configs"
CONFIGS = sorted(HERE.rglob("*.json"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_committed_config_builds_every_phase(path):
    for phase in (*PHASES, "dense"):
        train, model = recipe_configs(path, phase)
        assert train.phase == phase and model.kind == ("dense" if phase == "dense" else "lexical")
    if path.parent.name == "ablations":
        assert json.loads(path.read_text())["comment"].strip()


def _settings(name: str):
    return recipe_configs(HERE / "ablations" / f"{name}.json", "lexcmlp")


@pytest.mark.parametrize("name,field,value", [("noid", "identity", 0.0), ("tau-0.01", "temperature", 0.01),
                                              ("own-words", "own_words_steps", 95), ("bt2", "bow_text", 2.0),
                                              ("bow-motion-0.3", "bow_motion", 0.3),
                                              ("flops-motion-1e-3", "flops_motion", 1e-3)])
def test_an_ablation_changes_its_one_setting(name, field, value):
    base = "bt" not in name and "previous-default" or "../cpu-small"
    train, _ = _settings(name)
    reference, _ = _settings(base)
    assert getattr(train.settings, field) == value != getattr(reference.settings, field)
    others = {k: v for k, v in vars(train.settings).items() if k != field}
    assert others == {k: v for k, v in vars(reference.settings).items() if k != field}


def test_the_first_versions_settings():
    train, model = _settings("v1")
    assert train.vocabulary == "full" and model.vocabulary == "full" and model.motion_max_words == 0
    assert train.settings.temperature == 0.05 and train.settings.bow_text == train.settings.identity == 0


def test_a_run_without_config_reads_the_default_recipe_and_data_replaces_its_lists():
    from pretrain.cli import DEFAULT_RECIPE, default_recipe
    assert DEFAULT_RECIPE == HERE / "default.json"
    own = default_recipe([])
    assert all(section.get("data") for section in own["phases"].values())     # every phase names its data
    assert own["phases"]["cmmm"]["data"] == ["data/kitml", "data/cmu-extra"]  # the motion-only phase sees every motion
    assert not any("data" in section for section in default_recipe(["mine"])["phases"].values())


def _without_comment(name: str) -> dict:
    """The config as `pretrain` reads it (laid over its base chain), less what says where it came from."""
    from pretrain.settings import load_recipe
    return {k: v for k, v in load_recipe(HERE / name).items() if k not in ("comment", "source")}


def _grid_row(name: str) -> dict:
    """grid/NAME.json with its data/*-words folders named as `data build` names them today (the same captions)."""
    return json.loads(json.dumps(_without_comment(f"grid/{name}.json")).replace('-words"', '"'))


@pytest.mark.parametrize("recipe,lexical,dense", [("default.json", "mirror-pairs", "mirror-pairs"),
                                                  ("baselines/text-lr-v6.json", "text-lr", "text-lr"),
                                                  ("baselines/cmu-words-v5.json", "cmu-words", "cmu-words"),
                                                  ("baselines/descriptions-long-v4.json", "descriptions-long",
                                                   "dense-descriptions-long"),
                                                  ("baselines/cmu-descriptions-long-v3.json", "cmu-descriptions-long",
                                                   "dense-cmu-descriptions-long")])
def test_a_default_is_exactly_the_grid_rows_it_was_chosen_by(recipe, lexical, dense):
    # the results docs quote the grid's rows for the default; a drift here would make them describe another recipe
    own, rows = _without_comment(recipe), _grid_row(lexical)
    assert own["phases"].pop("dense") == _grid_row(dense)["phases"]["dense"]
    rows["phases"].pop("dense")
    assert own == rows


def test_pretrain_without_config_or_data_names_the_default_recipe_s_missing_folder(capsys, tmp_path, monkeypatch):
    from test_hardening import fails
    monkeypatch.chdir(tmp_path)                          # no data/ here
    fails(capsys, ["pretrain", "all", "--out", "run", "--quiet", "--wandb", "disabled"],
          "data/kitml: no such dataset folder", "lexmotion data build",
          "the default recipe reads data/kitml, data/cmu-extra, data/kitml-desc", "or pass --data DIR")
    assert not (tmp_path / "run").exists()


def test_batch_by_dataset_must_be_true_or_false():
    from lexmotion.errors import LexmotionError
    from pretrain.settings import resolve
    assert resolve("lexcmlp", {"phases": {"lexcmlp": {"batch_by_dataset": True}}})[0].batch_by_dataset is True
    with pytest.raises(LexmotionError, match="batch_by_dataset is true or false"):
        resolve("lexcmlp", {"train": {"batch_by_dataset": "yes"}, "source": "x.json"})


@pytest.mark.parametrize("model,message", [({"mirror_average": "yes"}, "mirror_average is 'yes'; it must be true or false"),
                                           ({"motion_max_words": -3}, "motion_max_words is -3")])
def test_a_recipe_s_bad_model_value_is_one_line_before_training(model, message):
    # checked when the recipe is read, not when a checkpoint trained with it fails to load
    from lexmotion.errors import LexmotionError
    from pretrain.settings import resolve
    with pytest.raises(LexmotionError, match=message):
        resolve("lexcmlp", {"model": model, "source": "mine.json"})


def _write(folder: Path, name: str, recipe: dict) -> Path:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(recipe))
    return folder / name


def test_a_config_gives_only_what_it_changes_over_its_base(tmp_path):
    from pretrain.settings import load_recipe
    _write(tmp_path, "root.json", {"comment": "the root", "settings": {"temperature": 0.02, "bow_text": 1.5},
                                   "phases": {"lexcmlp": {"max_steps": 100, "data": ["data/a", "data/b"]}}})
    _write(tmp_path, "mid/child.json", {"comment": "one change", "base": "../root.json",
                                        "settings": {"bow_text": 2.0}, "phases": {"lexcmlp": {"data": ["data/c"]}}})
    child = _write(tmp_path, "grandchild.json", {"base": "mid/child.json", "phases": {"cmmm": {"max_steps": 5}}})
    recipe = load_recipe(child)
    assert recipe["settings"] == {"temperature": 0.02, "bow_text": 2.0}            # objects merge key by key
    assert recipe["phases"] == {"lexcmlp": {"max_steps": 100, "data": ["data/c"]},  # a list replaces the base's
                                "cmmm": {"max_steps": 5}}
    assert "comment" not in recipe and "base" not in recipe                          # a comment is its own file's
    assert recipe_configs(child, "lexcmlp")[0].settings.bow_text == 2.0


@pytest.mark.parametrize("files,message", [
    ({"a.json": {"base": "b.json"}, "b.json": {"base": "a.json"}}, "base chain comes back to a.json"),
    ({"a.json": {"base": "a.json"}}, "base chain comes back to a.json"),
    ({"a.json": {"base": "missing.json"}}, "its base missing.json is not a file"),
    ({"a.json": {"base": 3}}, "base names another config file"),
    ({"a.json": {"base": "b.json"}, "b.json": {"bogus": 1}}, "unknown keys ['bogus']")])
def test_a_broken_base_chain_is_one_clear_error(tmp_path, files, message):
    from lexmotion.errors import LexmotionError
    from pretrain.settings import load_recipe
    for name, recipe in files.items():
        _write(tmp_path, name, recipe)
    with pytest.raises(LexmotionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_recipe(tmp_path / "a.json")


def test_a_missing_base_stops_pretrain_before_it_makes_anything(tmp_path, capsys):
    from test_hardening import fails
    config = _write(tmp_path, "mine.json", {"base": "gone.json", "settings": {"bow_text": 2.0}})
    fails(capsys, ["pretrain", "lexcmlp", "--config", str(config), "--data", str(tmp_path), "--out", str(tmp_path / "run"),
                   "--quiet", "--wandb", "disabled"], "its base gone.json is not a file")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_no_committed_recipe_rests_on_a_recipe_that_changes(path):
    # default.json and cpu-small.json change when the default does; a row or ablation resting on them would
    # silently become another recipe than the one its results measured
    chain, recipe = [], json.loads(path.read_text())
    while "base" in recipe:
        path = (path.parent / recipe["base"]).resolve()
        chain.append(path)
        recipe = json.loads(path.read_text())
    assert not [p.name for p in chain if p.parent == HERE]          # default.json, cpu-small.json
