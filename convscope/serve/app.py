"""The local web app: a page to draw or upload an image and watch the network work, and the
JSON API it uses (documented at /docs and /openapi.json).

    GET  /api/model     the model: classes, layers, shape journey, input preprocessing, and its
                        graph (nodes with name, kind, shape and depth; edges), which the page
                        draws, skip connections and branches included
    POST /api/predict   an image (multipart field `file`) or JSON {"pixels": [[...]]}
                        -> class probabilities, top-k, conversion notes, the input as seen
    POST /api/explain   the same inputs -> feature maps of every conv, pooling and merge layer
                        (of a functional model: every node with maps), each with one colour
                        scale for all its channels; with "layer", "position" and "channel", how
                        that one cell was computed (a merge layer: the values it combined)
    POST /api/slide     the same inputs with "layer" and "channel" -> what a sliding-window
                        player shows: one input channel, kernel, stride, padding, the output,
                        the colour scales of the layer's input and output
    POST /api/lesson    JSON {"matrix", "kernel", ...} -> convolution, activation and pooling of
                        a small matrix, cell by cell (no model involved)

    GET  /docs          this API in Swagger UI (its scripts are served from here, not a CDN)

Bad input gets a 4xx answer with {"error": "..."}; the server keeps serving. A few requests are
worked on at once and a few more queued; past that the answer is 503 with Retry-After.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from convscope.inference.images import (
    MAX_PIXELS,
    InputError,
    decode_image,
    decode_side,
    image_to_input,
)
from convscope.inference.predictor import Predictor, drawing_warnings
from convscope.runs import Run, resolve_model
from convscope.serve import answers, schemas
from convscope.serve.lesson import lesson
from convscope.serve.limits import Admission, UploadLimit

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = ("fastapi_offline", "static")  # Swagger UI 5 and ReDoc's files, as that package ships them
DEFAULT_MAX_UPLOAD = 5 * 1024 * 1024
UPLOAD_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "AVIF", "TIFF")  # what browsers and cameras make


def create_app(run: Run | str | Path, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
               max_pixels: int = MAX_PIXELS, device: str | None = "cpu", max_active: int = 2,
               max_waiting: int = 32) -> FastAPI:
    """The app for one model: a `Run`, or what `convscope.runs.resolve_model` reads (a run folder,
    a saved-model folder or a built-in model name), as every command that takes a model does.

    At most `max_active` predict/explain requests are worked on at once and `max_waiting` more
    wait their turn; bodies over `max_upload_bytes` and images over `max_pixels` are refused.
    """
    predictor = Predictor(run if isinstance(run, Run) else resolve_model(run), device=device)
    app = FastAPI(title="convscope", version="1", description=__doc__, docs_url=None, redoc_url=None,
                  openapi_tags=[{"name": "model", "description": "predict and explain with the trained model"},
                                {"name": "lesson", "description": "convolution by hand, no model needed"}])
    app.state.predictor, app.state.max_pixels = predictor, max_pixels
    app.add_middleware(Admission, active=max_active, waiting=max_waiting)
    app.add_middleware(UploadLimit, limit=max_upload_bytes)  # added last, so it runs first
    add_error_handlers(app)
    add_routes(app)
    add_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def add_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc with their scripts served from /docs-assets: FastAPI's
    defaults load them from a CDN, which leaves the pages blank offline."""
    if importlib.util.find_spec(DOCS_ASSETS[0]) is None:
        raise ImportError('the API docs need fastapi-offline: pip install "convscope[serve]"', name=DOCS_ASSETS[0])
    app.mount("/docs-assets", StaticFiles(packages=[DOCS_ASSETS]), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - API",
                                   swagger_js_url=f"{root}/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}/docs-assets/swagger-ui.css",
                                   swagger_favicon_url=f"{root}/docs-assets/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - API",
                              redoc_js_url=f"{root}/docs-assets/redoc.standalone.js",
                              redoc_favicon_url=f"{root}/docs-assets/favicon.png", with_google_fonts=False)


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def input_error(request: Request, error: InputError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(ValueError)
    async def value_error(request: Request, error: ValueError) -> JSONResponse:
        return JSONResponse({"error": str(error).splitlines()[0]}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> JSONResponse:
        # a fault of the server, not the request; the traceback still goes to the log
        return JSONResponse({"error": f"internal server error ({type(error).__name__}); see the server's log."},
                            status_code=500)


def add_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/health", tags=["model"], summary="Liveness check")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/model", tags=["model"], summary="The model and how inputs are prepared",
             response_model=schemas.ModelInfo)
    async def model_info(request: Request) -> dict[str, Any]:
        return await run_in_threadpool(answers.describe, request.app.state.predictor)

    @app.post("/api/predict", tags=["model"], summary="Classify one image or array of pixels",
              response_model=schemas.Prediction, openapi_extra=schemas.request_body(schemas.PredictPixels),
              responses=schemas.ERRORS)
    async def predict(request: Request) -> dict[str, Any]:
        pixels, notes, options, warnings = await read_input(request)
        k = _int_option(options, "top_k", 5)
        return await run_in_threadpool(request.app.state.predictor.predict, pixels, notes, k, warnings)

    @app.post("/api/explain", tags=["model"], summary="Feature maps, and how one cell was computed",
              response_model=schemas.Explanation, response_model_exclude_none=True,
              openapi_extra=schemas.request_body(schemas.ExplainPixels),
              responses=schemas.ERRORS)
    async def explain_input(request: Request) -> dict[str, Any]:
        pixels, notes, options, warnings = await read_input(request)
        return await run_in_threadpool(explain, request.app.state.predictor, pixels, notes, options, warnings)

    @app.post("/api/slide", tags=["model"], summary="A kernel sliding over one layer's input",
              response_model=schemas.Slide, openapi_extra=schemas.request_body(schemas.SlidePixels),
              responses=schemas.ERRORS)
    async def slide(request: Request) -> dict[str, Any]:
        pixels, _, options, _ = await read_input(request)
        if options.get("layer") is None:
            raise InputError("'layer' is missing: name a conv or pooling layer, e.g. \"conv2d\".", 422)
        channel = _int_option(options, "channel", 0)
        shown = options.get("input_channel")
        input_channel = None if shown is None else _int_option(options, "input_channel", 0)
        return await run_in_threadpool(answers.slide, request.app.state.predictor, pixels, str(options["layer"]),
                                       channel, input_channel)

    @app.post("/api/lesson", tags=["lesson"], summary="Convolution, ReLU and pooling of a small matrix, by hand",
              response_model=schemas.Lesson, openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": schemas.LessonRequest.model_json_schema()}}}},
              responses=schemas.ERRORS)
    async def lesson_steps(request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise InputError(f"unsupported content type {content_type or 'none'!r}: send application/json with "
                             "'matrix' and 'kernel'.", 415)
        body = await run_in_threadpool(parse_json, await request.body())
        if not isinstance(body, dict):
            raise InputError(f"expected a JSON object with 'matrix' and 'kernel'; got {type(body).__name__}.", 422)
        return await run_in_threadpool(lesson, body)


def explain(predictor: Predictor, pixels: np.ndarray, notes: list[str], options: dict[str, Any],
            warnings: list[str] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"notes": notes}
    if options.get("maps", True) not in (False, "false", "0"):
        answer["prediction"] = predictor.predict(pixels, notes, warnings=warnings or [])
        answer["feature_maps"] = answers.feature_maps(predictor, pixels)
    if options.get("layer") is not None:
        position = options.get("position")
        if isinstance(position, str):
            position = [part for part in position.split(",") if part.strip()]
        if not isinstance(position, list) or not all(str(p).lstrip("-").isdigit() for p in position):
            raise InputError("'position' must be a list of integers, e.g. [5, 7] ([] for a merge of flat vectors).",
                             422)
        answer["steps"] = answers.steps(predictor, pixels, str(options["layer"]), [int(p) for p in position],
                                        _int_option(options, "channel", 0))
    return answer


def _int_option(options: dict[str, Any], name: str, default: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
        raise InputError(f"'{name}' must be an integer; got {value!r}.", 422)
    return int(value)


async def read_input(request: Request) -> tuple[np.ndarray, list[str], dict[str, Any], list[str]]:
    """(model input, conversion notes, other options, warnings that the input is far from the
    training data) from a multipart upload or JSON body."""
    predictor: Predictor = request.app.state.predictor
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_files=2, max_fields=20)
        upload = form.get("file")
        options = {key: value for key, value in form.items() if not isinstance(value, UploadFile)}
        if not isinstance(upload, UploadFile):
            fields = ", ".join(form.keys()) or "none"
            raise InputError(f"expected the image in a multipart field named 'file'; got fields: {fields}.", 422)
        data = await upload.read()
        pixels, notes, warnings = await run_in_threadpool(upload_to_input, data, predictor,
                                                          request.app.state.max_pixels)
        return pixels, notes, options, warnings
    if content_type == "application/json":
        body = await run_in_threadpool(parse_json, await request.body())
        if not isinstance(body, dict) or "pixels" not in body:
            keys = ", ".join(body) if isinstance(body, dict) else type(body).__name__
            raise InputError(f"expected a JSON object with a 'pixels' field; got: {keys or 'nothing'}.", 422)
        pixels, notes = await run_in_threadpool(predictor.values_to_input, body["pixels"])
        return pixels, notes, {key: value for key, value in body.items() if key != "pixels"}, []
    raise InputError(f"unsupported content type {content_type or 'none'!r}: send multipart/form-data with "
                     "the image in a field named 'file', or application/json with 'pixels'.", 415)


def upload_to_input(data: bytes, predictor: Predictor, max_pixels: int) -> tuple[np.ndarray, list[str], list[str]]:
    """An uploaded image, decoded (a large one reduced while decoding) and converted for the model,
    with its notes; for a model of drawings, also a warning when the drawing is a speck."""
    preprocessing = predictor.preprocessing
    if predictor.input_kind in ("tokens", "sequence"):
        what = "token ids" if predictor.input_kind == "tokens" else "arrays"
        raise InputError(f"this model reads {what} shaped {list(preprocessing.shape)}, not images; send them as "
                         "JSON {\"pixels\": [...]}.", 415)
    image = decode_image(data, max_pixels, max_side=decode_side(preprocessing), formats=UPLOAD_FORMATS)
    try:
        warnings = drawing_warnings(np.asarray(image.convert("L"))) if predictor.input_kind == "drawing" else []
        pixels, notes = image_to_input(image, preprocessing)
        return pixels, notes, warnings
    finally:
        image.close()


def parse_json(raw: bytes) -> Any:
    """The request body as JSON.

    Raises:
        InputError: not JSON, not UTF-8, or nested deeper than Python's parser goes (400).
    """
    try:
        return json.loads(raw)
    except RecursionError as error:
        raise InputError("the JSON is nested too deeply to read; 'pixels' needs 2 or 3 levels of lists "
                         "([[...], ...]).", 400) from error
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"the body is not valid JSON ({error}).", 400) from error
