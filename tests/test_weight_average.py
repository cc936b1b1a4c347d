"""The weight average (``ema``): its arithmetic, what a checkpoint serves, and a resumed run that matches."""
import json

import pytest
import torch
from safetensors.torch import load_file
from test_faults import in_child, pretrain_argv, same_weights

from lexmotion.errors import LexmotionError
from lexmotion.files import load_state
from pretrain.averaging import WeightAverage


def _model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    model[1].bias.requires_grad = False                   # a frozen parameter is not averaged
    return model


def test_the_average_follows_the_decay_formula():
    model = _model()
    average = WeightAverage(model, 0.9)
    assert average.names == ["0.weight", "0.bias", "1.weight"]
    start = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    average.update(model, step=100)                      # past the warm-up: d is the decay
    assert torch.allclose(average.average[0], start + 0.1)
    average.update(model, step=0)                        # step 0: d = 1/10
    assert torch.allclose(average.average[0], start + 0.1 + 0.9 * 0.9)


def test_swapped_serves_the_average_then_gives_the_weights_back():
    model = _model()
    average = WeightAverage(model, 0.5)
    own = model[0].weight.detach().clone()
    average.average[0].fill_(7.0)
    with average.swapped(model):
        assert torch.all(model[0].weight == 7.0)
    assert torch.equal(model[0].weight, own)


def test_the_state_round_trips_and_refuses_another_models():
    model = _model()
    average = WeightAverage(model, 0.5)
    average.average[1].fill_(3.0)
    again = WeightAverage(_model(), 0.5)
    again.load_state_dict(average.state_dict(), "test")
    assert torch.all(again.average[1] == 3.0)
    other = WeightAverage(torch.nn.Linear(3, 2), 0.5)
    with pytest.raises(LexmotionError, match="other parameters"):
        other.load_state_dict(average.state_dict(), "test")


@pytest.mark.parametrize("decay", [1.0, 1.5, -0.1])
def test_a_decay_outside_0_1_is_refused(decay):
    from pretrain.settings import resolve
    with pytest.raises(LexmotionError, match="ema"):
        resolve("lexcmlp", {"phases": {"lexcmlp": {"ema": decay}}})


def _ema_argv(setup, tmp_path, out):
    config = json.loads((setup / "tiny.json").read_text())
    config.setdefault("phases", {})["lexcmlp"] = {"ema": 0.9}
    (tmp_path / "ema.json").write_text(json.dumps(config))
    argv = [str(a) for a in pretrain_argv(setup, out)]
    argv[argv.index("--config") + 1] = str(tmp_path / "ema.json")
    return argv


@pytest.mark.slow
def test_the_checkpoint_serves_the_average_and_a_killed_run_resumes_to_the_same_weights(tiny_setup, tmp_path):
    reference = tmp_path / "reference"
    assert in_child(_ema_argv(tiny_setup, tmp_path, reference)) == 0
    served = load_file(str(reference / "model.safetensors"))
    state = load_state(reference / "trainer_state.pt", "")
    assert state["average"]["decay"] == 0.9
    average = {k: v for k, v in state["average"]["average"].items() if k in served}   # tied tensors are stored once
    assert average and all(torch.equal(served[name], a) for name, a in average.items())
    assert any(not torch.equal(served[name], state["model"][name]) for name in average), \
        "the checkpoint holds the last step's weights"
    assert json.loads((reference / "config.json").read_text())["train"]["ema"] == 0.9

    run = tmp_path / "run"
    assert in_child(_ema_argv(tiny_setup, tmp_path, run), kill_at=9) == -9
    assert load_state(run / "trainer_state.pt", "")["step"] < state["step"]
    assert in_child(_ema_argv(tiny_setup, tmp_path, run)) == 0
    same_weights(run / "model.safetensors", reference / "model.safetensors")
