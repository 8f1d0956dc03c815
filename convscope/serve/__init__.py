"""The local web app (`convscope serve RUN`): draw or upload an image and watch the network work.

`create_app(run)` returns the FastAPI app. Inputs are converted and predictions made by
`convscope.inference`, the same code `convscope predict` runs; `answers` shapes the explanations
(from `convscope.explain`) for the page and `lesson` works the hand-sized convolution lesson.
FastAPI is imported only when the app is created, so the CLI stays fast.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """The FastAPI app for a run; see `convscope.serve.app.create_app`."""
    from convscope.serve.app import create_app as create

    return create(*args, **kwargs)


__all__ = ["create_app"]
