"""The grounded lexical space: vocabulary priors, the gathered motion head, the grounding
terms and metrics, and the grounded pretraining chain on a tiny real slice."""
import json

import pytest
import torch
from conftest import tiny_bert

import lexmotion
from lexmotion.app.cli import main
from lexmotion.data.dataset import build_dataset
from lexmotion.models.lexical import (
    LexicalHead,
    lexical_pool,
    lexical_weights,
    max_pool_logits,
)
from lexmotion.models.losses import bag_of_words_loss
from lexmotion.models.text import load_text_backbone
from lexmotion.models.vocabulary import (
    STOP_WORDS,
    caption_targets,
    caption_word_ids,
    clean_vocabulary_mask,
    domain_vocabulary_mask,
    inverse_document_frequency,
)
from pretrain.sparsity import format_label_words, grounding_metrics, label_word_report


@pytest.fixture(scope="module")
def tokenizer():
    return load_text_backbone()[0]


def test_clean_mask_drops_stop_words_digits_punctuation_and_unused(tokenizer):
    mask = clean_vocabulary_mask(tokenizer)
    vocab = tokenizer.get_vocab()
    for token in ("the", "a", "person", "someone", "2016", "@", "[unused5]", "[CLS]", "v", "##s"):
        assert mask[vocab[token]] == 0, token
    for token in ("kicks", "walks", "left", "juggles" if "juggles" in vocab else "jug", "##gles"):
        assert mask[vocab[token]] == 1, token


def test_domain_mask_is_the_corpus_words(tokenizer):
    captions = ["a person kicks with the left leg", "someone walks forward slowly", "a person walks in a circle"]
    mask = domain_vocabulary_mask(tokenizer, captions, min_count=1)
    words = set(tokenizer.convert_ids_to_tokens(torch.nonzero(mask).flatten().tolist()))
    assert words == {"kicks", "left", "leg", "walks", "forward", "slowly", "circle"}


def test_caption_words_and_idf(tokenizer):
    assert tokenizer.convert_ids_to_tokens(caption_word_ids(tokenizer, "A man throws a ball.")) == ["throws", "ball"]
    assert caption_word_ids(tokenizer, "the of and !!!") == []
    captions = ["a person walks", "a person walks fast", "a person kicks"]
    idf = inverse_document_frequency(tokenizer, captions)
    walks, kicks = tokenizer.convert_tokens_to_ids(["walks", "kicks"])
    assert idf[kicks] > idf[walks] > 0
    targets = caption_targets(tokenizer, ["a person walks fast", "the"], idf)
    assert torch.isclose(targets[0].sum(), torch.tensor(1.0)) and targets[1].sum() == 0
    assert targets[0, walks] < targets[0, tokenizer.convert_tokens_to_ids("fast")]


def test_pool_first_equals_the_formula_values_and_gradients():
    # log(1 + ReLU) commutes with max: pooling the logits first is the same vector and gradient
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 11, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    vocab = (torch.arange(11) % 3 != 0).float()
    naive = torch.log1p(torch.relu(logits)).masked_fill(~mask[..., None], 0).max(1).values * vocab
    fast = lexical_pool(logits, mask, vocab)
    torch.testing.assert_close(fast, naive)
    w = torch.randn(3, 11)
    g_naive, = torch.autograd.grad((naive * w).sum(), logits)
    g_fast, = torch.autograd.grad((fast * w).sum(), logits)
    torch.testing.assert_close(g_fast, g_naive)
    assert lexical_weights(torch.tensor([float("-inf")])).item() == 0.0


def test_gathered_head_equals_the_full_head_values_and_gradients():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(50, 8)
    head = LexicalHead(6, emb)
    head.bias.data.normal_()
    hidden = torch.randn(2, 4, 6)
    mask = torch.ones(2, 4, dtype=torch.bool)
    active = torch.tensor([3, 7, 8, 20, 41])
    vocab = torch.zeros(50)
    vocab[active] = 1
    full = max_pool_logits(head(hidden), mask, vocab)
    part = max_pool_logits(head(hidden, active), mask)
    torch.testing.assert_close(part, full[:, active])
    g_full, = torch.autograd.grad(lexical_weights(full)[:, active].sum(), emb.weight)
    g_part, = torch.autograd.grad(lexical_weights(part).sum(), emb.weight)
    torch.testing.assert_close(g_part, g_full)


def test_bag_of_words_loss_prefers_the_caption_words():
    targets = torch.zeros(2, 6)
    targets[0, [1, 2]] = 0.5
    on_words = torch.tensor([[0, 5, 5, 0, 0, float("-inf")], [0, 0, 0, 0, 0, 0.0]])
    off_words = torch.tensor([[5, 0, 0, 5, 0, float("-inf")], [0, 0, 0, 0, 0, 0.0]])
    assert bag_of_words_loss(on_words, targets) < bag_of_words_loss(off_words, targets)
    assert torch.isfinite(bag_of_words_loss(on_words, targets))     # -inf outside the mask, target 0 there
    expected = -torch.log_softmax(on_words[0], -1)[[1, 2]].mean()  # the empty second row is left out
    torch.testing.assert_close(bag_of_words_loss(on_words, targets), expected)


def test_grounding_metrics_by_hand(tokenizer):
    V = len(tokenizer)
    ids = dict(zip(["kicks", "left", "leg", "kick", "ball", "the", "walks"],
                   tokenizer.convert_tokens_to_ids(["kicks", "left", "leg", "kick", "ball", "the", "walks"])))
    text, motion = torch.zeros(1, V), torch.zeros(1, V)
    for word, w in (("kick", 5), ("ball", 4), ("left", 3), ("the", 2)):
        text[0, ids[word]] = w
    motion[0, ids["walks"]], motion[0, ids["leg"]], motion[0, ids["the"]] = 2.0, 1.0, 1.0
    g = grounding_metrics(tokenizer, ["a person kicks with the left leg"], text, motion)
    assert g["text_caption_word_recall@10"] == pytest.approx(1 / 3, abs=1e-4)     # left; not kicks, not leg
    assert g["text_top5_precision"] == pytest.approx(2 / 4, abs=1e-4)             # kick (inflection) and left of 4
    assert g["motion_any_hit@20"] == 1.0 and g["motion_caption_word_recall@20"] == pytest.approx(1 / 3, abs=1e-4)
    assert g["stop_word_mass_text"] == pytest.approx(2 / 14, abs=1e-4) and g["stop_word_mass_motion"] == pytest.approx(0.25, abs=1e-4)
    assert "the" in STOP_WORDS


def test_label_word_report_by_hand(tokenizer):
    vocab = tokenizer.get_vocab()
    motion = torch.zeros(3, len(tokenizer))
    for n, words in enumerate([("waves", "left", "hand", "arm"), ("wave", "right", "arm"), ("running", "fast")]):
        for rank, w in enumerate(words):
            motion[n, vocab[w]] = 5.0 - rank
    report = label_word_report(tokenizer, ["wave-left-hand", "wave-left-hand", "run"], motion)
    assert report["wave-left-hand"]["label_words"] == sorted(["wave", "left", "hand"], key=vocab.get)
    assert report["wave-left-hand"]["all_in_top5"] == 0.5 and report["wave-left-hand"]["any_in_top5"] == 1.0
    assert report["run"]["all_in_top5"] == 1.0 and report["run"]["clips"] == 1
    assert report["wave-left-hand"]["frequent_words"][0] == "arm"      # the one word in both clips
    assert "wave-left-hand (2 clips)" in format_label_words(report)


@pytest.fixture(scope="module")
def data(kitml_slice, tmp_path_factory):
    out = tmp_path_factory.mktemp("ground") / "kit"
    build_dataset("kitml-cmu", kitml_slice, out, progress=False)
    return out


@pytest.fixture(scope="module")
def grounded(data, tmp_path_factory):
    """`pretrain all` with the domain vocabulary and every grounding term, 2 steps a phase."""
    cfg = tmp_path_factory.mktemp("gcfg") / "g.json"
    cfg.write_text(json.dumps({"model": {"motion": {"dim": 32, "depth": 1, "heads": 2, "max_frames": 80},
                                         "vocabulary": "domain"},
                               "train": {"save_every": 1, "warmup_steps": 1},
                               "settings": {"identity": 1.0, "bow_text": 1.0, "bow_motion": 1.0, "own_words_steps": 1}}))
    out = tmp_path_factory.mktemp("gruns") / "all"
    assert main(["pretrain", "all", "--data", str(data), "--out", str(out), "--config", str(cfg),
                 "--batch-size", "4", "--max-steps", "2", "--wandb", "disabled", "--quiet"]) == 0
    return out


def test_grounded_chain_carries_its_vocabulary_and_reports_grounding(grounded):
    model = lexmotion.load(grounded / "lexcmlp")
    assert model.config.vocabulary == "domain"
    active = int(model.motion_vocab_mask.sum())
    assert 0 < active < 200                       # the words of a 12-clip slice's training captions
    report = json.loads((grounded / "lexcmlp" / "sparsity.json").read_text())
    assert {"text_caption_word_recall@10", "text_top5_precision", "motion_any_hit@20",
            "motion_caption_word_recall@20", "stop_word_mass_text", "stop_word_mass_motion",
            "text_caption_word_recall@10_network", "text_top5_precision_network"} <= set(report["grounding"])
    assert report["motion_vocabulary_active"] == active
    terms = json.loads((grounded / "lexcmlp" / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"train_bow_text", "train_bow_motion"} <= set(terms)
    assert "train_identity" in json.loads((grounded / "lexmlm" / "metrics.jsonl").read_text().splitlines()[-1])
    # motion vectors never leave the domain vocabulary; text vectors never hold a stop word
    motion = model.encode_motion([torch.zeros(40, 105).numpy()]).to_dense()[0]
    assert (motion[model.motion_vocab_mask == 0] == 0).all()
    text = model.encode_text(["the person and the man"]).to_dense()[0]
    vocab = model.tokenizer.get_vocab()
    assert all(text[vocab[w]] == 0 for w in ("the", "person", "and", "man"))


def test_inference_free_text_side_from_a_checkpoint(capsys, grounded, data, tmp_path):
    out = tmp_path / "if"
    assert main(["pretrain", "lexcmlp", "--data", str(data), "--out", str(out), "--init", str(grounded / "lexmmm"),
                 "--text-side", "inference-free", "--batch-size", "4", "--max-steps", "2", "--wandb", "disabled",
                 "--quiet"]) == 0
    assert "text side: encoder -> inference-free" in capsys.readouterr().out
    model = lexmotion.load(out)
    vector = model.encode_text(["a person juggles with the left hand"]).to_dense()[0]
    words = {w for w, _ in model.explain(vector, k=10)}
    assert words == {"jug", "##gles", "left", "hand"}     # its own words, an unseen verb included


def test_own_word_floor_keeps_a_query_on_its_own_words(capsys, grounded, data, tmp_path):
    model = lexmotion.load(grounded / "lexcmlp")
    assert model.config.own_word_floor == 1.0                      # the default, saved in the checkpoint
    query = ["someone salutes with the right hand"]
    served = model.encode_text(query).to_dense()[0]
    model.config.own_word_floor = 0.0
    network = model.encode_text(query).to_dense()[0]
    ids = model.tokenize(query)["text_ids"][0]
    own = sorted({int(i) for i in ids if model.vocab_mask[i]})
    words = model.tokenizer.convert_ids_to_tokens(own)
    assert "salute" in words and "the" not in words and "with" not in words
    assert all(served[i] == served.max() for i in own)             # raised to the vector's largest weight
    others = torch.ones_like(served, dtype=torch.bool)
    others[own] = False
    assert torch.equal(served[others], network[others])            # nothing else moves, stop words stay out
    assert "salute" in {w for w, _ in lexmotion.load(grounded / "lexcmlp").explain(served, k=len(own) + 1)}   # + the network's own top word
    model.config.own_word_floor = 0.5
    half = model.encode_text(query).to_dense()[0]
    assert all(half[i] >= 0.5 * half.max() - 1e-6 for i in own)
    # evaluation scores the served vectors, or the network's with --own-word-floor 0; out of range is refused
    out = tmp_path / "floor0.json"
    assert main(["eval", "retrieval", "--model", str(grounded / "lexcmlp"), "--data", str(data),
                 "--own-word-floor", "0", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["details"]["own_word_floor"] == 0.0 and "text_top5_precision_network" not in result["grounding"]
    out = tmp_path / "floor1.json"
    assert main(["eval", "retrieval", "--model", str(grounded / "lexcmlp"), "--data", str(data), "--json", str(out)]) == 0
    grounding = json.loads(out.read_text())["grounding"]
    assert grounding["text_caption_word_recall@10"] >= 0.95     # the rule: served vectors hold their words
    assert 0 <= grounding["text_caption_word_recall@10_network"] < grounding["text_caption_word_recall@10"]
    assert "without the own-word floor: text caption-word recall@10" in capsys.readouterr().out
    capsys.readouterr()
    assert main(["eval", "retrieval", "--model", str(grounded / "lexcmlp"), "--data", str(data),
                 "--own-word-floor", "2"]) == 2
    assert "--own-word-floor is a share from 0 to 1" in capsys.readouterr().err


def test_motion_pruning_keeps_each_vector_s_largest_words(capsys, grounded, data, tmp_path):
    from lexmotion.data.dataset import MotionDataset
    ds = MotionDataset(data)
    clips = [ds.row(i) for i in ds.split_indices("test")[:4]]
    model = lexmotion.load(grounded / "lexcmlp")
    assert model.config.motion_max_words == 256                     # the default, saved in the checkpoint
    model.motion_head.bias.data.add_(5.0)                           # 2 training steps leave few words; open many
    model.config.motion_max_words = 0                               # 0: nothing pruned
    whole = model.encode_motion(clips).to_dense()
    model.config.motion_max_words = 3
    pruned = model.encode_motion(clips).to_dense()
    assert int((whole > 0).sum()) > int((pruned > 0).sum())          # something was pruned
    for w, p in zip(whole, pruned):
        kept = p > 0
        assert int(kept.sum()) == min(3, int((w > 0).sum()))
        if kept.any():
            assert torch.equal(p[kept], w[kept]) and w[~kept].max() <= p[kept].min()   # the 3 largest, unchanged
    out = tmp_path / "pruned.json"
    assert main(["eval", "retrieval", "--model", str(grounded / "lexcmlp"), "--data", str(data),
                 "--motion-max-words", "3", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["details"]["motion_max_words"] == 3 and result["grounding"]["motion_nonzeros_median"] <= 3
    capsys.readouterr()
    assert main(["eval", "retrieval", "--model", str(grounded / "lexcmlp"), "--data", str(data),
                 "--motion-max-words", "-1"]) == 2
    assert "--motion-max-words is a number of words" in capsys.readouterr().err
    from lexmotion.errors import LexmotionError
    from lexmotion.models.model import LexMotionModel, ModelConfig
    with pytest.raises(LexmotionError, match="motion_max_words is a number of words"):
        LexMotionModel(ModelConfig(motion_max_words=-5), load_pretrained_text=False)


def test_switching_an_old_checkpoint_to_the_domain_vocabulary(capsys, data, tiny_config, tmp_path):
    base = tmp_path / "full"
    assert main(["pretrain", "lexmmm", "--data", str(data), "--out", str(base), "--config", str(tiny_config),
                 "--vocabulary", "full", "--batch-size", "4", "--max-steps", "1", "--wandb", "disabled", "--quiet"]) == 0
    assert lexmotion.load(base).config.vocabulary == "full"
    out = tmp_path / "domain"
    assert main(["pretrain", "lexcmlp", "--data", str(data), "--out", str(out), "--init", str(base),
                 "--vocabulary", "domain", "--batch-size", "4", "--max-steps", "1", "--wandb", "disabled",
                 "--quiet"]) == 0
    assert "vocabulary prior: full -> domain" in capsys.readouterr().out
    assert lexmotion.load(out).config.vocabulary == "domain"


def test_fine_tuning_on_new_data_adds_its_words_to_the_domain_vocabulary(capsys, grounded, bandai_slice, tmp_path):
    bandai = tmp_path / "bandai"
    build_dataset("bandai", bandai_slice, bandai, progress=False)
    before = lexmotion.load(grounded / "lexcmlp").motion_vocab_mask.clone()
    out = tmp_path / "ft"
    assert main(["pretrain", "lexcmlp", "--data", str(bandai), "--out", str(out), "--init", str(grounded / "lexcmlp"),
                 "--vocabulary", "domain", "--batch-size", "4", "--max-steps", "1", "--wandb", "disabled",
                 "--quiet"]) == 0
    assert "(this run's captions added)" in capsys.readouterr().out
    after = lexmotion.load(out).motion_vocab_mask
    vocab = lexmotion.load(out).tokenizer.get_vocab()
    assert (after >= before).all() and after.sum() > before.sum()     # kitml's words stay, Bandai's join
    assert after[vocab["elderly"]] == 1 and before[vocab["elderly"]] == 0


def test_a_text_model_with_an_mlm_head_initialises_the_lexical_head(tokenizer, tmp_path):
    from lexmotion.models.model import LexMotionModel, ModelConfig
    bert = tiny_bert(tmp_path / "bert", tokenizer)
    model = LexMotionModel(ModelConfig(text_model=str(tmp_path / "bert"), vocabulary="domain"))
    head = bert.cls.predictions
    torch.testing.assert_close(model.text_head.dense.weight, head.transform.dense.weight)
    torch.testing.assert_close(model.text_head.norm.weight, head.transform.LayerNorm.weight)
    torch.testing.assert_close(model.text_head.bias, head.bias)
    assert model.text_encoder.config.hidden_size == 32


def test_mlm_head_of_another_vocabulary_is_refused(tokenizer, tmp_path):
    from lexmotion.errors import LexmotionError
    from lexmotion.models.model import LexMotionModel, ModelConfig
    tiny_bert(tmp_path / "odd", tokenizer, vocab_size=len(tokenizer) + 8)
    with pytest.raises(LexmotionError, match="MLM head predicts 30530 words but its tokenizer has 30522"):
        LexMotionModel(ModelConfig(text_model=str(tmp_path / "odd")))


def test_init_with_another_text_model_is_refused(capsys, grounded, data, tmp_path):
    from transformers import BertTokenizerFast
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(40)]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    small = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))
    tiny_bert(tmp_path / "small", small)
    assert main(["pretrain", "lexcmlp", "--data", str(data), "--out", str(tmp_path / "x"), "--init",
                 str(grounded / "lexmmm"), "--text-model", str(tmp_path / "small"), "--max-steps", "1",
                 "--wandb", "disabled", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "differs from the one" in err and "30522 words" in err and err.count("\n") == 1


def test_search_refuses_a_query_without_a_describing_word(capsys, grounded, data, tmp_path):
    idx = tmp_path / "idx"
    assert main(["index", "build", "--model", str(grounded / "lexcmlp"), "--data", str(data), "--split", "all",
                 "--out", str(idx), "--backend", "sparse"]) == 0
    capsys.readouterr()
    for query in ("!!!", "the of and", "a person 42"):
        assert main(["search", "--index", str(idx), query]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: the query") and "no word that describes a motion" in err
    assert main(["search", "--index", str(idx), "a person juggles", "-k", "1", "--json"]) == 0


def test_a_first_version_checkpoint_still_loads(data, tiny_config, tmp_path):
    # config.json of the first version has no vocabulary / text_side keys and no idf or domain buffers
    base = tmp_path / "v1"
    assert main(["pretrain", "lexcmlp", "--data", str(data), "--out", str(base), "--config", str(tiny_config),
                 "--vocabulary", "full", "--batch-size", "4", "--max-steps", "1", "--wandb", "disabled", "--quiet"]) == 0
    config = json.loads((base / "config.json").read_text())
    for key in ("vocabulary", "text_side", "motion_max_words"):
        del config["model"][key]
    (base / "config.json").write_text(json.dumps(config))
    model = lexmotion.load(base)
    assert model.config.vocabulary == "full" and not hasattr(model, "idf")
    assert model.config.motion_max_words == 0                       # served as it was trained: unpruned
    assert model.encode_text(["a person walks"]).shape == (1, 30522)
