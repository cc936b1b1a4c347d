"""DDP sees every negative: under 2 gloo processes the contrastive loss is the one a single
process computes on the concatenated batch, and so are the gradients once DDP averages them."""
import multiprocessing
import os

import pytest
import torch

from lexmotion.models.losses import InfoNCE, gather_batch, gather_objects

pytestmark = pytest.mark.slow      # torchrun subprocesses

# spawn, not fork: a fork of a test process that has run torch for minutes can deadlock in gloo
SPAWN = multiprocessing.get_context("spawn")
WORLD, PER_RANK, DIM = 2, 5, 16
CAPTIONS = ["a person walks", "a person walks forward", "someone jumps", "a man waves", "someone kicks",
            "a person runs", "a person walks", "someone sits down", "a person waves the left hand", "someone turns"]


def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(WORLD * PER_RANK, DIM, generator=g), torch.randn(WORLD * PER_RANK, DIM, generator=g)


def overlap(texts):
    from pretrain.phases import caption_overlap
    return caption_overlap(texts)


def worker(rank, store_file, queue):
    torch.distributed.init_process_group("gloo", init_method=f"file://{store_file}", rank=rank, world_size=WORLD)
    text, motion = batch()
    rows = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
    text, motion = text[rows].clone().requires_grad_(), motion[rows].clone().requires_grad_()
    texts = gather_objects(CAPTIONS[rows])
    loss = InfoNCE(0.1, 0.8)(gather_batch(text), gather_batch(motion), overlap(texts))["contrastive"]
    loss.backward()
    # DDP averages parameter gradients over processes: average these feature gradients the same way
    queue.put((rank, float(loss), texts, (text.grad / WORLD).tolist(), (motion.grad / WORLD).tolist()))
    queue.close()
    queue.join_thread()                                             # flushed before the hard exit
    torch.distributed.destroy_process_group()
    os._exit(0)


def test_contrastive_loss_over_the_global_batch(tmp_path):
    queue = SPAWN.Queue()
    procs = [SPAWN.Process(target=worker, args=(r, tmp_path / "store", queue)) for r in range(WORLD)]
    for p in procs:
        p.start()
    results = sorted(queue.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    text, motion = batch()
    text.requires_grad_()
    motion.requires_grad_()
    single = InfoNCE(0.1, 0.8)(text, motion, overlap(CAPTIONS))["contrastive"]
    single.backward()
    for rank, loss, texts, text_grad, motion_grad in results:
        rows = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
        assert texts == CAPTIONS                                    # every caption, for the duplicate filter
        assert loss == pytest.approx(float(single), rel=1e-6)
        torch.testing.assert_close(torch.tensor(text_grad), text.grad[rows], rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(torch.tensor(motion_grad), motion.grad[rows], rtol=1e-5, atol=1e-7)


def test_outside_ddp_nothing_is_gathered():
    x = torch.randn(3, 4)
    assert gather_batch(x) is x and gather_objects(["a"]) == ["a"]


def test_pretraining_under_torchrun_uses_the_global_batch_and_resumes(tiny_setup, tmp_path):
    """`torchrun --nproc_per_node 2 ... pretrain lexcmlp` on the CPU (gloo). The tiny model's motion
    vectors start at zero, so every logit ties and the loss is exactly ln(negatives + 1): ln 4 for
    the global batch of 2 processes x 2 pairs, where each process alone would give ln 2."""
    import json
    import math
    import subprocess
    import sys
    out = tmp_path / "ddp"
    argv = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "lexmotion.app.cli",
            "pretrain", "lexcmlp", "--data", str(tiny_setup / "kit"), "--out", str(out), "--config",
            str(tiny_setup / "tiny.json"), "--batch-size", "2", "--device", "cpu", "--wandb", "disabled", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for steps in (1, 2):
        done = subprocess.run([*argv, "--max-steps", str(steps)], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming lexcmlp" in done.stdout
    first = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert first["step"] == 2 and first["train_t2m"] == pytest.approx(math.log(4), abs=1e-3)
