"""`lexmotion eval words`: motion words scored as taggers (AP against chance, precision and recall at the
served threshold, how many clips hold each word) and the vectors' sizes as the network makes them."""
import json

import numpy as np
import pytest
from conftest import pretrain_tiny

from lexmotion.app.cli import main
from retrieval.words import average_precision, label_groups, tagger_report


def test_average_precision_and_ties():
    positives = np.array([True, False, True, False])
    assert average_precision(np.array([4.0, 3.0, 2.0, 1.0]), positives) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(np.array([1.0, 0.0, 1.0, 0.0]), positives) == 1.0
    # a tie gives the tagger no credit: the negative is ranked first
    assert average_precision(np.zeros(4), positives) == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_a_perfect_tagger_and_a_word_every_clip_holds():
    positives = np.array([True, True, False, False, False])
    network = np.zeros((5, 4))
    network[:2, 1] = 2.0                       # word 1 on its two clips only
    network[:, 2] = 1.0                        # word 2 on every clip
    groups = {"a": {"word": "jump", "ids": [1], "positives": positives},
              "b": {"word": "walk", "ids": [2], "positives": positives}}
    report = tagger_report(groups, network, network)
    jump, walk = report["words"]["jump"], report["words"]["walk"]
    assert jump["ap"] == jump["precision"] == jump["recall"] == 1.0 and jump["held"] == 0.4
    assert walk["held"] == 1.0 and walk["precision"] == 0.4 and walk["ap"] < 1.0
    assert report["n_words"] == 2 and report["mean"]["held"] == pytest.approx(0.7)


def test_ap_by_the_logits_ranks_the_clips_that_weigh_a_word_0():
    positives = np.array([True, False, True, False])
    logits = np.array([[2.0], [-1.0], [-0.5], [-3.0]])      # clip 2 is a positive the word never fires on
    network = np.log1p(np.maximum(logits, 0))
    groups = {"a": {"word": "jump", "ids": [0], "positives": positives}}
    report = tagger_report(groups, network, network, logits=logits)["words"]["jump"]
    assert report["ap"] == pytest.approx((1 + 2 / 4) / 2)    # the tie at 0 puts both negatives first
    assert report["ap_logits"] == 1.0                        # its logit -0.5 still ranks it above both
    assert "ap_logits" not in tagger_report(groups, network, network)["words"]["jump"]


def test_the_command_on_a_tiny_checkpoint(capsys, tiny_setup, tmp_path):
    assert pretrain_tiny(tiny_setup, "lexcmlp", tmp_path / "lex", 2) == 0
    out = tmp_path / "words.json"
    code = main([str(a) for a in ["eval", "words", "--model", tmp_path / "lex", "--data", tiny_setup / "kit",
                                  "--split", "train", "--min-positives", 2, "--json", out, "--quiet"]])
    assert code == 0, capsys.readouterr().err
    run = json.loads(out.read_text())["runs"][0]
    assert run["n_words"] >= 1 and run["clips"] == 8 and run["split"] == "train"
    assert {"ap", "ap_logits", "ap_query", "chance", "precision", "recall", "held"} <= set(next(iter(run["words"].values())))
    assert 0 < run["mean"]["ap_query"] <= 1
    assert run["motion_nonzeros_median"] >= 0 and run["text_nonzeros_median"] > 0
    # a dense model has no words to weigh: it gets query AP alone, and a mix of kinds is summarised by it
    assert pretrain_tiny(tiny_setup, "dense", tmp_path / "dense", 1) == 0
    code = main([str(a) for a in ["eval", "words", "--model", tmp_path / "dense", tmp_path / "lex", "--data",
                                  tiny_setup / "kit", "--split", "train", "--min-positives", 2, "--json", out, "--quiet"]])
    assert code == 0, capsys.readouterr().err
    report = json.loads(out.read_text())
    dense = report["runs"][0]
    assert dense["kind"] == "dense" and set(next(iter(dense["words"].values()))) == {"ap_query"}
    assert set(report["mean_std"]) == {"ap_query"}
    assert "query AP" in capsys.readouterr().out


def test_a_label_leaves_its_stop_words_out_so_it_can_be_tagged():
    from lexmotion.models.text import load_text_backbone
    tokenizer = load_text_backbone()[0]
    groups = label_groups(tokenizer, ["raise-up-left-hand"] * 3 + ["walk"] * 3)
    words = tokenizer.convert_ids_to_tokens(groups["raise-up-left-hand"]["ids"])
    assert words == ["raise", "left", "hand"]             # "up": no motion vector holds a stop word
    network = np.zeros((6, len(tokenizer)))
    network[:3, groups["raise-up-left-hand"]["ids"]] = 1.0
    report = tagger_report(groups, network, network, limits=np.full(len(tokenizer), 0.5))
    assert report["words"]["raise-up-left-hand"]["recall"] == 1.0
