"""Windowed indexes: a hit is a moment (the clip, its start and end), grown from its best window."""
import json

import pytest
from conftest import tiny_lexical_with_words
from test_hardening import fails

from lexmotion.app.cli import main
from retrieval.index import grow_moment, moment_hits
from retrieval.segments import windows


def test_windows_cover_the_clip_and_a_short_clip_stays_whole():
    assert windows(30, 40, 20) == [(0, 30)]
    assert windows(100, 40, 20) == [(0, 40), (20, 60), (40, 80), (60, 100)]
    assert windows(90, 40, 20) == [(0, 40), (20, 60), (40, 80), (50, 90)]      # the last one ends with the clip


def test_a_moment_grows_through_windows_that_score_near_its_best():
    windows = [(0, 2, 1.0), (1, 3, 0.85), (2, 4, 0.81), (3, 5, 0.5), (6, 8, 0.99)]
    assert grow_moment(1.0, 0, 2, windows, 0.2) == (0, 4)          # through (1, 3) to (2, 4); (6, 8) is apart
    assert grow_moment(1.0, 0, 2, windows, 0.0) == (0, 2)          # tolerance 0: the window alone
    assert grow_moment(1.0, 0, 2, windows, 0.2, taken=[(3.5, 5)]) == (0, 3)     # never into another moment


def test_hits_are_moments_that_overlap_no_better_hit_of_their_clip():
    items = [("a", 0, 2), ("a", 1, 3), ("b", 0, 2), ("a", 5, 7), ("a", 3, 5)]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]

    def windows_of(clip):
        return [(s, e, score) for (c, s, e), score in zip(items, scores) if c == clip]

    ranked = sorted(((score, row) for row, score in enumerate(scores)), reverse=True)
    hits = moment_hits(ranked, lambda row: items[row], windows_of, tolerance=0.2)
    assert hits == [(0.9, 0, 0, 3), (0.7, 2, 0, 2), (0.6, 3, 5, 7), (0.5, 4, 3, 5)]   # (1, 3) joined the first
    assert moment_hits(ranked, lambda row: items[row], windows_of, tolerance=0.0, k=2) == [(0.9, 0, 0, 2), (0.7, 2, 0, 2)]


@pytest.fixture(scope="module")
def lex(tiny_setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("windows")
    tiny_lexical_with_words(tiny_setup, root / "lex")
    return root


def test_a_windowed_index_finds_moments(capsys, tiny_setup, lex):
    idx = lex / "idx"
    assert main([str(a) for a in ["index", "build", "--model", lex / "lex", "--data", tiny_setup / "kit", "--split", "all",
                                  "--out", idx, "--backend", "sparse", "--window", 2, "--stride", 1]]) == 0
    assert "windows of 2 s (every 1 s) of 12 motions" in capsys.readouterr().out
    meta = json.loads((idx / "index.json").read_text())
    items = [json.loads(line) for line in (idx / "items.jsonl").read_text().splitlines()]
    assert meta["window"] == 2 and meta["n"] == len(items) > 12
    assert all(0 <= it["start"] < it["end"] <= it["start"] + 2.0 for it in items)
    assert main(["search", "--index", str(idx), "a person walks forward", "-k", "3", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert len(hits) == 3 and all(h["start"] < h["end"] for h in hits)
    spans = {}
    for h in hits:                                   # one clip's moments never overlap
        for start, end in spans.get(h["id"], []):
            assert h["end"] <= start or h["start"] >= end
        spans.setdefault(h["id"], []).append((h["start"], h["end"]))
    pytest.importorskip("starlette")
    from lexmotion.app.serve import SearchService
    info = SearchService(idx, cache=lex / "cache").info()      # the page says windows of how many clips
    assert (info["items"], info["clips"], info["window"]) == (len(items), 12, 2)


@pytest.mark.parametrize("options,message", [(["--window", 0], "--window must be"), (["--window", 99], "--window must be"),
                                             (["--window", 2, "--stride", 0], "--stride must be"),
                                             (["--window", 2, "--texts"], "a caption index"),
                                             (["--stride", 1], "--stride needs --window")])
def test_bad_windows_are_one_line(capsys, tiny_setup, lex, tmp_path, options, message):
    fails(capsys, ["index", "build", "--model", lex / "lex", "--data", tiny_setup / "kit", "--out", tmp_path / "i",
                   *options], message)


def test_the_bench_compares_windowed_and_segment_indexes_with_the_whole_clip_one(tiny_setup, lex, capsys):
    from retrieval.bench import main as bench
    assert bench(["--model", str(lex / "lex"), "--data", str(tiny_setup / "kit"), "--windows", "2,1",
                  "--window-backends", "sparse", "--queries", "3"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| sparse")]
    whole, windowed, segments = (line.split(" | ") for line in lines)
    assert whole[1] == "whole clips" and windowed[1] == "windows 2 s / 1 s" and segments[1] == "segments"
    assert int(windowed[2]) > int(whole[2]) == 12 and float(whole[-1].rstrip(" |")) == 1.0
    assert int(segments[2]) >= 12


def test_more_like_a_moment_reads_it_as_its_window_and_leaves_out_only_the_windows_it_overlaps(capsys, tiny_setup, lex):
    import numpy as np

    import lexmotion
    from lexmotion.data.dataset import MotionDataset
    from retrieval.collection import moment_query
    from retrieval.index import Index
    idx = lex / "like-idx"
    assert main([str(a) for a in ["index", "build", "--model", lex / "lex", "--data", tiny_setup / "kit", "--split", "all",
                                  "--out", idx, "--backend", "sparse", "--window", 2, "--stride", 1, "--quiet"]]) == 0
    items = [json.loads(line) for line in (idx / "items.jsonl").read_text().splitlines()]
    # a window of a clip that has windows apart from it
    row, w = next((r, w) for r, w in enumerate(items)
                  if any(o["id"] == w["id"] and o["start"] >= w["end"] for o in items))
    model = lexmotion.load(lex / "lex")
    query, span = moment_query(model, MotionDataset(tiny_setup / "kit").clip(w["id"]), w["start"], w["end"])
    assert span == (w["start"], w["end"])
    vector = model.encode_motion([query]).to_dense().numpy()[0]
    assert np.allclose(vector, Index.load(idx).raw_vectors[row].toarray().ravel(), atol=1e-5)
    capsys.readouterr()
    argv = ["search", "--index", str(idx), "--like", w["id"], "--start", str(w["start"]), "--end", str(w["end"]),
            "-k", str(len(items)), "--json"]
    assert main(argv) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["query"].endswith(f"[{w['start']:g}-{w['end']:g} s]")
    own = [h for h in found["hits"] if h["id"] == w["id"]]
    assert own and all(h["start"] >= w["end"] or h["end"] <= w["start"] for h in own)   # the take's other moments
    pytest.importorskip("starlette")
    from lexmotion.app.serve import SearchService, moment_of
    served = SearchService(idx, cache=lex / "like-cache").like(w["id"], len(items), w["start"], w["end"])
    assert [(h["id"], h["start"], h["score"]) for h in served["hits"]] == \
        [(h["id"], h["start"], h["score"]) for h in found["hits"]]
    with pytest.raises(lexmotion.LexmotionError, match="numbers of seconds"):
        moment_of({"start": "soon", "end": "2"})


@pytest.mark.parametrize("options,message", [(["--start", 0.1, "--end", 0.2], "at least one patch"),
                                             (["--start", 999], "the moment's start must be from 0 to the clip's length"),
                                             (["--start", 1, "--end", 0.5], "the moment's end must come after its start")])
def test_a_bad_moment_is_one_line(capsys, tiny_setup, lex, options, message):
    from lexmotion.data.dataset import MotionDataset
    idx = lex / "like-bad"
    if not idx.exists():
        assert main([str(a) for a in ["index", "build", "--model", lex / "lex", "--data", tiny_setup / "kit",
                                      "--split", "all", "--out", idx, "--backend", "sparse", "--quiet"]]) == 0
    some_id = MotionDataset(tiny_setup / "kit").table["id"][0]
    fails(capsys, ["search", "--index", idx, "--like", some_id, *options], message)
    fails(capsys, ["search", "--index", idx, "a person walks", "--start", 1], "give --like ID")
