"""Griffe extension for the API reference: read "Example:" docstring sections as examples.

convscope's docstrings head their doctest snippets with "Example:". Griffe's Google-style
parser knows only the plural title as an examples section and would render the singular one
as a note, turning `>>>` lines into nested quotes; renaming the title keeps them code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

SINGULAR_TITLE = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = SINGULAR_TITLE.sub(r"\1Examples:", obj.docstring.value)
