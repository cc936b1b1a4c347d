"""Training speed (issue 13): the fast lexical head trains the same model as the reference
formula, the benchmark prints its table, and --compile / out-of-memory / CUDA end in one line."""
import json

import pytest
import torch
from conftest import pretrain_tiny

from lexmotion.models.lexical import LexicalHead

pytestmark = pytest.mark.slow      # training benchmarks


def _batch_and_model(tiny_setup):
    from lexmotion.data.batching import Collate, MotionTextDataset
    from lexmotion.data.dataset import MotionDataset
    from lexmotion.models.model import LexMotionModel, ModelConfig
    from lexmotion.models.motion_encoder import MotionEncoderConfig

    config = json.loads((tiny_setup / "tiny.json").read_text())["model"]
    torch.manual_seed(0)
    model = LexMotionModel(ModelConfig(**{**config, "motion": MotionEncoderConfig(**config["motion"])}))
    data = MotionDataset(tiny_setup / "kit")
    model.set_corpus([t for i in data.split_indices("train") for t in data.row(i)["texts"]])
    model.stats = data.stats
    rows = MotionTextDataset(data, "train", data.stats, 80, train=False)
    batch = Collate(model.tokenizer, model.config.max_text_len)([rows[i] for i in range(len(rows))])
    return model, batch


def test_lexcmlp_loss_and_gradients_equal_on_both_heads(tiny_setup, monkeypatch):
    """The whole LexCMLP loss (InfoNCE, FLOPS, bag of words on both sides) through the model:
    the fast head gives the reference loss and every parameter's gradient."""
    from pretrain.phases import PhaseSettings, lexcmlp

    model, batch = _batch_and_model(tiny_setup)
    model.train()
    settings = PhaseSettings(bow_text=1.0, bow_motion=1.0, flops_warmup_steps=1)
    results = {}
    for fused in (True, False):
        monkeypatch.setattr(LexicalHead, "fused", fused)      # undone after the test, even when it fails
        model.zero_grad()
        torch.manual_seed(1)                    # the same dropout masks
        terms = lexcmlp(model, batch, settings, step=5)
        terms["loss"].backward()
        results[fused] = ({k: float(v.detach()) for k, v in terms.items()},
                          {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    monkeypatch.setattr(LexicalHead, "fused", True)
    (fast_terms, fast_grads), (ref_terms, ref_grads) = results[True], results[False]
    assert fast_terms == pytest.approx(ref_terms, rel=1e-5, abs=1e-6)
    assert fast_grads.keys() == ref_grads.keys() and any(n.startswith("text_head.") for n in fast_grads)
    for name in fast_grads:
        torch.testing.assert_close(fast_grads[name], ref_grads[name], rtol=1e-4, atol=1e-6, msg=name)
    model.eval()
    with torch.no_grad():                       # and the vectors users search with
        fast = model.text_vectors(batch["text_ids"], batch["text_mask"])
        monkeypatch.setattr(LexicalHead, "fused", False)
        ref = model.text_vectors(batch["text_ids"], batch["text_mask"])
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-6)


def _saved_bytes(model, batch, settings) -> tuple[int, float, dict]:
    """Bytes the autograd graph keeps for the backward pass (parameters aside), the loss and the gradients."""
    from pretrain.phases import lexcmlp

    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    model.zero_grad()
    torch.manual_seed(1)                        # the same dropout masks on both runs
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = lexcmlp(model, batch, settings, step=5)["loss"]
    loss.backward()
    return sum(storages.values()), float(loss), {n: p.grad.clone() for n, p in model.named_parameters()
                                                 if p.grad is not None}


def test_activation_checkpointing_keeps_loss_and_gradients_and_saves_memory(tiny_setup):
    """--activation-checkpointing: the encoders keep only each layer's input (far fewer saved bytes),
    and the recomputed forward (dropout masks replayed) gives the same loss and every gradient."""
    from pretrain.phases import PhaseSettings

    model, batch = _batch_and_model(tiny_setup)
    model.train()
    settings = PhaseSettings(bow_text=1.0, bow_motion=1.0, flops_warmup_steps=1)
    plain_bytes, plain_loss, plain_grads = _saved_bytes(model, batch, settings)
    model.checkpoint_activations(True)
    try:
        ckpt_bytes, ckpt_loss, ckpt_grads = _saved_bytes(model, batch, settings)
    finally:
        model.checkpoint_activations(False)
    assert ckpt_bytes < 0.75 * plain_bytes, (ckpt_bytes, plain_bytes)   # the heads' 30,522-wide share stays
    assert ckpt_loss == pytest.approx(plain_loss, rel=1e-6)
    assert ckpt_grads.keys() == plain_grads.keys()
    assert any(n.startswith("text_encoder.encoder.") for n in ckpt_grads)
    assert any(n.startswith("motion_encoder.blocks.") for n in ckpt_grads)
    for name in plain_grads:
        torch.testing.assert_close(ckpt_grads[name], plain_grads[name], rtol=1e-5, atol=1e-7, msg=name)
    assert _saved_bytes(model, batch, settings)[0] == plain_bytes          # and switched off again


def test_benchmark_prints_the_table_and_json(tiny_setup, tmp_path, capsys):
    from pretrain.bench import main as bench

    out = tmp_path / "bench.json"
    code = bench(["--data", str(tiny_setup / "kit"), "--config", str(tiny_setup / "tiny.json"), "--phases",
                  "lexcmlp,dense", "--lexical-head", "fast,reference", "--batch-sizes", "4", "--steps", "2",
                  "--warmup", "1", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    rows = json.loads(out.read_text())["rows"]
    assert [(r["phase"], r["head"]) for r in rows] == [("lexcmlp", "fast"), ("lexcmlp", "reference"), ("dense", "-")]
    for r in rows:
        assert "error" not in r, r
        assert r["samples_per_second"] > 0 and r["gflop_per_step"] > 0 and r["peak_mib"] > 0
        assert r["step_ms"] == pytest.approx(sum(r[f"{k}_ms"] for k in ("data", "forward", "backward", "optimiser")))
        assert r["device"].startswith("CPU") and r["mfu"] is None        # no known peak on a CPU
    fast, reference = rows[0], rows[1]
    assert fast["gflop_per_step"] < reference["gflop_per_step"]       # padding and masked words cost nothing
    assert "| lexcmlp | fast | off | 4 |" in printed and "| dense | - | off | 4 |" in printed
    assert "lexcmlp (fast head) runs at" in printed and "step memory, reference head / fast head:" in printed


@pytest.mark.parametrize("argv, expected", [
    (["--phases", "lexcmlp,jump"], "--phases"),
    (["--batch-sizes", "0"], "--batch-sizes"),
    (["--lexical-head", "fastest"], "--lexical-head"),
    (["--device", "cuda"], "no CUDA device"),
])
def test_benchmark_bad_input_is_one_line(tiny_setup, capsys, argv, expected):
    from pretrain.bench import main as bench

    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit) as exit_:
        bench(["--data", str(tiny_setup / "kit"), *argv])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1 and expected in err, err


def _pretrain(tiny_setup, out, *extra) -> int:
    return pretrain_tiny(tiny_setup, "lexcmlp", out, 1, *extra)


def test_compile_without_a_working_compiler_falls_back_with_one_warning(tiny_setup, tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("Compiler: cc is not found\nmore lines of traceback")
    monkeypatch.setattr(torch, "compile", broken)
    assert _pretrain(tiny_setup, tmp_path / "run", "--compile") == 0
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning: --compile")]
    assert len(warnings) == 1 and "cc is not found" in warnings[0] and "training without it" in warnings[0]
    assert (tmp_path / "run" / "DONE").is_file()


def test_a_batch_that_does_not_fit_names_its_size_and_the_peak(tiny_setup, tmp_path, capsys, monkeypatch):
    from pretrain.trainer import PhaseModule

    def out_of_memory(self, batch, step):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    monkeypatch.setattr(PhaseModule, "forward", out_of_memory)
    assert _pretrain(tiny_setup, tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: batch size 4 does not fit") and "GiB" in err and "smaller --batch-size" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_mfu_uses_the_data_sheet_peak_of_the_gpu_or_the_given_one():
    from pretrain.bench import peak_tflops

    assert peak_tflops("NVIDIA H100 80GB HBM3", None) == 989.0
    assert peak_tflops("NVIDIA H100 PCIe", None) == 756.0
    assert peak_tflops("NVIDIA H200", None) == 989.0
    assert peak_tflops("NVIDIA A100-SXM4-80GB", None) == 312.0
    assert peak_tflops("NVIDIA L4", None) == 121.0 and peak_tflops("NVIDIA L40S", None) == 362.0
    assert peak_tflops("NVIDIA GeForce RTX 3090", None) is None       # unknown: MFU left blank
    assert peak_tflops("NVIDIA GeForce RTX 3090", 71.0) == 71.0
