"""The whole-model views of `convscope explain`: shapes, maps, filters and edges."""

from __future__ import annotations

import argparse
import re

from convscope.cli.explain.inputs import (
    class_names,
    layer_argument,
    load_example,
    load_model,
    load_run,
    parse_ints,
)
from convscope.cli.explain.report import format_matrix, out_folder


def run_shapes(args: argparse.Namespace) -> int:
    from convscope.explain import format_shape_journey, shape_journey

    model = load_model(args.model)
    steps = shape_journey(model, parse_ints(args.input_shape, "--input-shape"))
    print(format_shape_journey(steps))
    return 0 if all(step.agrees for step in steps) else 1


def run_maps(args: argparse.Namespace) -> int:
    from convscope.explain import feature_maps
    from convscope.explain._model import is_graph

    model, run = load_run(args.model)
    chosen = None if not args.layers else [layer_argument(item) for item in args.layers.split(",")]
    all_maps = feature_maps(model, load_example(args, model), layers=chosen)
    graph = is_graph(model)
    for maps in all_maps:
        values = maps.maps
        reads = f" <- {', '.join(maps.sources)}" if graph and maps.sources else ""
        print(f"{maps.index:>2} {maps.kind} '{maps.layer}'{reads}: {tuple(values.shape)}, "
              f"min {values.min():.4g}, max {values.max():.4g}, mean {values.mean():.4g}")
    out = out_folder(args)
    if out is not None:
        from convscope.plots.explain import plot_all_feature_maps

        for path in plot_all_feature_maps(all_maps, out, args.max_channels, class_names(run, model, None)):
            print(f"wrote {path}")
    return 0


def run_filters(args: argparse.Namespace) -> int:
    from convscope.explain import learned_filters

    filters = learned_filters(load_model(args.model), layer_argument(args.layer))
    kernel = filters.kernel
    print(f"{filters.kind} '{filters.layer}': kernel {tuple(kernel.shape)} (Keras layout), "
          f"weights from {kernel.min():.4g} to {kernel.max():.4g}")
    if filters.groups > 1:
        print(f"{filters.groups} groups: each filter reads {filters.kernel.shape[-2]} of the layer's "
              f"{filters.kernel.shape[-2] * filters.groups} input channels, those of its group")
    for index in range(min(filters.count, 4)):
        one = filters.filter(index)
        print(f"filter {index} (input channel {filters.input_channels(index)[0]}):")
        print(format_matrix(one[..., 0]))
    out = out_folder(args)
    if out is not None:
        from convscope.plots.explain import plot_filters

        name = re.sub(r"[^A-Za-z0-9_.-]", "_", filters.layer)  # a nested model's "base/conv2d" is one file
        print(f"wrote {plot_filters(filters, out / f'filters_{name}.png')}")
    return 0


def run_edges(args: argparse.Namespace) -> int:
    from convscope.explain import edge_demo

    demo = edge_demo(load_example(args))
    for name, kernel in demo.kernels.items():
        print(f"'{name}' kernel:")
        print(format_matrix(kernel))
        print(f"  input {demo.image.shape} -> filtered {demo.filtered[name].shape} -> pooled "
              f"{demo.pooled[name].shape}; mean response after ReLU {demo.response[name]:.4g}")
    out = out_folder(args)
    if out is not None:
        from convscope.plots.explain import plot_edge_demo

        print(f"wrote {plot_edge_demo(demo, out / 'edges.png')}")
    return 0
