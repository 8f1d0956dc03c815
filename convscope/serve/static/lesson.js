// Lesson mode, no trained model needed: a small matrix and kernel worked through convolution,
// activation and pooling one cell at a time. The arithmetic comes from POST /api/lesson (the
// NumPy reference operations); this file only shows it.

import { $, el, fmt, numberTable, postJSON, rows2d, stepper } from "./common.js";

export const PRESETS = {
  seed003: { label: "Seed 003: Pool(ReLU(Conv(I))) = 5", matrix: "1 0 2\n3 1 0\n0 0 4", kernel: "1 0\n0 1",
             bias: 0, stride: 1, padding: "valid", activation: "relu", pool: "max", poolSize: 2 },
  seed004: { label: "Seed 004: one new pixel, 577", matrix: "0 64 128\n48 192 144\n142 226 168",
             kernel: "-1 0 -2\n0.5 4.5 -1.5\n1.5 2 -3", bias: 0, stride: 1, padding: "valid", activation: "linear", pool: "none", poolSize: 2 },
  blend: { label: "Seed 003: f blended by g' gives 4 4 / 4 3", matrix: "1 2 1\n2 1 1\n1 1 1", kernel: "1 0.5\n0.5 1",
           bias: 0, stride: 1, padding: "valid", activation: "relu", pool: "none", poolSize: 2 },
  strided: { label: "Stride 2 and padding 1 on a 5x5 picture", matrix: "0 0 1 1 1\n0 0 1 1 1\n0 0 1 1 1\n0 0 1 1 1\n0 0 1 1 1",
             kernel: "-1 0 1\n-1 0 1\n-1 0 1", bias: 0, stride: 2, padding: 1, activation: "relu", pool: "max", poolSize: 2 },
  signal: { label: "1D: a row of 8 values, 'same' padding", matrix: "1 3 2 0 5 1 4 2", kernel: "1 0 -1",
            bias: 0.5, stride: 1, padding: "same", activation: "relu", pool: "max", poolSize: 2 },
};

const lesson = { data: null, step: 0, timer: null };

function parseMatrix(text) {
  const rows = text.trim().split(/\n+/).map((line) => line.trim().split(/[\s,;]+/).filter(Boolean).map(Number));
  return rows.length === 1 ? rows[0] : rows;
}

export function setupLesson() {
  const select = $("lesson-preset");
  for (const [key, preset] of Object.entries(PRESETS)) select.append(el("option", { value: key }, preset.label));
  select.addEventListener("change", () => { usePreset(select.value); run(); });
  $("lesson-run").addEventListener("click", run);
  $("lesson-first").addEventListener("click", () => go(0));
  $("lesson-back").addEventListener("click", () => go(lesson.step - 1));
  $("lesson-next").addEventListener("click", () => go(lesson.step + 1));
  $("lesson-all").addEventListener("click", () => go(total()));
  $("lesson-play").addEventListener("click", togglePlay);
  usePreset("seed003");
}

function usePreset(key) {
  const preset = PRESETS[key];
  $("lesson-preset").value = key;
  $("lesson-matrix").value = preset.matrix;
  $("lesson-kernel").value = preset.kernel;
  $("lesson-bias").value = preset.bias;
  $("lesson-stride").value = preset.stride;
  $("lesson-padding").value = preset.padding;
  $("lesson-activation").value = preset.activation;
  $("lesson-pool").value = preset.pool;
  $("lesson-pool-size").value = preset.poolSize;
}

export async function run() {
  stop();
  const padding = $("lesson-padding").value;
  const pool = $("lesson-pool").value;
  const body = {
    matrix: parseMatrix($("lesson-matrix").value), kernel: parseMatrix($("lesson-kernel").value),
    bias: Number($("lesson-bias").value), stride: Number($("lesson-stride").value),
    padding: /^\d+$/.test(padding) ? Number(padding) : padding, activation: $("lesson-activation").value,
    pool: pool === "none" ? null : { size: Number($("lesson-pool-size").value), kind: pool },
  };
  $("lesson-error").textContent = "";
  try {
    lesson.data = await postJSON("/api/lesson", body);
  } catch (error) {
    $("lesson-error").textContent = error.message;
    return;
  }
  go(0);
}

const convCount = () => lesson.data.conv.cells.length;
const poolCount = () => (lesson.data.pool ? lesson.data.pool.windows.length : 0);
const total = () => (lesson.data ? convCount() + 1 + poolCount() : 0);

const { go, stop, togglePlay } = stepper({ state: lesson, total, draw, playButton: "lesson-play", interval: () => 900 });

const inside = (r, c, window) => {
  const [rows, cols] = window.length === 2 ? window : [[0, 0], window[0]];
  return r >= rows[0] && r <= rows[1] && c >= cols[0] && c <= cols[1];
};

function draw() {
  const data = lesson.data;
  const step = lesson.step;
  const two = Array.isArray(data.matrix[0]);
  const cells = convCount();
  const work = $("lesson-work");
  work.innerHTML = "";
  const stage = $("lesson-stage");
  const padRows = two ? data.padding[0] : [0, 0], padCols = two ? data.padding[1] : data.padding[0];
  const padded = rows2d(data.padded);
  const isPad = (r, c) => r < padRows[0] || r >= padded.length - padRows[1] || c < padCols[0] || c >= padded[0].length - padCols[1];
  const flatIndex = (position) => (two ? position[0] * rows2d(data.conv.output)[0].length + position[1] : position[0]);
  if (step === 0) {
    const padWords = data.padding.flat().some(Boolean)
      ? ` with its zero padding (grey: ${data.padding.map((p) => `${p[0]} before, ${p[1]} after`).join("; ")})` : "";
    stage.textContent = `Step 0 of ${total()}: the matrix${padWords} and the kernel. Press Next or Play.`;
    work.append(numberTable(data.padded, { caption: "input", className: "lesson-input", mark: (r, c) => (isPad(r, c) ? "pad" : "") }),
                numberTable(data.kernel, { caption: "kernel", className: "lesson-kernel" }));
  } else if (step <= cells) {
    const cell = data.conv.cells[step - 1];
    stage.textContent = `Step ${step} of ${total()}: convolution, output cell (${cell.position.join(", ")}): ` +
      `the kernel over input ${two ? `rows ${cell.window[0].join("\u2013")}, columns ${cell.window[1].join("\u2013")}` : `positions ${cell.window[0].join("\u2013")}`} of the padded matrix` +
      (data.stride > 1 ? ` (stride ${data.stride}: the window moves ${data.stride} cells from one output cell to the next)` : "");
    const terms = rows2d(cell.products).flat();
    work.append(
      el("div", { className: "triple" },
        numberTable(data.padded, { caption: "input (padded)", className: "lesson-input",
                                   mark: (r, c) => [inside(r, c, cell.window) ? "window" : "", isPad(r, c) ? "pad" : ""].join(" ").trim() }),
        el("span", { className: "op" }, "\u2219"),
        numberTable(data.kernel, { caption: "kernel", className: "lesson-kernel" }),
        el("span", { className: "op" }, "\u2192"),
        numberTable(cell.products, { caption: "window \u00d7 kernel", className: "lesson-products" })),
      el("p", { id: "lesson-sum", className: "sum" },
        `${terms.map((t) => (t < 0 ? `(${fmt(t)})` : fmt(t))).join(" + ")} = ${fmt(cell.sum)}` +
        (data.bias !== 0 ? `;  + bias ${fmt(data.bias)} = ${fmt(cell.pre_activation)}` : "") + "  \u2192  ",
        el("strong", { className: "value" }, fmt(cell.pre_activation))));
  } else if (step === cells + 1) {
    stage.textContent = data.activation === "relu"
      ? `Step ${step} of ${total()}: ReLU keeps positive values and turns negative ones into 0: max(0, x)`
      : `Step ${step} of ${total()}: no activation: the values pass unchanged`;
  } else {
    const window = data.pool.windows[step - cells - 2];
    stage.textContent = `Step ${step} of ${total()}: ${data.pool.kind} pooling, output cell (${window.position.join(", ")}): ` +
      (data.pool.kind === "max" ? `the largest of ${window.values.map(fmt).join(", ")} is ${fmt(window.output)}`
        : `the mean of ${window.values.map(fmt).join(", ")} is ${fmt(window.output)}`);
  }
  const convFilled = Math.min(step, cells);
  const convShape = rows2d(data.conv.output);
  const results = $("lesson-results");
  results.innerHTML = "";
  results.append(numberTable(data.conv.output, { caption: "convolution", className: "lesson-conv",
    empty: (r, c) => r * convShape[0].length + c >= convFilled,
    mark: (r, c) => (step >= 1 && step <= cells && r * convShape[0].length + c === flatIndex(data.conv.cells[step - 1].position) ? "current" : "") }));
  const activated = numberTable(data.activated, { caption: data.activation === "relu" ? "ReLU" : "activation (none)", className: "lesson-relu",
    empty: () => step <= cells,
    mark: (r, c) => (step > cells && rows2d(data.conv.output)[r][c] < 0 && data.activation === "relu" ? "clipped" : "") });
  results.append(el("span", { className: "op" }, "\u2192"), activated);
  if (data.pool) {
    const current = step > cells + 1 ? data.pool.windows[step - cells - 2] : null;
    const winner = current && current.winner;
    activated.querySelectorAll("td").forEach((td) => {
      const r = Number(td.dataset.row), c = Number(td.dataset.col);
      const at = two ? [r, c] : [c];
      if (current && current.cells.some((p) => p.join() === at.join())) td.classList.add("window");
      if (winner && winner.join() === at.join()) td.classList.add("win");
    });
    const poolWidth = rows2d(data.pool.output)[0].length;
    results.append(el("span", { className: "op" }, "\u2192"), numberTable(data.pool.output, {
      caption: `${data.pool.kind} pool ${data.pool.size}${two ? `\u00d7${data.pool.size}` : ""}, stride ${data.pool.stride}`,
      className: "lesson-pool", empty: (r, c) => r * poolWidth + c >= step - cells - 1 }));
  }
  $("lesson-notes").textContent = data.notes.join(" ");
}
