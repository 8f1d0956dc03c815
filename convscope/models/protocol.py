"""What saving, Keras files and summaries need from a model.

These modules sit below the model classes (`model.py`, `sequential.py`), which call them, so
they see a model through `LayeredModel` instead of importing its class.
"""

from __future__ import annotations

from typing import Any, Protocol

from convscope.engine.compiled import Compiled
from convscope.layers import Layer
from convscope.layers.input_spec import Shape


class LayeredModel(Protocol):
    """A named model made of convscope layers, with a config and, once compiled, its state."""

    @property
    def name(self) -> str: ...

    @property
    def compiled(self) -> Compiled | None: ...

    @property
    def input_shape(self) -> Shape | None:
        """The input shape with its batch axis, e.g. (None, 28, 28, 1); None until known."""
        ...

    @property
    def layers(self) -> list[Layer]:
        """Every layer, in the order their weights are saved."""
        ...

    def get_config(self) -> dict[str, Any]: ...

    def require_built(self, action: str) -> Shape:
        """The input shape; a ValueError naming `action` while it is unknown."""
        ...

    def require_compiled(self, action: str) -> Compiled:
        """The compiled state; a ValueError naming `action` before `compile`."""
        ...
