"""Keras's `keras.utils.PyDataset` (and its older name `Sequence`): a dataset of batches.

Subclass it, give `__len__` (the number of batches) and `__getitem__(index)` returning
`(x_batch, y_batch)`, and pass the object to `fit`, `evaluate` or `predict`:

>>> class Batches(Sequence):
...     def __init__(self, x, y, batch_size): self.x, self.y, self.batch_size = x, y, batch_size
...     def __len__(self): return -(-len(self.x) // self.batch_size)
...     def __getitem__(self, index):
...         window = slice(index * self.batch_size, (index + 1) * self.batch_size)
...         return self.x[window], self.y[window]
>>> model.fit(Batches(x, y, 32), epochs=2)
"""

from __future__ import annotations

from typing import Any


class PyDataset:
    """Base class of a dataset of batches; `fit` calls `on_epoch_end()` after every epoch.

    `workers`, `use_multiprocessing` and `max_queue_size` are accepted for Keras compatibility;
    convscope reads batches in the training thread, one at a time.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        self.workers, self.use_multiprocessing, self.max_queue_size = workers, use_multiprocessing, max_queue_size

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number of batches).")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning a batch "
                                  "(x_batch, y_batch).")

    @property
    def num_batches(self) -> int:
        return len(self)

    def on_epoch_begin(self) -> None:
        """Called before every epoch."""

    def on_epoch_end(self) -> None:
        """Called after every epoch (shuffle your samples here)."""


Sequence = PyDataset
