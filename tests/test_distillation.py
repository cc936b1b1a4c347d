"""LexCMLP's distillation term: the student's in-batch score distributions against a frozen teacher's."""
import json
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import pretrain_tiny

from lexmotion.models.losses import distillation_loss


def _naive(text, motion, teacher_text, teacher_motion, temperature):
    """KL(teacher || student) row by row, text->motion and motion->text, averaged."""
    def rows(t, m):
        s = (F.normalize(t, dim=-1) @ F.normalize(m, dim=-1).T / temperature).tolist()
        return s, [list(col) for col in zip(*s)]
    def kl(p_logits, q_logits):
        total = 0.0
        for p_row, q_row in zip(p_logits, q_logits):
            zp, zq = math.log(sum(map(math.exp, p_row))), math.log(sum(map(math.exp, q_row)))
            total += sum(math.exp(p - zp) * ((p - zp) - (q - zq)) for p, q in zip(p_row, q_row))
        return total / len(p_logits)
    student, teacher = rows(text, motion), rows(teacher_text, teacher_motion)
    return (kl(teacher[0], student[0]) + kl(teacher[1], student[1])) / 2


def test_the_term_is_a_kl_from_the_teachers_scores_to_the_students():
    torch.manual_seed(0)
    text, motion, t_text, t_motion = (torch.rand(5, 12) for _ in range(4))
    got = distillation_loss(text, motion, t_text, t_motion, 0.1).item()
    assert got == pytest.approx(_naive(text, motion, t_text, t_motion, 0.1), rel=1e-4)
    assert got > 0
    assert distillation_loss(text, motion, 3 * text, motion, 0.1).item() == pytest.approx(0, abs=1e-6)   # cosines


def test_only_the_student_learns():
    torch.manual_seed(1)
    text, motion = torch.rand(4, 6, requires_grad=True), torch.rand(4, 6, requires_grad=True)
    t_text, t_motion = torch.rand(4, 6, requires_grad=True), torch.rand(4, 6, requires_grad=True)
    distillation_loss(text, motion, t_text, t_motion, 0.05).backward()
    assert text.grad.abs().sum() > 0 and motion.grad.abs().sum() > 0
    assert t_text.grad is None and t_motion.grad is None


def test_a_stage_distils_from_its_init_checkpoint_and_logs_it(tiny_setup, tmp_path):
    config = json.loads((tiny_setup / "tiny.json").read_text())
    config["settings"] = {**config.get("settings", {}), "distil": 1.0}
    (tmp_path / "distil.json").write_text(json.dumps(config))
    start = tmp_path / "start"
    assert pretrain_tiny(tiny_setup, "lexcmlp", start) == 0
    before = (start / "model.safetensors").read_bytes()
    out = tmp_path / "stage"
    assert pretrain_tiny(tiny_setup, "lexcmlp", out, 2, "--config", tmp_path / "distil.json", "--init", start) == 0
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    assert any(row.get("train_distil", -1) >= 0 for row in logged)
    assert json.loads((out / "config.json").read_text())["train"]["settings"]["distil"] == 1.0
    assert (start / "model.safetensors").read_bytes() == before     # the teacher's folder is read, never written


def test_distillation_without_a_checkpoint_to_start_from_is_one_clear_error(tiny_setup, tmp_path, capsys):
    config = json.loads((tiny_setup / "tiny.json").read_text())
    config["settings"] = {**config.get("settings", {}), "distil": 1.0}
    (tmp_path / "distil.json").write_text(json.dumps(config))
    assert pretrain_tiny(tiny_setup, "lexcmlp", tmp_path / "out", 2, "--config", tmp_path / "distil.json") == 2
    assert "--init" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_negative_weight_is_refused():
    from lexmotion.errors import LexmotionError
    from pretrain.phases import PhaseSettings
    with pytest.raises(LexmotionError, match="distil"):
        PhaseSettings(distil=-1.0)
