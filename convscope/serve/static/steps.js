// One cell's computation as labelled stages: window x weights -> products -> per-channel sums ->
// total -> + bias -> activation -> output (conv), window -> winner/mean -> output (pooling), or
// the inputs' values -> their sum (or product, mean, ...) -> output, and for Concatenate which input
// each channel range copies (merge layers).

import { el, fmt, numberTable, range, rows2d } from "./common.js";

const CHANNELS_FIRST_SHOWN = 8;

function stage(name, title, ...content) {
  return el("li", { className: "stage", dataset: { stage: name } }, el("h4", {}, title), ...content);
}

// "rows 4-6, columns 5-7" (2D) or "positions 3-7" (1D) of the layer's input; padding lies outside
function windowWords(window) {
  const span = ([first, last]) => `${first}\u2013${last}`;
  return window.length === 2 ? `rows ${span(window[0])}, columns ${span(window[1])}` : `positions ${span(window[0])}`;
}

function axisLabels(window, axis) {
  return range(window[axis][0], window[axis][1] - window[axis][0] + 1);
}

function labels(window) {
  return window.length === 2 ? { rowLabels: axisLabels(window, 0), columnLabels: axisLabels(window, 1) }
    : { rowLabels: ["at"], columnLabels: axisLabels(window, 0) };
}

// the window, weights and products of one input channel, side by side
export function channelTables(entry, window, filter) {
  const padded = rows2d(entry.padded || entry.inputs.map((row) => (Array.isArray(row) ? row.map(() => false) : false)));
  const isPad = (r, c) => Boolean(padded[r] && padded[r][c]);
  const positions = labels(window);
  return el("div", { className: "triple" },
    numberTable(entry.inputs, { caption: `input window, channel ${entry.channel}`, ...positions,
                                corner: window.length === 2 ? "row\\col" : "pos",
                                mark: (r, c) => (isPad(r, c) ? "pad" : ""), className: "window" }),
    el("span", { className: "op" }, "\u00d7"),
    numberTable(entry.weights, { caption: `weights, filter ${filter}`, className: "weights" }),
    el("span", { className: "op" }, "="),
    numberTable(entry.products, { caption: "products", className: "products" }));
}

function singleChannel(steps) {
  const entry = steps.channel_table[0];
  const count = entry.products.flat().length;
  return [
    stage("products", `1. Window \u00d7 weights (${windowWords(steps.window)})`, channelTables(entry, steps.window, steps.channel)),
    stage("total", "2. Sum of the products",
          el("p", {}, `${count} products added: `, el("strong", { className: "value" }, fmt(steps.weighted_sum)))),
  ];
}

function channelRow(body, entry, rank, running, steps) {
  const row = body.insertRow();
  row.className = "part";
  row.dataset.channel = entry.channel;
  const share = Math.abs(entry.sum) / Math.max(1e-12, Math.abs(steps.channel_table[0].sum));
  const bar = el("span", { className: `share ${entry.sum < 0 ? "negative" : ""}`, style: { width: `${(share * 100).toFixed(0)}%` } });
  const toggle = el("button", { type: "button", className: "link", title: "show this channel's window, weights and products" }, "products \u25b8");
  row.append(el("td", {}, String(rank)), el("td", {}, String(entry.channel)),
             el("td", { className: "num" }, fmt(entry.sum)), el("td", { className: "bar" }, bar),
             el("td", { className: "num" }, fmt(running)), el("td", {}, toggle));
  toggle.addEventListener("click", () => {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("detail")) {
      next.remove();
      toggle.textContent = "products \u25b8";
      return;
    }
    const detail = body.insertRow(row.sectionRowIndex + 1);
    detail.className = "detail";
    detail.append(el("td", { colSpan: 6 }, channelTables(entry, steps.window, steps.channel)));
    toggle.textContent = "products \u25be";
  });
}

function manyChannels(steps) {
  const table = el("table", { className: "channel-table" });
  table.append(el("caption", {}, `${steps.channel_count} input channels, each window \u00d7 weights summed; largest first`));
  const head = table.createTHead().insertRow();
  for (const title of ["#", "input channel", "partial sum", "size", "running total", ""]) head.append(el("th", {}, title));
  const body = table.createTBody();
  let running = 0;
  const totals = steps.channel_table.map((entry) => (running += entry.sum));
  const show = (count) => {
    body.innerHTML = "";
    steps.channel_table.slice(0, count).forEach((entry, index) => channelRow(body, entry, index + 1, totals[index], steps));
  };
  show(CHANNELS_FIRST_SHOWN);
  const rest = steps.channel_count - CHANNELS_FIRST_SHOWN;
  const more = rest > 0 ? el("button", { type: "button", className: "link more" }, `show the other ${rest} channels`) : null;
  if (more) more.addEventListener("click", () => { show(steps.channel_count); more.remove(); });
  return [
    stage("channel_sums", `1. Per input channel: window \u00d7 weights \u2192 products \u2192 partial sum (${windowWords(steps.window)})`,
          table, more),
    stage("total", "2. Total over the channels",
          el("p", {}, `${steps.channel_count} partial sums added: `, el("strong", { className: "value" }, fmt(steps.weighted_sum)))),
  ];
}

function convStages(steps) {
  const first = steps.channel_count === 1 ? singleChannel(steps) : manyChannels(steps);
  const activation = steps.activation === "linear" ? `no activation: ${fmt(steps.pre_activation)} stays`
    : `${steps.activation}(${fmt(steps.pre_activation)}) =`;
  return [
    ...first,
    stage("bias", "3. + bias", el("p", {}, `${fmt(steps.weighted_sum)} + (${fmt(steps.bias)}) = `,
                                  el("strong", { className: "value" }, fmt(steps.pre_activation)))),
    stage("activation", "4. Activation", el("p", {}, `${activation} `, el("strong", { className: "value" }, fmt(steps.output)))),
  ];
}

function poolStages(steps) {
  const size = steps.position.length === 2 ? Math.round(Math.sqrt(steps.values.length)) : steps.values.length;
  const rows = [];
  for (let start = 0; start < steps.values.length; start += size) rows.push(steps.values.slice(start, start + size));
  const real = steps.values.filter((v) => v !== null);
  const winner = steps.reduction === "max" ? steps.values.indexOf(Math.max(...real)) : -1;
  const window = steps.position.length === 2
    ? [[steps.window[0][0], steps.window[steps.window.length - 1][0]], [steps.window[0][1], steps.window[steps.window.length - 1][1]]]
    : [[steps.window[0][0], steps.window[steps.window.length - 1][0]]];
  const table = numberTable(steps.position.length === 2 ? rows : steps.values, {
    caption: `window, channel ${steps.channel}`, ...labels(window), className: "window",
    mark: (r, c) => (r * size + c === winner ? "win" : "") });
  const reduce = steps.reduction === "max"
    ? el("p", {}, `the largest of ${real.length} values: `, el("strong", { className: "value" }, fmt(steps.output)))
    : el("p", {}, `(${real.map(fmt).join(" + ")}) / ${real.length} = `, el("strong", { className: "value" }, fmt(steps.output)));
  return [stage("window", `1. Window (${windowWords(window)})`, table),
          stage("reduce", steps.reduction === "max" ? "2. Max: the winner" : "2. Average", reduce)];
}

function mergeStages(steps) {
  if (steps.operation === "concatenation") {
    const term = steps.terms[0];
    const table = el("table", { className: "numbers pieces" });
    table.append(el("caption", {}, "output channels and the layer each range is copied from"));
    const head = table.createTHead().insertRow();
    for (const title of ["output channels", "from", "its channels"]) head.append(el("th", { scope: "col" }, title));
    const body = table.createTBody();
    for (const piece of steps.pieces) {
      const row = body.insertRow();
      const here = piece.start <= steps.channel && steps.channel < piece.stop;
      for (const text of [`${piece.start}\u2013${piece.stop - 1}`, piece.source, `0\u2013${piece.stop - piece.start - 1}`]) {
        row.append(el("td", { className: here ? "this" : "" }, text));
      }
    }
    return [stage("pieces", "1. Where each channel comes from", table),
            stage("copy", "2. The copied value", el("p", {}, `channel ${steps.channel} is ${term.source}'s channel ` +
              `${term.index[term.index.length - 1]} at the same position: `, el("strong", { className: "value" }, fmt(term.value))))];
  }
  const table = numberTable([steps.terms.map((term) => term.value)], { caption: `the ${steps.terms.length} inputs at this cell`,
    rowLabels: ["value"], columnLabels: steps.terms.map((term) => term.source), className: "merge-inputs" });
  const symbol = { sum: " + ", difference: " \u2212 ", product: " \u00d7 " }[steps.operation];
  const values = steps.terms.map((term) => fmt(term.value));
  const formula = symbol ? values.join(symbol) : steps.operation === "mean" ? `(${values.join(" + ")}) / ${values.length}`
    : `${steps.operation}(${values.join(", ")})`;
  return [stage("inputs", "1. The same cell of every input", table),
          stage("combine", `2. Their ${steps.operation}`, el("p", { className: "merge-sum" }, `${formula} = `,
            el("strong", { className: "value" }, fmt(steps.output))))];
}

// Fill `parts` ({title, verdict, body, text}) with the stages of `steps` (an /api/explain answer).
export function renderSteps(steps, parts) {
  const isConv = steps.kind.includes("Conv");
  const isMerge = steps.operation !== undefined;
  const where = steps.position.length ? `position (${steps.position.join(", ")})` : "flat output";
  parts.title.textContent = `${steps.kind} '${steps.layer}', ${isConv ? "filter" : "channel"} ${steps.channel}, ` +
    `${where} = ${Number(steps.output).toPrecision(5)}`;
  parts.verdict.textContent = steps.agrees ? "(the engine agrees)" : "(the engine DISAGREES)";
  parts.verdict.className = steps.agrees ? "agrees" : "disagrees";
  const list = el("ol", { className: "stages" }, ...(isMerge ? mergeStages(steps) : isConv ? convStages(steps) : poolStages(steps)));
  const number = list.children.length + 1;
  list.append(stage("output", `${number}. Output`, el("p", {}, el("strong", { className: "value output" }, fmt(steps.output)),
    ` \u2014 the model computed ${Number(steps.engine_output).toPrecision(7)}`)));
  parts.body.innerHTML = "";
  if (isConv && steps.groups > 1) parts.body.append(el("p", { className: "group-note" }, `${steps.group_text}: a grouped ` +
    "convolution's filter sees only its group's input channels."));
  parts.body.append(list);
  if (parts.text) parts.text.textContent = steps.text;
}
