// The sliding-window player: a conv or pooling layer's window steps across its input (with the
// layer's stride and padding) and the output map fills in, one cell per step.

import { $, el, fmt, numberTable, postJSON, stepper } from "./common.js";
import { colour, legend, textColour } from "./scale.js";
import { renderSteps } from "./steps.js";

const SPATIAL = ["Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D", "MaxPooling1D", "MaxPooling2D",
                 "AveragePooling1D", "AveragePooling2D"];
const player = { data: null, step: 0, timer: null, getInput: null, requests: 0 };

export function setupPlayer(model, getInput) {
  player.getInput = getInput;
  const select = $("player-layer");
  select.innerHTML = "";
  for (const node of model.graph.nodes.filter((n) => SPATIAL.includes(n.kind))) {  // a shared layer: each call
    const from = model.graph.chain ? "" : ` \u2190 ${node.inputs.join(", ")}`;
    select.append(el("option", { value: node.name }, `${node.name} (${node.kind})${from}`));
  }
  select.addEventListener("change", () => { $("player-channel").value = 0; load(); });
  $("player-channel").addEventListener("change", () => load());
  $("player-input-channel").addEventListener("change", () => load(Number($("player-input-channel").value)));
  $("player-reset").addEventListener("click", () => go(0));
  $("player-back").addEventListener("click", () => go(player.step - 1));
  $("player-next").addEventListener("click", () => go(player.step + 1));
  $("player-end").addEventListener("click", () => go(total()));
  $("player-play").addEventListener("click", togglePlay);
  $("player-why").addEventListener("click", explainCurrent);
}

const spatial = (shape) => shape.slice(0, -1);
const total = () => (player.data ? spatial(player.data.output_shape).reduce((a, b) => a * b, 1) : 0);

// position of output cell `index` (row-major)
function position(index) {
  const shape = spatial(player.data.output_shape);
  return shape.length === 2 ? [Math.floor(index / shape[1]), index % shape[1]] : [index];
}

export async function load(inputChannel) {
  stop();
  const input = player.getInput();
  $("player-error").textContent = "";
  $("player-work").hidden = !input;
  if (!input) {
    $("player-status").textContent = "Give the network an input on the Network view first (draw, upload or enter a signal); " +
      "the window then slides over what the network saw.";
    return;
  }
  const body = { pixels: input, layer: $("player-layer").value, channel: Number($("player-channel").value) || 0 };
  if (inputChannel !== undefined) body.input_channel = inputChannel;
  const ticket = ++player.requests;  // only the latest request's answer is shown
  let data;
  try {
    data = await postJSON("/api/slide", body);
  } catch (error) {
    if (ticket === player.requests) $("player-error").textContent = error.message;
    return;
  }
  if (ticket !== player.requests) return;
  player.data = data;
  $("player-status").textContent = "";
  describe(player.data);
  go(0);
}

function describe(data) {
  const channels = $("player-input-channel");
  channels.innerHTML = "";
  for (const channel of data.input_channels) channels.append(el("option", { value: channel }, `input channel ${channel}`));
  channels.value = data.input_channel;
  channels.disabled = data.input_channels.length < 2;
  const conv = data.kind.includes("Conv");
  const axes = data.kernel.length === 2 ? ["rows", "columns"] : ["positions"];
  const formula = $("player-formula");
  formula.innerHTML = "";
  data.kernel.forEach((k, axis) => {
    const n = data.input_shape[axis], [before, after] = data.padding[axis], s = data.strides[axis], d = data.dilation[axis];
    const out = data.output_shape[axis];
    formula.append(el("li", {}, `${axes[axis]}: out = \u230a(n + pad before + pad after \u2212 d\u00b7(k \u2212 1) \u2212 1) / stride\u230b + 1 = ` +
      `\u230a(${n} + ${before} + ${after} \u2212 ${d}\u00b7${k - 1} \u2212 1) / ${s}\u230b + 1 = ${out}`));
  });
  const about = $("player-about");
  about.innerHTML = "";
  about.append(el("p", {}, `${data.kind} '${data.layer}', ${conv ? "filter" : "channel"} ${data.channel}: window ${data.kernel.join("\u00d7")}, ` +
    `stride ${data.strides.join("\u00d7")}, padding (cells before/after) ` +
    `${data.padding.map((p, axis) => `${axes[axis]} ${p[0]}/${p[1]}`).join(", ")}` +
    (conv ? `, bias ${fmt(data.bias)}, activation ${data.activation}.` : ".")));
  const grouped = conv && data.groups > 1;
  if (grouped) {
    const first = Math.min(...data.input_channels), last = Math.max(...data.input_channels);
    about.append(el("p", { className: "small muted group-note" }, `The convolution has ${data.groups} groups: filter ${data.channel} ` +
      `reads only input channel${first === last ? ` ${first}` : `s ${first}\u2013${last}`} (its group), adds their products; ` +
      `shown is input channel ${data.input_channel}.`));
  } else if (conv && data.input_shape[data.input_shape.length - 1] > 1) {
    about.append(el("p", { className: "small muted" }, `The window covers all ${data.input_shape[data.input_shape.length - 1]} input ` +
      `channels at once and adds their products; shown is input channel ${data.input_channel} (the list puts the channels this filter weighs most first).`));
  }
  if (conv) about.append(numberTable(data.weights, { caption: `weights on input channel ${data.input_channel}`, className: "weights" }));
  const channelsIn = data.input_shape[data.input_shape.length - 1], channelsOut = data.output_shape[data.output_shape.length - 1];
  const inputWhere = data.input_from === null ? "the input" : `'${data.input_from}', any of its ${channelsIn} channels`;
  $("player-input-scale").replaceChildren(legend(data.input_scale, { where: inputWhere, input: data.input_from === null }));
  $("player-output-scale").replaceChildren(legend(data.output_scale, { where: `'${data.layer}', any of its ${channelsOut} channels` }));
}

const { go, stop, togglePlay } = stepper({
  state: player, total, draw, playButton: "player-play", interval: () => 1000 / Number($("player-speed").value),
});

function cellSize(cells, room) {
  return Math.max(4, Math.min(28, Math.floor(room / cells)));
}

// rows of values (or one row) onto a canvas, `size` px a cell, coloured on `options.scale`;
// pad(r, c) draws a grey padding zero, blank(r, c) a hatched cell not computed yet
function paint(canvas, rows, size, options) {
  const height = rows.length, width = rows[0].length;
  canvas.width = width * size;
  canvas.height = height * size;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  rows.forEach((row, r) => row.forEach((value, c) => {
    if (options.pad && options.pad(r, c)) {
      context.fillStyle = "#e5e7eb";
      context.fillRect(c * size, r * size, size, size);
      context.fillStyle = "#9ca3af";
      if (size >= 14) { context.font = `${Math.floor(size * 0.45)}px system-ui`; context.textAlign = "center"; context.fillText("0", c * size + size / 2, r * size + size * 0.65); }
      return;
    }
    if (options.blank && options.blank(r, c)) {
      // hatched, so a cell still to come never looks like a value (white is 0 on a diverging scale)
      context.strokeStyle = "#e2e8f0";
      context.strokeRect(c * size + 0.5, r * size + 0.5, size - 1, size - 1);
      context.beginPath();
      context.moveTo(c * size + 1, (r + 1) * size - 1);
      context.lineTo((c + 1) * size - 1, r * size + 1);
      context.stroke();
      return;
    }
    const rgb = colour(value, options.scale);
    context.fillStyle = `rgb(${rgb.join(",")})`;
    context.fillRect(c * size, r * size, size, size);
    if (size >= 26) {
      context.fillStyle = textColour(rgb);
      context.font = `${Math.floor(size * 0.34)}px system-ui`;
      context.textAlign = "center";
      context.fillText(fmt(Number(value).toFixed(2)), c * size + size / 2, r * size + size * 0.6);
    }
  }));
  return context;
}

function outline(context, size, top, left, height, width, colour) {
  context.strokeStyle = colour;
  context.lineWidth = 3;
  context.strokeRect(left * size + 1.5, top * size + 1.5, width * size - 3, height * size - 3);
}

function draw() {
  const data = player.data;
  const two = data.kernel.length === 2;
  const input = two ? data.input : [data.input];
  const output = two ? data.output : [data.output];
  const pads = two ? data.padding : [[0, 0], data.padding[0]];
  const padded = [];
  const height = input.length + pads[0][0] + pads[0][1], width = input[0].length + pads[1][0] + pads[1][1];
  for (let r = 0; r < height; r++) {
    const row = [];
    for (let c = 0; c < width; c++) {
      const inside = r - pads[0][0] >= 0 && r - pads[0][0] < input.length && c - pads[1][0] >= 0 && c - pads[1][0] < input[0].length;
      row.push(inside ? input[r - pads[0][0]][c - pads[1][0]] : null);
    }
    padded.push(row);
  }
  const room = Math.min(420, ($("player-stage").clientWidth || 800) / 2 - 24);
  const inSize = cellSize(Math.max(height, width), two ? room : room * 2);
  // 1D: an output cell as wide as the window's step, under the middle of its window
  const outSize = two ? Math.max(inSize, cellSize(Math.max(output.length, output[0].length), room)) : inSize * data.strides[0];
  const extent1d = (data.kernel[0] - 1) * data.dilation[0] + 1;
  $("player-output").style.marginLeft = two ? "0" : `${((extent1d - data.strides[0]) / 2) * inSize}px`;
  const inContext = paint($("player-input"), padded, inSize, { scale: data.input_scale, pad: (r, c) => padded[r][c] === null });
  const filled = player.step;
  const outWidth = output[0].length;
  const outContext = paint($("player-output"), output, outSize, { scale: data.output_scale,
                                                                 blank: (r, c) => r * outWidth + c >= filled });
  const readout = $("player-readout");
  if (filled === 0) {
    readout.textContent = `Step 0 of ${total()}: press Step or Play to slide the window.`;
    readout.dataset.step = 0;
    return;
  }
  const at = position(filled - 1);
  const [row, column] = two ? at : [0, at[0]];
  const extent = data.kernel.map((k, axis) => (k - 1) * data.dilation[axis] + 1);
  const [kh, kw] = two ? extent : [1, extent[0]];
  const [sh, sw] = two ? data.strides : [1, data.strides[0]];
  outline(inContext, inSize, row * sh, column * sw, kh, kw, "#dc2626");
  outline(outContext, outSize, row, column, 1, 1, "#dc2626");
  const value = output[row][column];
  const spans = data.kernel.map((k, axis) => {
    const first = at[axis] * data.strides[axis] - data.padding[axis][0];
    return `${first}\u2013${first + extent[axis] - 1}`;
  });
  const where = two ? `rows ${spans[0]}, columns ${spans[1]}` : `positions ${spans[0]}`;
  readout.innerHTML = "";
  readout.append(`Step ${filled} of ${total()}: output (${at.join(", ")}) reads input ${where} ` +
    `(starts at ${at.map((p, axis) => `${p}\u00d7${data.strides[axis]} \u2212 ${data.padding[axis][0]}`).join(", ")}; outside the input is padding) \u2192 `,
    el("strong", { id: "player-value" }, fmt(value)));
  Object.assign(readout.dataset, { step: filled, position: at.join(","), value });
}

async function explainCurrent() {
  if (!player.data || player.step === 0) return;
  stop();
  try {
    const answer = await postJSON("/api/explain", { pixels: player.getInput(), layer: player.data.layer,
      position: position(player.step - 1), channel: player.data.channel, maps: false });
    $("player-steps").hidden = false;
    renderSteps(answer.steps, { title: $("player-steps-title"), verdict: $("player-steps-verdict"), body: $("player-steps-body") });
  } catch (error) {
    $("player-error").textContent = error.message;
  }
}
