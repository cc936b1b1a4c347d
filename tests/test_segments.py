"""Segments cut where the motion changes (retrieval/segments.py): change points of the model's own novelty, the
spans between them, and the indexes and benchmark that rank them."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import tiny_lexical_with_words
from test_hardening import fails

from lexmotion.app.cli import main
from lexmotion.data.features import WORKING_FPS
from retrieval.segments import change_points, novelty, segment_spans, segments

SECOND = round(WORKING_FPS)


class MeanModel:
    """A stand-in encoder: a window's vector is its mean feature row, so windows of one motion agree."""
    config = SimpleNamespace(motion=SimpleNamespace(max_frames=8 * SECOND))

    def read_window(self, part):
        return part

    def encode_motion(self, clips):
        return torch.tensor(np.stack([c.mean(0) for c in clips]))


def two_motions(first_s: float, second_s: float) -> np.ndarray:
    """Features of one motion, then another that differs in every window: the join is the only change."""
    a, b = round(first_s * SECOND), round(second_s * SECOND)
    rng = np.random.default_rng(0)
    one = np.tile([1.0, 0.0, 0.0], (a, 1)) + 0.01 * rng.standard_normal((a, 3))
    two = np.tile([0.0, 1.0, 0.0], (b, 1)) + 0.01 * rng.standard_normal((b, 3))
    return np.concatenate([one, two]).astype(np.float32)


def test_the_change_point_is_where_two_motions_join():
    features = two_motions(4, 5)
    frames, values = novelty(MeanModel(), features)
    assert frames[np.argmax(values)] == 4 * SECOND          # windows either side are pure only at the join
    assert segments(MeanModel(), features) == [(0, 4 * SECOND), (0, 9 * SECOND), (4 * SECOND, 9 * SECOND)]
    assert segments(MeanModel(), two_motions(5, 6)) == [(0, 5 * SECOND), (5 * SECOND, 11 * SECOND)]   # 11 s: too long


def test_peaks_are_the_largest_within_the_radius_and_above_the_mean():
    frames = np.arange(0, 100, 5)
    values = np.zeros(len(frames))
    values[[4, 5, 14]] = [0.5, 0.6, 0.3]                       # frames 20 and 25 are 5 apart: only the larger stays
    assert change_points(frames, values, radius=20) == [25, 70]
    assert change_points(frames, np.full(len(frames), 0.2), radius=20) == []      # flat: nothing stands out


def test_spans_lie_between_change_points_and_a_long_stretch_is_covered_by_windows():
    s = SECOND
    assert segment_spans([4 * s], 9 * s, 8 * s) == [(0, 4 * s), (0, 9 * s), (4 * s, 9 * s)]
    assert segment_spans([s // 2], 3 * s, 8 * s) == [(0, 3 * s), (s // 2, 3 * s)]    # under a second: no span
    long = segment_spans([], 20 * s, 8 * s)                 # no change point in 20 s: the encoder's windows
    assert long == [(0, 8 * s), (4 * s, 12 * s), (8 * s, 16 * s), (12 * s, 20 * s)]
    assert segment_spans([], s // 2, 8 * s) == [(0, s // 2)]      # too short for any rule: the clip whole


def test_a_motion_too_short_for_a_change_point_is_one_segment():
    frames, values = novelty(MeanModel(), two_motions(1, 1.5))
    assert len(frames) == 0
    assert segments(MeanModel(), two_motions(1, 1.5)) == [(0, round(2.5 * SECOND))]


@pytest.fixture(scope="module")
def lex(tiny_setup, tmp_path_factory):
    return tiny_lexical_with_words(tiny_setup, tmp_path_factory.mktemp("segments") / "lex")


def test_a_segment_index_finds_moments_and_never_grows_them(capsys, tiny_setup, lex, tmp_path):
    idx = tmp_path / "idx"
    assert main([str(a) for a in ["index", "build", "--model", lex, "--data", tiny_setup / "kit", "--split", "all",
                                  "--out", idx, "--backend", "sparse", "--segments", "--quiet"]]) == 0
    assert "segments (cut where the motion changes) of 12 motions" in capsys.readouterr().out
    meta = json.loads((idx / "index.json").read_text())
    items = [json.loads(line) for line in (idx / "items.jsonl").read_text().splitlines()]
    assert meta["segments"]["seconds"] == [1.0, 10.0] and meta["n"] == len(items) >= 12
    assert all(0 <= it["start"] < it["end"] for it in items)
    assert main(["search", "--index", str(idx), "a person walks forward", "-k", "4", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    spans = {(it["id"], it["start"], it["end"]) for it in items}
    assert hits and all((h["id"], h["start"], h["end"]) in spans for h in hits)     # each hit is one segment as cut
    pytest.importorskip("starlette")
    from lexmotion.app.serve import SearchService, served
    assert served(SearchService(idx, cache=tmp_path / "cache").info()) == f"{len(items)} segments of 12 motions"


@pytest.mark.parametrize("options,message", [(["--segments", "--window", 2], "--segments cuts each motion"),
                                             (["--segments", "--texts"], "a caption index (--texts) has none")])
def test_bad_segment_indexes_are_one_line(capsys, tiny_setup, lex, tmp_path, options, message):
    fails(capsys, ["index", "build", "--model", lex, "--data", tiny_setup / "kit", "--out", tmp_path / "i", *options],
          message)


def test_eval_moments_ranks_segments_as_they_are(capsys, tiny_setup, lex, tmp_path):
    out = tmp_path / "m.json"
    assert main([str(a) for a in ["eval", "moments", "--model", lex, "--data", tiny_setup / "kit", "--split", "train",
                                  "--parts", 2, "--proposals", "segments", "--json", out, "--quiet"]]) == 0
    assert "segments cut where the motion changes" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["proposals"] == "segments" and result["moment_tolerance"] == 0.0 and result["windows_s"] == []
    assert 0 <= result["moment_R1_iou0.5"]["mean"] <= result["runs"][str(lex)]["oracle_iou0.5"] <= 1


def test_a_long_take_reads_its_novelty_in_chunks_with_the_same_values(monkeypatch):
    import retrieval.segments as cut
    rng = np.random.default_rng(1)
    features = np.repeat(rng.standard_normal((12, 3)), 2 * SECOND, axis=0).astype(np.float32)   # 24 s, a change every 2 s
    whole = novelty(MeanModel(), features)
    monkeypatch.setattr(cut, "CHUNK", 7)
    chunked = novelty(MeanModel(), features)
    assert np.array_equal(whole[0], chunked[0]) and np.allclose(whole[1], chunked[1])
