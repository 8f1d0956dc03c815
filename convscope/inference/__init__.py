"""Inputs prepared the way the training data looked, and the predictor that answers from them;
used alike by `convscope predict` and by the web page.

    preprocessing.py  `Preprocessing` (what a run records of its inputs), `infer_preprocessing`,
                      `input_scale`
    images.py         `decode_image`, `image_to_input`, `pixels_to_input`, `InputError`
    predictor.py      `Predictor`: probabilities, top-k, doubt, warnings
    tokens.py         models that read token ids (an Embedding first): `token_vocabulary`

    >>> from convscope.inference import Predictor, decode_image, image_to_input
    >>> from convscope.runs import resolve_model
    >>> predictor = Predictor(resolve_model("runs/fashion"))
    >>> pixels, notes = image_to_input(decode_image(open("shoe.png", "rb").read()), predictor.preprocessing)
    >>> predictor.predict(pixels, notes)["prediction"]["name"]
    'Sneaker'

Pillow is imported with `images` and torch with the model, on first use of either.
"""

from __future__ import annotations

import importlib
from typing import Any

from convscope.inference.preprocessing import Preprocessing, infer_preprocessing, input_scale

_ATTRIBUTES = {
    "InputError": "convscope.inference.images",
    "decode_image": "convscope.inference.images",
    "image_to_input": "convscope.inference.images",
    "pixels_to_input": "convscope.inference.images",
    "Predictor": "convscope.inference.predictor",
}

__all__ = ["Preprocessing", "infer_preprocessing", "input_scale", *_ATTRIBUTES]


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'convscope.inference' has no attribute {name!r}")
