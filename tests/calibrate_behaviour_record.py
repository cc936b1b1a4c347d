"""How far the behaviour record's measures move under other CPU kernels, and under a real change (not a
test; pytest collects only test_*.py). Its table is docs/results/behaviour-record.md:

    ATEN_CPU_CAPABILITY=avx2 CALIB_NAME=avx2 python -m pytest -q -s tests/calibrate_behaviour_record.py | grep CALIB
    ATEN_CPU_CAPABILITY=default CALIB_NAME=default python -m pytest -q -s tests/calibrate_behaviour_record.py | grep CALIB
    CALIB_NAME=lr+1% CALIB_EXTRA="--lr 0.000303" python -m pytest -q -s tests/calibrate_behaviour_record.py | grep CALIB
"""
import json
import os

import torch
from conftest import pretrain_tiny
from test_behaviour_record import RECORD_FILE, drift, fingerprint


def test_print_the_moves_from_the_record(tiny_setup, tmp_path):
    record = json.loads(RECORD_FILE.read_text())["phases"]
    torch.set_num_threads(2)
    extra = os.environ.get("CALIB_EXTRA", "").split()
    for phase in ("all", "dense"):
        assert pretrain_tiny(tiny_setup, phase, tmp_path / phase, 20, "--seed", "0", "--batch-size", 4, *extra) == 0
        folders = [tmp_path / phase / p for p in ("lexmlm", "cmmm", "lexmmm", "lexcmlp")] if phase == "all" \
            else [tmp_path / phase]
        for folder in folders:
            loss = json.loads((folder / "metrics.jsonl").read_text().splitlines()[-1])["train_loss"]
            print("CALIB", os.environ.get("CALIB_NAME"), folder.name,
                  f"weights {drift(fingerprint(folder / 'model.safetensors'), record[folder.name]['weights']):.1e}",
                  f"loss {abs(loss / record[folder.name]['loss'] - 1):.1e}")
