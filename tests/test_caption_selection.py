"""Captioning against a baseline: the held-out selection slice, the frozen backbone's cache, the
nearest-caption baseline, several seeds, lexically guided decoding and language pretraining,
on a tiny slice of real kitml-cmu clips."""
import json

import pytest
import torch
from conftest import pretrain_tiny

from lexmotion.app.cli import main
from lexmotion.data.dataset import MotionDataset

pytest.importorskip("pycocoevalcap", reason="the caption metrics need pycocoevalcap (pip install pycocoevalcap)")


def train(out, data, *extra, epochs=1):
    return main([str(a) for a in ["caption", "train", "--data", data, "--out", out, "--epochs", epochs,
                                  "--batch-size", 4, "--wandb", "disabled", "--quiet", "--min-count", 1, *extra]])


@pytest.fixture(scope="module")
def lexical(tiny_setup, tmp_path_factory):
    out = tmp_path_factory.mktemp("sel") / "lex"
    assert pretrain_tiny(tiny_setup, "lexcmlp", out) == 0
    return out


@pytest.fixture(scope="module")
def captioners(tiny_setup, lexical, tmp_path_factory):
    """Two seeds of a guided captioner on the frozen tiny lexical backbone."""
    root = tmp_path_factory.mktemp("sel")
    outs = [root / f"cap-{s}" for s in (0, 1)]
    for s, out in enumerate(outs):
        assert train(out, tiny_setup / "kit", "--encoder", f"lexical:{lexical}", "--lambda-adapt", 1, "--seed", s) == 0
    return outs


def test_holdout_is_stable_and_keeps_captures_of_one_motion_together(tiny_setup, monkeypatch):
    from captioning.data import holdout
    data = MotionDataset(tiny_setup / "kit")
    train_ids = data.split_indices("train")
    kept, held = holdout(data, "train", 0.5)
    assert sorted(kept + held) == train_ids and not set(kept) & set(held)
    assert holdout(data, "train", 0.5) == (kept, held)                 # the same clips every time, every seed
    assert holdout(data, "train", 0.0) == (train_ids, [])
    # Make two training clips captures of one motion: they are held out together or kept together.
    metas = data.metas()
    ids = data.table["id"]
    a, b = train_ids[0], train_ids[1]
    metas[a]["same_motion_as"] = [ids[b]]
    monkeypatch.setattr(data, "metas", lambda: metas)
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.9):
        kept, held = holdout(data, "train", fraction)
        assert (a in held) == (b in held)


def test_selection_set_is_val_plus_held_out_train_clips_and_cider_picks_the_epoch(captioners, tiny_setup):
    cfg = json.loads((captioners[0] / "config.json").read_text())["train"]
    data = MotionDataset(tiny_setup / "kit")
    from captioning.data import holdout
    kept, held = holdout(data, "train", 0.1)
    assert cfg["train_clips"] == len(kept) and cfg["selection_clips"] == len(data.split_indices("val")) + len(held)
    assert cfg["select"] == "CIDEr" and cfg["holdout"] == 0.1 and cfg["cache_seconds"] >= 0
    record = json.loads((captioners[0] / "metrics.jsonl").read_text().splitlines()[0])
    assert "val_CIDEr" in record


def test_cached_backbone_outputs_equal_running_the_backbone(captioners, tiny_setup):
    from captioning.data import CaptionCollate, CaptionExamples
    from captioning.model import load_captioner
    model = load_captioner(captioners[0])
    assert model.caches_memory
    examples = CaptionExamples(MotionDataset(tiny_setup / "kit"), "train", model.stats, vocab=model.vocab)
    batch = CaptionCollate(model.vocab)([examples[i] for i in range(4)])
    live = model.encode(batch["motion"], batch["mask"])
    examples.cache_memory(model.encoder)
    cached_batch = CaptionCollate(model.vocab)([examples[i] for i in range(4)])
    cached = model.encode(None, None, cached_batch["memory"])
    assert torch.equal(live["mask"], cached["mask"])
    m = live["mask"][..., None]
    torch.testing.assert_close(live["frames"] * m, cached["frames"] * m, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(live["summary"], cached["summary"], atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        a = model.loss(batch, 0, 1)["total"]
        b = model.loss(cached_batch, 0, 1)["total"]
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_nearest_caption_baseline_copies_the_top_ranked_training_caption(lexical, tiny_setup, tmp_path, capsys):
    from captioning.baseline import nearest_captions
    from lexmotion.models.checkpoint import load
    model = load(lexical)
    data = MotionDataset(tiny_setup / "kit")
    test = data.split_indices("test")
    got = nearest_captions(model, data, "test", test)
    # By hand: the training caption whose text vector has the highest cosine with the motion vector.
    pool = list(dict.fromkeys(t for i in data.split_indices("train") for t in data.table["texts"][i]))
    text = torch.nn.functional.normalize(model.encode_text(pool).to_dense(), dim=-1)
    clips = [{"joints": data.row(i)["joints"], "fps": data.row(i)["fps"], "skeleton": data.row(i)["skeleton"]}
             for i in test]
    motion = torch.nn.functional.normalize(model.encode_motion(clips).to_dense(), dim=-1)
    assert got == [pool[j] for j in (motion @ text.T).argmax(1).tolist()]
    # The command, over two "seeds" (the same checkpoint given under two names): mean ± std.
    twin = tmp_path / "twin"
    twin.symlink_to(lexical)
    out = tmp_path / "nearest.json"
    assert main(["caption", "eval", "--baseline", "nearest", "--model", str(lexical), str(twin), "--data",
                 str(tiny_setup / "kit"), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["mean_std"]["runs"] == 2 and result["mean_std"]["CIDEr"]["std"] == 0
    assert "nearest training caption" in result["runs"][0]["decoding"]
    preds = [json.loads(line)["prediction"] for line in (tmp_path / "nearest.json.0.predictions.jsonl").open()]
    assert all(p in pool for p in preds)


def test_nearest_baseline_refuses_a_checkpoint_for_other_data(lexical, bandai_slice, tmp_path, capsys):
    from lexmotion.data.dataset import build_dataset
    bandai = tmp_path / "bandai"
    build_dataset("bandai", bandai_slice, bandai, progress=False)
    capsys.readouterr()
    assert main(["caption", "eval", "--baseline", "nearest", "--model", str(lexical), "--data", str(bandai)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "trained on skeletons kitml-cmu" in err and len(err.splitlines()) == 1


def test_a_missing_seed_is_named_before_any_work(captioners, tiny_setup, tmp_path, capsys):
    missing = tmp_path / "cap-2"
    assert main(["caption", "eval", "--model", str(captioners[0]), str(missing), "--data", str(tiny_setup / "kit")]) == 2
    assert str(missing) in capsys.readouterr().err
    assert main(["caption", "eval", "--baseline", "nearest", "--model", str(missing), "--data",
                 str(tiny_setup / "kit")]) == 2
    assert str(missing) in capsys.readouterr().err


def test_seeds_give_mean_and_std_and_the_words_the_captions_used(captioners, tiny_setup, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["caption", "eval", "--model", *map(str, captioners), "--data", str(tiny_setup / "kit"),
                 "--guide-weight", "0", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert len(result["runs"]) == 2 and result["mean_std"]["runs"] == 2
    for k in ("BLEU@4", "CIDEr"):
        values = [r[k] for r in result["runs"]]
        assert result["mean_std"][k]["mean"] == pytest.approx(sum(values) / 2, abs=0.01)
    words = result["runs"][0]["lexical_words"]
    assert words["source"] == "own lexical backbone" and words["top"] == 20 and 0 <= words["content_words_in_top"] <= 1
    assert "mean ± std over 2 runs" in capsys.readouterr().out


def test_guide_bonus_matches_caption_words_by_stem():
    from captioning.guidance import LexicalGuide, word_use
    from captioning.text import SPECIALS, Vocabulary
    from lexmotion.models.text import load_text_backbone
    tokenizer = load_text_backbone()[0]
    vocab = Vocabulary(list(SPECIALS) + ["a", "forward", "jumps", "person", "walk", "walking", "walks"])
    guide = LexicalGuide(tokenizer, vocab, top=3)
    ids = torch.tensor([tokenizer.convert_tokens_to_ids(["walks", "forward", "person", "jump"])])
    bonus = guide.bonus(ids, torch.tensor([[2.0, 1.0, 0.5, 0.4]]))[0]
    got = {vocab.itos[i]: round(float(b), 3) for i, b in enumerate(bonus) if b > 0}
    # walks -> walk, walking, walks (same stem), weight 2/2; forward 1/2; "person" is a function word;
    # "jump" is 4th, beyond the top 3.
    assert got == {"walk": 1.0, "walking": 1.0, "walks": 1.0, "forward": 0.5}
    stems = guide.stems(ids, torch.tensor([[2.0, 1.0, 0.5, 0.4]]))
    assert word_use(["a person walking forward quickly"], stems) == {"content_words_in_top": round(2 / 3, 3),
                                                                      "captions_with_a_top_word": 1.0}


def test_guided_decoding_weight_zero_is_plain_and_a_large_weight_says_the_motion_words(captioners, tiny_setup):
    from captioning.data import CaptionCollate
    from captioning.decoding import ModelScorer, decode
    from captioning.evaluate import evaluation_examples, make_scorer
    from captioning.guidance import GuidedScorer
    from captioning.model import load_captioner
    model = load_captioner(captioners[0])
    examples, _ = evaluation_examples(MotionDataset(tiny_setup / "kit"), "train", model.stats)
    batch = CaptionCollate()([examples[i] for i in range(len(examples))])
    plain = decode(ModelScorer(model), batch["motion"], batch["mask"], beam=2)
    off, _ = make_scorer(model, guide_weight=0.0)
    assert isinstance(off, GuidedScorer) and decode(off, batch["motion"], batch["mask"], beam=2) == plain
    strong, described = make_scorer(model, guide_weight=50.0)
    assert "lexical guidance (weight 50" in described
    guided = decode(strong, batch["motion"], batch["mask"], beam=1, max_len=4)
    bonus = strong.guide.bonus(*strong.last_top)
    for b, seq in enumerate(guided):
        rewarded = set(torch.nonzero(bonus[b]).flatten().tolist())
        if rewarded:
            assert seq and seq[0] in rewarded                              # the first word is a motion word
            said = [w for w in seq if w in rewarded]
            assert len(said) == len(set(said))                              # each bonus is spent once


def test_guidance_needs_words(tiny_setup, tmp_path, capsys):
    parts = tmp_path / "parts"
    assert train(parts, tiny_setup / "kit", "--encoder", "parts") == 0
    assert main(["caption", "eval", "--model", str(parts), "--data", str(tiny_setup / "kit"), "--guide-weight", "1"]) == 2
    assert "--guide-model" in capsys.readouterr().err


def test_language_pretraining_on_kitml_text_leaves_held_out_captions_out(tiny_setup, tmp_path):
    from captioning.data import holdout
    from captioning.train import language_corpus
    data = MotionDataset(tiny_setup / "kit")
    ids = data.table["id"]
    corpus_dir = tmp_path / "kitml-text"
    (corpus_dir / "splits").mkdir(parents=True)
    held_out = [ids[i] for i in data.split_indices("test")]
    annotations = {"90001": {"annotations": [{"text": "A person cartwheels sideways."}]},
                   "90002": {"annotations": [{"text": "Someone pirouettes twice."}]},
                   held_out[0]: {"annotations": [{"text": "A test caption never to be learnt."}]}}
    (corpus_dir / "annotations.json").write_text(json.dumps(annotations))
    (corpus_dir / "splits" / "train.txt").write_text("\n".join(annotations) + "\n")
    assert language_corpus(data, [str(corpus_dir)], holdout(data, "train", 0.1)[1]) == \
        ["A person cartwheels sideways.", "Someone pirouettes twice."]
    out = tmp_path / "lm"
    assert train(out, tiny_setup / "kit", "--encoder", "parts", "--lm-corpus", corpus_dir, "--lm-epochs", 2) == 0
    cfg = json.loads((out / "config.json").read_text())["train"]
    assert cfg["lm_captions"] == 2 and [h["lm_epoch"] for h in cfg["lm_history"]] == [1, 2]
    vocab = json.loads((out / "vocab.json").read_text())["itos"]
    assert "cartwheels" in vocab and "never" not in vocab
