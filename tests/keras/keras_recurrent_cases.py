"""The recurrent layer cases compared with real Keras: name -> (Keras class, constructor
arguments, input shape). Bidirectional's `layer` (and `backward_layer`) is a
{"class_name", "config"} entry, as both Keras and convscope deserialize it. NumPy-free, so the
fixture writer (under real Keras) and the tests import it alike."""

from __future__ import annotations

from typing import Any


def rnn(class_name: str, **config: Any) -> dict[str, Any]:
    return {"class_name": class_name, "config": config}


CASES: dict[str, tuple[str, dict[str, Any], tuple[int, ...]]] = {
    "simple_rnn": ("SimpleRNN", {"units": 4}, (2, 6, 3)),
    "simple_rnn_sequences_backwards_relu": ("SimpleRNN", {"units": 3, "return_sequences": True, "go_backwards": True, "activation": "relu"}, (2, 5, 2)),
    "simple_rnn_state": ("SimpleRNN", {"units": 3, "return_state": True, "use_bias": False}, (2, 5, 2)),
    "lstm": ("LSTM", {"units": 5}, (2, 7, 3)),
    "lstm_sequences_state": ("LSTM", {"units": 4, "return_sequences": True, "return_state": True}, (2, 6, 3)),
    "lstm_backwards": ("LSTM", {"units": 3, "go_backwards": True, "return_sequences": True}, (2, 5, 2)),
    "lstm_relu_hard_sigmoid": ("LSTM", {"units": 3, "activation": "relu", "recurrent_activation": "hard_sigmoid"}, (2, 5, 2)),
    "lstm_no_bias": ("LSTM", {"units": 3, "use_bias": False, "unit_forget_bias": False}, (2, 4, 2)),
    "gru": ("GRU", {"units": 4}, (2, 6, 3)),
    "gru_reset_before": ("GRU", {"units": 4, "reset_after": False, "return_sequences": True}, (2, 6, 3)),
    "gru_state_backwards": ("GRU", {"units": 3, "return_state": True, "go_backwards": True}, (2, 5, 2)),
    "gru_no_bias": ("GRU", {"units": 3, "use_bias": False}, (2, 4, 2)),
    "gru_reset_before_relu": ("GRU", {"units": 3, "reset_after": False, "activation": "relu"}, (2, 4, 2)),
    "bidirectional_lstm_concat": ("Bidirectional", {"layer": rnn("LSTM", units=3, return_sequences=True)}, (2, 5, 2)),
    "bidirectional_gru_sum": ("Bidirectional", {"layer": rnn("GRU", units=3), "merge_mode": "sum"}, (2, 5, 2)),
    "bidirectional_rnn_mul": ("Bidirectional", {"layer": rnn("SimpleRNN", units=3, return_sequences=True), "merge_mode": "mul"}, (2, 4, 2)),
    "bidirectional_lstm_ave": ("Bidirectional", {"layer": rnn("LSTM", units=2), "merge_mode": "ave"}, (2, 4, 3)),
    "bidirectional_gru_none": ("Bidirectional", {"layer": rnn("GRU", units=2, return_sequences=True), "merge_mode": None}, (2, 4, 3)),
    "bidirectional_lstm_state": ("Bidirectional", {"layer": rnn("LSTM", units=2, return_state=True)}, (2, 4, 3)),
    "bidirectional_backward_layer": ("Bidirectional", {"layer": rnn("LSTM", units=3), "backward_layer": rnn("GRU", units=2, go_backwards=True)}, (2, 4, 3)),
}
