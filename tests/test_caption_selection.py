"""Captioning against a baseline: the held-out selection slice, the frozen backbone's cache, the
nearest-caption baseline, several seeds, lexically guided decoding and language pretraining,
on a tiny slice of real kitml-cmu clips."""
import json
import math

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


def test_nearest_baseline_reads_another_rig_and_says_so(lexical, tiny_setup, tmp_path):
    """Another library's motions are read as every evaluation reads them; the decoding line names the rig."""
    import shutil
    other = tmp_path / "other-rig"
    shutil.copytree(tiny_setup / "kit", other)
    meta = json.loads((other / "lexmotion.json").read_text())
    (other / "lexmotion.json").write_text(json.dumps({**meta, "skeletons": {"bandai": meta["skeletons"]["kitml-cmu"]}}))
    out = tmp_path / "nearest.json"
    assert main(["caption", "eval", "--baseline", "nearest", "--model", str(lexical), "--data", str(other),
                 "--json", str(out)]) == 0
    decoding = json.loads(out.read_text())["decoding"]
    assert "motions on bandai, a skeleton it did not train on" in decoding


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
    assert all(math.isfinite(h["loss"]) for h in cfg["lm_history"])
    vocab = json.loads((out / "vocab.json").read_text())["itos"]
    assert "cartwheels" in vocab and "never" not in vocab


def test_guided_decoder_gradients_are_finite_over_a_one_step_memory():
    """Language pretraining's empty memory (one time step, zero variance of the attention window)
    once gave NaN gradients through the window's square root and poisoned the decoder."""
    from captioning.data import CaptionCollate
    from captioning.model import Captioner, CaptionerConfig
    from captioning.text import Vocabulary
    captions = ["a person walks in a circle", "someone jumps forward twice"]
    model = Captioner(CaptionerConfig(arch="guided", encoder="parts"), Vocabulary.build(captions, 1), None).train()
    items = [{"motion": torch.zeros(1, 1), "text": t, "refs": [t], "id": "", "clip": 0} for t in captions]
    batch = CaptionCollate(model.vocab)(items)
    logits, _, _ = model.teacher_forced(batch, model.empty_memory(len(items)))
    torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten(),
                                      ignore_index=model.vocab.pad).backward()
    grads = [p.grad for p in model.decoder.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_beam_nbest_starts_with_the_beam_search_caption(captioners, tiny_setup):
    from captioning.data import CaptionCollate
    from captioning.decoding import ModelScorer, beam_nbest, beam_search
    from captioning.evaluate import evaluation_examples
    from captioning.model import load_captioner
    model = load_captioner(captioners[0])
    examples, _ = evaluation_examples(MotionDataset(tiny_setup / "kit"), "test", model.stats)
    batch = CaptionCollate()([examples[i] for i in range(len(examples))])
    scorer = ModelScorer(model)
    nbest = beam_nbest(scorer, batch["motion"], batch["mask"], beam=3)
    assert [h[0] for h in nbest] == beam_search(scorer, batch["motion"], batch["mask"], beam=3)
    assert all(len(h) == len({tuple(s) for s in h}) >= 1 for h in nbest)


def test_cider_d_with_a_fixed_corpus_equals_pycocoevalcap():
    from pycocoevalcap.cider.cider import Cider

    from captioning.consensus import CiderD
    refs = ["a person walks forward", "a person walks slowly forward", "someone jumps up and down",
            "a man waves his left hand", "a person runs in a circle"]
    cands = ["a person walks", "someone jumps", "a man waves his hand", "a person runs forward", "zzz"]
    # One reference per clip: pycocoevalcap's document frequencies are then those of the references.
    _, expected = Cider().compute_score({i: [r] for i, r in enumerate(refs)}, {i: [c] for i, c in enumerate(cands)})
    cider = CiderD(refs)
    assert [cider.score(c, [r]) for c, r in zip(cands, refs)] == pytest.approx(list(expected), abs=1e-9)


def test_consensus_keeps_the_candidate_the_neighbours_agree_with():
    from captioning.consensus import CiderD, consensus_choice
    neighbours = [["a b c d", "e f g h", "e f g i"], ["a person walks forward", "a person walks slowly forward",
                                                      "someone jumps"]]
    cider = CiderD([c for n in neighbours for c in n])
    # A neighbour is scored against the other neighbours, not itself: "a b c d" shares nothing with them,
    # "e f g h" and "e f g i" share "e f g" with each other (a tie goes to the earlier one).
    assert consensus_choice([neighbours[0], neighbours[1][:1]], neighbours, cider) == [1, 0]
    # One clip alone is scored as within a split (the document frequencies are the corpus's).
    assert consensus_choice([["zzz", "a person walks forward slowly"]], neighbours[1:], cider) == [1]


def test_rerank_with_the_backbones_neighbours(captioners, lexical, tiny_setup, tmp_path, capsys):
    from types import SimpleNamespace

    from captioning.baseline import nearest_captions
    from captioning.data import CaptionCollate
    from captioning.evaluate import evaluation_examples
    from captioning.model import load_captioner
    from captioning.rerank import ConsensusReranker, make_reranker
    from lexmotion.errors import LexmotionError
    model = load_captioner(captioners[0])
    data = MotionDataset(tiny_setup / "kit")
    reranker = make_reranker(model, data, 3, None, "cpu")
    assert reranker.neighbours.name == str(lexical)
    examples, _ = evaluation_examples(data, "test", model.stats)
    batch = CaptionCollate()([examples[i] for i in range(len(examples))])
    near = reranker.neighbours(batch["motion"], batch["mask"])
    # The first neighbour, read from the captioner's features, is the nearest-caption baseline's caption.
    from lexmotion.models.checkpoint import load
    assert [n[0] for n in near] == nearest_captions(load(lexical), data, "test", [c["index"] for c in examples.clips])
    assert all(len(n) == 3 for n in near)
    chosen = ConsensusReranker(reranker.neighbours).choose(batch["motion"], batch["mask"], [["zzz"]] * len(near))
    assert all(c["source"] == "training caption" and c["caption"] == n[c["rank"]] for c, n in zip(chosen, near))
    with pytest.raises(LexmotionError, match="--rerank-model"):
        make_reranker(SimpleNamespace(config=SimpleNamespace(encoder="parts"), path="cap/parts"), data, 3, None, "cpu")
    # The commands: eval reports where each caption came from; describe says it in one line.
    out = tmp_path / "r.json"
    assert main(["caption", "eval", "--model", str(captioners[0]), "--data", str(tiny_setup / "kit"), "--rerank", "3",
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert 0 <= result["from_captioner"] <= 1 and "consensus reranking with the 3 nearest" in result["decoding"]
    rows = [json.loads(line) for line in (tmp_path / "r.json.predictions.jsonl").open()]
    assert {r["source"] for r in rows} <= {"captioner", "training caption"}
    motion = tmp_path / "clip.npy"
    import numpy as np
    np.save(motion, data.row(data.split_indices("test")[0])["joints"])
    capsys.readouterr()
    assert main(["caption", "describe", "--model", str(captioners[0]), "--motion", str(motion), "--rerank", "3",
                 "--rerank-data", str(tiny_setup / "kit")]) == 0
    assert "chosen by consensus of the motion's 3 nearest training captions" in capsys.readouterr().out
    for bad in (["--rerank", "-1"], ["--baseline", "nearest", "--rerank", "2"],
                ["--rerank-model", str(lexical), str(lexical)]):
        assert main(["caption", "eval", "--model", str(captioners[0]), "--data", str(tiny_setup / "kit"), *bad]) == 2
        assert "error:" in capsys.readouterr().err


def test_default_rerank_is_on_with_a_backbone_and_off_with_a_note_when_it_is_gone(captioners, tiny_setup, tmp_path,
                                                                                    capsys):
    import shutil
    data = str(tiny_setup / "kit")
    assert main(["caption", "eval", "--model", str(captioners[0]), "--data", data, "--json", str(tmp_path / "a.json")]) == 0
    assert "consensus reranking with the 20 nearest" in json.loads((tmp_path / "a.json").read_text())["decoding"]
    moved = tmp_path / "moved"
    shutil.copytree(captioners[0], moved)
    config = json.loads((moved / "config.json").read_text())
    config["captioner"]["encoder"] = "lexical:" + str(tmp_path / "gone")
    (moved / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert main(["caption", "eval", "--model", str(moved), "--data", data, "--json", str(tmp_path / "b.json")]) == 0
    assert "no consensus reranking" in capsys.readouterr().err
    assert "consensus" not in json.loads((tmp_path / "b.json").read_text())["decoding"]


def test_eval_takes_neighbours_from_rerank_data(captioners, tiny_setup, kitml_slice, tmp_path, capsys, monkeypatch):
    """`caption eval --rerank-data`: the neighbours are that dataset's training captions, as `caption describe`
    takes its captioner's (how a motion from another library is captioned)."""
    import shutil

    from lexmotion.data.dataset import build_dataset
    zebra = tmp_path / "zebra-slice"
    shutil.copytree(kitml_slice, zebra)
    rows = [json.loads(line) for line in (zebra / "annotations.jsonl").read_text().splitlines() if line]
    # the slice's own words (the checkpoint refuses data it cannot say), in sentences no caption of it holds
    a, b, c = sorted({w for r in rows for t in r["texts"] for w in t.lower().strip(".").split()}, key=len)[-3:]
    texts = [f"{a} {b} {c} {a}", f"{a} {b} {c} {b}", f"{a} {b} {c} {c}"]
    (zebra / "annotations.jsonl").write_text("".join(json.dumps({**r, "texts": [texts[i % 3]]}) + "\n"
                                                     for i, r in enumerate(rows)))
    build_dataset("kitml-cmu", zebra, tmp_path / "zebra", progress=False)
    from captioning.rerank import Neighbours
    seen, find = [], Neighbours.__call__
    monkeypatch.setattr(Neighbours, "__call__", lambda self, *a: seen.append(find(self, *a)) or seen[-1])
    out = tmp_path / "r.json"
    assert main(["caption", "eval", "--model", str(captioners[0]), "--data", str(tiny_setup / "kit"), "--rerank", "3",
                 "--rerank-data", str(tmp_path / "zebra"), "--json", str(out)]) == 0
    assert seen and all(n in texts for near in seen for ns in near for n in ns)
    assert str(tmp_path / "zebra") in json.loads(out.read_text())["decoding"]
    for bad in (["--rerank-data", str(tmp_path / "nowhere")], ["--baseline", "nearest", "--rerank-data", str(out)]):
        capsys.readouterr()
        assert main(["caption", "eval", "--model", str(captioners[0]), "--data", str(tiny_setup / "kit"), *bad]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_describe_does_not_rerank_a_motion_from_another_skeleton_unless_asked(captioners, tiny_setup, tmp_path, capsys):
    import numpy as np
    data = MotionDataset(tiny_setup / "kit")
    joints = data.row(data.split_indices("test")[0])["joints"]              # (frames, 21, 3) kitml-cmu
    other = tmp_path / "other.npy"
    np.save(other, np.concatenate([joints, joints[:, :1]], axis=1))          # 22 joints: read as humanml3d
    capsys.readouterr()
    assert main(["caption", "describe", "--model", str(captioners[0]), "--motion", str(other), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["rerank"] == 0 and json.loads(out.out)["source"] == "captioner"
    assert out.err.count("\n") == 1 and "humanml3d skeleton" in out.err and "--rerank K forces it" in out.err
    assert main(["caption", "describe", "--model", str(captioners[0]), "--motion", str(other), "--rerank", "3",
                 "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["rerank"] == 3 and not out.err
    own = tmp_path / "own.npy"
    np.save(own, joints)
    assert main(["caption", "describe", "--model", str(captioners[0]), "--motion", str(own), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rerank"] == 20          # the default where the neighbours fit


def test_neighbours_from_data_on_another_skeleton(captioners, tiny_setup, tmp_path, capsys):
    """A caption pool is only its captions: neighbours may come from a library on another rig (describing a
    studio's take with its own labelled takes' captions); the rig is named, not refused."""
    import shutil

    import numpy as np

    from captioning.baseline import check_matches_data, untrained_skeletons
    from lexmotion.models.checkpoint import load
    other = tmp_path / "other-rig"
    shutil.copytree(tiny_setup / "kit", other)
    meta = json.loads((other / "lexmotion.json").read_text())
    (other / "lexmotion.json").write_text(json.dumps({**meta, "skeletons": {"bandai": meta["skeletons"]["kitml-cmu"]}}))
    lexical = load(json.loads((captioners[0] / "config.json").read_text())["captioner"]["encoder"].split(":", 1)[1])
    assert untrained_skeletons(lexical, MotionDataset(other)) == ["bandai"]
    check_matches_data(lexical, MotionDataset(other), "ckpt", motions=False)
    data = MotionDataset(tiny_setup / "kit")
    motion = tmp_path / "clip.npy"
    np.save(motion, data.row(data.split_indices("test")[0])["joints"])
    capsys.readouterr()
    assert main(["caption", "describe", "--model", str(captioners[0]), "--motion", str(motion), "--rerank", "3",
                 "--rerank-data", str(other), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rerank"] == 3
