// The page only displays: the server converts inputs, predicts and works out each step.
import { $, api, el, postJSON } from "./common.js";
import { drawGraph } from "./graph.js";
import { setupLesson, run as runLesson } from "./lesson.js";
import { load as loadPlayer, setupPlayer } from "./player.js";
import { channelValue, colour, legend, scaleOf } from "./scale.js";
import { drawSignal, setupSignalInput, showStrips } from "./signal.js";
import { renderSteps } from "./steps.js";

const state = { model: null, input: null, drawing: false, lessonStarted: false, playerInput: null };

function showError(message) {
  const box = $("error");
  box.hidden = !message;
  box.textContent = message || "";
}

// ---------------------------------------------------------------- views
function showView() {
  const name = (location.hash || "#network").slice(1);
  const view = ["network", "player", "lesson"].includes(name) ? name : "network";
  document.querySelectorAll(".view").forEach((section) => { section.hidden = section.id !== `view-${view}`; });
  document.querySelectorAll("nav.views a").forEach((link) => link.classList.toggle("active", link.dataset.view === view));
  if (view === "lesson" && !state.lessonStarted) {
    state.lessonStarted = true;
    runLesson();
  }
  if (view === "player" && state.model && (state.playerInput !== state.input || !state.input)) {
    state.playerInput = state.input;
    loadPlayer();
  }
}

// ---------------------------------------------------------------- model description
async function loadModel() {
  const model = await api("/api/model");
  state.model = model;
  const accuracy = model.metrics && model.metrics.test_accuracy;
  $("model-info").textContent = `${model.name} (${model.run}) - ${model.parameters.toLocaleString()} parameters - ` +
    `input ${model.input.shape.join("x")}` + (model.dataset ? ` - trained on ${model.dataset}` : "") +
    (accuracy !== undefined ? ` - test accuracy ${(accuracy * 100).toFixed(1)}%` : "");
  const journey = $("journey");
  journey.innerHTML = "";
  journey.appendChild(el("li", {}, `input ${model.input.shape.join("x")}`));
  for (const step of model.shape_journey.filter((one) => one.kind !== "InputLayer")) {  // "input" says it
    const from = model.graph.chain || !step.sources.length ? "" : ` \u2190 ${step.sources.join(" + ")}`;
    journey.appendChild(el("li", { title: `${step.kind}${from}: ${step.arithmetic.join("; ")}` }, `${step.layer} ${step.output_shape.join("x")}`));
  }
  const drawn = !model.graph.chain || model.graph.groups.length > 0;  // a plain chain is its shape journey
  $("graph-panel").hidden = !drawn;  // a graph, or a chain holding a nested model (drawn in its frame), is drawn
  if (drawn) drawGraph($("graph"), model.graph, pickNode);
  setupInput(model);
  setupPlayer(model, () => state.input);
  showView();
}

function setupInput(model) {
  const kind = model.input_kind;
  $("draw-box").hidden = kind !== "drawing";
  $("upload-box").hidden = kind !== "image";
  $("signal-box").hidden = kind !== "signal" && kind !== "tokens";
  $("seen-box").hidden = ["signal", "tokens", "sequence"].includes(kind);
  $("signal-view").hidden = kind !== "signal";
  $("sequence-note").hidden = kind !== "sequence";
  if (kind === "drawing") {
    setupCanvas();
  } else if (kind === "image") {
    const shape = model.input.shape;
    $("input-title").textContent = "1. Upload a picture";
    $("upload-note").textContent = `This model was trained on ${model.dataset || "pictures"} (${shape[0]}x${shape[1]}, ` +
      `${shape[2] === 1 ? "grey" : "colour"}), not on pen strokes, so there is no drawing canvas: a drawing would mean nothing to it. ` +
      `Upload a picture like those; it is ${model.input.fit === "resize" ? `resized to ${shape[0]}x${shape[1]}` : "fitted to the model's size"}.`;
    $("upload-only").addEventListener("change", (event) => {
      const file = event.target.files[0];
      if (file) submitImage(file, file.name);
      event.target.value = "";
    });
  } else if (kind === "tokens") {
    // token ids are indices into the Embedding's table: typed, never drawn or scaled
    $("input-title").textContent = "1. Enter token ids";
    $("signal-hint").textContent = `Type ${model.input.shape[0]} token ids, whole numbers from 0 to ${model.vocabulary - 1} ` +
      "(pad a shorter sentence with 0 at the end); the network runs when you press Use these values.";
    $("signal-pad").hidden = true;
    $("maps-hint").textContent = "the page shows feature maps of conv and pooling layers; this model has none";
    const submit = (values, problem) => (problem ? showError(problem) : submitPixels(values));
    const values = setupSignalInput(model.input.shape[0], submit, exampleTokens(model.input.shape[0], model.vocabulary));
    submitPixels(values());
  } else if (kind === "sequence") {
    $("input-title").textContent = "1. Inputs as arrays";
    $("sequence-note").textContent = `This model reads arrays shaped ${model.input.shape.join("x")} (a sequence of ` +
      `${model.input.shape.length - 1}-D frames, e.g. clips), which the page cannot draw or upload. Send one as JSON ` +
      `{"pixels": [...]} to POST /api/predict (see /docs), or run: convscope predict MODEL inputs.npy`;
    $("maps-hint").textContent = "the page shows no feature maps for this model";
  } else {
    $("input-title").textContent = "1. Draw or enter a signal";
    $("maps-hint").textContent = "click a strip (a channel at a position) to see how it was computed";
    const submit = (values, problem) => (problem ? showError(problem) : submitPixels(values));
    const values = setupSignalInput(model.input.shape[0], submit);
    submitPixels(values());
  }
}

// Token ids 1, 2, ... then padding zeros over the last third: an example that shows the mask.
function exampleTokens(length, vocabulary) {
  const real = Math.max(1, Math.ceil((2 * length) / 3));
  return Array.from({ length }, (_, i) => (i < real ? 1 + (i % Math.max(1, vocabulary - 1)) : 0));
}

// ---------------------------------------------------------------- drawing
function setupCanvas() {
  const canvas = $("draw");
  const context = canvas.getContext("2d");
  clearCanvas();
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
  };
  canvas.addEventListener("pointerdown", (event) => {
    state.drawing = true;
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = point(event);
    context.beginPath();
    context.moveTo(x, y);
    context.lineTo(x + 0.1, y + 0.1);
    context.stroke();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!state.drawing) return;
    const [x, y] = point(event);
    context.lineTo(x, y);
    context.stroke();
  });
  const finish = () => {
    if (!state.drawing) return;
    state.drawing = false;
    canvas.toBlob((blob) => submitImage(blob, "drawing.png"), "image/png");
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointerleave", finish);
  $("clear").addEventListener("click", () => { clearCanvas(); resetResults(); });
  $("upload").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) submitImage(file, file.name);
    event.target.value = "";
  });
}

function clearCanvas() {
  const canvas = $("draw");
  const context = canvas.getContext("2d");
  context.fillStyle = "#000";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.strokeStyle = "#fff";
  context.lineWidth = 18;
  context.lineCap = "round";
  context.lineJoin = "round";
}

function resetResults() {
  state.input = null;
  $("prediction").textContent = "\u2013";
  for (const id of ["bars", "maps", "notes", "warnings"]) $(id).innerHTML = "";
  $("warnings").hidden = true;
  $("doubt").hidden = true;
  $("doubt-text").hidden = true;
  $("steps").hidden = true;
  $("seen").getContext("2d").clearRect(0, 0, 140, 140);
  $("seen-scale").replaceChildren();
  showError("");
}

// ---------------------------------------------------------------- predict and explain
async function submitImage(blob, name) {
  const form = new FormData();
  form.append("file", blob, name);
  try {
    showError("");
    const prediction = await api("/api/predict", { method: "POST", body: form });
    await showAll(prediction);
  } catch (error) {
    showError(error.message);
  }
}

async function submitPixels(values) {
  try {
    showError("");
    await showAll(await postJSON("/api/predict", { pixels: values }));
  } catch (error) {
    showError(error.message);
  }
}

async function showAll(prediction) {
  showPrediction(prediction);
  const explanation = await postJSON("/api/explain", { pixels: prediction.input });
  showMaps(explanation.feature_maps);
  if (!$("view-player").hidden) showView();
}

function showPrediction(prediction) {
  state.input = prediction.input;
  $("prediction").textContent = `${prediction.prediction.name} (${(prediction.prediction.probability * 100).toFixed(1)}%)`;
  const doubt = prediction.doubt || { level: "sure", text: "" };
  $("doubt").hidden = doubt.level === "sure";
  $("doubt").textContent = doubt.level === "guess" ? "only a guess" : "not sure";
  $("doubt").className = `doubt ${doubt.level}`;
  $("doubt-text").hidden = !doubt.text;
  $("doubt-text").textContent = doubt.text;
  const warnings = $("warnings");
  warnings.innerHTML = "";
  for (const warning of prediction.warnings || []) warnings.appendChild(el("li", {}, warning));
  warnings.hidden = !(prediction.warnings || []).length;
  const bars = $("bars");
  bars.innerHTML = "";
  const best = prediction.prediction.class;
  prediction.probabilities.forEach((probability, index) => {
    const fill = el("div", { className: "bar-fill" + (index === best ? " top" : ""), style: { width: `${(probability * 100).toFixed(1)}%` } });
    fill.dataset.probability = probability;
    bars.append(el("span", {}, prediction.class_names[index]), el("div", { className: "bar-track" }, fill),
                el("span", {}, `${(probability * 100).toFixed(1)}%`));
  });
  $("notes").innerHTML = "";
  for (const note of prediction.notes) $("notes").appendChild(el("li", {}, note));
  if (Array.isArray(prediction.input[0])) drawSeen(null);
  else drawSignal($("signal-plot"), prediction.input, null);
}

function drawSeen(field) {
  const canvas = $("seen");
  const context = canvas.getContext("2d");
  const rows = state.input;
  if (!rows || !Array.isArray(rows[0])) return;
  const height = rows.length, width = rows[0].length;
  const image = context.createImageData(width, height);
  const grey = !Array.isArray(rows[0][0]);
  // a grey input on its own scale, as the maps are; a colour one as the picture it is (0..1 a channel)
  const scale = grey ? scaleOf(rows) : null;
  $("seen-scale").replaceChildren(grey ? legend(scale, { where: "the input", input: true }) : "");
  rows.forEach((row, r) => row.forEach((value, c) => {
    const rgb = grey ? colour(value, scale) : value.map((channel) => channel * 255);
    image.data.set([...rgb, 255], (r * width + c) * 4);
  }));
  const small = document.createElement("canvas");
  small.width = width; small.height = height;
  small.getContext("2d").putImageData(image, 0, 0);
  context.imageSmoothingEnabled = false;
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
  if (field && field.length === 2) {
    const sx = canvas.width / width, sy = canvas.height / height;
    context.strokeStyle = "#ef4444";
    context.lineWidth = 2;
    context.strokeRect(field[1][0] * sx, field[0][0] * sy, (field[1][1] - field[1][0] + 1) * sx, (field[0][1] - field[0][0] + 1) * sy);
  }
}

// A layer picked in the graph: its maps scroll into view, and a cell near its centre is worked out.
function pickNode(node) {
  const note = $("graph-note");
  const block = document.querySelector(`#maps .layer[data-layer="${CSS.escape(node.name)}"]`);
  document.querySelectorAll("#maps .layer.picked").forEach((other) => other.classList.remove("picked"));
  if (block) {
    block.classList.add("picked");
    block.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
  const worked = state.model.graph.steps.includes(node.name);
  if (!state.input) {
    note.textContent = `${node.name} (${node.kind}): give the network an input first; its maps and steps then show here.`;
    return;
  }
  note.textContent = worked ? `${node.name} (${node.kind}): the steps show how its centre cell, channel 0, was computed.`
    : `${node.name} (${node.kind}) \u2192 ${node.shape.join("x")}` + (block ? "; its maps are below." : "; it has no maps to show.");
  if (worked) {
    const spatial = node.shape.slice(0, -1);
    explainCell(node.name, spatial.map((size) => Math.floor(size / 2)), 0);
  }
}

function decodeLevels(base64) {
  const text = atob(base64);
  const levels = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) levels[i] = text.charCodeAt(i);
  return levels;
}

function showMaps(featureMaps) {
  const container = $("maps");
  container.innerHTML = "";
  if (featureMaps.length && featureMaps[0].shape.length === 2) {
    showStrips(featureMaps, container, decodeLevels, explainCell);
    return;
  }
  for (const layer of featureMaps) {
    const grid = el("div", { className: "fmaps" });
    const levels = decodeLevels(layer.data);
    const [height, width, channels] = layer.shape;
    const scale = Math.max(2, Math.floor(56 / Math.max(height, width)));
    for (let channel = 0; channel < channels; channel++) grid.appendChild(mapCanvas(layer, levels, channel, height, width, scale));
    const from = state.model.graph.chain ? "" : ` \u2190 ${(layer.sources || []).join(" + ")}`;
    container.appendChild(el("div", { className: "layer", dataset: { layer: layer.layer } },
      el("h3", {}, `${layer.layer} (${layer.kind}) ${layer.shape.join("x")}${from}`), legend(layer.scale), grid));
  }
}

function mapCanvas(layer, levels, channel, height, width, scale) {
  const worked = state.model.graph.steps.includes(layer.layer);
  const canvas = el("canvas", { className: worked ? "fmap" : "fmap no-steps", dataset: { layer: layer.layer, channel },
    title: `${layer.layer}, channel ${channel}: values ${layer.min[channel]} to ${layer.max[channel]}` +
      (worked ? "" : " (steps are worked out for conv, pooling and merge layers)") });
  canvas.width = width; canvas.height = height;
  canvas.style.width = `${width * scale}px`;
  canvas.style.height = `${height * scale}px`;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const offset = channel * height * width;
  for (let i = 0; i < height * width; i++) {
    image.data.set([...colour(channelValue(layer, channel, levels[offset + i]), layer.scale), 255], i * 4);
  }
  context.putImageData(image, 0, 0);
  canvas.addEventListener("click", (event) => {
    if (!worked) return;
    const box = canvas.getBoundingClientRect();
    const column = Math.min(width - 1, Math.floor((event.clientX - box.left) / box.width * width));
    const row = Math.min(height - 1, Math.floor((event.clientY - box.top) / box.height * height));
    document.querySelectorAll(".fmap.selected").forEach((other) => other.classList.remove("selected"));
    canvas.classList.add("selected");
    explainCell(layer.layer, [row, column], channel);
  });
  return canvas;
}

async function explainCell(layer, position, channel) {
  if (!state.input) return;
  try {
    const answer = await postJSON("/api/explain", { pixels: state.input, layer, position, channel, maps: false });
    $("steps").hidden = false;
    document.body.classList.add("steps-open");
    renderSteps(answer.steps, { title: $("steps-title"), verdict: $("steps-verdict"), body: $("steps-body"), text: $("steps-text") });
    if (Array.isArray(state.input[0])) drawSeen(answer.steps.receptive_field);
    else drawSignal($("signal-plot"), state.input, answer.steps.receptive_field);
  } catch (error) {
    showError(error.message);
  }
}

window.addEventListener("DOMContentLoaded", () => {
  setupLesson();
  $("steps-text-toggle").addEventListener("click", () => {
    const folded = $("steps-text").classList.toggle("folded");
    $("steps-text-toggle").textContent = folded ? "the same as text \u25b8" : "the same as text \u25be";
  });
  $("steps-close").addEventListener("click", () => { $("steps").hidden = true; document.body.classList.remove("steps-open"); });
  window.addEventListener("hashchange", showView);
  showView();
  loadModel().catch((error) => showError(`could not load the model: ${error.message}`));
});
