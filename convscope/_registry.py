"""Name <-> object lookups shared by initializers, regularizers, constraints and optimizers, and
Keras's custom objects: the user's own layers, losses, metrics and activations a config names."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def resolve(identifier: Any, registry: dict[str, type[T]], base: type[T], *, kind: str, owner: str) -> T:
    """Build an object from a name, a {"class_name", "config"} dict, or pass an instance through.

    Raises:
        ValueError: naming `owner`, the unknown value and the accepted names.
    """
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, dict):
        name, config = identifier.get("class_name", ""), identifier.get("config", {})
    else:
        name, config = identifier, {}
    if isinstance(name, str) and name.lower() in registry:
        return registry[name.lower()](**config)
    raise ValueError(
        f"{owner}: unknown {kind} {identifier!r}. Expected one of: {', '.join(registry)}."
    )


def serialize(obj: Any, registry: dict[str, type]) -> dict[str, Any]:
    """The JSON form {"class_name", "config"} of a registered object."""
    name = next((key for key, cls in registry.items() if type(obj) is cls), None)
    if name is None:
        raise ValueError(f"{type(obj).__name__} is not a registered type, so it cannot be saved in a config.")
    return {"class_name": name, "config": obj.get_config()}


# -- custom objects -------------------------------------------------------------------------------
# Keras's custom objects: user classes and functions (layers, losses, metrics, activations) that a
# saved config names. `register_keras_serializable` files them here for good; `custom_object_scope`
# and `load_model(custom_objects=...)` for the length of a `with` block. Lookups read the innermost
# scope first, then the registered objects, as Keras does.
_REGISTERED: dict[str, Any] = {}  # "package>name" -> object
_REGISTERED_NAMES: dict[Any, str] = {}  # object -> "package>name"
_SCOPES = threading.local()


def get_custom_objects() -> dict[str, Any]:
    """The live dict of objects registered for good ("package>name" -> object); adding to it
    registers an object under that key, as in Keras.

    >>> get_custom_objects()["MyLayer"] = MyLayer
    """
    return _REGISTERED


def _scopes() -> list[dict[str, Any]]:
    if not hasattr(_SCOPES, "stack"):
        _SCOPES.stack = []
    stack: list[dict[str, Any]] = _SCOPES.stack
    return stack


class custom_object_scope:  # noqa: N801 - Keras's name
    """Within this `with` block, configs may name the given objects (Keras's
    `keras.saving.custom_object_scope`); several dicts merge, later ones winning.

    >>> with custom_object_scope({"MyLayer": MyLayer, "my_loss": my_loss}):
    ...     model = load_model("model.keras")
    """

    def __init__(self, *custom_objects: dict[str, Any] | None) -> None:
        self.custom_objects: dict[str, Any] = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError(f"custom_object_scope: expected dicts of name -> class or function; "
                                f"got {type(objects).__name__}.")
            self.custom_objects.update(objects)

    def __enter__(self) -> dict[str, Any]:
        _scopes().append(self.custom_objects)
        return self.custom_objects

    def __exit__(self, *exc_info: object) -> None:
        _scopes().pop()


CustomObjectScope = custom_object_scope


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable[[T], T]:
    """A decorator filing a class or function under "package>name" (name defaults to its
    `__name__`), so configs that name it load without `custom_objects`, and saved configs
    write that name as `registered_name`, as Keras 3 does.

    >>> @register_keras_serializable(package="MyLayers")
    ... class Scale(Layer): ...

    Raises:
        ValueError: for a package containing ">" or a class without `get_config`.
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a string without '>'; got {package!r}.")

    def decorator(obj: T) -> T:
        registered_name = f"{package}>{name or getattr(obj, '__name__', type(obj).__name__)}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: {obj.__name__} has no get_config(), so it cannot be "
                             "saved in a config; give it one.")
        _REGISTERED[registered_name] = obj
        _REGISTERED_NAMES[obj] = registered_name
        return obj

    return decorator


def get_registered_name(obj: Any) -> str:
    """The name `obj` is registered under ("package>name"), else its `__name__`."""
    registered = _REGISTERED_NAMES.get(obj)
    if registered is not None:
        return registered
    return str(getattr(obj, "__name__", type(obj).__name__))


def registration(obj: Any) -> dict[str, str]:
    """{"registered_name": "package>name"} for a registered object (what a config entry adds
    for it, as Keras 3 writes), else {}."""
    return {"registered_name": _REGISTERED_NAMES[obj]} if is_registered(obj) else {}


def is_registered(obj: Any) -> bool:
    """Whether `register_keras_serializable` filed `obj`."""
    try:
        return obj in _REGISTERED_NAMES
    except TypeError:  # an unhashable object is never registered
        return False


def get_registered_object(name: Any, custom_objects: dict[str, Any] | None = None,
                          module_objects: dict[str, Any] | None = None, *, by_plain_name: bool = True) -> Any:
    """The object a config names: `name` as written ("package>Name" or a plain "Name") looked
    up in the scopes (innermost first), the registered objects, `custom_objects` and
    `module_objects`; with `by_plain_name`, a plain name also finds an object registered as
    "package>Name" (pass False for a name convscope itself has, such as "Dense"). None when
    nothing matches."""
    if not isinstance(name, str):
        return None
    tables = [*reversed(_scopes()), _REGISTERED, custom_objects or {}, module_objects or {}]
    plain = name.rsplit(">", 1)[-1]
    for candidate in dict.fromkeys((name, plain)):
        for table in tables:
            if candidate in table:
                return table[candidate]
    if not by_plain_name:
        return None
    return next((obj for key, obj in _REGISTERED.items() if key.rsplit(">", 1)[-1] == plain), None)


def unknown_object_hint(kind: str, name: Any) -> str:
    """The fix for a config naming an object convscope does not know."""
    return (f"If {name!r} is your own {kind}, pass it to load_model(path, custom_objects={{{name!r}: ...}}), "
            "load inside keras.saving.custom_object_scope({...}), or decorate it with "
            "@keras.saving.register_keras_serializable().")
