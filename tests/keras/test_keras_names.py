"""docs/keras.md's table of every public Keras name is true of the live `convscope.keras`.

The names come from real Keras (fixtures/keras_names.json, written by
`benchmarks/.keras-env/bin/python benchmarks/keras_names.py --write-fixture`); this test needs no
Keras. When it fails, rewrite the section with `python benchmarks/keras_names.py --write-docs`.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("keras_names", REPO / "benchmarks" / "keras_names.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generator = load_generator()
FIXTURE = json.loads(generator.FIXTURE.read_text(encoding="utf-8"))


def test_the_docs_section_is_generated_from_the_fixture_and_convscope() -> None:
    written = generator.DOCS.read_text(encoding="utf-8")
    expected = generator.expected_docs()
    diff = "".join(difflib.unified_diff(written.splitlines(True), expected.splitlines(True), "docs/keras.md",
                                        "generated", n=1))
    assert written == expected, f"docs/keras.md is stale; run `{generator.WRITE_DOCS}`.\n{diff[:4000]}"


def test_the_fixture_holds_every_module_and_the_names_programs_use() -> None:
    modules = FIXTURE["modules"]
    assert set(modules) == set(generator.MODULES)
    assert {"Input", "Model", "Sequential"} <= set(modules[""])
    assert {"Conv2D", "MaxPooling2D", "Dense", "Flatten"} <= set(modules["layers"])
    assert {"mnist", "fashion_mnist", "cifar10"} <= set(modules["datasets"])
    assert "schedules" not in modules["optimizers"]  # modules are left out, except datasets
    assert all(not name.startswith("_") for names in modules.values() for name in names)


@pytest.mark.parametrize(("path", "name", "state"), [
    ("layers", "Conv2D", "supported"),
    ("", "Model", "differs"),
    ("metrics", "AUC", "differs"),
    ("optimizers", "RMSprop", "supported"),  # Keras's rule: epsilon inside the square root
    ("optimizers.schedules", "ExponentialDecay", "supported"),
    ("layers", "LSTM", "supported"),
        ("layers", "MultiHeadAttention", "missing"),
    ("models", "save_model", "supported"),
])
def test_status_looks_the_name_up_in_convscope(path: str, name: str, state: str) -> None:
    assert generator.status(path, name)[0] == state
    assert name in FIXTURE["modules"][path]


def test_a_name_whose_call_only_raises_not_implemented_is_missing() -> None:
    def stub(x: int) -> int:
        """Not written yet."""
        raise NotImplementedError("later")

    class StubLayer:
        def __init__(self) -> None:
            raise NotImplementedError

    class Base:  # an abstract method elsewhere leaves the class usable
        def __init__(self) -> None:
            self.ready = True

        def __call__(self) -> None:
            raise NotImplementedError

    def working(x: int) -> int:
        if x < 0:
            raise NotImplementedError
        return x

    assert generator.is_stub(stub) and generator.is_stub(StubLayer)
    assert not generator.is_stub(Base) and not generator.is_stub(working) and not generator.is_stub(len)


def test_a_stub_in_a_convscope_namespace_reads_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import convscope.keras.layers as layers

    def Embedding(*args: object, **kwargs: object) -> None:  # noqa: N802
        raise NotImplementedError

    monkeypatch.setattr(layers, "Embedding", Embedding, raising=False)
    assert generator.status("layers", "Embedding") == ("missing", "present, but raises NotImplementedError")


def test_every_differs_note_is_about_a_name_keras_has_and_convscope_serves() -> None:
    for path, name in generator.DIFFERS:
        assert name in FIXTURE["modules"][path], f"keras.{path}.{name} is not a Keras name"
        assert generator.status(path, name)[0] == "differs", f"convscope.keras.{path}.{name} is not served"


def test_replace_section_needs_both_markers() -> None:
    text = f"intro\n{generator.START}\nold\n{generator.END}\noutro\n"
    assert generator.replace_section(text, "NEW") == "intro\nNEW\noutro\n"
    with pytest.raises(ValueError, match="markers"):
        generator.replace_section("no markers here", "NEW")


# Names the page's "Not yet" section gives as gaps: each must still be missing, so the section is
# corrected when one of them lands.
NOT_YET = [("layers", "MultiHeadAttention"), ("layers", "Attention"), ("layers", "TextVectorization"),
           ("optimizers", "LossScaleOptimizer"), ("utils", "model_to_dot"), ("utils", "text_dataset_from_directory")]


def test_the_not_yet_section_names_only_missing_names() -> None:
    text = generator.DOCS.read_text(encoding="utf-8")
    not_yet = text[text.index("## Not yet"):text.index("## The program suite")]
    for path, name in NOT_YET:
        assert re.search(rf"`(?:[\w.]+\.)?{name}[`(]", not_yet), f"{name} is not in the Not yet section"
        assert generator.status(path, name)[0] == "missing", f"keras.{path}.{name} is served now; update Not yet"
