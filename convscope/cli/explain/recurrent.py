"""`convscope explain rnn`: one unit of a SimpleRNN, LSTM or GRU layer at one time step, worked
out gate by gate from the layer's real input and weights, and checked against the engine."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from convscope.cli.explain.inputs import layer_argument, load_example, load_model
from convscope.cli.explain.report import show_steps

HELP = "one unit of a SimpleRNN/LSTM/GRU at one time step, gate by gate"


def add_rnn_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layer", help="recurrent layer name or index (default: the first)")
    parser.add_argument("--step", type=int, help="time step, 0-based in the order the layer reads "
                                                 "(with go_backwards step 0 reads the last input; default: the last)")
    parser.add_argument("--unit", type=int, default=0, help="which unit of the hidden state")
    parser.add_argument("--terms", type=int, default=8, help="longest sum written out term by term")


def run_rnn(args: argparse.Namespace) -> int:
    from convscope import explain

    model = load_model(args.model)
    example = load_example(args, model)
    steps = explain.recurrent_steps(model, example, layer=layer_argument(args.layer), step=args.step, unit=args.unit)
    return show_steps(_Shown(steps, args.terms), args, write_rnn)


class _Shown:
    """The steps with the --terms the text is written with."""

    def __init__(self, steps: Any, terms: int) -> None:
        self.steps, self.terms = steps, terms
        self.agrees = steps.agrees

    def text(self) -> str:
        return str(self.steps.text(max_terms=self.terms))


def write_rnn(shown: Any, out: Path) -> list[Path]:
    from convscope._atomic import write_json_atomic

    return [write_json_atomic(out / "rnn_steps.json", shown.steps.to_dict())]
