// Small helpers shared by the views: requests, elements, numbers and labelled tables.

export const $ = (id) => document.getElementById(id);

export async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

export function postJSON(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

// el("div", {className: "x", dataset: {a: 1}}, "text", child) -> element
export function el(tag, properties = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(properties)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// 577 stays 577, 0.068829 becomes 0.06883, -1.5 stays -1.5
export function fmt(value) {
  if (value === null || value === undefined) return "pad";
  const number = Number(value);
  if (!Number.isFinite(number)) return String(number);
  if (Number.isInteger(number) && Math.abs(number) < 1e6) return String(number);
  return String(Number(number.toPrecision(4)));
}

export const rows2d = (values) => (Array.isArray(values[0]) ? values : [values]);

// A table of numbers with a caption and row/column labels.
// options: caption, rowLabels, columnLabels, mark(r, c) -> class name or "", empty(r, c) -> true to leave blank,
// cellText(value, r, c) -> text
export function numberTable(values, options = {}) {
  const rows = rows2d(values);
  const table = el("table", { className: `numbers ${options.className || ""}` });
  if (options.caption) table.append(el("caption", {}, options.caption));
  if (options.columnLabels) {
    const head = table.createTHead().insertRow();
    head.append(el("th", { className: "corner" }, options.corner || ""));
    for (const label of options.columnLabels) head.append(el("th", { scope: "col" }, String(label)));
  }
  const body = table.createTBody();
  rows.forEach((row, r) => {
    const line = body.insertRow();
    if (options.rowLabels) line.append(el("th", { scope: "row" }, String(options.rowLabels[r])));
    row.forEach((value, c) => {
      const cell = line.insertCell();
      const blank = options.empty && options.empty(r, c);
      cell.textContent = blank ? "" : (options.cellText ? options.cellText(value, r, c) : fmt(value));
      cell.dataset.row = r;
      cell.dataset.col = c;
      const mark = options.mark ? options.mark(r, c) : "";
      if (mark) cell.className = mark;
    });
  });
  return table;
}

export const range = (first, count) => Array.from({ length: count }, (_, i) => first + i);

// Step-by-step playback of `state.step` over 0..total(): go(step) clamps, draws and stops at the
// end; togglePlay() starts or pauses a timer of interval() ms; stop() also resets the play button.
export function stepper({ state, total, draw, playButton, interval }) {
  function go(step) {
    if (!state.data) return;
    state.step = Math.max(0, Math.min(total(), step));
    draw();
    if (state.step >= total()) stop();
  }
  function stop() {
    clearInterval(state.timer);
    state.timer = null;
    $(playButton).textContent = "Play";
  }
  function togglePlay() {
    if (state.timer) { stop(); return; }
    if (state.step >= total()) go(0);
    state.timer = setInterval(() => go(state.step + 1), interval());
    $(playButton).textContent = "Pause";
  }
  return { go, stop, togglePlay };
}
