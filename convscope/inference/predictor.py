"""Predictions from a trained model, as the `predict` command and the web page give them.

`Predictor` wraps a run (`convscope.runs.Run`: a run folder, a saved model, a Keras file or a
built-in model): class probabilities with a word of doubt when they are low, and warnings when
an input is far from anything the model was trained on. Calls to the model are serialised
with a lock: the model is shared between requests and CPU inference already uses every core.

    >>> predictor = Predictor(resolve_model("runs/fashion"))
    >>> pixels, notes = image_to_input(decode_image(open("shoe.png", "rb").read()), predictor.preprocessing)
    >>> predictor.top(predictor.probabilities(pixels), 3)[0]["name"]
    'Sneaker'
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from convscope.inference.preprocessing import Preprocessing
from convscope.inference.tokens import check_token_ids, token_vocabulary

if TYPE_CHECKING:
    from convscope.models.sequential import Sequential

SURE, UNSURE = 0.8, 0.5  # top probabilities above which an answer is stated plainly / as likely
PHOTO_DATASETS = ("fashion", "cifar", "svhn", "imagenet", "photo")  # data that are not pen strokes


class ModelSource(Protocol):
    """What a predictor needs of a model source; `convscope.runs.Run` is one."""

    config: dict[str, Any]

    @property
    def name(self) -> str: ...

    @property
    def preprocessing(self) -> Preprocessing: ...

    def class_names(self, classes: int) -> list[str]: ...

    def load_model(self, device: str | None = None, compile: bool = False) -> Sequential: ...

    def metrics(self) -> dict[str, Any]: ...


class Predictor:
    """A loaded model with the preprocessing and class names of its training data.

    Attributes:
        run: where the model came from.
        model: the model, uncompiled (inference runs in float32).
        preprocessing: how inputs are prepared (`convscope.inference.images` applies it).
        classes, class_names: how many classes the model tells apart, and their names.
        input_kind: "signal", "drawing", "image", "tokens" or "sequence" (see `input_kind`).
        vocabulary: for a model that reads token ids (an Embedding first), its table's size.
        lock: held while the model runs.
    """

    def __init__(self, run: ModelSource, device: str | None = "cpu") -> None:
        self.run = run
        self.model = run.load_model(device=device)
        self.preprocessing = run.preprocessing
        self.classes = self.model.output_units("predict")
        self.class_names = run.class_names(self.classes)
        self.vocabulary = token_vocabulary(self.model)
        self.input_kind = "tokens" if self.vocabulary is not None else input_kind(run)
        self.lock = threading.Lock()

    def values_to_input(self, values: Any) -> tuple[np.ndarray, list[str]]:
        """(model input, notes) for values given as they are (JSON lists, a .npy array): token
        ids checked and kept whole for a token model, else `pixels_to_input`'s rules.

        Raises:
            InputError: for values this model cannot take, saying what it needs.
        """
        from convscope.inference.images import InputError, pixels_to_input

        if self.vocabulary is None:
            return pixels_to_input(values, self.preprocessing)
        expected = self.preprocessing.shape
        try:
            array = np.asarray(values, dtype=np.float64)
            ids = check_token_ids(array, self.vocabulary)
        except (TypeError, ValueError, OverflowError) as error:
            raise InputError(f"'pixels': {str(error).splitlines()[0]}", 422) from error
        if ids.size != int(np.prod(expected)) or ids.shape[0] != expected[0]:
            raise InputError(f"'pixels' has shape {list(ids.shape)}; this model reads {list(expected)} token ids "
                             "(pad shorter sequences with 0).", 422)
        return ids.reshape(expected).astype(np.float32), ["token ids used as given"]

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(classes,) probabilities for one input shaped like the model's."""
        with self.lock:
            outputs = self.model.predict(pixels[np.newaxis].astype(np.float32))[0].astype(np.float64)
        if outputs.ndim == 1 and outputs.size == 1:  # one sigmoid unit: p(class 1)
            return np.array([1.0 - outputs[0], outputs[0]])
        if outputs.min() >= 0 and abs(outputs.sum() - 1.0) < 1e-3:
            return outputs
        exponentials = np.exp(outputs - outputs.max())  # logits: softmax them
        return exponentials / exponentials.sum()

    def top(self, probabilities: np.ndarray, k: int = 5) -> list[dict[str, Any]]:
        """The `k` likeliest classes, likeliest first: {"class", "name", "probability"}."""
        order = np.argsort(-probabilities, kind="stable")[:max(1, k)]
        return [{"class": int(i), "name": self.class_names[i], "probability": round(float(probabilities[i]), 6)}
                for i in order]

    def predict(self, pixels: np.ndarray, notes: Sequence[str], k: int = 5,
                warnings: Sequence[str] = ()) -> dict[str, Any]:
        """Prediction, top-k, every class's probability, how sure it is, the notes, warnings
        that the input is far from the training data, and the input as seen."""
        probabilities = self.probabilities(pixels)
        top = self.top(probabilities, k)
        return {"prediction": top[0], "top": top,
                "probabilities": [round(float(p), 6) for p in probabilities],
                "class_names": self.class_names, "notes": list(notes),
                "doubt": doubt(probabilities, self.class_names),
                "warnings": [*warnings, *([] if self.vocabulary is not None else input_warnings(pixels, self.preprocessing))],
                "input": np.round(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, 4).tolist()}


# -- what kind of input, and how far from the training data --------------------------------------
def dataset_name(run: ModelSource) -> str:
    """The training data's name as the run recorded it ("mnist", "fashion_mnist", ...), or ""."""
    train = run.config.get("train") or {}
    data = run.config.get("data") or {}
    return str(train.get("data") or data.get("source") or "")


def input_kind(run: ModelSource) -> str:
    """How the page takes inputs: "signal" (1D values: (steps,) or (steps, channels)), "drawing"
    (a pen on a canvas: grey digits centred in a box, as MNIST), "image" (upload only: photos,
    clothing, colour), or "sequence" (a sequence of frames or volumes, e.g. clips (frames, H, W, C):
    given as arrays only). A model that reads token ids is "tokens" (`Predictor.input_kind`)."""
    spec = run.preprocessing
    if not spec.is_image:
        return "signal" if len(spec.shape) <= 2 else "sequence"
    photo = any(word in dataset_name(run).lower() for word in PHOTO_DATASETS)
    if spec.shape[-1] == 1 and spec.fit == "center" and spec.background != "mixed" and not photo:
        return "drawing"
    return "image"


def doubt(probabilities: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """How sure the top class is: "sure" (p >= SURE), "unsure" (p >= UNSURE) or "guess", with a
    sentence naming the runner-up."""
    order = np.argsort(-probabilities, kind="stable")
    best, p = class_names[order[0]], float(probabilities[order[0]])
    second, q = (class_names[order[1]], float(probabilities[order[1]])) if len(order) > 1 else ("", 0.0)
    if p >= SURE:
        return {"level": "sure", "text": ""}
    if p >= UNSURE:
        return {"level": "unsure", "text": f"Not sure: {best} at {p:.0%} is likelier than {second} "
                                           f"({q:.0%}), but the network has doubts."}
    return {"level": "guess", "text": f"Only a guess: no class gets half the probability ({best} {p:.0%}, "
                                      f"{second} {q:.0%})."}


def input_warnings(pixels: np.ndarray, spec: Preprocessing) -> list[str]:
    """Plain signs that a model input is far from any training example: an (almost) empty
    image, a flat signal."""
    if not spec.is_image:
        span = float(np.ptp(pixels))
        return [f"The signal is flat (every value is {float(pixels.flat[0]):.4g}); training signals vary, "
                "so the answer means little."] if span == 0 else []
    if spec.background not in ("dark", "light"):
        return []
    gray = pixels.mean(axis=-1)
    ink = gray if spec.background == "dark" else 1.0 - gray
    lit = int((ink > 0.2).sum())
    if lit < 0.01 * gray.size:
        return [f"The input is almost empty ({lit} of {gray.size} pixels differ from the background); "
                "no training image looks like that, so the answer means little."]
    return []


def drawing_warnings(gray: np.ndarray) -> list[str]:
    """For a drawing (uint8 grey levels, dark or light page): a warning when its strokes are a
    speck, far smaller than the training digits, which fill most of their box."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    mask = gray > 51 if np.median(border) <= 127 else gray < 204  # ink: 20% away from the page
    if not mask.any():
        return ["The picture is blank: there is nothing for the network to recognise."]
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    extent = max(rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1) / max(gray.shape)
    coverage = float(mask.mean())
    if extent < 0.15 or coverage < 0.002:
        return [f"The drawing is tiny: its strokes span {extent:.0%} of the picture and cover {coverage:.1%} "
                "of it. It is blown up to the size of a training digit, which makes a blob unlike any of "
                "them: far from the training data. Draw larger."]
    return []


