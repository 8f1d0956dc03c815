// The page only displays: the server converts inputs, predicts and works out each step.
"use strict";

const state = { model: null, input: null, drawing: false, busy: false };
const $ = (id) => document.getElementById(id);

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function showError(message) {
  const box = $("error");
  box.hidden = !message;
  box.textContent = message || "";
}

// ---------------------------------------------------------------- model description
async function loadModel() {
  const model = await api("/api/model");
  state.model = model;
  const accuracy = model.metrics && model.metrics.test_accuracy;
  $("model-info").textContent = `${model.name} (${model.run}) - ${model.parameters.toLocaleString()} parameters - ` +
    `input ${model.input.shape.join("x")}` + (accuracy !== undefined ? ` - test accuracy ${(accuracy * 100).toFixed(1)}%` : "");
  const journey = $("journey");
  journey.innerHTML = "";
  const first = document.createElement("li");
  first.textContent = `input ${model.input.shape.join("x")}`;
  journey.appendChild(first);
  for (const step of model.shape_journey) {
    const item = document.createElement("li");
    item.textContent = `${step.layer} ${step.output_shape.join("x")}`;
    item.title = `${step.kind}: ${step.arithmetic.join("; ")}`;
    journey.appendChild(item);
  }
  if (model.input.shape.length !== 3) showError("This model takes 1D signals: use POST /api/predict with JSON pixels.");
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
  $("bars").innerHTML = "";
  $("maps").innerHTML = "";
  $("notes").innerHTML = "";
  $("steps").hidden = true;
  $("seen").getContext("2d").clearRect(0, 0, 140, 140);
  showError("");
}

// ---------------------------------------------------------------- predict and explain
async function submitImage(blob, name) {
  const form = new FormData();
  form.append("file", blob, name);
  try {
    showError("");
    const prediction = await api("/api/predict", { method: "POST", body: form });
    showPrediction(prediction);
    const explanation = await api("/api/explain", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pixels: prediction.input }),
    });
    showMaps(explanation.feature_maps);
  } catch (error) {
    showError(error.message);
  }
}

function showPrediction(prediction) {
  state.input = prediction.input;
  $("prediction").textContent = `${prediction.prediction.name} (${(prediction.prediction.probability * 100).toFixed(1)}%)`;
  const bars = $("bars");
  bars.innerHTML = "";
  const best = prediction.prediction.class;
  prediction.probabilities.forEach((probability, index) => {
    const label = document.createElement("span");
    label.textContent = prediction.class_names[index];
    const track = document.createElement("div");
    track.className = "bar-track";
    const fill = document.createElement("div");
    fill.className = "bar-fill" + (index === best ? " top" : "");
    fill.style.width = `${(probability * 100).toFixed(1)}%`;
    fill.dataset.probability = probability;
    track.appendChild(fill);
    const value = document.createElement("span");
    value.textContent = `${(probability * 100).toFixed(1)}%`;
    bars.append(label, track, value);
  });
  $("notes").innerHTML = "";
  for (const note of prediction.notes) {
    const item = document.createElement("li");
    item.textContent = note;
    $("notes").appendChild(item);
  }
  drawSeen(null);
}

function drawSeen(field) {
  const canvas = $("seen");
  const context = canvas.getContext("2d");
  const rows = state.input;
  if (!rows || !Array.isArray(rows[0])) return;
  const height = rows.length, width = rows[0].length;
  const image = context.createImageData(width, height);
  rows.forEach((row, r) => row.forEach((value, c) => {
    const grey = Array.isArray(value) ? value : [value, value, value];
    const at = (r * width + c) * 4;
    image.data[at] = grey[0] * 255; image.data[at + 1] = grey[1] * 255; image.data[at + 2] = grey[2] * 255;
    image.data[at + 3] = 255;
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

function decodeLevels(base64) {
  const text = atob(base64);
  const levels = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) levels[i] = text.charCodeAt(i);
  return levels;
}

function showMaps(featureMaps) {
  const container = $("maps");
  container.innerHTML = "";
  for (const layer of featureMaps) {
    const section = document.createElement("div");
    section.className = "layer";
    section.dataset.layer = layer.layer;
    const title = document.createElement("h3");
    title.textContent = `${layer.layer} (${layer.kind}) ${layer.shape.join("x")}`;
    const grid = document.createElement("div");
    grid.className = "fmaps";
    const levels = decodeLevels(layer.data);
    const channels = layer.shape[layer.shape.length - 1];
    const height = layer.shape.length === 3 ? layer.shape[0] : 1;
    const width = layer.shape.length === 3 ? layer.shape[1] : layer.shape[0];
    const scale = Math.max(2, Math.floor(56 / Math.max(height, width)));
    for (let channel = 0; channel < channels; channel++) {
      grid.appendChild(mapCanvas(layer, levels, channel, height, width, scale));
    }
    section.append(title, grid);
    container.appendChild(section);
  }
}

function mapCanvas(layer, levels, channel, height, width, scale) {
  const canvas = document.createElement("canvas");
  canvas.className = "fmap";
  canvas.width = width; canvas.height = height;
  canvas.style.width = `${width * scale}px`;
  canvas.style.height = `${Math.max(height * scale, 8)}px`;
  canvas.dataset.layer = layer.layer;
  canvas.dataset.channel = channel;
  canvas.title = `${layer.layer}, channel ${channel}: values ${layer.min[channel]} to ${layer.max[channel]}`;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const offset = channel * height * width;
  for (let i = 0; i < height * width; i++) {
    const level = levels[offset + i];
    image.data.set([level, level, level, 255], i * 4);
  }
  context.putImageData(image, 0, 0);
  canvas.addEventListener("click", (event) => {
    const box = canvas.getBoundingClientRect();
    const column = Math.min(width - 1, Math.floor((event.clientX - box.left) / box.width * width));
    const row = Math.min(height - 1, Math.floor((event.clientY - box.top) / box.height * height));
    document.querySelectorAll(".fmap.selected").forEach((other) => other.classList.remove("selected"));
    canvas.classList.add("selected");
    explainCell(layer.layer, layer.shape.length === 3 ? [row, column] : [column], channel);
  });
  return canvas;
}

async function explainCell(layer, position, channel) {
  if (!state.input) return;
  try {
    const answer = await api("/api/explain", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pixels: state.input, layer, position, channel, maps: false }),
    });
    showSteps(answer.steps);
  } catch (error) {
    showError(error.message);
  }
}

function grid(values, highlight) {
  const table = document.createElement("table");
  const rows = Array.isArray(values[0]) ? values : [values];
  rows.forEach((row, r) => {
    const line = table.insertRow();
    row.forEach((value, c) => {
      const cell = line.insertCell();
      cell.textContent = value === null ? "pad" : Number(value).toPrecision(3);
      if (highlight && highlight(r, c)) cell.className = "win";
    });
  });
  return table;
}

function showSteps(steps) {
  $("steps").hidden = false;
  $("steps-title").textContent = `${steps.kind} '${steps.layer}', ${steps.kind.includes("Conv") ? "filter" : "channel"} ` +
    `${steps.channel}, position (${steps.position.join(", ")}) = ${Number(steps.output).toPrecision(5)}`;
  $("steps-verdict").textContent = steps.agrees ? "(the engine agrees)" : "(the engine DISAGREES)";
  const grids = $("steps-grids");
  grids.innerHTML = "";
  if (steps.channels) {
    for (const entry of steps.channels.slice(0, 4)) {
      const block = document.createElement("div");
      block.innerHTML = `<div>input channel ${entry.channel}: window &times; weights = ${Number(entry.sum).toPrecision(4)}</div>`;
      const pair = document.createElement("div");
      pair.className = "row";
      pair.append(grid(entry.inputs), grid(entry.weights));
      block.appendChild(pair);
      grids.appendChild(block);
    }
  } else {
    const size = steps.position.length === 2 ? Math.round(Math.sqrt(steps.values.length)) : steps.values.length;
    const rows = [];
    for (let start = 0; start < steps.values.length; start += size) rows.push(steps.values.slice(start, start + size));
    const winner = steps.values.indexOf(Math.max(...steps.values.filter((v) => v !== null)));
    grids.appendChild(grid(rows, (r, c) => r * size + c === winner));
  }
  $("steps-text").textContent = steps.text;
  drawSeen(steps.receptive_field);
}

window.addEventListener("DOMContentLoaded", () => {
  setupCanvas();
  loadModel().catch((error) => showError(`could not load the model: ${error.message}`));
});
