// The 1D view for Conv1D models: enter or draw a signal, see it as a line, see each layer's
// feature maps as strips aligned under it, click a position to see its computation.

import { $, el, fmt } from "./common.js";
import { channelValue, colour, legend } from "./scale.js";

const PLOT_HEIGHT = 140;
const ROW_HEIGHT = 5;

// A made-up signal of `length` values (two bumps and a dip), so the page shows something at once.
export function exampleSignal(length) {
  return Array.from({ length }, (_, i) => {
    const x = i / Math.max(1, length - 1);
    const value = 1.6 * Math.exp(-((x - 0.25) ** 2) / 0.004) - 1.2 * Math.exp(-((x - 0.55) ** 2) / 0.01)
      + 0.9 * Math.exp(-((x - 0.8) ** 2) / 0.003);
    return Number(value.toFixed(3));
  });
}

export function parseValues(text) {
  return text.split(/[\s,;]+/).filter((part) => part.length > 0).map(Number);
}

// The signal input: a pad to draw on (drag across it), the values as text, an example and a file.
export function setupSignalInput(length, submit, example = exampleSignal(length)) {
  const pad = $("signal-pad");
  const text = $("signal-values");
  let values = [...example];
  const scale = () => Math.max(1, Math.ceil(Math.max(...values.map(Math.abs)) * 1.2));
  const redraw = () => drawSignal(pad, values, null, { scale: scale() });
  const setValues = (next, send) => {
    values = next;
    text.value = values.map(fmt).join(", ");
    redraw();
    if (send) submit(values);
  };
  let drawing = false;
  let fixedScale = scale();
  const paint = (event) => {
    const box = pad.getBoundingClientRect();
    const index = Math.min(length - 1, Math.max(0, Math.floor(((event.clientX - box.left) / box.width) * length)));
    const y = (event.clientY - box.top) / box.height;
    values[index] = Number(((0.5 - y) * 2 * fixedScale).toFixed(3));
    text.value = values.map(fmt).join(", ");
    drawSignal(pad, values, null, { scale: fixedScale });
  };
  pad.addEventListener("pointerdown", (event) => { drawing = true; fixedScale = scale(); pad.setPointerCapture(event.pointerId); paint(event); });
  pad.addEventListener("pointermove", (event) => { if (drawing) paint(event); });
  const finish = () => { if (drawing) { drawing = false; submit(values); } };
  pad.addEventListener("pointerup", finish);
  pad.addEventListener("pointerleave", finish);
  $("signal-use").addEventListener("click", () => {
    const parsed = parseValues(text.value);
    if (parsed.length !== length || parsed.some((v) => !Number.isFinite(v))) {
      submit(null, `enter exactly ${length} numbers (got ${parsed.length}${parsed.some((v) => !Number.isFinite(v)) ? ", some not numbers" : ""})`);
      return;
    }
    setValues(parsed, true);
  });
  $("signal-example").addEventListener("click", () => setValues([...example], true));
  $("signal-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    text.value = (await file.text()).trim();
    $("signal-use").click();
  });
  setValues(values, false);
  return () => values;
}

// A line plot of `values`, each value at the centre of its cell; `field` [[first, last]] shades a span.
export function drawSignal(canvas, values, field, options = {}) {
  const width = canvas.clientWidth || canvas.width;
  canvas.width = width;
  canvas.height = options.height || canvas.height || PLOT_HEIGHT;
  const context = canvas.getContext("2d");
  const height = canvas.height;
  const limit = options.scale || Math.max(1e-9, ...values.map(Math.abs));
  const y = (value) => height / 2 - (value / limit) * (height / 2 - 6);
  const step = width / values.length;
  context.clearRect(0, 0, width, height);
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  if (field) {
    context.fillStyle = "rgba(239, 68, 68, 0.18)";
    context.fillRect(field[0][0] * step, 0, (field[0][1] - field[0][0] + 1) * step, height);
  }
  context.strokeStyle = "#e5e7eb";
  context.beginPath();
  context.moveTo(0, y(0));
  context.lineTo(width, y(0));
  for (let i = 0; i <= values.length; i += 5) { context.moveTo(i * step, height - 4); context.lineTo(i * step, height); }
  context.stroke();
  context.strokeStyle = "#2563eb";
  context.lineWidth = 2;
  context.beginPath();
  values.forEach((value, i) => (i ? context.lineTo((i + 0.5) * step, y(value)) : context.moveTo((i + 0.5) * step, y(value))));
  context.stroke();
  context.fillStyle = "#1d4ed8";
  values.forEach((value, i) => context.fillRect((i + 0.5) * step - 2, y(value) - 2, 4, 4));
}

// One canvas per layer: a row per channel, a column per position, stretched to the plot's width.
export function showStrips(featureMaps, container, decode, onPick) {
  const width = Math.max(240, $("signal-plot").clientWidth || 600);
  for (const layer of featureMaps) {
    const [length, channels] = layer.shape;
    const levels = decode(layer.data);
    const section = el("div", { className: "layer strips-layer", dataset: { layer: layer.layer } },
      el("h3", {}, `${layer.layer} (${layer.kind}) ${length} positions \u00d7 ${channels} channels`),
      legend(layer.scale, { note: "a row per channel, all against these ends" }));
    const canvas = el("canvas", { className: "strips", dataset: { layer: layer.layer, length, channels } });
    canvas.width = length;
    canvas.height = channels;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${channels * ROW_HEIGHT}px`;
    const context = canvas.getContext("2d");
    const image = context.createImageData(length, channels);
    for (let channel = 0; channel < channels; channel++) {
      for (let i = 0; i < length; i++) {
        const value = channelValue(layer, channel, levels[channel * length + i]);
        image.data.set([...colour(value, layer.scale), 255], (channel * length + i) * 4);
      }
    }
    context.putImageData(image, 0, 0);
    canvas.title = "each row is a channel, each column a position; click one to see how it was computed";
    canvas.addEventListener("click", (event) => {
      const box = canvas.getBoundingClientRect();
      const position = Math.min(length - 1, Math.floor(((event.clientX - box.left) / box.width) * length));
      const channel = Math.min(channels - 1, Math.floor(((event.clientY - box.top) / box.height) * channels));
      container.querySelectorAll(".pick").forEach((mark) => mark.remove());
      const mark = el("div", { className: "pick", style: {
        left: `${(position / length) * 100}%`, width: `${100 / length}%`,
        top: `${(channel / channels) * 100}%`, height: `${100 / channels}%` } });
      wrap.append(mark);
      onPick(layer.layer, [position], channel);
    });
    const wrap = el("div", { className: "strip-wrap", style: { width: `${width}px` } }, canvas);
    section.append(wrap);
    container.append(section);
  }
}

