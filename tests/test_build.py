"""Importers and `lexmotion data ...` run end to end, through the CLI's main()."""
import json
import re
import shutil

import datasets
import numpy as np
import pytest
from conftest import write_npy

from lexmotion.app.cli import main
from lexmotion.data.dataset import MotionDataset, build_dataset


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_full_kitml_cmu_build_and_info(capsys, kitml_root, tmp_path):
    code, out, _ = run(capsys, "data", "build", "kitml-cmu", "--root", kitml_root, "--out", tmp_path / "kit", "--quiet")
    assert code == 0 and "774 clips" in out
    code, out, _ = run(capsys, "data", "info", tmp_path / "kit", "--json")
    info = json.loads(out)
    assert info["clips"] == 774
    assert {s: v["clips"] for s, v in info["splits"].items()} == {"train": 621, "val": 33, "test": 120}
    assert info["fps"] == {"24.0": 546, "12.0": 228}
    table = datasets.load_from_disk(str(tmp_path / "kit"))
    row = table.with_format("numpy")[0]
    assert row["joints"].dtype == np.float32 and row["joints"].shape == (row["num_frames"], 21, 3)
    assert set(table.column_names) >= {"id", "joints", "fps", "skeleton", "texts", "split", "caption_source"}
    assert set(table["caption_source"]) == {"human"}
    stats = json.loads((tmp_path / "kit" / "stats.json").read_text())
    assert len(stats["mean"]) == len(stats["std"]) == 105


def test_build_skips_bad_clips_and_keeps_the_rest(capsys, kitml_slice, tmp_path):
    root = tmp_path / "kit"
    shutil.copytree(kitml_slice, root)
    rows = [json.loads(x) for x in (root / "annotations.jsonl").read_text().splitlines()]
    nan = np.load(root / "joints" / f"{rows[0]['id']}.npy")
    nan[4, 3] = np.nan
    write_npy(root / "joints" / "nanclip.npy", nan)
    write_npy(root / "joints" / "oneframe.npy", nan[:1])
    extra = [dict(rows[1], id="nanclip"), dict(rows[1], id="oneframe"), dict(rows[1], id="missing")]
    with open(root / "annotations.jsonl", "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in extra) + "{not json\n")
    code, out, _ = run(capsys, "data", "build", "kitml-cmu", "--root", root, "--out", tmp_path / "ds", "--quiet")
    assert code == 0 and "12 clips" in out and "4 skipped" in out
    report = json.loads((tmp_path / "ds" / "build_report.json").read_text())
    reasons = " | ".join(s["reason"] for s in report["skipped"])
    assert "NaN" in reasons and "1 frame" in reasons and "missing joints file" in reasons
    assert "bad annotation line" in reasons


def test_bandai_folder_build(capsys, bandai_slice, tmp_path):
    code, out, _ = run(capsys, "data", "build", "bandai", "--root", bandai_slice, "--out", tmp_path / "b", "--quiet")
    assert code == 0 and "12 clips" in out
    ds = MotionDataset(tmp_path / "b")
    assert set(ds.table["caption_source"]) == {"label"} and set(ds.table["skeleton"]) == {"bandai"}
    by_take = {}
    for i in range(len(ds)):
        row = ds.row(i)
        assert row["fps"] == 30.0 and len(row["texts"]) == 3 and len(set(row["texts"])) == 3
        by_take.setdefault(row["meta"]["take"], set()).add(row["split"])
        if row["meta"]["content"] == "wave-left-hand":
            assert all("left hand" in t for t in row["texts"])
            assert any("elderly" in t or "old person" in t for t in row["texts"])
    assert all(len(s) == 1 for s in by_take.values()), "no take in two splits"


def test_bandai_build_skips_a_truncated_bvh(capsys, bandai_slice, tmp_path):
    root = tmp_path / "bandai"
    shutil.copytree(bandai_slice, root)
    victim = sorted(root.rglob("*.bvh"))[0]
    victim.write_text(victim.read_text()[:-5000])
    code, out, _ = run(capsys, "data", "build", "bandai", "--root", root, "--out", tmp_path / "b", "--quiet")
    assert code == 0 and "11 clips" in out and "1 skipped" in out
    assert f"{victim.name}: truncated BVH" in out


def test_bandai_needs_its_cfg(capsys, tmp_path):
    (tmp_path / "x").mkdir()
    code, _, err = run(capsys, "data", "build", "bandai", "--root", tmp_path / "x", "--out", tmp_path / "b")
    assert code == 2 and "missing cfg/content_label.txt" in err and err.count("\n") == 1


def test_guo_layout_with_texts_written_here(capsys, humanml3d_root, tmp_path):
    root = tmp_path / "hml"
    shutil.copytree(humanml3d_root / "new_joints", root / "new_joints")
    write_npy(root / "new_joints" / "000001.npy", np.load(root / "new_joints" / "012314.npy")[:40])
    (root / "texts").mkdir()
    (root / "texts" / "012314.txt").write_text(
        "a person walks forward then turns around.#a/DET person/NOUN walk/VERB#0.0#0.0\n"
        "someone walks and turns back#someone/PRON walk/VERB#0.0#0.0\n"
        "the person turns around#the/DET person/NOUN turn/VERB#2.0#6.0\n")
    (root / "train.txt").write_text("012314\n")
    code, out, _ = run(capsys, "data", "build", "guo", "--root", root, "--out", tmp_path / "ds", "--quiet")
    assert code == 0 and "2 clips" in out and "1 skipped" in out and "missing caption file" in out
    ds = MotionDataset(tmp_path / "ds")
    rows = {ds.row(i)["id"]: ds.row(i) for i in range(len(ds))}
    assert rows["012314"]["skeleton"] == "humanml3d" and rows["012314"]["fps"] == 20.0
    assert len(rows["012314"]["texts"]) == 2 and rows["012314"]["num_frames"] == 170
    assert rows["012314#2#6"]["num_frames"] == 80 and rows["012314#2#6"]["split"] == "train"


def test_bvh_folder_with_captions_and_bad_files(capsys, bandai_slice, tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    good = sorted(bandai_slice.rglob("*.bvh"))[:2]
    for p in good:
        shutil.copy(p, root / p.name)
    text = good[0].read_text()
    (root / "truncated.bvh").write_text(text[: len(text) // 3])
    lines = text.split("\n")
    motion_at = lines.index("MOTION")
    lines[motion_at + 5] = " ".join(["nan"] * len(lines[motion_at + 5].split()))
    (root / "nan.bvh").write_text("\n".join(lines))
    (root / "one.bvh").write_text("\n".join(lines[: motion_at + 1] + ["Frames: 1"] + lines[motion_at + 2: motion_at + 4]))
    odd = text.replace("Hand_L", "Paw_L").replace("Hand_R", "Paw_R")
    (root / "odd.bvh").write_text(odd)
    (root / "captions.jsonl").write_text(
        json.dumps({"file": good[0].name, "texts": ["a person waves"], "split": "test"}) + "\n")
    code, out, _ = run(capsys, "data", "build", "bvh", "--root", root, "--out", tmp_path / "ds", "--quiet")
    assert code == 0 and "2 clips" in out and "4 skipped" in out
    assert "truncated.bvh: truncated BVH" in out and "NaN" in out and "1 frame" in out
    assert re.search(r"odd.bvh: unknown joint names, cannot find [a-z_, ]*l_wrist", out)
    ds = MotionDataset(tmp_path / "ds")
    texts = {ds.row(i)["id"]: ds.row(i)["texts"] for i in range(len(ds))}
    assert texts[good[0].stem] == ["a person waves"] and texts[good[1].stem] == []
    assert sorted(ds.table["split"]) == ["test", "train"] and "--split all" not in out
    (root / "captions.jsonl").unlink()                  # no captions: every clip lands in train, and it says how to reach them
    code, out, _ = run(capsys, "data", "build", "bvh", "--root", root, "--out", tmp_path / "bare", "--quiet")
    assert code == 0 and "every clip is in split train" in out and "--split all" in out


@pytest.mark.parametrize("argv,message", [
    (["data", "build", "kitml-cmu", "--root", "no/such/folder", "--out", "x"], "no/such/folder: no such file or folder"),
    (["data", "info", "no/such/ds"], "no/such/ds: no such dataset folder"),
    (["caption", "describe", "--model", "no/cap", "--motion", "x.npy"], "no/cap: no such captioner folder"),
    (["caption", "eval", "--model", "no/cap", "--data", "no/ds"], "no/cap: no such captioner folder"),
    (["search", "--index", "no/idx", "a person kicks"], "no/idx: no such index"),
])
def test_errors_are_one_line(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_caption_file(capsys, tmp_path):
    (tmp_path / "kit" / "joints").mkdir(parents=True)
    code, _, err = run(capsys, "data", "build", "kitml-cmu", "--root", tmp_path / "kit", "--out", tmp_path / "o")
    assert code == 2 and "annotations.jsonl: missing caption file" in err


def test_existing_output_is_not_overwritten_by_accident(capsys, kitml_slice, tmp_path):
    code, _, _ = run(capsys, "data", "build", "kitml-cmu", "--root", kitml_slice, "--out", tmp_path / "ds", "--quiet")
    assert code == 0
    code, _, err = run(capsys, "data", "build", "kitml-cmu", "--root", kitml_slice, "--out", tmp_path / "ds")
    assert code == 2 and "already holds a lexmotion dataset; pass --overwrite" in err
    code, _, _ = run(capsys, "data", "build", "kitml-cmu", "--root", kitml_slice, "--out", tmp_path / "ds",
                     "--overwrite", "--quiet")
    assert code == 0 and (tmp_path / "ds" / "build_report.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary folders left behind"


def test_render_gif(capsys, kitml_slice, tmp_path):
    run(capsys, "data", "build", "kitml-cmu", "--root", kitml_slice, "--out", tmp_path / "ds", "--quiet")
    clip_id = MotionDataset(tmp_path / "ds").table["id"][0]
    code, out, _ = run(capsys, "data", "render", tmp_path / "ds", clip_id, "--out", tmp_path / "clip.gif")
    assert code == 0 and (tmp_path / "clip.gif").read_bytes()[:3] == b"GIF"
    code, _, err = run(capsys, "data", "render", tmp_path / "ds", "nope", "--out", tmp_path / "x.gif")
    assert code == 2 and "no clip with id 'nope'" in err
    code, _, err = run(capsys, "data", "render", tmp_path / "ds", clip_id, "--out", tmp_path / "no" / "x.gif")
    assert code == 2 and "no such folder" in err


def _archive(folder, out, extra=None):
    """FOLDER packed as OUT (a .tar.xz holding one folder), with EXTRA files added to it."""
    import tarfile
    with tarfile.open(out, "w:xz") as tar:
        tar.add(folder, arcname="pack")
        for name, text in (extra or {}).items():
            path = out.parent / name
            path.write_text(text)
            tar.add(path, arcname=f"pack/{name}")
    return out


def test_a_kitml_layout_archive_builds_with_the_sources_of_its_captions(capsys, kitml_slice, tmp_path):
    import json
    rows = [json.loads(line) for line in (kitml_slice / "annotations.jsonl").read_text().splitlines()]
    tsv = "trial\tdescription\tsubject_desc\n" + "".join(f"{r['cmu_trial']}\tcmu says {r['id']}\tx\n" for r in rows)
    archive = _archive(kitml_slice, tmp_path / "extra.tar.xz", {"descriptions.tsv": tsv})
    code, out, err = run(capsys, "data", "build", "kitml-cmu", "--root", archive, "--out", tmp_path / "a", "--quiet")
    assert code == 0, err
    ds = MotionDataset(tmp_path / "a")
    assert len(ds) == len(rows) and {s for sources in ds.text_sources() for s in sources} == {"cmu-description"}
    # the folder itself: KIT-ML captions, plus CMU's descriptions with --extra-captions
    (tmp_path / "d.tsv").write_text(tsv)
    code, _, err = run(capsys, "data", "build", "kitml-cmu", "--root", kitml_slice, "--out", tmp_path / "b",
                       "--extra-captions", tmp_path / "d.tsv", "--quiet")
    assert code == 0, err
    ds = MotionDataset(tmp_path / "b")
    row = ds.row(0)
    assert row["texts"][-1] == f"cmu says {row['id']}" and ds.text_sources()[0] == ["kitml", "cmu-description"]
    code, out, _ = run(capsys, "data", "info", tmp_path / "b")
    assert f"captions by source {{'kitml': {len(rows)}, 'cmu-description': {len(rows)}}}" in out


@pytest.mark.parametrize("case,expected", [("truncated", "ends early"), ("layout", "not in the kitml-cmu"),
                                           ("not an archive", "not a readable archive"),
                                           ("bad tsv", "not a descriptions file")])
def test_a_bad_archive_or_captions_file_is_one_line_and_nothing_is_written(capsys, kitml_slice, tmp_path, case,
                                                                            expected):
    archive = _archive(kitml_slice, tmp_path / "good.tar.xz")
    argv = ["data", "build", "kitml-cmu", "--root", archive, "--out", tmp_path / "out", "--quiet"]
    if case == "truncated":
        (tmp_path / "cut.tar.xz").write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
        argv[4] = tmp_path / "cut.tar.xz"
    elif case == "layout":
        argv[4] = _archive(kitml_slice / "joints", tmp_path / "joints-only.tar.xz")
    elif case == "not an archive":
        argv[4] = kitml_slice / "annotations.jsonl"
    else:
        (tmp_path / "bad.tsv").write_text("id,text\n1,walk\n")
        argv[4] = kitml_slice
        argv += ["--extra-captions", tmp_path / "bad.tsv"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and expected in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))


def test_a_command_that_needs_captions_says_so_on_a_captionless_library(bandai_slice, tmp_path):
    from lexmotion.data.batching import MotionTextDataset
    from lexmotion.errors import LexmotionError
    root = tmp_path / "library"
    root.mkdir()
    for p in sorted(bandai_slice.rglob("*.bvh"))[:2]:
        shutil.copy(p, root / p.name)
    build_dataset("bvh", root, tmp_path / "ds", progress=False)
    with pytest.raises(LexmotionError, match=r"no captioned clip in any split; this command needs captions"):
        MotionTextDataset(MotionDataset(tmp_path / "ds"), None, None, 160)


def test_cmu_descriptions_are_read_as_words():
    from lexmotion.data.importers import readable_description
    assert readable_description("OffensiveMoveSpinLeft      CleanedGRS") == "Offensive Move Spin Left"
    assert readable_description("JogThrough") == "Jog Through"
    # what is not a run-together name stays as written
    for text in ("xtra fancY charleston", "walk (2 subjects - subject A)", "carry 19.5lb suitcase", "SUPER"):
        assert readable_description(text) == text
    assert readable_description("CleanedGRS") == ""
