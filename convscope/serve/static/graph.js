// The model as a graph: a column per depth (the longest path from the input), a row per branch,
// a line per edge. An edge that spans more than one column (a skip connection) arcs over the
// columns between, so it never runs through the layers it skips. A model used as a layer is drawn
// as its layers inside a dashed frame named after it (`graph.groups`); each box there shows the
// layer's own name, its title the full "model/layer". Drawn as SVG from /api/model's `graph`;
// clicking a layer calls onPick(node).

const SVG = "http://www.w3.org/2000/svg";
const SIZE = { width: 144, height: 44, column: 182, row: 62, margin: 14, frame: 9, label: 16 };
const FAMILY = [["Conv", "conv"], ["Pooling", "pool"], ["Input", "input"], ["Dense", "dense"]];
const MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"];

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

export function family(kind) {
  if (MERGES.includes(kind)) return "merge";
  const found = FAMILY.find(([part]) => kind.includes(part));
  return found ? found[1] : "other";
}

// Rows: each node sits at the mean row of the nodes it reads; nodes of one column that would sit on
// the same row (the branches of one layer) spread around it, and overlaps are pushed down.
export function layoutGraph(graph) {
  const nodes = graph.nodes.map((node) => ({ ...node }));
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const columns = [];
  for (const node of nodes) (columns[node.depth] ||= []).push(node);
  for (const column of columns) {
    if (!column) continue;
    for (const node of column) {
      const rows = node.inputs.map((name) => byName.get(name)).filter(Boolean).map((parent) => parent.row);
      node.key = rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
    }
    column.sort((a, b) => a.key - b.key || a.index - b.index);
    let start = 0;
    while (start < column.length) {  // a group reading the same rows spreads around them
      let end = start;
      while (end + 1 < column.length && column[end + 1].key === column[start].key) end++;
      for (let i = start; i <= end; i++) column[i].row = column[i].key - (end - start) / 2 + (i - start);
      start = end + 1;
    }
    for (let i = 1; i < column.length; i++) column[i].row = Math.max(column[i].row, column[i - 1].row + 1);
  }
  const top = Math.min(...nodes.map((node) => node.row));
  for (const node of nodes) node.row -= top;
  return { nodes, byName, columns: columns.length, rows: Math.max(...nodes.map((node) => node.row)) + 1 };
}

// A frame per nested model around its nodes' boxes, its name on top; frames of models nested
// deeper sit inside (a smaller margin per level).
export function groupFrames(groups, layout) {
  return (groups || []).map((group) => {
    const members = group.nodes.map((name) => layout.byName.get(name)).filter(Boolean);
    if (!members.length) return null;
    const level = Math.max(0, ...members.map((node) => (node.scope || []).indexOf(group.name)));
    const pad = SIZE.frame * Math.max(1, 2 - level);
    const left = Math.min(...members.map((node) => node.x)) - pad;
    const top = Math.min(...members.map((node) => node.y)) - pad - SIZE.label * (level === 0 ? 1 : 0.8);
    const right = Math.max(...members.map((node) => node.x + SIZE.width)) + pad;
    const bottom = Math.max(...members.map((node) => node.y + SIZE.height)) + pad;
    return { group, x: left, y: top, width: right - left, height: bottom - top };
  }).filter(Boolean);
}

function shapeText(shape) {
  return shape.map((size) => (size === null ? "?" : size)).join("\u00d7");
}

// An edge to the next column is a short S-curve. A longer one (a skip connection) runs straight along
// its row when no layer sits there in the columns between, else it arcs above every layer it passes.
function edgePath(source, target, layout, headroom) {
  const x1 = source.x + SIZE.width, y1 = source.y + SIZE.height / 2;
  const x2 = target.x, y2 = target.y + SIZE.height / 2;
  const between = layout.nodes.filter((node) => node.depth > source.depth && node.depth < target.depth);
  if (!between.some((node) => Math.abs(node.row - source.row) < 0.5)) {
    const bend = x2 - SIZE.column + SIZE.width;  // the straight run ends where the last gap begins
    const middle = (bend + x2) / 2;
    return `M ${x1} ${y1} L ${bend} ${y1} C ${middle} ${y1}, ${middle} ${y2}, ${x2} ${y2}`;
  }
  const top = Math.min(source.y, target.y, ...between.map((node) => node.y));
  const from = [source.x + SIZE.width * 0.75, source.y], to = [target.x + SIZE.width * 0.25, target.y];
  const lift = top - headroom * (0.6 + 0.1 * Math.min(target.depth - source.depth, 3));
  return `M ${from[0]} ${from[1]} C ${from[0]} ${lift}, ${to[0]} ${lift}, ${to[0]} ${to[1]}`;
}

// The name in a box: a nested model's layer by its own name (its frame names the model), cut to fit.
function shortName(node) {
  const name = (node.scope || []).length ? node.name.slice(node.name.lastIndexOf("/") + 1) : node.name;
  return name.length > 19 ? `${name.slice(0, 18)}\u2026` : name;
}

// Draw `graph` into `container`; onPick(node) runs when a layer is clicked (or picked by keyboard).
export function drawGraph(container, graph, onPick) {
  const layout = layoutGraph(graph);
  const arcs = graph.edges.some((edge) => {  // room above the layers for the arcs, when there are any
    const source = layout.byName.get(edge.source), target = layout.byName.get(edge.target);
    return layout.nodes.some((node) => node.depth > source.depth && node.depth < target.depth &&
                             Math.abs(node.row - source.row) < 0.5);
  });
  const framed = (graph.groups || []).length ? SIZE.frame * 2 + SIZE.label : 0;  // room for the frames' names
  const headroom = (arcs ? SIZE.row * 0.8 : 0) + framed;
  for (const node of layout.nodes) {
    node.x = SIZE.margin + SIZE.frame * 2 * Boolean(framed) + node.depth * SIZE.column;
    node.y = SIZE.margin + headroom + node.row * SIZE.row;
  }
  const width = 2 * SIZE.margin + 4 * SIZE.frame * Boolean(framed) + (layout.columns - 1) * SIZE.column + SIZE.width;
  const height = 2 * SIZE.margin + headroom + (layout.rows - 1) * SIZE.row + SIZE.height + SIZE.frame * 2 * Boolean(framed);
  const picture = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "graph-svg",
    "aria-label": `the model's graph: ${graph.nodes.length} layers, ${graph.edges.length} connections` });
  picture.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7,
    markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M 0 0 L 8 4 L 0 8 z", class: "arrow-head" }))));
  for (const frame of groupFrames(graph.groups, layout)) {
    picture.append(svg("g", { class: "nested", "data-group": frame.group.name },
      svg("title", {}, `${frame.group.name}: a ${frame.group.kind} model used as a layer (${frame.group.nodes.length} layers)`),
      svg("rect", { x: frame.x, y: frame.y, width: frame.width, height: frame.height, rx: 10 }),
      svg("text", { x: frame.x + 8, y: frame.y + 12, class: "group-name" }, `${frame.group.name} (${frame.group.kind})`)));
  }
  const edges = svg("g", { class: "edges" });
  for (const edge of graph.edges) {
    const source = layout.byName.get(edge.source), target = layout.byName.get(edge.target);
    const line = svg("path", { d: edgePath(source, target, layout, headroom), class: edge.span > 1 ? "edge skip" : "edge",
      "marker-end": "url(#arrow)", "data-source": edge.source, "data-target": edge.target },
      svg("title", {}, `${edge.source} \u2192 ${edge.target}` + (edge.span > 1 ? " (skip connection)" : "")));
    edges.append(line);
  }
  picture.append(edges);
  for (const node of layout.nodes) {
    const group = svg("g", { class: `node ${family(node.kind)}`, transform: `translate(${node.x} ${node.y})`, tabindex: 0,
      "data-node": node.name, "data-kind": node.kind, "data-depth": node.depth, "data-row": node.row },
      svg("title", {}, `${node.name} (${node.kind}) \u2192 ${shapeText(node.shape)}` +
        (node.inputs.length ? `, reads ${node.inputs.join(", ")}` : "")),
      svg("rect", { width: SIZE.width, height: SIZE.height, rx: 6 }),
      svg("text", { x: 8, y: 17, class: "name" }, shortName(node)),
      svg("text", { x: 8, y: 34, class: "detail" }, `${node.kind} ${shapeText(node.shape)}`));
    const pick = () => {
      picture.querySelectorAll(".node.selected").forEach((other) => other.classList.remove("selected"));
      group.classList.add("selected");
      onPick(node);
    };
    group.addEventListener("click", pick);
    group.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); pick(); } });
    picture.append(group);
  }
  container.replaceChildren(picture);
  return layout;
}
