// The graph panel shared by the views: canvas, zoom controls, status line, legend and an
// accessible list of the nodes in view.

import { h } from "./dom.js";
import { kindIcon } from "./format.js";
import { LineageGraph } from "./graph.js";

// Canvases of the current page; the router destroys them when the page changes.
const live = new Set();

/** Destroy every canvas built for the page being left. */
export function destroyGraphs() {
  for (const graph of live) graph.destroy();
  live.clear();
}

/**
 * Build a graph panel. Returns {element, graph}; the canvas is created once the element is
 * in the page (cytoscape needs a sized container), so call this before inserting it and use
 * `graph` after insertion. `openHint` says what Enter (a double click) does: what `onOpen` does.
 */
export function graphPanel({ label, status, onSelect, onOpen, onRender, legendExtra = null, threshold = 150, openHint = "expands the selected node" }) {
  const canvas = h("div", {
    class: "graph",
    id: "graph",
    tabindex: "0",
    role: "application",
    "aria-label": `${label}. Arrow keys pan, plus and minus zoom, 0 fits, Enter ${openHint}.`,
  });
  const graph = new LineageGraph(canvas, { onSelect, onOpen, onRender, threshold });
  live.add(graph);
  const controls = h(
    "div",
    { class: "graph-controls" },
    h("button", { type: "button", title: "Zoom in", "aria-label": "Zoom in", onclick: () => graph.zoomBy(1.25) }, "+"),
    h("button", { type: "button", title: "Zoom out", "aria-label": "Zoom out", onclick: () => graph.zoomBy(0.8) }, "−"),
    h("button", { type: "button", title: "Fit to screen", "aria-label": "Fit to screen", onclick: () => graph.fit() }, "⤢"),
  );
  const element = h("section", { class: "panel graph-panel", "aria-label": label }, canvas, controls, status, legend(legendExtra));
  return { element, graph };
}

function legend(extra) {
  return h(
    "div",
    { class: "legend", "aria-label": "Legend" },
    h("span", {}, h("span", { class: "swatch ok" }), "OK"),
    h("span", {}, h("span", { class: "swatch risk" }), "At risk"),
    h("span", {}, h("span", { class: "swatch fail" }), "Failing"),
    extra,
    ...["DATASET", "FIELD", "JOB", "FEATURE", "MODEL_VERSION", "DEPLOYMENT"].map((kind) =>
      h("span", {}, kindIcon(kind), { DATASET: "dataset", FIELD: "column", JOB: "job", FEATURE: "feature", MODEL_VERSION: "model version", DEPLOYMENT: "deployment" }[kind]),
    ),
    h("span", { class: "muted" }, "Data flows left to right"),
  );
}

const MARK_NAMES = { origin: "changed", affected: "affected" };

/**
 * A keyboard-usable list of the nodes drawn, each selecting its node on the canvas.
 * `markNames` says how highlighted nodes are labelled ({class: text}).
 */
export function nodeList(nodes, onPick, markNames = MARK_NAMES) {
  if (!nodes.length) return h("p", { class: "muted" }, "Nothing drawn.");
  return h(
    "ul",
    { class: "node-list", "aria-label": "Nodes in view" },
    nodes.map((node) =>
      h(
        "li",
        { class: node.marks.length ? `lit ${node.marks.join(" ")}` : null },
        h(
          "button",
          { type: "button", dataset: { id: node.id }, onclick: (event) => pick(event.currentTarget, node, onPick) },
          kindIcon(node.kind === "GROUP" ? node.memberKind : node.kind, "icon", node.failed),
          h("span", { class: "node-name", title: name(node) }, name(node)),
          // the same name drawn twice: where each one is
          node.qualified ? h("span", { class: "node-namespace mono", title: node.namespace }, node.namespace) : null,
          Object.entries(markNames)
            .filter(([cls]) => node.marks.includes(cls))
            .slice(0, 1)
            .map(([, text]) => h("span", { class: "badge mark" }, text)),
          h("span", { class: `health-dot ${node.health}`, title: node.health }),
        ),
      ),
    ),
  );
}

// Picking a node can redraw the list (opening a folded group does): the keyboard stays
// on the group's button while some of it is still folded, else moves to the first member
// it opened, where it fell to the page's start before.
function pick(button, node, onPick) {
  const holder = button.closest("ul").parentElement;
  onPick(node.id);
  if (button.isConnected || !holder) return;
  const find = (id) => holder.querySelector(`ul.node-list button[data-id="${CSS.escape(id)}"]`);
  const next = find(node.id) || (node.members || []).map(find).find(Boolean);
  if (next) next.focus();
}

function name(node) {
  return String(node.fullLabel || node.label).replace("\n", " · ");
}
