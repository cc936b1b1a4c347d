"""The real pretraining entry point on a tiny slice of kitml-cmu, on the CPU."""
import json

import pytest
import torch

import lexmotion
from lexmotion.app.cli import main
from lexmotion.data.dataset import MotionDataset, build_dataset
from lexmotion.errors import LexmotionError


@pytest.fixture(scope="module")
def data(kitml_slice, tmp_path_factory):
    out = tmp_path_factory.mktemp("pre") / "kit"
    build_dataset("kitml-cmu", kitml_slice, out, progress=False)
    return out


def pretrain(capsys, data, out, phase, config, *extra):
    code = main(["pretrain", phase, "--data", str(data), "--out", str(out), "--config", str(config),
                 "--batch-size", "4", "--wandb", "disabled", "--quiet", *map(str, extra)])
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def chain(data, tiny_config, tmp_path_factory):
    """`pretrain all` for 2 steps per phase (shared by the tests below)."""
    out = tmp_path_factory.mktemp("runs") / "all"
    assert main(["pretrain", "all", "--data", str(data), "--out", str(out), "--config", str(tiny_config),
                 "--batch-size", "4", "--max-steps", "2", "--wandb", "disabled", "--quiet"]) == 0
    return out


def test_all_phases_write_complete_checkpoints(chain):
    for phase in ("lexmlm", "cmmm", "lexmmm", "lexcmlp"):
        ckpt = chain / phase
        for name in ("model.safetensors", "config.json", "stats.json", "vocab.json", "metrics.jsonl", "DONE"):
            assert (ckpt / name).is_file(), f"{phase}: {name}"
        config = json.loads((ckpt / "config.json").read_text())
        assert config["phase"] == phase and config["lexmotion_version"] == lexmotion.__version__
        assert config["train"]["settings"]["mlm_ratio"] == 0.3
        assert json.loads((ckpt / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 2
    report = json.loads((chain / "lexcmlp" / "sparsity.json").read_text())
    assert {"text_nonzeros", "motion_nonzeros", "flops_text", "flops_motion", "top_motion_words"} <= set(report)


def test_all_skips_finished_phases(capsys, chain, data, tiny_config):
    code = main(["pretrain", "all", "--data", str(data), "--out", str(chain), "--config", str(tiny_config),
                 "--max-steps", "2", "--wandb", "disabled", "--quiet"])
    assert code == 0 and capsys.readouterr().out.count("already finished") == 4


def test_load_and_encode(chain, data):
    model = lexmotion.load(chain / "lexcmlp")
    text = model.encode_text(["a person walks forward", "someone jumps"])
    assert text.is_sparse and text.shape == (2, 30522)
    ds = MotionDataset(data)
    row = ds.row(0)
    motion = model.encode_motion([{"joints": row["joints"], "fps": row["fps"], "skeleton": ds.skeleton(row["skeleton"])}])
    assert motion.shape == (1, 30522) and (motion.to_dense() >= 0).all()
    words = model.explain(text[0], k=5)
    assert all(isinstance(w, str) and v > 0 for w, v in words)
    with pytest.raises(LexmotionError, match="non-empty"):
        model.encode_text([""])


def test_resume_continues_from_the_last_saved_step(capsys, data, tiny_config, tmp_path):
    out = tmp_path / "run"
    code, _ = pretrain(capsys, data, out, "lexcmlp", tiny_config, "--max-steps", "2", "--epochs", "5")
    assert code == 0
    first = torch.load(out / "trainer_state.pt", weights_only=True)
    assert first["step"] == 2
    code, printed = pretrain(capsys, data, out, "lexcmlp", tiny_config, "--max-steps", "4", "--epochs", "5")
    assert code == 0 and "resuming lexcmlp" in printed and "at step 2" in printed
    assert torch.load(out / "trainer_state.pt", weights_only=True)["step"] == 4


def test_dense_baseline(capsys, data, tiny_config, tmp_path):
    code, _ = pretrain(capsys, data, tmp_path / "dense", "dense", tiny_config, "--max-steps", "2")
    assert code == 0
    model = lexmotion.load(tmp_path / "dense")
    vec = model.encode_text(["a person walks"])
    assert not vec.is_sparse and vec.shape == (1, 256)
    from lexmotion.errors import WrongKindError
    with pytest.raises(WrongKindError):                 # a LexmotionError: one line on the command line
        model.explain(vec[0])


def test_temperature_option_reaches_the_loss_and_the_checkpoint(capsys, data, tiny_config, tmp_path, monkeypatch):
    import pretrain.phases as phases
    seen = []
    real_infonce = phases.InfoNCE

    def spy(temperature, *rest):
        seen.append(temperature)
        return real_infonce(temperature, *rest)

    monkeypatch.setattr(phases, "InfoNCE", spy)
    code, _ = pretrain(capsys, data, tmp_path / "t", "dense", tiny_config, "--max-steps", "1", "--temperature", "0.05")
    assert code == 0 and seen and set(seen) == {0.05}
    assert json.loads((tmp_path / "t" / "config.json").read_text())["train"]["settings"]["temperature"] == 0.05
    seen.clear()
    code, _ = pretrain(capsys, data, tmp_path / "d", "dense", tiny_config, "--max-steps", "1")
    assert code == 0 and set(seen) == {0.02}                                   # the default
    code = main(["pretrain", "dense", "--data", str(data), "--out", str(tmp_path / "x"), "--temperature", "0"])
    assert code == 2 and "--temperature must be positive" in capsys.readouterr().err
    # a config file is checked as well: a negative temperature would train with the similarity inverted
    for settings, message in (({"temperature": -0.05}, "temperature must be positive"),
                              ({"bow_motion": -1}, "bow_motion must not be negative")):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({**json.loads(tiny_config.read_text()), "settings": settings}))
        code = main(["pretrain", "dense", "--data", str(data), "--out", str(tmp_path / "x"), "--config", str(bad)])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "x").exists()


def test_mismatched_checkpoints_are_refused(chain, tmp_path):
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(chain / "lexcmlp", bad)
    vocab = json.loads((bad / "vocab.json").read_text())
    (bad / "vocab.json").write_text(json.dumps({**vocab, "size": 999, "sha1": "x"}))
    with pytest.raises(LexmotionError, match="vocabulary"):
        lexmotion.load(bad)
    config = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(LexmotionError, match="format 99"):
        lexmotion.load(bad)
    with pytest.raises(LexmotionError, match="no such checkpoint"):
        lexmotion.load(tmp_path / "nowhere")


def test_bad_pretrain_input(capsys, tmp_path, tiny_config):
    code = main(["pretrain", "lexcmlp", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o")])
    assert code == 2 and "no such dataset folder" in capsys.readouterr().err


@pytest.mark.parametrize("n,world,batch", [(127, 2, 32), (128, 2, 32), (10, 3, 2), (65, 4, 8)])
def test_every_rank_gets_the_same_number_of_batches(n, world, batch):
    from pretrain.schedule import batches as _batches
    shards = [_batches(n, batch, 0, 3, rank, world, drop_last=True) for rank in range(world)]
    assert len({len(s) for s in shards}) == 1
    seen = [i for s in shards for b in s for i in b]
    assert len(seen) == len(set(seen)), "no clip on two ranks"
    assert _batches(n, batch, 0, 3, 0, world, True) == shards[0], "deterministic per (seed, epoch)"


@pytest.mark.parametrize("world", [1, 2])
def test_batches_by_dataset_never_mix_datasets(world):
    from pretrain.schedule import dataset_batches
    sizes = [70, 33, 9]
    shards = [dataset_batches(sizes, 8, 0, 2, rank, world, drop_last=True) for rank in range(world)]
    assert len({len(s) for s in shards}) == 1, "every rank steps together"
    for shard in shards:
        assert all(len({0 if i < 70 else 1 if i < 103 else 2 for i in b}) == 1 for b in shard)
        assert {0 if b[0] < 70 else 1 for b in shard} == {0, 1}, "both large datasets appear, interleaved"
    seen = [i for s in shards for b in s for i in b]
    assert len(seen) == len(set(seen)) and max(seen) < sum(sizes)
    assert dataset_batches(sizes, 8, 0, 2, 0, world, True) == shards[0], "deterministic per (seed, epoch)"
    assert dataset_batches(sizes, 8, 0, 3, 0, world, True) != shards[0], "a new order each epoch"


def test_mixed_rigs_train_together(capsys, data, bandai_slice, tiny_config, tmp_path):
    bandai = tmp_path / "bandai"
    build_dataset("bandai", bandai_slice, bandai, progress=False)
    code = main(["pretrain", "lexcmlp", "--data", str(data), "--data", str(bandai), "--out", str(tmp_path / "mix"),
                 "--config", str(tiny_config), "--batch-size", "4", "--max-steps", "2", "--wandb", "disabled",
                 "--quiet"])
    assert code == 0 and (tmp_path / "mix" / "model.safetensors").is_file()
    # the same mix, each batch from one dataset (a config key); the checkpoint records it
    config = json.loads(tiny_config.read_text())
    config.setdefault("phases", {}).setdefault("lexcmlp", {})["batch_by_dataset"] = True
    (tmp_path / "by-dataset.json").write_text(json.dumps(config))
    code = main(["pretrain", "lexcmlp", "--data", str(data), "--data", str(bandai), "--out", str(tmp_path / "split"),
                 "--config", str(tmp_path / "by-dataset.json"), "--batch-size", "4", "--max-steps", "2",
                 "--wandb", "disabled", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "split" / "config.json").read_text())["train"]["batch_by_dataset"] is True


def test_lexmlm_corpus_is_human_captions_only(data, bandai_slice, tmp_path):
    from pretrain.text_corpus import load_caption_corpus
    bandai = tmp_path / "bandai"
    build_dataset("bandai", bandai_slice, bandai, progress=False)
    corpus = load_caption_corpus([], [MotionDataset(data), MotionDataset(bandai)])
    assert len(corpus) == 8 and not any("waves the left hand" in c for c in corpus)


def test_dataloader_workers(tiny_setup, tmp_path):
    out = tmp_path / "workers"
    assert main(["pretrain", "lexcmlp", "--data", str(tiny_setup / "kit"), "--out", str(out), "--config",
                 str(tiny_setup / "tiny.json"), "--batch-size", "4", "--max-steps", "3", "--workers", "2",
                 "--wandb", "disabled", "--quiet"]) == 0
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 3
    assert main(["pretrain", "lexcmlp", "--data", str(tiny_setup / "kit"), "--out", str(tmp_path / "bad"),
                 "--workers", "-1", "--wandb", "disabled"]) == 2


def test_a_fresh_run_is_reproducible_and_activation_checkpointing_changes_nothing(capsys, data, tiny_config, tmp_path):
    """--seed fixes a fresh model's initial weights (not only the batch order and dropout), so two fresh
    runs train the same weights; --activation-checkpointing recomputes the encoders with the same
    dropout masks, so it trains them too. Another seed trains other weights."""
    from safetensors.torch import load_file

    weights = {}
    for name, extra in (("a", ()), ("b", ()), ("ckpt", ("--activation-checkpointing",)), ("seed1", ("--seed", "1"))):
        code, printed = pretrain(capsys, data, tmp_path / name, "lexcmlp", tiny_config, "--max-steps", "2", *extra)
        assert code == 0, printed
        weights[name] = load_file(tmp_path / name / "model.safetensors")
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["train"]["activation_checkpointing"] is True
    for name in ("b", "ckpt"):
        for key, value in weights["a"].items():
            assert torch.equal(value, weights[name][key]), (name, key)
    assert any(not torch.equal(v, weights["seed1"][k]) for k, v in weights["a"].items())


def test_a_non_finite_loss_stops_training_in_one_line(capsys, data, tiny_config, tmp_path, monkeypatch):
    """The first NaN loss ends the run with one line naming the step; nothing is saved after it."""
    import pretrain.phases as phases

    dense = phases.LOSSES["dense"]

    def nan_from_step_2(model, batch, settings, step):
        terms = dense(model, batch, settings, step)
        if step >= 2:
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setitem(phases.LOSSES, "dense", nan_from_step_2)
    code = main(["pretrain", "dense", "--data", str(data), "--out", str(tmp_path / "nan"), "--config", str(tiny_config),
                 "--batch-size", "4", "--max-steps", "5", "--wandb", "disabled", "--quiet"])
    captured = capsys.readouterr()
    assert code == 2
    assert "the training loss became nan in dense step 3" in captured.err
    assert "Traceback" not in captured.err
    from safetensors.torch import load_file  # what was saved is from before the NaN
    saved = tmp_path / "nan" / "model.safetensors"
    assert not saved.exists() or all(torch.isfinite(v).all() for v in load_file(saved).values())


def _phase_configs(config, **flags):
    """(TrainConfig, ModelConfig) per phase, under CONFIG and FLAGS, as `lexmotion pretrain PHASE` resolves them."""
    from pretrain.cli import recipe_configs
    return {phase: recipe_configs(config, phase, **flags) for phase in ("lexmlm", "cmmm", "lexmmm", "lexcmlp", "dense")}


def test_the_shipped_recipe_sets_each_phase_and_options_override_it():
    from pathlib import Path

    import pretrain
    recipe = Path(pretrain.__file__).parent / "configs" / "cpu-small.json"
    built = _phase_configs(recipe)
    assert built["lexmlm"][0].max_steps == 100 and built["cmmm"][0].epochs == 20
    assert built["lexmmm"][0].epochs == 8 and built["lexcmlp"][0].epochs == 15 and built["dense"][0].epochs == 15
    # the domain vocabulary up to LexMMM, the clean one in LexCMLP (an --init checkpoint switches, a fresh model starts so)
    assert [built[p][0].vocabulary for p in ("lexmlm", "cmmm", "lexmmm", "lexcmlp")] == [None, None, None, "clean"]
    assert built["lexmmm"][1].vocabulary == "domain" and built["lexcmlp"][1].vocabulary == "clean"
    assert all(model.motion_max_words == 256 for _, model in built.values())
    assert all(train.batch_size == 32 for train, _ in built.values())      # the shared train keys still apply
    # text bag-of-words 1.5 in LexCMLP: the smallest weight whose network text recall@10 met 0.9 on every seed
    assert built["lexcmlp"][0].settings.bow_text == 1.5 and built["lexcmlp"][0].settings.bow_motion == 1.0
    overridden = _phase_configs(recipe, epochs=3, vocabulary="domain")
    assert overridden["lexcmlp"][0].epochs == 3 and overridden["lexcmlp"][0].vocabulary == "domain"


@pytest.mark.parametrize("bad,message", [
    ({"phases": {"lexcmpl": {"epochs": 2}}}, "phases maps a phase"),
    ({"phases": {"lexcmlp": 15}}, "phases maps a phase"),
    ({"phases": {"lexcmlp": {"epoch": 15}}}, "unknown TrainConfig keys ['epoch']"),
    ({"phase": {"lexcmlp": {"epochs": 15}}}, "unknown keys ['phase']"),
    ({"model": "domain"}, "model must be a JSON object"),
])
def test_a_bad_phases_section_is_one_line(tmp_path, bad, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(LexmotionError) as error:
        _phase_configs(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_lexcmlp_continues_under_the_clean_vocabulary_unless_one_is_named(tiny_config, tmp_path):
    built = _phase_configs(tiny_config)                 # names no vocabulary: the built-in recipe
    assert [built[p][0].vocabulary for p in ("lexmlm", "cmmm", "lexmmm", "lexcmlp")] == [None, None, None, "clean"]
    assert built["lexmlm"][1].vocabulary == "domain" and built["lexmlm"][1].motion_max_words == 256
    first_version = tmp_path / "v1.json"
    first_version.write_text(json.dumps({"model": {"vocabulary": "full"}}))
    assert _phase_configs(first_version)["lexcmlp"][0].vocabulary is None        # the checkpoint's, as named
    assert _phase_configs(tiny_config, vocabulary="domain")["lexcmlp"][0].vocabulary == "domain"
