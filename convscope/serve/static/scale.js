// Colour scales: every channel of a layer is drawn against the layer's one low..high (the API's
// `scale`), so their brightness compares; a bar with its ends printed and a caption in words say
// what the colours mean. Signed values get a diverging scale: blue below zero, white at zero, red above.

import { el, fmt } from "./common.js";

const NEGATIVE = [37, 99, 235];
const POSITIVE = [220, 38, 38];
const BAR_WIDTH = 160;

// [r, g, b] of `value` on `scale` ({low, high, diverging}); values beyond the ends get the end colour
export function colour(value, scale) {
  if (scale.diverging) {
    const share = scale.high > 0 ? Math.max(-1, Math.min(1, value / scale.high)) : 0;
    const end = share < 0 ? NEGATIVE : POSITIVE;
    return end.map((channel) => Math.round(255 + (channel - 255) * Math.abs(share)));
  }
  const span = scale.high - scale.low;
  const grey = span > 0 ? Math.round(Math.max(0, Math.min(1, (value - scale.low) / span)) * 255) : 0;
  return [grey, grey, grey];
}

// The value of 8-bit level `level` of `channel` in an API feature map: its levels run over each
// channel's own min..max (precision for faint channels); the colour comes from the layer's scale.
export function channelValue(layer, channel, level) {
  return layer.min[channel] + (level / 255) * (layer.max[channel] - layer.min[channel]);
}

// dark text on light colours, light text on dark ones
export function textColour(rgb) {
  return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140 ? "#111" : "#fff";
}

// The scale of `values` (any nesting of arrays) as the server makes it: diverging around zero when
// any value is negative, else from 0 up to the largest.
export function scaleOf(values) {
  const flat = values.flat(Infinity).map(Number).filter(Number.isFinite);
  if (!flat.length) return { low: 0, high: 1, diverging: false };
  const least = Math.min(...flat), most = Math.max(...flat);
  if (least < 0) {
    const limit = Math.max(-least, most) || 1;
    return { low: -limit, high: limit, diverging: true };
  }
  return { low: Math.min(least, 0), high: most || 1, diverging: false };
}

// The caption in words. options: where ("this layer", "layer 'conv2d'", "the input"), input (true
// for the network's input, where 0 is no "response"), note (a clause added at the end).
export function caption(scale, options = {}) {
  const where = options.where || "this layer";
  const none = options.input ? "" : " (no response)";
  const note = options.note ? `; ${options.note}` : "";
  if (scale.diverging) {
    return `blue = negative, red = positive, white = 0${none}; the ends are ${fmt(scale.low)} and ` +
      `${fmt(scale.high)}, the largest magnitude in ${where}${note}`;
  }
  const strongest = options.input ? `the largest value in ${where}` : `the strongest response in ${where}`;
  const low = scale.low === 0 ? `0${none}` : `${fmt(scale.low)} (the least value in ${where})`;
  return `black = ${low}, white = ${fmt(scale.high)} (${strongest})${note}`;
}

// A small horizontal bar from low to high, its ends printed (and 0 under the middle of a diverging
// one), with the caption under it. `options` as for caption.
export function legend(scale, options = {}) {
  const bar = el("canvas", { className: "scale-bar", width: BAR_WIDTH, height: 1,
                             title: `${fmt(scale.low)} to ${fmt(scale.high)}` });
  const context = bar.getContext("2d");
  const image = context.createImageData(BAR_WIDTH, 1);
  for (let x = 0; x < BAR_WIDTH; x++) {
    const value = scale.low + ((x + 0.5) / BAR_WIDTH) * (scale.high - scale.low);
    image.data.set([...colour(value, scale), 255], x * 4);
  }
  context.putImageData(image, 0, 0);
  const track = el("span", { className: "scale-track" }, bar,
    scale.diverging ? el("span", { className: "scale-zero" }, "0") : null);
  const ends = el("div", { className: "scale-row" + (scale.diverging ? " diverging" : "") },
    el("span", { className: "scale-low" }, fmt(scale.low)), track,
    el("span", { className: "scale-high" }, fmt(scale.high)));
  return el("div", { className: "legend", dataset: { low: scale.low, high: scale.high, diverging: scale.diverging } },
    ends, el("p", { className: "scale-caption" }, caption(scale, options)));
}
