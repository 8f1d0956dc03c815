"""Model classes by name, as Keras resolves a saved model's class.

A saved config names its class ("Sequential"); loading looks the class up here instead of
importing it, so the modules that read configs and files sit below the model classes. Each
model class registers itself where it is defined:

    >>> @registry.register
    ... class Sequential(Model): ...
    >>> model_class = registry.get("Sequential")
    >>> model_class.check_config(config)
    >>> model = model_class.from_checked_config(config)
"""

from __future__ import annotations

from typing import Any, Protocol, Self, TypeVar


class RegisteredModel(Protocol):
    """What loading needs from a model class: a check of its config that allocates nothing
    (with `stored`, the weights file's shapes too), then the model from a checked config."""

    @classmethod
    def check_config(cls, config: Any, stored: Any = None) -> None: ...

    @classmethod
    def from_checked_config(cls, config: dict[str, Any]) -> Self: ...


ModelT = TypeVar("ModelT", bound=RegisteredModel)
_CLASSES: dict[str, type[RegisteredModel]] = {}


def register(model_class: type[ModelT]) -> type[ModelT]:
    """Record `model_class` under its class name (a class decorator)."""
    _CLASSES[model_class.__name__] = model_class
    return model_class


def is_registered(class_name: Any) -> bool:
    """Whether a model class is registered under `class_name` (a config entry naming a model
    where a layer could be: a model used as a layer)."""
    return isinstance(class_name, str) and class_name in _CLASSES


def get(class_name: str) -> type[RegisteredModel]:
    """The registered model class called `class_name`.

    Raises:
        ValueError: naming the registered classes, when none is called `class_name`.
    """
    try:
        return _CLASSES[class_name]
    except (KeyError, TypeError):  # TypeError: a hostile config's unhashable name
        raise ValueError(f"model config: unknown model class {class_name!r}; convscope builds "
                         f"{', '.join(sorted(_CLASSES)) or 'no model class yet'}.") from None
