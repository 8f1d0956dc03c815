"""`convscope explain interpret`: a trained model's predictions on a dataset, explained."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from convscope.cli import CommandError
from convscope.cli.explain.inputs import class_names, dataset, load_run, scaled
from convscope.cli.explain.report import out_folder


def run_interpret(args: argparse.Namespace) -> int:
    import numpy as np

    from convscope.explain import grad_cam, gradient_saliency, interpret, training_curves

    model, run = load_run(args.model)
    if args.x:
        if not args.y:
            raise CommandError("--x needs --y", hint="pass the labels as a .npy file")
        from convscope.data.files import load_npy

        x, y, names = load_npy(args.x), load_npy(args.y), None
    elif args.data:
        x, y, names = dataset(args)
    else:
        raise CommandError("no data given", hint="pass --data mnist, or --x X.npy --y Y.npy")
    x, y = scaled(x[: args.limit], args.raw), np.asarray(y[: args.limit])
    result = interpret(model, x, y, class_names=class_names(run, model, names), batch_size=args.batch_size)
    print(result.text(k=args.top))
    out = out_folder(args)
    if out is None:
        return 0
    from convscope.plots import interpret as plots

    written = [plots.plot_confusion_matrix(result, out / "confusion_matrix.png"),
               plots.plot_per_class_accuracy(result, out / "per_class_accuracy.png"),
               plots.plot_top_losses(result, x, out / "top_losses.png", k=args.top)]
    from convscope.explain._model import graph_nodes
    from convscope.explain.steps import CONV_KINDS

    worst = result.top_losses(1)
    if worst and any(node.kind in CONV_KINDS for node in graph_nodes(model)):  # nested models' convs too
        example = x[worst[0].index]
        names = result.class_names
        print(f"saliency: example {worst[0].index} (the worst top loss), actual class '{names[worst[0].actual]}', "
              f"explaining predicted class '{names[worst[0].predicted]}'")
        written.append(plots.plot_saliency(gradient_saliency(model, example, worst[0].predicted, class_names=names),
                                           out / "saliency_gradient.png"))
        written.append(plots.plot_saliency(grad_cam(model, example, worst[0].predicted, class_names=names),
                                           out / "saliency_grad_cam.png"))
    if args.history:
        record = json.loads(Path(args.history).read_text())
        written.append(plots.plot_training_curves(training_curves(record.get("history", record)),
                                                  out / "training_curves.png"))
    for path in written:
        print(f"wrote {path}")
    return 0
