"""Keras's saving methods of a model: save, save_weights, load_weights, to_json and the
checkpoint files the training loop writes and reads.

`Model` takes these methods from `KerasSaving`; they hand the model to `models.storage` and
`models.keras_files`, which see it as a `models.protocol.LayeredModel`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from convscope.models.protocol import LayeredModel


class KerasSaving:
    """save, save_weights, load_weights, to_json and the checkpoint files, as Keras's `Model`
    has them (checkpoints are convscope's)."""

    def save(self: LayeredModel, path: str | os.PathLike[str], overwrite: bool = True, zipped: bool | None = None) -> None:
        """Save architecture (JSON), weights and optimizer state (safetensors) to a folder; a
        path ending .keras or .h5 writes Keras's file instead (keras.models.load_model opens it).
        `overwrite=False` refuses an existing path; `zipped=False` (Keras's unzipped .keras) is refused."""
        from convscope.models import storage

        storage.save_model(self, path, overwrite=overwrite, zipped=zipped)

    def save_weights(self: LayeredModel, path: str | os.PathLike[str]) -> None:
        """Weights alone: Keras's layout for a .weights.h5 path, else a safetensors file."""
        from convscope.models import storage

        storage.save_weights(self, path)

    def load_weights(self: LayeredModel, path: str | os.PathLike[str]) -> None:
        """Weights from `save_weights`'s file or a Keras .weights.h5 / .h5 file."""
        from convscope.models import storage

        storage.load_weights(self, path)

    def write_checkpoint_files(self: LayeredModel, folder: Path) -> None:
        """A training checkpoint's model files: the saved-model folder's config, weights and
        optimizer state (`convscope.engine.checkpoint` adds where training stood)."""
        from convscope.models import storage

        storage.write_model_files(self, folder)

    def read_checkpoint_files(self: LayeredModel, folder: Path) -> None:
        """Weights and (when saved) optimizer and generator states from a checkpoint folder."""
        from convscope.models import storage

        storage.load_weights(self, folder / storage.WEIGHTS_FILE)
        if (folder / storage.OPTIMIZER_FILE).exists():
            storage.load_optimizer(self, folder / storage.OPTIMIZER_FILE)

    def to_json(self: LayeredModel, **dumps_options: Any) -> str:
        """The architecture as Keras's model JSON; `models.model_from_json` rebuilds it."""
        from convscope.models.keras_files import model_to_json

        return model_to_json(self, **dumps_options)
