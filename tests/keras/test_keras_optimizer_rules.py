"""convscope's optimizers take Keras 3's steps: the weights after RULE_STEPS updates on the
same float32 weights and gradients equal those real Keras reached (fixtures/optimizer_rules.npz,
written by make_keras_optimizer_fixtures.py), to float32 rounding. The gradients reach 1e-6,
where RMSprop's and Adagrad's epsilon (inside the square root) and Adamax's (outside its norm)
show; some cases change the learning rate midway, where Keras's momentum carries the old rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from keras_optimizer_cases import RULE_CHANGE, RULE_FIXTURES, rule_problem

from convscope import optimizer_rules, optimizers, schedules

FIXTURES = Path(__file__).parent / "fixtures"


ALL_RULE_CASES = {case: (file, *entry) for file, cases in RULE_FIXTURES.items() for case, entry in cases.items()}


def keras_weights(case: str) -> list[np.ndarray]:
    with np.load(FIXTURES / ALL_RULE_CASES[case][0]) as archive:
        return [archive[f"{case}_{index}"] for index in range(len(rule_problem(case)[0]))]


def convscope_weights(case: str) -> list[np.ndarray]:
    _, optimizer_class, arguments = ALL_RULE_CASES[case]
    settings = dict(arguments)
    rate_after = settings.pop("learning_rate_after", None)
    if isinstance(settings.get("learning_rate"), dict):
        settings["learning_rate"] = schedules.ExponentialDecay(**settings["learning_rate"])
    start, grads = rule_problem(case)
    params = [torch.nn.Parameter(torch.from_numpy(value.copy())) for value in start]
    recipe = getattr(optimizers, optimizer_class)(**settings)
    optimizer = recipe.build(params)
    for step, step_grads in enumerate(grads):
        if rate_after is not None and step == RULE_CHANGE:
            recipe.learning_rate.assign(rate_after)
        for param, grad in zip(params, step_grads, strict=True):
            param.grad = torch.from_numpy(grad.copy())
        optimizer.step()
    return [param.detach().numpy() for param in params]


@pytest.mark.parametrize("case", ALL_RULE_CASES)
def test_weights_after_steps_are_keras(case: str) -> None:
    start, _ = rule_problem(case)
    for ours, theirs, before in zip(convscope_weights(case), keras_weights(case), start, strict=True):
        # float32 rounding of the weights and of the distance travelled (Keras rounds its
        # constants, e.g. beta_2 = 0.999, to float32; torch keeps them in double)
        tolerance = 4e-7 * np.abs(theirs) + 1e-5 * np.abs(theirs - before) + 1e-12
        assert np.all(np.abs(ours - theirs) <= tolerance), \
            f"{case}: largest difference {np.abs(ours - theirs).max():.3g} (moved {np.abs(theirs - before).max():.3g})"


def test_rmsprop_puts_epsilon_inside_the_square_root() -> None:
    """One step from zero state: v = (1 - rho) g^2, so w moves lr * g / sqrt(v + eps)."""
    weight = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    optimizer = optimizers.RMSprop(learning_rate=0.1, rho=0.5, epsilon=1e-4).build([weight])
    weight.grad = torch.tensor([1e-2, 0.0], dtype=torch.float64)
    optimizer.step()
    expected = -0.1 * 1e-2 / np.sqrt(0.5 * 1e-4 + 1e-4)
    np.testing.assert_allclose(weight.detach().numpy(), [expected, 0.0], rtol=1e-12)


def test_torch_state_of_the_same_name_loads() -> None:
    """A state saved by torch's RMSprop and Adamax (convscope's earlier files) is converted: torch's
    momentum buffer times lr is Keras's momentum; torch's norm less epsilon is Keras's."""
    weight = torch.nn.Parameter(torch.ones(3))
    rms = optimizer_rules.RMSprop([weight], lr=0.5, momentum=0.9)
    rms.load_state_dict({"state": {0: {"step": torch.tensor(2.0), "square_avg": torch.full((3,), 4.0),
                                       "momentum_buffer": torch.full((3,), 2.0)}},
                         "param_groups": [{**rms.param_groups[0], "params": [0], "foreach": None}]})
    assert set(rms.state[weight]) == {"step", "square_avg", "momentum"}
    torch.testing.assert_close(rms.state[weight]["momentum"], torch.full((3,), 1.0))
    adamax = optimizer_rules.Adamax([weight], lr=0.5, eps=0.25)
    adamax.load_state_dict({"state": {0: {"step": torch.tensor(2.0), "exp_avg": torch.zeros(3),
                                          "exp_inf": torch.tensor([1.0, 0.25, 0.0])}},
                            "param_groups": [{**adamax.param_groups[0], "params": [0]}]})
    torch.testing.assert_close(adamax.state[weight]["norm"], torch.tensor([0.75, 0.0, 0.0]))


def test_sgd_momentum_follows_a_rate_changed_between_steps() -> None:
    """Keras's momentum m = mu * m - lr * g keeps the old rate: after lr drops from 1 to 0.5 the
    next step is mu * m_1 - 0.5 * g = 0.9 * -1 - 0.5 = -1.4 (torch's SGD alone would take -0.95)."""
    weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    recipe = optimizers.SGD(learning_rate=1.0, momentum=0.9)
    optimizer = recipe.build([weight])
    for rate in (1.0, 0.5):
        recipe.learning_rate.assign(rate)
        weight.grad = torch.ones(1, dtype=torch.float64)
        optimizer.step()
    np.testing.assert_allclose(weight.detach().numpy(), [-1.0 - 1.4], rtol=1e-12)
