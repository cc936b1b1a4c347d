"""Checkpoints that travel: `lexmotion export` and its model card, loading by path and by hub id offline."""
import json
import shutil

import pytest
import torch
from conftest import pretrain_tiny

import lexmotion
from lexmotion.app.cli import main
from lexmotion.errors import WrongKindError, WrongPathError


@pytest.fixture(scope="module")
def trained(tiny_setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    assert pretrain_tiny(tiny_setup, "lexcmlp", root / "lex") == 0
    assert main([str(a) for a in ["export", root / "lex", root / "card"]]) == 0
    return root


def _card_table(card: str, heading: str) -> dict:
    section = card.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return {k.strip(): v.strip() for k, v in rows[1:]}


def test_the_card_states_the_numbers_of_metrics_and_sparsity(trained):
    out = trained / "card"
    assert sorted(p.name for p in out.iterdir()) == [".lexmotion-folder.json", "README.md", "config.json", "metrics.jsonl", "model.safetensors",
                                                      "querybank.json", "sparsity.json", "stats.json", "text_model",
                                                      "vocab.json"]      # the query bank travels: ranking is the same
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: lexmotion\nlicense: mit\n") and "after the **lexcmlp** phase" in card
    assert "| kitml-cmu | CMU Graphics Lab mocap" in card and "lexmotion pretrain lexcmlp --data" in card
    assert 'lexmotion.load("hf://OWNER/NAME")' in card
    last = json.loads((trained / "lex" / "metrics.jsonl").read_text().splitlines()[-1])
    metrics = _card_table(card, "## Metrics")
    assert {k: json.loads(v) for k, v in metrics.items()} == last
    sparsity = json.loads((trained / "lex" / "sparsity.json").read_text())
    grounding = _card_table(card, "## Sparsity and grounding")
    assert {k: json.loads(grounding[k]) for k in sparsity["grounding"]} == sparsity["grounding"]
    assert json.loads(grounding["motion non-zeros (median)"]) == sparsity["motion_nonzeros"]["median"]


def _same_model(a, b):
    texts = ["a person kicks with the left leg", "someone walks forward"]
    assert torch.equal(a.encode_text(texts).to_dense(), b.encode_text(texts).to_dense())


def test_an_exported_folder_loads_by_path_offline(trained, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _same_model(lexmotion.load(trained / "card"), lexmotion.load(trained / "lex"))


def test_a_hub_id_loads_from_the_cache_offline(trained, tmp_path, monkeypatch):
    """The exported folder laid out as the hub cache keeps a downloaded model: hf://me/lexmotion-tiny loads."""
    import huggingface_hub.constants
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo = tmp_path / "hub" / "models--me--lexmotion-tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(trained / "card", repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    original = lexmotion.load(trained / "lex")
    _same_model(lexmotion.load("hf://me/lexmotion-tiny"), original)
    monkeypatch.chdir(tmp_path)                                  # no local folder me/lexmotion-tiny here
    _same_model(lexmotion.load("me/lexmotion-tiny"), original)


def test_a_hub_id_offline_without_cache_is_one_line(trained, tmp_path, capsys, monkeypatch):
    import huggingface_hub.constants
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(WrongPathError, match="hf://nobody/missing-model: no such local folder, and it is not in the "
                                             "Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading it"):
        lexmotion.load("hf://nobody/missing-model")
    assert main(["export", "hf://nobody/missing-model", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: hf://nobody/missing-model: no such local folder") and err.count("\n") == 1


def test_export_refuses_what_it_cannot_publish(trained, tmp_path, capsys):
    from lexmotion.models.export import export_checkpoint
    with pytest.raises(WrongPathError, match="is the checkpoint itself"):
        export_checkpoint(trained / "lex", trained / "lex")
    (tmp_path / "file").write_text("x")
    assert main(["export", str(trained / "lex"), str(tmp_path / "file")]) == 2
    assert "is an existing file" in capsys.readouterr().err
    captioner = tmp_path / "cap"
    captioner.mkdir()
    (captioner / "config.json").write_text(json.dumps({"format_version": 1, "kind": "captioner"}))
    (captioner / "model.safetensors").write_bytes(b"")
    with pytest.raises(WrongKindError, match="captioner"):
        export_checkpoint(captioner, tmp_path / "out")


def test_export_takes_the_option_names_every_other_command_uses(trained, tmp_path, capsys):
    assert main(["export", "--model", str(trained / "lex"), "--out", str(tmp_path / "card")]) == 0
    assert (tmp_path / "card" / "README.md").is_file()
    for argv, message in ((["--model", str(trained / "lex")], "needs a checkpoint and an output folder"),
                          ([str(trained / "lex"), str(tmp_path / "a"), "--out", str(tmp_path / "b")], "two outs given")):
        assert main(["export", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
