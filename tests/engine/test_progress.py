"""Progress: a live bar on terminals, one line per epoch elsewhere."""

from __future__ import annotations

import io

import pytest

from convscope.engine.callbacks import FitState, LazyLogs
from convscope.engine.progress import ProgressLogger, resolve_verbose


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drive(logger: ProgressLogger, epochs: int = 2, steps: int = 5) -> None:
    logger.set_params({"verbose": 1, "epochs": epochs, "steps": steps})
    logger.set_fit_state(FitState(samples=steps * 4, batch_size=4))
    logger.on_train_begin()
    for epoch in range(epochs):
        logger.on_epoch_begin(epoch)
        for step in range(steps):
            logger.on_train_batch_end(step, LazyLogs(lambda: {"loss": 0.5, "accuracy": 0.75}))
        logger.on_epoch_end(epoch, {"loss": 0.5, "accuracy": 0.75})
    logger.on_train_end()


def test_verbose_resolution() -> None:
    assert resolve_verbose("auto", FakeTerminal()) == 1
    assert resolve_verbose("auto", io.StringIO()) == 2
    assert resolve_verbose(1, io.StringIO()) == 2  # never a bar in a log file
    assert resolve_verbose(0, FakeTerminal()) == 0
    with pytest.raises(ValueError, match="verbose must be 0, 1, 2 or 'auto'; got 3"):
        resolve_verbose(3)


def test_terminal_bar_then_epoch_lines() -> None:
    terminal = FakeTerminal()
    drive(ProgressLogger(1, terminal))
    text = terminal.getvalue()
    assert "Epoch 1/2 - " in text and "Epoch 2/2 - " in text
    assert "loss: 0.5000 - accuracy: 0.7500" in text


def test_log_mode_is_exactly_one_line_per_epoch() -> None:
    log = io.StringIO()
    drive(ProgressLogger(2, log), epochs=3, steps=50)
    lines = log.getvalue().splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert lines[0].endswith("img/s - loss: 0.5000 - accuracy: 0.7500")


def test_silent_mode_prints_nothing() -> None:
    log = FakeTerminal()
    drive(ProgressLogger(0, log))
    assert log.getvalue() == ""
