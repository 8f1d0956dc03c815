"""Name <-> object lookups shared by initializers, regularizers, constraints and optimizers."""

from __future__ import annotations

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
