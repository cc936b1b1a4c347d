"""`lexmotion eval compare`: paired intervals that find a real difference, hold 0 where there is none,
refuse sides scored on different queries or vocabularies, and run end to end on checkpoints."""
import json
import shutil

import numpy as np
import pytest
from conftest import pretrain_tiny
from test_hardening import fails

from lexmotion.app.cli import main
from lexmotion.errors import LexmotionError
from retrieval.compare import compare_ranks, paired_difference


def test_a_clear_gain_is_found_and_no_gain_holds_zero():
    rng = np.random.default_rng(0)
    a = (rng.random((3, 400)) < 0.3) * 100.0
    better = np.maximum(a, (rng.random((3, 400)) < 0.3) * 100.0)      # B hits every query A hits, and more
    found = paired_difference(a, better, resamples=500)
    assert found["verdict"] == "B better" and found["low"] > 0 and found["p"] < 0.01
    assert found["difference"] == pytest.approx(better.mean() - a.mean())
    same = paired_difference(a, a.copy(), resamples=500)
    assert same["verdict"] == "no measurable difference" and same["low"] == same["high"] == 0 and same["p"] == 1
    worse = paired_difference(better, a, resamples=500)
    assert worse["verdict"] == "A better" and worse["high"] < 0


def test_seed_noise_widens_the_interval():
    rng = np.random.default_rng(1)
    base = (rng.random(300) < 0.4) * 100.0
    steady = np.stack([base] * 3)
    noisy = np.stack([np.where(rng.random(300) < 0.2, 100.0 - base, base) for _ in range(3)])   # seeds disagree
    b = np.stack([np.maximum(base, (rng.random(300) < 0.1) * 100.0)] * 3)
    narrow, wide = paired_difference(steady, b, resamples=800), paired_difference(noisy, b, resamples=800)
    assert wide["high"] - wide["low"] > narrow["high"] - narrow["low"]


def test_different_query_sets_are_refused():
    a = [{"ids": ["1", "2", "3"], "t2m": [1, 2, 3], "m2t": [1, 1, 1]}]
    b = [{"ids": ["1", "2", "4"], "t2m": [1, 2, 3], "m2t": [1, 1, 1]}]
    with pytest.raises(LexmotionError, match="different query sets"):
        compare_ranks(a, b, resamples=100)


@pytest.fixture(scope="module")
def sides(tiny_setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    for name, phase, seed in (("lex0", "lexcmlp", 0), ("lex1", "lexcmlp", 1), ("dense0", "dense", 0)):
        assert pretrain_tiny(tiny_setup, phase, root / name, 2, "--seed", seed) == 0
    return root


@pytest.mark.slow
def test_the_command_compares_seeds_against_a_baseline(capsys, tiny_setup, sides, tmp_path):
    out = tmp_path / "cmp.json"
    code = main([str(a) for a in ["eval", "compare", "--a", sides / "dense0", "--b", sides / "lex0", sides / "lex1",
                                  "--data", tiny_setup / "kit", "--resamples", 200, "--json", out, "--quiet"]])
    printed = capsys.readouterr().out
    assert code == 0 and "| t2m | R@1 |" in printed and "95% interval" in printed
    result = json.loads(out.read_text())
    assert result["queries"] == 2 and set(result["t2m"]) == {"R@1", "R@5", "R@10"}
    assert all(r["low"] <= r["difference"] <= r["high"] for d in ("t2m", "m2t") for r in result[d].values())
    code = main([str(a) for a in ["eval", "compare", "--a", sides / "lex0", "--b", sides / "lex0", "--data",
                                  tiny_setup / "kit", "--resamples", 200, "--json", out, "--quiet"]])
    assert code == 0
    assert {r["verdict"] for d in ("t2m", "m2t") for r in json.loads(out.read_text())[d].values()} == \
        {"no measurable difference"}


@pytest.mark.parametrize("case", ["vocabulary", "split", "missing", "resamples"])
def test_bad_comparisons_are_one_line(capsys, tiny_setup, sides, tmp_path, case):
    other = sides / "lex0"
    argv = ["eval", "compare", "--a", sides / "lex0", "--b", other, "--data", tiny_setup / "kit", "--quiet"]
    if case == "vocabulary":
        other = tmp_path / "other-vocab"
        shutil.copytree(sides / "lex1", other)
        vocab = json.loads((other / "vocab.json").read_text())
        (other / "vocab.json").write_text(json.dumps({**vocab, "sha1": "0" * 40}))
        argv[5] = other
        fails(capsys, argv, "different vocabularies")
    elif case == "split":
        fails(capsys, [*argv, "--split", "nonexistent"], "no clip in split")
    elif case == "missing":
        argv[5] = tmp_path / "nothing"
        fails(capsys, argv, "no such checkpoint")
    else:
        fails(capsys, [*argv, "--resamples", "5"], "at least 100")


def test_words_intervals_keeps_the_checkpoints_named_after_the_path(tmp_path):
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "words_intervals", Path(__file__).resolve().parents[1] / "docs" / "scripts" / "words_intervals.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    runs = [{"words": {"walk": {"ap": 0.1 * (i + 1)}, "jump": {"ap": 0.2 * (i + 1)}}} for i in range(3)]
    path = tmp_path / "words.json"
    path.write_text(json.dumps({"models": ["a", "b", "c"], "runs": runs}))
    assert module.per_word(str(path), "ap") == {"jump": pytest.approx([0.2, 0.4, 0.6]), "walk": pytest.approx([0.1, 0.2, 0.3])}
    assert module.per_word(f"{path}:2,0", "ap") == {"jump": pytest.approx([0.6, 0.2]), "walk": pytest.approx([0.3, 0.1])}
