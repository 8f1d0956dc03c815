"""Write what real Keras computes for the recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional)
that tests/keras/test_keras_recurrent.py compares convscope with, and two small models Keras saved.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_recurrent_fixtures.py
It writes, under tests/keras/fixtures/:
    recurrent.npz, recurrent.json  per case of keras_recurrent_cases.py: input x, weights w0..
                                   (Keras layout, `layer.get_weights()` order), outputs y0..
                                   (several with return_state or merge_mode=None); config, output
                                   shape and parameter count
    conv1d_lstm.keras/.h5/.npz/_summary.txt
                                   Conv1D -> MaxPooling1D -> LSTM -> Dense on 1-D signals
    bigru.keras/.h5/.npz/_summary.txt
                                   Bidirectional(GRU, return_sequences) -> Bidirectional(LSTM, sum)
                                   -> Dense
    recurrent_state.npz, recurrent_state.json
                                   per case of STATE_CASES: a call with initial_state (x, states
                                   s0.., weights w0.., outputs y0..)
    recurrent_cells.npz, recurrent_cells.json
                                   per case of CELL_CASES: RNN over cells (x, weights w0.., outputs
                                   y0.., Keras's config); and one step of each cell (step_<cell>/..)
    rnn_cells.keras/.h5/.npz/_summary.txt
                                   Embedding(mask_zero) -> RNN([LSTMCell, GRUCell]) -> Dense
    seq2seq.keras/.h5/.npz/_summary.txt
                                   the encoder-decoder: LSTM(return_state) states start a decoder
                                   LSTM(return_sequences) -> Dense(softmax)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import DROPPED_KEYS, write_model_files  # noqa: E402
from keras_recurrent_cases import CASES  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def make_layer(class_name: str, kwargs: dict) -> keras.layers.Layer:
    if class_name != "Bidirectional":
        return getattr(keras.layers, class_name)(**kwargs)
    kwargs = dict(kwargs)
    inner = kwargs.pop("layer")
    backward = kwargs.pop("backward_layer", None)
    return keras.layers.Bidirectional(
        getattr(keras.layers, inner["class_name"])(**inner["config"]), **kwargs,
        backward_layer=None if backward is None else getattr(keras.layers, backward["class_name"])(**backward["config"]))


def layer_references() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    for index, (case, (class_name, kwargs, shape)) in enumerate(CASES.items()):
        rng = np.random.default_rng(index)
        x = rng.normal(size=shape).astype("float32")
        layer = make_layer(class_name, kwargs)
        layer.build(shape)
        weights = [(0.5 * rng.normal(size=w.shape)).astype("float32") for w in layer.get_weights()]
        layer.set_weights(weights)
        outputs = layer(x, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        arrays[f"{case}/x"] = x
        for number, weight in enumerate(weights):
            arrays[f"{case}/w{number}"] = weight
        for number, output in enumerate(outputs):
            arrays[f"{case}/y{number}"] = np.asarray(output)
        config = {key: value for key, value in layer.get_config().items() if key not in DROPPED_KEYS}
        output_shape = layer.compute_output_shape(shape)
        described[case] = {"config": config, "params": layer.count_params(), "weights": len(weights),
                           "outputs": len(outputs), "output_shape": json.loads(json.dumps(output_shape))}
    np.savez_compressed(FIXTURES / "recurrent.npz", **arrays)
    (FIXTURES / "recurrent.json").write_text(json.dumps(described, indent=1, sort_keys=True, default=str) + "\n")


STATE_CASES = {  # calls with initial_state: fused kernels, the step loop, a mask, Bidirectional
    "lstm": ("LSTM", {"units": 4, "return_sequences": True, "return_state": True}, (2, 5, 3)),
    "gru": ("GRU", {"units": 4, "return_state": True}, (2, 5, 3)),
    "gru_reset_before": ("GRU", {"units": 3, "reset_after": False, "return_sequences": True}, (2, 5, 3)),
    "simple_rnn_backwards": ("SimpleRNN", {"units": 4, "go_backwards": True}, (2, 5, 3)),
    "lstm_hard_sigmoid": ("LSTM", {"units": 3, "recurrent_activation": "hard_sigmoid"}, (2, 5, 3)),
    "bidirectional_lstm": ("Bidirectional", {"layer": {"class_name": "LSTM", "config": {
        "units": 3, "return_sequences": True, "return_state": True}}}, (2, 5, 3)),
    "bidirectional_gru_sum": ("Bidirectional", {"layer": {"class_name": "GRU", "config": {"units": 3}},
                                                "merge_mode": "sum"}, (2, 5, 3)),
}


def state_references() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    for index, (case, (class_name, kwargs, shape)) in enumerate(STATE_CASES.items()):
        rng = np.random.default_rng(100 + index)
        x = rng.normal(size=shape).astype("float32")
        layer = make_layer(class_name, kwargs)
        layer.build(shape)
        weights = [(0.5 * rng.normal(size=w.shape)).astype("float32") for w in layer.get_weights()]
        layer.set_weights(weights)
        inner = layer.forward_layer.cell if class_name == "Bidirectional" else layer.cell
        sizes = inner.state_size if isinstance(inner.state_size, list) else [inner.state_size]
        sizes = sizes * (2 if class_name == "Bidirectional" else 1)
        states = [rng.normal(size=(shape[0], size)).astype("float32") for size in sizes]
        outputs = layer(x, initial_state=states, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        arrays[f"{case}/x"] = x
        arrays.update({f"{case}/s{number}": state for number, state in enumerate(states)})
        arrays.update({f"{case}/w{number}": weight for number, weight in enumerate(weights)})
        arrays.update({f"{case}/y{number}": np.asarray(output) for number, output in enumerate(outputs)})
        described[case] = {"class_name": class_name, "kwargs": kwargs, "shape": list(shape), "states": len(states),
                           "weights": len(weights), "outputs": len(outputs)}
    np.savez_compressed(FIXTURES / "recurrent_state.npz", **arrays)
    (FIXTURES / "recurrent_state.json").write_text(json.dumps(described, indent=1, sort_keys=True) + "\n")


def seq2seq() -> None:
    rng = np.random.default_rng(8)
    encoder_inputs, decoder_inputs = keras.Input((None, 5)), keras.Input((None, 4))
    _, state_h, state_c = keras.layers.LSTM(6, return_state=True)(encoder_inputs)
    decoded = keras.layers.LSTM(6, return_sequences=True)(decoder_inputs, initial_state=[state_h, state_c])
    outputs = keras.layers.Dense(4, activation="softmax")(decoded)
    model = randomized(keras.Model([encoder_inputs, decoder_inputs], outputs, name="seq2seq"), 3)
    x = [rng.normal(size=(3, 7, 5)).astype("float32"), rng.normal(size=(3, 6, 4)).astype("float32")]
    write_model_files(FIXTURES, "seq2seq", model, x, [model.predict(x, verbose=0)])
    source, target = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    # (a mask on the encoder would be saved as a NotEqual operation node, which convscope does not read)
    _, state_h = keras.layers.GRU(5, return_state=True)(keras.layers.Embedding(9, 4)(source))
    decoded = keras.layers.GRU(5, return_sequences=True)(keras.layers.Embedding(7, 3, mask_zero=True)(target),
                                                          initial_state=state_h)
    model = randomized(keras.Model([source, target], keras.layers.Dense(7)(decoded), name="seq2seq_masked"), 4)
    x = [rng.integers(1, 9, (3, 6)), rng.integers(1, 7, (3, 5))]
    x[1][1, 3:], x[1][2, :2] = 0, 0  # the decoder's padding: trailing steps, and leading ones
    write_model_files(FIXTURES, "seq2seq_masked", model, x, [model.predict(x, verbose=0)])


CELL_CASES = {  # RNN(cell): (cells as (class, config), RNN arguments, input shape)
    "lstm_cell": ([("LSTMCell", {"units": 4})], {"return_sequences": True, "return_state": True}, (2, 5, 3)),
    "simple_rnn_cell_relu": ([("SimpleRNNCell", {"units": 4, "activation": "relu"})], {"go_backwards": True},
                             (2, 5, 3)),
    "gru_cell_reset_before": ([("GRUCell", {"units": 3, "reset_after": False})], {"return_state": True}, (2, 5, 3)),
    "stacked": ([("LSTMCell", {"units": 4}), ("GRUCell", {"units": 3}), ("LSTMCell", {"units": 2})],
                {"return_sequences": True}, (2, 5, 3)),
}


def cell_references() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    for index, (case, (cells, kwargs, shape)) in enumerate(CELL_CASES.items()):
        rng = np.random.default_rng(200 + index)
        made = [getattr(keras.layers, name)(**config) for name, config in cells]
        layer = keras.layers.RNN(made if len(made) > 1 else made[0], **kwargs)
        x = rng.normal(size=shape).astype("float32")
        layer.build(shape)
        weights = [(0.5 * rng.normal(size=w.shape)).astype("float32") for w in layer.get_weights()]
        layer.set_weights(weights)
        outputs = layer(x)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        arrays[f"{case}/x"] = x
        arrays.update({f"{case}/w{number}": weight for number, weight in enumerate(weights)})
        arrays.update({f"{case}/y{number}": np.asarray(output) for number, output in enumerate(outputs)})
        config = {key: value for key, value in layer.get_config().items() if key not in DROPPED_KEYS}
        described[case] = {"config": config, "weights": len(weights), "outputs": len(outputs),
                           "weight_paths": [weight.path for weight in layer.weights]}
    for index, (name, states) in enumerate((("SimpleRNNCell", 1), ("LSTMCell", 2), ("GRUCell", 1))):
        rng = np.random.default_rng(300 + index)
        cell = getattr(keras.layers, name)(3)
        cell.build((2, 4))
        weights = [(0.5 * rng.normal(size=w.shape)).astype("float32") for w in cell.get_weights()]
        cell.set_weights(weights)
        x, given = rng.normal(size=(2, 4)).astype("float32"), [rng.normal(size=(2, 3)).astype("float32")] * states
        output, new_states = cell(x, given)
        arrays.update({f"step_{name}/x": x, f"step_{name}/y": np.asarray(output)})
        arrays.update({f"step_{name}/s{number}": state for number, state in enumerate(given)})
        arrays.update({f"step_{name}/w{number}": weight for number, weight in enumerate(weights)})
        arrays.update({f"step_{name}/new{number}": np.asarray(state) for number, state in enumerate(new_states)})
        described[f"step_{name}"] = {"config": {key: value for key, value in cell.get_config().items()
                                                if key not in DROPPED_KEYS}, "states": states}
    np.savez_compressed(FIXTURES / "recurrent_cells.npz", **arrays)
    (FIXTURES / "recurrent_cells.json").write_text(json.dumps(described, indent=1, sort_keys=True, default=str) + "\n")
    rng = np.random.default_rng(9)
    model = randomized(keras.Sequential([
        keras.Input((8,), dtype="int32"), keras.layers.Embedding(10, 4, mask_zero=True),
        keras.layers.RNN([keras.layers.LSTMCell(5), keras.layers.GRUCell(3)]), keras.layers.Dense(2),
    ], name="rnn_cells"), 5)
    x = rng.integers(1, 10, (3, 8))
    x[0, 5:], x[1, :2] = 0, 0
    write_model_files(FIXTURES, "rnn_cells", model, [x], [model.predict(x, verbose=0)])


def randomized(model: keras.Model, seed: int) -> keras.Model:
    rng = np.random.default_rng(seed)
    model.set_weights([(0.4 * rng.normal(size=w.shape)).astype("float32") for w in model.get_weights()])
    return model


def models() -> None:
    rng = np.random.default_rng(7)
    conv_lstm = randomized(keras.Sequential([
        keras.Input((40, 2)),
        keras.layers.Conv1D(8, 5, activation="relu"),
        keras.layers.MaxPooling1D(2),
        keras.layers.LSTM(6),
        keras.layers.Dense(3, activation="softmax"),
    ], name="conv1d_lstm"), 1)
    x = rng.normal(size=(4, 40, 2)).astype("float32")
    write_model_files(FIXTURES, "conv1d_lstm", conv_lstm, [x], [conv_lstm.predict(x, verbose=0)])
    bigru = randomized(keras.Sequential([
        keras.Input((12, 3)),
        keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=True)),
        keras.layers.Bidirectional(keras.layers.LSTM(4), merge_mode="sum"),
        keras.layers.Dense(2),
    ], name="bigru"), 2)
    x = rng.normal(size=(3, 12, 3)).astype("float32")
    write_model_files(FIXTURES, "bigru", bigru, [x], [bigru.predict(x, verbose=0)])


if __name__ == "__main__":
    layer_references()
    models()
    state_references()
    seq2seq()
    cell_references()
