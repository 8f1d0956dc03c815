"""OpenAPI documentation of the JSON API: request bodies and answers as pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorAnswer(BaseModel):
    error: str = Field(description="what was wrong with the request, in one line")


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorAnswer, "description": text} for status, text in (
        (400, "empty, truncated or corrupt image; invalid JSON"),
        (413, "upload over the size limit, or an image with too many pixels"),
        (415, "not an image, or an unsupported content type"),
        (422, "missing 'file' or 'pixels' field, wrong shape or values, unknown layer or position; "
              "a lesson matrix or kernel too large, ragged or not numbers"),
        (503, "busy: as many requests at work and queued as the server takes; retry after Retry-After seconds"),
    )}


class PredictPixels(BaseModel):
    """JSON input: rows of grey levels in 0..1 (or (H, W, C) for colour). An array shaped like
    the model's input is used as given; any other size is converted like an uploaded image."""

    pixels: list[Any] = Field(description="e.g. 28 rows of 28 values in 0..1")
    top_k: int = Field(5, description="how many classes to list")


class ExplainPixels(PredictPixels):
    layer: str | None = Field(None, description="a conv, pooling or merge layer's name, to work out one cell")
    position: list[int] | None = Field(None, description="output cell (row, col) or (step,) in that layer")
    channel: int = Field(0, description="the filter (conv) or channel (pooling, merge)")
    maps: bool = Field(True, description="include every conv/pooling/merge layer's feature maps (in a graph, "
                                         "every node's with spatial maps)")


def request_body(json_model: type[BaseModel]) -> dict[str, Any]:
    """The requestBody of an endpoint that takes a multipart image or JSON pixels."""
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": "a PNG or JPEG image of any size or colour"},
                           "top_k": {"type": "integer"}, "layer": {"type": "string"},
                           "position": {"type": "string", "description": "e.g. 5,7"},
                           "channel": {"type": "integer"}}}},
        "application/json": {"schema": json_model.model_json_schema()},
    }}}


class SlidePixels(PredictPixels):
    layer: str = Field(description="a conv or pooling layer's name")
    channel: int = Field(0, description="the output channel (filter) whose map fills in")
    input_channel: int | None = Field(None, description="the input channel shown; default the one "
                                                        "the filter weighs most")


class ColorScale(BaseModel):
    """One layer's colour scale, shared by all its channels (`convscope.explain.maps.ColorScale`)."""

    low: float = Field(description="the value drawn at the low end: 0 (black), or -high when diverging")
    high: float = Field(description="the value drawn at the high end: the layer's largest value (or magnitude)")
    diverging: bool = Field(description="signed values: zero in the middle (white), negative blue, positive red")
    clipped: float = Field(description="share of the values beyond [low, high]")
    meaning: str = Field(description="the scale in words")


class Slide(BaseModel):
    layer: str
    kind: str
    channel: int
    input_channel: int
    input_channels: list[int] = Field(description="input channels feeding `channel` (a grouped convolution: its "
                                                  "group's), the most weighted first")
    input_shape: list[int] = Field(description="the layer's input (H, W, C) or (L, C)")
    output_shape: list[int]
    kernel: list[int] = Field(description="window size per spatial axis")
    strides: list[int]
    dilation: list[int]
    padding: list[list[int]] = Field(description="[before, after] cells added per spatial axis")
    activation: str | None = None
    input: list[Any] = Field(description="the input channel shown: rows (2D) or values (1D)")
    output: list[Any] = Field(description="the layer's output for `channel`, as the engine computed it")
    weights: list[Any] | None = Field(None, description="the filter's weights on the input channel shown")
    bias: float | None = None
    groups: int | None = Field(None, description="a convolution's groups: each filter reads C_in / groups channels")
    input_from: str | None = Field(None, description="the layer whose output is the input; null: the model's input")
    input_scale: ColorScale = Field(description="colour scale of the whole input, every channel")
    output_scale: ColorScale = Field(description="colour scale of the layer's output, every channel")


class LessonPool(BaseModel):
    size: int = Field(2, ge=1, le=4)
    stride: int | None = Field(None, ge=1, le=4, description="default: the size")
    kind: str = Field("max", description="max or average")


class LessonRequest(BaseModel):
    """A small matrix (at most 16x16, or one row of 64) and kernel (at most 7 per side)."""

    matrix: list[Any] = Field(description="rows of numbers, e.g. [[1, 0, 2], [3, 1, 0], [0, 0, 4]]")
    kernel: list[Any] = Field(description="rows of numbers, e.g. [[1, 0], [0, 1]]")
    bias: float = 0.0
    stride: int = Field(1, ge=1, le=4)
    padding: str | int = Field("valid", description="'valid', 'same' or 0..3 zeros on every side")
    activation: str = Field("relu", description="relu or linear")
    pool: LessonPool | None = Field(None, description="{\"size\": 2} (the default) or null for no pooling")


class Lesson(BaseModel):
    matrix: list[Any]
    kernel: list[Any]
    bias: float
    stride: int
    padding: list[list[int]]
    padded: list[Any] = Field(description="the matrix with its zero padding")
    activation: str
    conv: dict[str, Any] = Field(description="output, and per output cell its window, products, sum, bias")
    activated: list[Any]
    pool: dict[str, Any] | None = Field(description="output, and per window its cells, values and winner")
    notes: list[str]


class ClassScore(BaseModel):
    class_: int = Field(alias="class")
    name: str
    probability: float


class Prediction(BaseModel):
    prediction: ClassScore
    top: list[ClassScore]
    probabilities: list[float] = Field(description="one per class, in class order")
    class_names: list[str]
    notes: list[str] = Field(description="how the input was converted for the model")
    doubt: dict[str, str] = Field(description='level "sure", "unsure" or "guess", and a sentence')
    warnings: list[str] = Field(description="signs that the input is far from the training data")
    input: list[Any] = Field(description="the model input as seen, values in 0..1")


class FeatureMaps(BaseModel):
    layer: str
    kind: str
    index: int = Field(description="the node's position in computing order")
    sources: list[str] = Field([], description="the layers it reads")
    shape: list[int] = Field(description="(H, W, C) or (L, C)")
    min: list[float] = Field(description="per channel: the value of grey level 0")
    max: list[float] = Field(description="per channel: the value of grey level 255")
    scale: ColorScale = Field(description="one scale for every channel of the layer, to draw them comparably")
    data: str = Field(description="base64 of uint8 levels, channels first: C x H x W")


class Explanation(BaseModel):
    notes: list[str]
    prediction: Prediction | None = None
    feature_maps: list[FeatureMaps] | None = None
    steps: dict[str, Any] | None = Field(None, description="the worked arithmetic of one cell")


class JourneyStep(BaseModel):
    index: int
    layer: str
    kind: str
    input_shape: list[int | None] = Field(description="the shape it reads (a merge layer: its first input's)")
    output_shape: list[int | None]
    arithmetic: list[str]
    sources: list[str] = Field([], description='the layers it reads ("input": the model\'s input)')
    input_shapes: list[list[int | None]] = Field([], description="the shape of each layer it reads")
    scope: list[str] = Field([], description="the nested models (models used as layers) it lies in, outermost first")


class GraphNode(BaseModel):
    index: int = Field(description="position in computing order; -1 for a Sequential model's input")
    name: str = Field(description='the layer\'s name ("name[1]": a shared layer\'s second call; "model/name": '
                                  'a layer of a nested model)')
    kind: str = Field(description='the layer\'s class, e.g. "Conv2D", "Add"; "Input" for a Sequential\'s input')
    shape: list[int | None] = Field(description="its output shape without the batch axis")
    depth: int = Field(description="the longest path from the input: the column to draw it in")
    inputs: list[str] = Field(description="the names of the nodes it reads")
    scope: list[str] = Field([], description="the nested models it lies in, outermost first")


class GraphGroup(BaseModel):
    name: str = Field(description="a model used as a layer, named as its parent names it")
    kind: str = Field(description='its class, e.g. "Sequential", "Functional"')
    nodes: list[str] = Field(description="the nodes it holds (those of models nested in it too)")


class GraphEdge(BaseModel):
    source: str
    target: str
    span: int = Field(description="columns between the two nodes; more than 1 is a skip connection")


class ModelGraph(BaseModel):
    """The model as a graph: one node per layer call, an edge per tensor read."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    groups: list[GraphGroup] = Field([], description="the nested models, each a frame around its nodes")
    chain: bool = Field(description="true when the layers run one after another (no branches or merges)")
    steps: list[str] = Field(description="the nodes whose cells /api/explain works out (conv, pooling, merge)")


class ModelInfo(BaseModel):
    name: str
    run: str
    input: dict[str, Any]
    classes: int
    class_names: list[str]
    parameters: int
    layers: list[dict[str, Any]]
    shape_journey: list[JourneyStep]
    graph: ModelGraph
    metrics: dict[str, Any]
    dataset: str = Field(description="the training data's name, as the run recorded it")
    input_kind: str = Field(description="drawing (canvas and upload), image (upload only), signal (1D values), "
                            "tokens (token ids) or sequence (frames or volumes, as JSON arrays only)")
    vocabulary: int | None = Field(None, description="for tokens: the Embedding's size (ids run from 0 to it less one)")
