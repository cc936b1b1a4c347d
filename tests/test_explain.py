"""Word timelines (`LexMotionModel.word_timelines`, `lexmotion explain`): each word's weight on every time
patch, whose maximum is the motion vector's weight, over the whole of a clip longer than the encoder."""
import json

import numpy as np
import pytest
from conftest import tiny_lexical_with_words
from test_hardening import fails

import lexmotion
from lexmotion.app.cli import main
from lexmotion.app.explain import peaks, shown_spans
from lexmotion.data.dataset import MotionDataset


@pytest.fixture(scope="module")
def lex(tiny_setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    tiny_lexical_with_words(tiny_setup, root / "lex")
    return root


def _clip(ds, i):
    row = ds.row(i)
    return {"joints": row["joints"], "fps": float(row["fps"]), "skeleton": row["skeleton"]}


def test_a_timeline_s_peak_is_the_motion_vector_s_weight(lex, tiny_setup):
    model = lexmotion.load(lex / "lex")
    model.config.motion_max_words = 0                # the vector as the network makes it
    ds = MotionDataset(tiny_setup / "kit")
    words = ["walking", "person", "forward"]
    clip = _clip(ds, 0)
    clip["joints"] = clip["joints"][: int(3 * clip["fps"])]            # 3 s: one encoder window (4 s)
    timelines = model.word_timelines(clip, words)
    vector = model.encode_motion([clip]).to_dense()[0]
    for word in words:
        assert timelines["words"][word].max() == pytest.approx(float(vector[model.tokenizer.convert_tokens_to_ids(word)]),
                                                              abs=1e-5)
        # the weights are log(1 + ReLU) of the logits, which still rank the patches where the weights are 0
        np.testing.assert_allclose(timelines["words"][word], np.log1p(np.maximum(timelines["logits"][word], 0)),
                                   rtol=1e-6, atol=1e-6)


def test_a_clip_longer_than_the_encoder_is_covered_whole(lex, tiny_setup):
    model = lexmotion.load(lex / "lex")
    ds = MotionDataset(tiny_setup / "kit")
    long = _clip(ds, 0)
    long["joints"] = np.concatenate([_clip(ds, i)["joints"] for i in range(4)])[: int(11 * long["fps"])]
    timelines = model.word_timelines(long, ["walking"])
    patch = model.config.motion.patch_frames
    assert len(timelines["seconds"]) == -(-len(model._clip_features(long)) // patch) and timelines["seconds"][-1] > 10
    assert np.isfinite(timelines["words"]["walking"]).all() and (timelines["words"]["walking"] > 0).all()


def test_peaks():
    seconds = np.arange(6) * 0.5
    assert peaks(seconds, np.array([0, 1, 0, 3, 2, 0.0])) == [(1.5, 3.0), (0.5, 1.0)]
    assert peaks(seconds, np.zeros(6)) == []


def test_the_command(capsys, lex, tiny_setup, tmp_path):
    ds = MotionDataset(tiny_setup / "kit")
    np.save(tmp_path / "clip.npy", ds.row(0)["joints"])
    argv = ["explain", "--model", lex / "lex", "--motion", tmp_path / "clip.npy", "--fps", ds.row(0)["fps"],
            "--words", "walking,forward"]
    assert main([str(a) for a in [*argv, "--json", "--plot", tmp_path / "t.png"]]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[: out.rindex("}") + 1])
    assert set(report["words"]) == {"walking", "forward"} and report["words"]["walking"]["peaks"]
    for r in report["words"].values():          # a word that never fires says where the motion comes closest
        assert ("closest" in r) == (not r["peaks"])
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    fails(capsys, [*argv[:-1], "walking,juggles"], "juggles: not a word of the model's vocabulary")
    fails(capsys, [*argv[:-1], ","], "--words")


def test_a_dataset_clip_is_explained_as_its_file_is(capsys, lex, tiny_setup, tmp_path):
    ds = MotionDataset(tiny_setup / "kit")
    row = ds.row(0)
    np.save(tmp_path / "clip.npy", row["joints"])
    common = ["explain", "--model", lex / "lex", "--words", "walking,forward", "--json"]
    assert main([str(a) for a in [*common, "--motion", tmp_path / "clip.npy", "--fps", row["fps"]]]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert main([str(a) for a in [*common, "--data", tiny_setup / "kit", "--id", row["id"]]]) == 0
    from_data = json.loads(capsys.readouterr().out)
    assert from_data["motion"] == f"{tiny_setup / 'kit'}:{row['id']}"
    assert from_data["words"] == from_file["words"]
    fails(capsys, [*common[:-1], "--data", tiny_setup / "kit"], "--data DIR with --id ID")
    fails(capsys, [*common[:-1], "--motion", tmp_path / "clip.npy", "--data", tiny_setup / "kit", "--id", row["id"]],
          "--data DIR with --id ID")
    fails(capsys, [*common[:-1], "--data", tiny_setup / "kit", "--id", "no-such-clip"], "no clip with id")


def test_without_words_the_motion_s_strongest_words_are_placed(capsys, lex, tiny_setup, tmp_path):
    model = lexmotion.load(lex / "lex")
    model.config.motion_max_words = 0
    ds = MotionDataset(tiny_setup / "kit")
    clip = _clip(ds, 0)
    np.save(tmp_path / "clip.npy", clip["joints"])
    assert main([str(a) for a in ["explain", "--model", lex / "lex", "--motion", tmp_path / "clip.npy",
                                  "--fps", clip["fps"], "--json"]]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["words_chosen"] == "the motion's strongest" and 0 < len(report["words"]) <= 5
    # they are the largest whole words anywhere in the motion: none outside them weighs more in its time
    weakest = min(r["weight"] for r in report["words"].values())
    timeline = model.patch_timeline(clip, lambda tokens: model.motion_head(tokens))[1].amax(0)
    vocab = model.tokenizer.convert_ids_to_tokens(list(range(len(timeline))))
    heavier = [w for w, x in zip(vocab, np.log1p(np.maximum(timeline.numpy(), 0)) * model.motion_mask.cpu().numpy())
               if x > weakest + 1e-4 and w.isalpha()]
    assert set(heavier) <= set(report["words"])


def test_shown_spans():
    seconds = np.arange(6) * 0.4 + 0.2
    assert shown_spans(seconds, np.array([1, 1, 0, 0, 1, 0], bool)) == [[0.0, 0.8], [1.6, 2.0]]
    assert shown_spans(seconds, np.zeros(6, bool)) == []


def test_the_command_marks_where_a_calibrated_checkpoint_shows_each_word(capsys, lex, tiny_setup, tmp_path):
    from lexmotion.models.thresholds import THRESHOLDS
    ds = MotionDataset(tiny_setup / "kit")
    np.save(tmp_path / "clip.npy", ds.row(0)["joints"])
    argv = [str(a) for a in ["explain", "--model", lex / "lex", "--motion", tmp_path / "clip.npy", "--fps",
                             ds.row(0)["fps"], "--words", "walking"]]
    assert main(argv) == 0
    assert "no calibrated thresholds" in capsys.readouterr().out
    model = lexmotion.load(lex / "lex")
    timelines = model.word_timelines(_clip(ds, 0), ["walking"])
    timeline, patch = timelines["words"]["walking"], float(np.diff(timelines["seconds"])[0])
    threshold = float(np.median(timeline))            # over it on some patches, not on others
    (tmp_path / "cal").mkdir()
    for f in (lex / "lex").iterdir():                 # a calibrated copy: the same files and a threshold for walking
        if f.is_file():
            (tmp_path / "cal" / f.name).symlink_to(f)
        else:
            (tmp_path / "cal" / f.name).symlink_to(f, target_is_directory=True)
    walking = model.tokenizer.convert_tokens_to_ids("walking")
    (tmp_path / "cal" / THRESHOLDS).write_text(json.dumps({"per_word": {str(walking): threshold}, "global": 9.0}))
    argv[2] = str(tmp_path / "cal")
    assert main([*argv, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)["words"]["walking"]
    assert r["threshold"] == pytest.approx(threshold, abs=1e-4)
    assert r["shown"] and sum(round((b - a) / patch) for a, b in r["shown"]) == int((timeline > threshold).sum())
    (tmp_path / "cal" / THRESHOLDS).write_text("{not json")    # damaged: one line naming it, not "uncalibrated"
    fails(capsys, argv, f"{THRESHOLDS}: damaged JSON")


def test_changes_give_the_stretches_between_where_the_motion_changes(capsys, lex, tiny_setup, tmp_path):
    from lexmotion.data.features import WORKING_FPS
    from retrieval.segments import cut_points
    ds = MotionDataset(tiny_setup / "kit")
    i = int(np.argmax([len(ds.row(k)["joints"]) / float(ds.row(k)["fps"]) for k in range(len(ds))]))   # the longest
    np.save(tmp_path / "clip.npy", ds.row(i)["joints"])
    argv = ["explain", "--model", lex / "lex", "--motion", tmp_path / "clip.npy", "--fps", ds.row(i)["fps"],
            "--words", "walking", "--changes"]
    assert main([str(a) for a in argv]) == 0
    assert "where the motion changes: " in capsys.readouterr().out
    assert main([str(a) for a in [*argv, "--json"]]) == 0
    stretches = json.loads(capsys.readouterr().out)["stretches"]
    model = lexmotion.load(str(lex / "lex"))
    features = model.whole_features(_clip(ds, i))
    cuts = [round(f / WORKING_FPS, 2) for f in cut_points(model, features)]
    assert [s["start"] for s in stretches] == [0.0, *cuts]            # one stretch per change, end to end
    assert [s["end"] for s in stretches] == [*cuts, round(len(features) / WORKING_FPS, 2)]
    assert all(set(s["words"]) == {"walking"} and len(s["top"]) <= 5 for s in stretches)
