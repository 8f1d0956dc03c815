"""LambdaCallback, ProgbarLogger and TensorBoard as a Keras script uses them; TensorBoard's
event files are read back record by record (checksums included), and by real TensorFlow."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import convscope.keras as keras
from convscope.engine.callbacks import FitState
from convscope.engine.event_files import masked_crc32c

REPO = Path(__file__).resolve().parents[2]
KERAS_PYTHON = REPO / "benchmarks" / ".keras-env" / "bin" / "python"
needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")


def small_model() -> keras.Sequential:
    model = keras.Sequential([keras.layers.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def data(samples: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(samples, 8, 8, 1)).astype("float32"), rng.integers(0, 3, samples)


# -- LambdaCallback -----------------------------------------------------------------------------
def test_lambda_callback_calls_each_function_as_keras_does() -> None:
    calls: list[tuple] = []
    callback = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),  # Keras 3.15 passes {}
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, round(logs["loss"], 6))),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch)),  # Keras 2's name
        on_train_end=lambda logs: calls.append(("train_end",)))
    x, y = data()
    history = small_model().fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[callback])
    losses = [round(loss, 6) for loss in history.history["loss"]]
    assert calls == [("train_begin", {}), ("batch_end", 0), ("batch_end", 1), ("epoch_end", 0, losses[0]),
                     ("batch_end", 0), ("batch_end", 1), ("epoch_end", 1, losses[1]), ("train_end",)]


def test_lambda_callback_refuses_unknown_hooks() -> None:
    with pytest.raises(ValueError, match="unknown hook 'on_epoch_finish'"):
        keras.callbacks.LambdaCallback(on_epoch_finish=print)
    with pytest.raises(ValueError, match="on_epoch_end must be a function"):
        keras.callbacks.LambdaCallback(on_epoch_end="print")


# -- ProgbarLogger ------------------------------------------------------------------------------
def drive(logger: keras.callbacks.ProgbarLogger, verbose: int) -> None:
    logger.set_params({"verbose": verbose, "epochs": 2, "steps": 1})
    logger.set_fit_state(FitState(samples=10, batch_size=10))
    logger.on_train_begin()
    for epoch in range(2):
        logger.on_epoch_begin(epoch)
        logger.on_epoch_end(epoch, {"loss": 0.5})
    logger.on_train_end()


def test_progbar_logger_prints_at_the_verbose_level_given_to_fit(capsys: pytest.CaptureFixture[str]) -> None:
    drive(keras.callbacks.ProgbarLogger(), verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"]
    assert all(line.endswith("loss: 0.5000") for line in lines)
    drive(keras.callbacks.ProgbarLogger(), verbose=0)
    assert capsys.readouterr().out == ""


def test_fit_with_a_progbar_logger_prints_each_epoch_once(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = data()
    small_model().fit(x, y, epochs=2, batch_size=10, verbose=2, callbacks=[keras.callbacks.ProgbarLogger()])
    assert [line.split(" - ")[0] for line in capsys.readouterr().out.splitlines()] == ["Epoch 1/2", "Epoch 2/2"]


# -- TensorBoard --------------------------------------------------------------------------------
def read_events(folder: Path) -> list[bytes]:
    """The records of the one event file in `folder`, checking the framing and both checksums."""
    (path,) = folder.glob("events.out.tfevents.*.v2")
    content, records, offset = path.read_bytes(), [], 0
    while offset < len(content):
        header = content[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", content[offset + 8:offset + 12])[0] == masked_crc32c(header)
        body = content[offset + 12:offset + 12 + length]
        assert struct.unpack("<I", content[offset + 12 + length:offset + 16 + length])[0] == masked_crc32c(body)
        records.append(body)
        offset += 16 + length
    return records


def fields(message: bytes) -> list[tuple[int, int | float | bytes]]:
    """(field number, value) of a protocol buffer message: varints, doubles, floats, bytes."""
    out, offset = [], 0
    while offset < len(message):
        key, offset = varint(message, offset)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, offset = varint(message, offset)
        elif wire == 1:
            value, offset = struct.unpack("<d", message[offset:offset + 8])[0], offset + 8
        elif wire == 5:
            value, offset = struct.unpack("<f", message[offset:offset + 4])[0], offset + 4
        else:
            length, offset = varint(message, offset)
            value, offset = message[offset:offset + length], offset + length
        out.append((number, value))
    return out


def varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        value, shift, offset = value | (byte & 0x7F) << shift, shift + 7, offset + 1
        if not byte & 0x80:
            return value, offset


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] of the scalar summaries in `folder`'s event file."""
    found: dict[str, list[tuple[int, float]]] = {}
    first, *events = read_events(folder)
    assert dict(fields(first))[3] == b"brain.Event:2"
    for data in events:
        event = dict(fields(data))
        value = dict(fields(dict(fields(event[5]))[1]))
        if 2 in value:
            found.setdefault(value[1].decode(), []).append((event.get(2, 0), value[2]))
    return found


def same_series(found: list, values: list[float]) -> bool:
    """Whether (step, value) pairs are the epochs 0, 1, ... with these values (float32 precision)."""
    return [step for step, _ in found] == list(range(len(values))) and \
        [value for _, value in found] == pytest.approx(values, rel=1e-6)


def test_tensorboard_writes_keras_scalars_for_train_and_validation(tmp_path: Path) -> None:
    x, y = data(30)
    model = small_model()
    board = keras.callbacks.TensorBoard(log_dir=tmp_path / "logs", update_freq=2)
    history = model.fit(x[:20], y[:20], epochs=2, batch_size=5, validation_data=(x[20:], y[20:]), verbose=0,
                        callbacks=[board])
    train, validation = scalars(tmp_path / "logs" / "train"), scalars(tmp_path / "logs" / "validation")
    assert sorted(train) == ["batch_accuracy", "batch_loss", "epoch_accuracy", "epoch_learning_rate", "epoch_loss"]
    assert [step for step, _ in train["batch_loss"]] == [2, 4, 6, 8]  # every 2nd of 4 + 4 batches
    for name in ("loss", "accuracy"):
        assert same_series(train[f"epoch_{name}"], history.history[name])
        assert same_series(validation[f"epoch_{name}"], history.history[f"val_{name}"])
    assert same_series(train["epoch_learning_rate"], [0.01, 0.01])
    assert sorted(validation) == ["epoch_accuracy", "epoch_loss", "evaluation_accuracy_vs_iterations",
                                  "evaluation_loss_vs_iterations"]
    assert [step for step, _ in validation["evaluation_loss_vs_iterations"]] == [4, 8]


def test_tensorboard_histograms(tmp_path: Path) -> None:
    x, y = data()
    model = small_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.TensorBoard(tmp_path, histogram_freq=2)])
    histograms = []
    for serialized in read_events(tmp_path / "train")[1:]:
        event = dict(fields(serialized))
        value = dict(fields(dict(fields(event[5]))[1]))
        if 5 in value:
            histogram = dict(fields(value[5]))
            histograms.append((value[1].decode(), event.get(2, 0), histogram[3]))
    kernel_size = model.layers[0].get_weights()[0].size
    assert histograms == [("conv2d/kernel/histogram", 0, kernel_size), ("conv2d/bias/histogram", 0, 2),
                          ("dense/kernel/histogram", 0, 72 * 3), ("dense/bias/histogram", 0, 3)]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"update_freq": "step"}, "update_freq must be 'epoch', 'batch' or a positive integer"),
    ({"write_images": True}, "write_images=True is not supported"),
    ({"profile_batch": 2}, "profile_batch=2 is not supported"),
])
def test_tensorboard_arguments_are_checked(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        keras.callbacks.TensorBoard(**arguments)


TF_READ = """
import json, sys
from pathlib import Path
import tensorflow as tf
found = {}
for kind in ("train", "validation"):
    (path,) = Path(sys.argv[1], kind).glob("events.out.tfevents.*")
    for event in tf.compat.v1.train.summary_iterator(str(path)):
        for value in event.summary.value:
            found.setdefault(kind + "/" + value.tag, []).append([event.step, value.simple_value])
print(json.dumps(found))
"""


@pytest.mark.keras
@needs_keras
def test_tensorflow_reads_the_event_files(tmp_path: Path) -> None:
    x, y = data()
    history = small_model().fit(x, y, epochs=2, batch_size=10, validation_split=0.5, verbose=0,
                                callbacks=[keras.callbacks.TensorBoard(tmp_path)])
    done = subprocess.run([str(KERAS_PYTHON), "-c", TF_READ, str(tmp_path)], capture_output=True, text=True,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert same_series(found["train/epoch_loss"], history.history["loss"])
    assert same_series(found["validation/epoch_accuracy"], history.history["val_accuracy"])
