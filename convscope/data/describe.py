"""`describe`: what a dataset holds (shapes, dtypes, value range, class counts) and its problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Split = tuple[np.ndarray, np.ndarray]


@dataclass
class SplitSummary:
    """One split of a dataset: its arrays' shapes and dtypes, value range and class counts."""

    name: str
    x_shape: tuple[int, ...]
    x_dtype: str
    y_shape: tuple[int, ...]
    y_dtype: str
    value_min: float
    value_max: float
    class_counts: dict[int, int]


@dataclass
class DatasetDescription:
    """The result of `describe`: one `SplitSummary` per split and the failed checks.

    `str(description)` is the readable report printed by ``convscope data describe``.
    """

    name: str
    splits: list[SplitSummary]
    class_names: list[str] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {
            "name": self.name,
            "class_names": self.class_names,
            "splits": [vars(split) | {"class_counts": {str(k): v for k, v in split.class_counts.items()}}
                       for split in self.splits],
            "problems": self.problems,
        }

    def __str__(self) -> str:
        lines = [f"Dataset {self.name}"]
        for split in self.splits:
            lines.append(f"  {split.name}: x {split.x_shape} {split.x_dtype}, y {split.y_shape} "
                         f"{split.y_dtype}, values {split.value_min:g}..{split.value_max:g}")
            counts = ", ".join(f"{self._label(k)}: {v}" for k, v in split.class_counts.items())
            lines.append(f"    per class: {counts}")
        if self.problems:
            lines.append("Problems:")
            lines.extend(f"  - {problem}" for problem in self.problems)
        else:
            lines.append("Checks passed: image and label counts match, sample shapes as expected.")
        return "\n".join(lines)

    def _label(self, label: int) -> str:
        if self.class_names and 0 <= label < len(self.class_names) and self.class_names[label] != str(label):
            return f"{label} ({self.class_names[label]})"
        return str(label)


def _integer_labels(y: np.ndarray) -> np.ndarray:
    """Integer labels from (N,), (N, 1) or one-hot (N, C) arrays."""
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y


def summarize_split(name: str, x: np.ndarray, y: np.ndarray) -> SplitSummary:
    """Shapes, dtypes, value range and per-class counts of one split."""
    labels = _integer_labels(np.asarray(y))
    values, counts = np.unique(labels, return_counts=True)
    return SplitSummary(
        name, tuple(x.shape), str(x.dtype), tuple(np.shape(y)), str(np.asarray(y).dtype),
        float(x.min()) if x.size else float("nan"), float(x.max()) if x.size else float("nan"),
        {int(value): int(count) for value, count in zip(values.tolist(), counts.tolist(), strict=True)},
    )


def check_split(summary: SplitSummary, expected_sample_shape: tuple[int, ...] | None) -> list[str]:
    """The checks of a typical notebook, as readable failures: equal image and label counts,
    and the expected size of each sample."""
    problems = []
    if summary.x_shape[0] != summary.y_shape[0]:
        problems.append(f"{summary.name}: {summary.x_shape[0]} samples but {summary.y_shape[0]} labels; "
                        "each sample needs exactly one label.")
    sample = summary.x_shape[1:]
    if expected_sample_shape is not None and sample != tuple(expected_sample_shape):
        # A grayscale dataset without its channel axis is still the right size.
        if not (expected_sample_shape[-1] == 1 and sample == tuple(expected_sample_shape[:-1])):
            problems.append(f"{summary.name}: samples have shape {sample}; expected "
                            f"{tuple(expected_sample_shape)}.")
    return problems


def describe(
    data: str | tuple[Split, Split] | Split,
    *,
    name: str | None = None,
    class_names: list[str] | None = None,
    expected_sample_shape: tuple[int, ...] | None = None,
    strict: bool = False,
    **load_options: Any,
) -> DatasetDescription:
    """Describe a dataset: a name (loaded with `load`), ``((x, y), (x_test, y_test))`` or ``(x, y)``.

    Checks: each split has as many labels as samples; every split's samples have
    `expected_sample_shape` (for a named dataset, its known shape; otherwise the training
    split's); each label appears in the training split.

    Args:
        strict: raise `ValueError` listing the problems instead of returning them.

    Example:
        >>> print(describe("mnist"))   # doctest: +SKIP
        Dataset mnist
          train: x (60000, 28, 28, 1) uint8, y (60000,) uint8, values 0..255
        ...
    """
    from convscope.data.loaders import load
    from convscope.data.registry import get_spec

    if isinstance(data, str):
        spec = get_spec(data)
        name = name or spec.name
        class_names = class_names or list(spec.class_names)
        expected_sample_shape = expected_sample_shape or spec.sample_shape
        data = load(data, **load_options)
    first = data[0]
    splits = {"train": data[0], "test": data[1]} if isinstance(first, tuple) else {"data": data}
    summaries = [summarize_split(split, np.asarray(x), np.asarray(y)) for split, (x, y) in splits.items()]
    expected = expected_sample_shape or summaries[0].x_shape[1:]
    problems = [problem for summary in summaries for problem in check_split(summary, expected)]
    if len(summaries) == 2:
        unseen = sorted(set(summaries[1].class_counts) - set(summaries[0].class_counts))
        if unseen:
            problems.append(f"test: labels {unseen} never appear in train.")
    description = DatasetDescription(name or "arrays", summaries, class_names, problems)
    if strict and problems:
        raise ValueError(f"describe({description.name}): " + "; ".join(problems))
    return description
