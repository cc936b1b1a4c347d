"""The captioning commands end to end on a tiny slice of real kitml-cmu clips, on the CPU."""
import json

import numpy as np
import pytest
from conftest import write_npy

from lexmotion.app.cli import main
from lexmotion.data.dataset import build_dataset

pytest.importorskip("pycocoevalcap", reason="the caption metrics need pycocoevalcap (pip install pycocoevalcap)")


@pytest.fixture(scope="module")
def data(kitml_slice, tmp_path_factory):
    out = tmp_path_factory.mktemp("cap") / "kit"
    build_dataset("kitml-cmu", kitml_slice, out, progress=False)
    return out


def train(out, data, *extra, epochs=1):
    return main(["caption", "train", "--data", str(data), "--out", str(out), "--epochs", str(epochs),
                 "--batch-size", "4", "--wandb", "disabled", "--quiet", "--min-count", "1", *map(str, extra)])


@pytest.fixture(scope="module")
def guided(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("cap") / "guided"
    assert train(out, data, "--arch", "guided", "--encoder", "parts", "--lambda-spat", 2, "--lambda-adapt", 3) == 0
    return out


@pytest.fixture(scope="module")
def local(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("cap") / "local"
    assert train(out, data, "--arch", "local", "--encoder", "mlp") == 0
    return out


def test_training_writes_a_complete_captioner(guided):
    for name in ("model.safetensors", "config.json", "vocab.json", "stats.json", "metrics.jsonl",
                 "last/model.safetensors", "last/trainer_state.pt"):
        assert (guided / name).is_file(), name
    cfg = json.loads((guided / "config.json").read_text())
    assert cfg["kind"] == "captioner" and cfg["captioner"]["arch"] == "guided" and cfg["lexmotion_version"]
    record = json.loads((guided / "metrics.jsonl").read_text().splitlines()[0])
    assert {"train_lang", "train_spat", "train_adapt", "val_BLEU@4"} <= set(record)
    assert record["train_spat"] > 0 and record["train_adapt"] > 0


def test_training_resumes(data, tmp_path, capsys):
    out = tmp_path / "resume"
    assert train(out, data, "--arch", "local", "--encoder", "gru", epochs=1) == 0
    assert train(out, data, "--arch", "local", "--encoder", "gru", epochs=2) == 0
    assert "resuming" in capsys.readouterr().out
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]
    # A different captioner in the same folder is refused.
    assert train(out, data, "--arch", "guided", "--encoder", "parts", epochs=3) == 2


@pytest.mark.parametrize("decoding", [["--greedy"], ["--beam", "2"]])
def test_eval_writes_scores_and_predictions(guided, data, tmp_path, decoding):
    out = tmp_path / "r.json"
    assert main(["caption", "eval", "--model", str(guided), "--data", str(data), "--json", str(out), *decoding]) == 0
    result = json.loads(out.read_text())
    assert {"n", "BLEU@1", "BLEU@4", "ROUGE-L", "CIDEr", "BERTScore", "decoding"} <= set(result)
    assert result["n"] == 2
    preds = [json.loads(line) for line in (tmp_path / "r.json.predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 2 and all(p["references"] for p in preds)


def test_synergy_eval_and_its_ablation(guided, local, data, tmp_path):
    for extra in ([], ["--synergy-components", "none", "--no-prune"], ["--synergy-components", "1,3"]):
        out = tmp_path / "s.json"
        assert main(["caption", "eval", "--model", str(guided), "--data", str(data), "--synergy", str(local),
                     "--greedy", "--json", str(out), *extra]) == 0
        assert "synergy" in json.loads(out.read_text())["decoding"]


def test_describe_prints_words_and_draws_the_figure(guided, local, kitml_slice, tmp_path, capsys):
    clip = min((kitml_slice / "joints").glob("*.npy"))
    for model in (guided, local):
        fig = tmp_path / f"{model.name}.png"
        assert main(["caption", "describe", "--model", str(model), "--motion", str(clip), "--fps", "24",
                     "--figure", str(fig)]) == 0
        assert fig.stat().st_size > 1000
    assert "wrote" in capsys.readouterr().out


def test_describe_json(guided, kitml_slice, capsys):
    clip = min((kitml_slice / "joints").glob("*.npy"))
    assert main(["caption", "describe", "--model", str(guided), "--motion", str(clip), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert isinstance(result["caption"], str)
    for w in result["words"]:
        assert 0 <= w["beta"] <= 1 and w["top_part"] and len(w["span_seconds"]) == 2


def test_analyze_writes_figures(guided, data, tmp_path):
    out = tmp_path / "analysis"
    assert main(["caption", "analyze", "--model", str(guided), "--data", str(data), "--split", "train",
                 "--out", str(out)]) == 0
    result = json.loads((out / "analysis.json").read_text())
    assert result["summary"]["clips"] == 8
    assert (out / "beta_density.png").is_file()


def test_analyze_body_part_accuracy_on_bandai(bandai_slice, tmp_path):
    data = tmp_path / "bandai"
    build_dataset("bandai", bandai_slice, data, progress=False)
    model = tmp_path / "g"
    assert main(["caption", "train", "--data", str(data), "--out", str(model), "--epochs", "1", "--batch-size", "8",
                 "--wandb", "disabled", "--quiet", "--val-split", "train", "--lambda-spat", "2"]) == 0
    out = tmp_path / "an"
    assert main(["caption", "analyze", "--model", str(model), "--data", str(data), "--split", "train",
                 "--out", str(out)]) == 0
    acc = json.loads((out / "analysis.json").read_text())["summary"]["body_part_accuracy"]
    assert 0 <= acc["overall"] <= 1 and acc["words"] > 0
    assert {"walk", "wave-left-hand", "raise-up-right-hand", "walk-turn-left"} & set(acc["per_label"])


def test_lexical_backbone(data, tiny_config, tmp_path):
    ckpt = tmp_path / "lex"
    assert main(["pretrain", "lexcmlp", "--data", str(data), "--out", str(ckpt), "--config", str(tiny_config),
                 "--batch-size", "4", "--max-steps", "2", "--wandb", "disabled", "--quiet"]) == 0
    for arch in ("guided", "local"):
        out = tmp_path / f"cap-{arch}"
        assert train(out, data, "--arch", arch, "--encoder", f"lexical:{ckpt}", "--lambda-adapt", 1) == 0
        r = tmp_path / f"{arch}.json"
        assert main(["caption", "eval", "--model", str(out), "--data", str(data), "--greedy", "--json", str(r)]) == 0
        assert (out / "text_model" / "tokenizer.json").is_file()          # rebuilds its backbone on its own
        prov = json.loads((out / "config.json").read_text())["provenance"]
        assert prov["backbone"] == str(ckpt) and prov["data"][0]["source"] == "kitml-cmu"
    # Fine-tuning trains the backbone too.
    assert train(tmp_path / "ft", data, "--arch", "guided", "--encoder", f"lexical:{ckpt}", "--finetune") == 0


@pytest.mark.parametrize("args, message", [
    (["--arch", "guided", "--encoder", "mlp"], "body parts"),
    (["--arch", "local", "--encoder", "transformer"], "--encoder must be"),
    (["--arch", "local", "--encoder", "lexical:/no/such/ckpt"], "no such checkpoint"),
])
def test_bad_training_options(data, tmp_path, capsys, args, message):
    assert train(tmp_path / "x", data, *args) == 2
    assert message in capsys.readouterr().err


def test_bad_motions_and_models(guided, tmp_path, capsys):
    empty = write_npy(tmp_path / "empty.npy", np.zeros((0, 21, 3)))
    nan = np.random.default_rng(0).normal(size=(30, 21, 3))
    nan[5] = np.nan
    nan = write_npy(tmp_path / "nan.npy", nan)
    for path, message in ((empty, "0 frame"), (nan, "NaN"), (tmp_path / "missing.npy", "no such motion file")):
        assert main(["caption", "describe", "--model", str(guided), "--motion", str(path)]) == 2
        assert message in capsys.readouterr().err
    # A captioner folder written by another format version.
    old = tmp_path / "old"
    old.mkdir()
    for name in ("model.safetensors", "vocab.json", "stats.json"):
        (old / name).write_bytes((guided / name).read_bytes())
    cfg = json.loads((guided / "config.json").read_text())
    cfg["format_version"] = 0
    (old / "config.json").write_text(json.dumps(cfg))
    clip = tmp_path / "ok.npy"
    write_npy(clip, np.random.default_rng(0).normal(size=(30, 21, 3)))
    assert main(["caption", "describe", "--model", str(old), "--motion", str(clip)]) == 2
    assert "format" in capsys.readouterr().err
    assert main(["caption", "eval", "--model", str(tmp_path), "--data", str(tmp_path)]) == 2
    assert "not a lexmotion captioner" in capsys.readouterr().err


def test_figures_follow_the_suffix_and_leave_the_backend_alone(guided, kitml_slice, tmp_path, capsys):
    import matplotlib
    backend = matplotlib.get_backend()
    clip = min((kitml_slice / "joints").glob("*.npy"))
    for suffix, magic in ((".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", b"\x89PNG")):
        fig = tmp_path / f"words{suffix}"
        assert main(["caption", "describe", "--model", str(guided), "--motion", str(clip), "--figure", str(fig)]) == 0
        assert fig.read_bytes().startswith(magic), suffix
    assert main(["caption", "describe", "--model", str(guided), "--motion", str(clip), "--figure",
                 str(tmp_path / "words.xyz")]) == 2
    assert "a figure is written as" in capsys.readouterr().err
    assert matplotlib.get_backend() == backend


def test_figure_functions_return_figures(guided, kitml_slice):
    from matplotlib.figure import Figure

    from captioning.analysis import describe_clip, words_figure
    from captioning.data import clip_features
    from captioning.model import load_captioner
    from lexmotion.data.motion_file import read_motion_file
    model = load_captioner(guided)
    clip = read_motion_file(str(min((kitml_slice / "joints").glob("*.npy"))))
    caption, att, _, origin = describe_clip(model, clip_features(clip["joints"], clip["fps"], clip["skeleton"], model.stats))
    assert isinstance(words_figure(model, att, caption), Figure)


def test_eval_moments_places_both_captioners_words(guided, local, data, tmp_path, capsys):
    from captioning.analysis import localise_captions
    from retrieval.moments import build_sequences
    sequences = build_sequences(data, "train", parts=2, seed=0)
    for captioner, arch in ((guided, "guided"), (local, "local")):
        result = localise_captions(str(captioner), sequences)
        assert result["arch"] == arch and len(result["examples"]) == len(sequences)
        placed = [w for e in result["examples"] for w in e["placed"]]
        assert len(placed) == result["words"]
        for w in placed:                              # a peak is a time inside the sequence
            assert 0 <= w["peak_seconds"] <= max(s.duration for s in sequences)
        assert result["words"] == 0 or 0 <= result["localisation"] <= 1
        found, chance = result["per_item"]["found"], result["per_item"]["chance"]
        assert [float(w["found"]) for w in placed] == found and len(chance) == len(found)
        assert all(0 < c < 1 for c in chance)             # a word held by some parts, not all
