"""Every input-shape check a layer makes, and the text of its error.

Shapes here include the batch axis, with None where a size is unknown, as Keras prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Shape = tuple[int | None, ...]

AXES_NAMES = {
    2: "(batch, features)",
    3: "(batch, steps, channels)",
    4: "(batch, height, width, channels)",
    5: "(batch, depth, height, width, channels)",
}
AXES_NAMES_FIRST = {3: "(batch, channels, steps)", 4: "(batch, channels, height, width)",
                    5: "(batch, channels, depth, height, width)"}


def describe_axes(rank: int, data_format: str = "channels_last") -> str:
    names = AXES_NAMES_FIRST if data_format == "channels_first" else AXES_NAMES
    return names.get(rank, f"{rank}-D")


def _fits(sizes: Sequence[int | None], wanted: Sequence[int | None]) -> bool:
    return len(sizes) == len(wanted) and all(w is None or w == s for s, w in zip(sizes, wanted))


def rank_fix(expected_rank: int, shape: Sequence[int | None], expected: Sequence[int | None] | None = None) -> str:
    """The likely fix when a `len(shape)`-D array reaches a layer wanting `expected_rank` axes;
    with `expected` (the model's input shape, batch axis first) the fix names its sizes."""
    if expected is not None and len(expected) == expected_rank:
        fix = _fix_for_shape(tuple(shape), tuple(expected[1:]))
        if fix:
            return fix
    sizes = [s for s in shape if s is not None]
    if expected_rank == 4 and len(shape) == 2 and len(sizes) == 2:
        return f"Add a batch and a channel axis: x.reshape(-1, {sizes[0]}, {sizes[1]}, 1)."
    if expected_rank == 4 and len(shape) == 3:
        return (f"Add the channel axis: x.reshape(-1, {shape[1]}, {shape[2]}, 1) "
                "(or x[..., None]); a single image needs a batch axis too: x[None, ..., None].")
    if expected_rank == 5 and len(shape) == 4:
        return (f"Add the channel axis: x.reshape(-1, {shape[1]}, {shape[2]}, {shape[3]}, 1) (or x[..., None]); "
                "a single volume needs a batch axis too: x[None, ..., None].")
    if expected_rank == 3 and len(shape) == 2:
        return f"Add the channel axis: x.reshape(-1, {shape[1]}, 1) (or x[..., None])."
    if expected_rank == 2 and len(shape) > 2:
        return "Add Flatten() (or GlobalAveragePooling) before this layer."
    return f"Reshape the input to {expected_rank} axes."


def _fix_for_shape(shape: tuple[int | None, ...], sample: tuple[int | None, ...]) -> str | None:
    """The fix for `shape` given one sample's expected `sample` shape, or None to guess by rank."""
    shown = ", ".join(str(size) for size in sample)
    if _fits(shape, sample):
        return f"A single sample needs a batch axis: x[None] (or x.reshape(-1, {shown}))."
    channels = sample[-1]
    if len(shape) == len(sample) and _fits(shape[1:], sample[:-1]):  # (N, H, W) for (H, W, C)
        if channels == 1:
            return f"Add the channel axis: x.reshape(-1, {shown}) (or x[..., None])."
        return (f"The model takes {channels} channels (input shape (None, {shown})); these samples have no "
                f"channel axis. Give it {channels}-channel data, e.g. for grayscale images "
                f"x = np.repeat(x[..., None], {channels}, axis=-1).")
    if len(shape) + 1 == len(sample) and channels == 1 and _fits(shape, sample[:-1]):  # (H, W) for (H, W, 1)
        return f"Add a batch and a channel axis: x.reshape(-1, {shown})."
    return None


def declared_sample_shape(layer: str, input_shape: Any) -> Shape:
    """A layer's `input_shape` argument (one sample, no batch axis) as a tuple of positive ints
    or None; a bare int is one axis, as in Input(784).

    Raises:
        ValueError: naming the layer, for anything else.
    """
    try:
        sizes: tuple[Any, ...] = tuple(input_shape)
    except TypeError:
        sizes = (input_shape,)
    if not sizes or not all(size is None or (isinstance(size, int) and not isinstance(size, bool) and size > 0)
                            for size in sizes):
        raise ValueError(f"{layer}: input_shape must be a tuple of positive ints (one sample, no batch axis), "
                         f"e.g. (28, 28, 1); got {input_shape!r}.")
    return sizes


def check_rank(layer: str, expected_rank: int, shape: Shape, data_format: str = "channels_last",
               expected: Shape | None = None) -> None:
    """Raise ValueError unless `shape` (batch axis included) has `expected_rank` axes; with the
    model's `expected` input shape the advice names its sizes."""
    if len(shape) == expected_rank:
        return
    axes = describe_axes(expected_rank, data_format)
    shown = tuple(shape)
    raise ValueError(
        f"{layer} expects {expected_rank}-D input {axes}; got shape {shown}. "
        f"{rank_fix(expected_rank, shown, expected)}"
    )


def check_min_rank(layer: str, min_rank: int, shape: Shape) -> None:
    if len(shape) < min_rank:
        raise ValueError(
            f"{layer} expects input with at least {min_rank} axes (batch included); got shape "
            f"{tuple(shape)}."
        )


def check_compatible(layer: str, expected: Shape, got: Shape) -> None:
    """Raise ValueError when a runtime input disagrees with the shape the layer was built for."""
    check_rank(layer, len(expected), got)
    for want, have in zip(expected[1:], got[1:]):
        if want is not None and have is not None and want != have:
            raise ValueError(
                f"{layer} was built for input shape {tuple(expected)}; got {tuple(got)}. "
                f"{channel_hint(expected, got)}"
            )


def channel_hint(expected: Shape, got: Shape) -> str:
    """Recognise channels on the wrong axis and say how to move them."""
    if len(expected) == 4 and len(got) == 4 and (got[1], got[2], got[3]) == (expected[3], expected[1], expected[2]):
        return ("The channels seem to be on axis 1 (channels-first); convscope, like Keras, expects "
                "channels last: x = x.transpose(0, 2, 3, 1).")
    if len(expected) == 3 and len(got) == 3 and (got[1], got[2]) == (expected[2], expected[1]):
        return ("The channels seem to be on axis 1 (channels-first); convscope expects (batch, steps, "
                "channels): x = x.transpose(0, 2, 1).")
    return "Resize or reshape the data to the model's input shape, or rebuild the model for this shape."
