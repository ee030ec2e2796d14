// The lineage graph canvas: cytoscape.js with a dagre layout, left to right as data flows.
//
// The view hands it a model (nodes and edges from the API); the canvas decides what to draw.
// Small graphs are drawn whole. Past `threshold` nodes, everything further than one hop from
// the focus (and not revealed on purpose) is folded into one group node per kind and
// namespace; clicking a group shows its members a page at a time, so graphs of thousands
// of nodes stay readable and fast.

import cytoscape from "../vendor/cytoscape.esm.min.js";
import dagre from "../vendor/cytoscape-dagre.esm.min.js";
import { kindIconUri, kindName } from "./format.js";

cytoscape.use(dagre);

const HEALTH_STYLE = {
  FAILING: { border: "#d92d20", fill: "#fef3f2" },
  AT_RISK: { border: "#dc6803", fill: "#fffaeb" },
};

const SHAPES = {
  DATASET: "round-rectangle",
  FIELD: "rectangle",
  JOB: "cut-rectangle",
  RUN: "ellipse",
  DATASET_VERSION: "round-rectangle",
  FEATURE: "round-tag",
  MODEL: "barrel",
  MODEL_VERSION: "barrel",
  DEPLOYMENT: "round-hexagon",
  CHECK: "round-octagon",
  RESULT: "ellipse",
  GROUP: "round-rectangle",
};

function stylesheet() {
  const style = [
    {
      selector: "node",
      style: {
        shape: (n) => SHAPES[n.data("kind")] || "round-rectangle",
        width: "data(width)",
        height: "data(height)",
        "background-color": "#ffffff",
        "border-width": 1.5,
        "border-color": "#98a2b3",
        label: "data(label)",
        color: "#101828",
        "font-family": "Liberation Sans, DejaVu Sans, Helvetica, Arial, sans-serif",
        "font-size": 12,
        "text-valign": "center",
        "text-halign": "center",
        "text-margin-x": 10,
        "text-wrap": "ellipsis",
        "text-max-width": (n) => `${n.data("width") - 38}px`,
        "background-image": (n) => kindIconUri(n.data("kind"), n.data("failed")),
        "background-width": 16,
        "background-height": 16,
        "background-position-x": 10,
        "background-position-y": "50%",
        "background-clip": "none",
        "background-image-containment": "over",
      },
    },
    {
      // a name shared with another drawn node, over its namespace
      selector: "node[?qualified]",
      style: { "text-wrap": "wrap", "line-height": 1.2 },
    },
    {
      selector: 'node[kind = "FIELD"]',
      style: { "font-size": 11, "background-width": 13, "background-height": 13 },
    },
    {
      selector: "node:parent",
      style: {
        shape: "round-rectangle",
        "background-color": "#f9fafb",
        "background-image": "none",
        "text-valign": "top",
        "text-halign": "center",
        "text-margin-x": 0,
        "text-margin-y": -6,
        "text-wrap": "none",
        "font-weight": 600,
        padding: 10,
      },
    },
    {
      selector: "node.group",
      style: {
        "border-style": "dashed",
        "background-color": "#f2f4f7",
        color: "#344054",
        "text-wrap": "wrap",
      },
    },
    {
      selector: "edge",
      style: {
        width: 1.5,
        "line-color": "#98a2b3",
        "target-arrow-color": "#98a2b3",
        "target-arrow-shape": "triangle",
        "arrow-scale": 0.9,
        "curve-style": "bezier",
      },
    },
    {
      selector: 'edge[kind = "DERIVES"]',
      style: { "line-style": "dashed", "line-dash-pattern": [5, 3], width: 1.2 },
    },
    { selector: "edge.grouped", style: { width: "data(weight)", "line-color": "#b3b8c2" } },
    { selector: "node.focus", style: { "border-width": 3.5 } },
    { selector: 'node.focus[health = "OK"]', style: { "border-color": "#101828" } },
    {
      selector: "node.origin",
      style: { "border-width": 3.5, "border-color": "#7f56d9", "background-color": "#f4ebff" },
    },
    {
      selector: "node.affected",
      style: {
        "border-width": 3,
        "border-color": "#7f56d9",
        "background-color": "#f9f5ff",
        "underlay-color": "#9e77ed",
        "underlay-opacity": 0.25,
        "underlay-padding": 6,
      },
    },
    {
      selector: "edge.affected, edge.path",
      style: { width: 2.5, "line-color": "#7f56d9", "target-arrow-color": "#7f56d9" },
    },
    { selector: "edge.path.risk", style: { "line-color": "#dc6803", "target-arrow-color": "#dc6803" } },
    { selector: ".dim", style: { opacity: 0.28 } },
    {
      selector: "node:selected",
      style: { "overlay-color": "#1570ef", "overlay-opacity": 0.14, "overlay-padding": 5 },
    },
  ];
  for (const [status, colours] of Object.entries(HEALTH_STYLE)) {
    style.splice(4, 0, {
      selector: `node[health = "${status}"]`,
      style: { "border-color": colours.border, "border-width": 2.5, "background-color": colours.fill },
    });
  }
  return style;
}

// Rough text width at 12px: keeps boxes sized to their labels without measuring the DOM.
// A label of two lines (a name and its namespace) gets a taller box.
function nodeSize(kind, label) {
  const perChar = kind === "FIELD" ? 6.2 : 6.8;
  const lines = label.split("\n");
  const longest = Math.max(...lines.map((line) => line.length));
  const width = Math.round(Math.min(230, Math.max(84, 40 + longest * perChar)));
  return { width, height: (kind === "FIELD" ? 26 : 34) + (lines.length - 1) * 14 };
}

// The text on a node: inside its dataset's box a column needs only its own name, and a
// dataset shows its last two name parts (schema.table); the full name is in the side panel.
function canvasLabel(node, parent) {
  if (parent && node.shortLabel) return node.shortLabel;
  const label = String(node.label || node.id);
  if (node.kind === "DATASET") {
    const parts = label.split(".");
    if (parts.length > 2) return parts.slice(-2).join(".");
  }
  return label;
}

// The namespace to show beside each drawn node whose kind and label another drawn node
// shares; nodes nested in their dataset's box are told apart by the box.
function ambiguity(drawn) {
  const byName = new Map();
  for (const entry of drawn) {
    if (entry.parent) continue;
    const key = `${entry.node.kind}|${entry.label}`;
    if (!byName.has(key)) byName.set(key, []);
    byName.get(key).push(entry.node);
  }
  const qualifiers = new Map();
  for (const nodes of byName.values()) {
    if (nodes.length < 2) continue;
    for (const node of nodes) qualifiers.set(node.id, node.namespace || "");
  }
  return qualifiers;
}

// Room kept between boxes pushed apart after the layout.
const GAP = 8;

/**
 * Push overlapping boxes apart, downwards. dagre is told each box's size but not what
 * cytoscape adds around a dataset's columns (its padding, its name above the box), so a
 * dataset's box could cover the box above it, its name the columns of another. The
 * columns inside each dataset are kept apart first, then the boxes among themselves: taken
 * top to bottom, each moves below any box already placed that it overlaps.
 */
function separate(units) {
  units.forEach((unit) => {
    if (unit.isParent()) separate(unit.children());
  });
  const bounds = (unit) => unit.boundingBox({ includeLabels: true, includeOverlays: false, includeUnderlays: false });
  const placed = [];
  const sorted = units.toArray().map((unit) => ({ unit, box: bounds(unit) })).sort((a, b) => a.box.y1 - b.box.y1);
  for (const { unit, box } of sorted) {
    let dy = 0;
    for (let moved = true; moved; ) {
      moved = false;
      for (const other of placed) {
        const across = box.x1 < other.x2 + GAP && box.x2 > other.x1 - GAP;
        const down = box.y1 + dy < other.y2 + GAP && box.y2 + dy > other.y1 - GAP;
        if (across && down) {
          dy = other.y2 + GAP - box.y1;
          moved = true;
        }
      }
    }
    if (dy > 0) {
      const leaves = unit.isParent() ? unit.descendants().filter((n) => !n.isParent()) : unit;
      leaves.forEach((n) => {
        const at = n.position();
        n.position({ x: at.x, y: at.y + dy });
      });
    }
    placed.push({ x1: box.x1, x2: box.x2, y1: box.y1 + dy, y2: box.y2 + dy });
  }
}

function groupKey(node) {
  return `group|${node.kind}|${node.namespace || ""}`;
}

/**
 * A lineage canvas inside `container`.
 * options: onSelect(node|null) when a node is clicked, onOpen(node) when a node is
 * double-clicked or Enter is pressed on it, threshold (nodes drawn before folding),
 * groupPage (members shown per click on a group).
 */
export class LineageGraph {
  constructor(container, options = {}) {
    this.container = container;
    this.onSelect = options.onSelect || (() => {});
    this.onOpen = options.onOpen || (() => {});
    this.onRender = options.onRender || (() => {});
    this.threshold = options.threshold ?? 150;
    this.groupPage = options.groupPage ?? 25;
    this.nodes = new Map();
    this.edges = new Map();
    this.focus = new Set();
    this.revealed = new Set();
    this.marks = new Map(); // class -> Set of node or edge ids
    this.nested = false;
    this.dimOthers = false;
    this.cy = cytoscape({
      container,
      // no layout at construction: the container may not be in the page yet
      layout: { name: "preset" },
      style: stylesheet(),
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
      selectionType: "single",
    });
    this.cy.on("tap", "node", (event) => this._tap(event.target));
    this.cy.on("dbltap", "node", (event) => this._open(event.target));
    this.cy.on("tap", (event) => {
      if (event.target === this.cy) this.onSelect(null);
    });
    container.addEventListener("keydown", (event) => this._key(event));
  }

  /** Replace the model: nodes [{id, kind, label, namespace, health, ...}], edges [{source, target, kind}]. */
  load({ nodes = [], edges = [] }, { focus = [], nested = false } = {}) {
    this.nodes.clear();
    this.edges.clear();
    this.revealed.clear();
    this.marks.clear();
    this.focus = new Set(focus);
    this.nested = nested;
    this.merge({ nodes, edges });
  }

  /** Add nodes and edges to the model (an expansion); `reveal` ids are always drawn. */
  merge({ nodes = [], edges = [] }, { reveal = [] } = {}) {
    for (const node of nodes) {
      // a node already drawn keeps what it had (its depth from the root, above all)
      if (!this.nodes.has(node.id)) this.nodes.set(node.id, node);
    }
    for (const edge of edges) {
      if (!this.nodes.has(edge.source) || !this.nodes.has(edge.target)) continue;
      this.edges.set(`${edge.source}>${edge.kind}>${edge.target}`, edge);
    }
    for (const id of reveal) this.revealed.add(id);
  }

  /** Highlight ids (nodes or "source>KIND>target" edge keys) with a class; the rest can dim. */
  mark(cls, ids) {
    this.marks.set(cls, new Set(ids));
  }

  /** Remove every highlight. */
  clearMarks() {
    this.marks.clear();
    this.dimOthers = false;
  }

  /** Fade everything that carries no highlight (so the highlighted set stands out). */
  setDimOthers(on) {
    this.dimOthers = on;
  }

  /** Draw the model (folding big graphs) and lay it out; `fit` recentres the view. */
  render({ fit = true } = {}) {
    const elements = this._elements();
    this.cy.resize(); // the container may have been attached or resized since creation
    this.cy.batch(() => {
      this.cy.elements().remove();
      this.cy.add(elements);
      this._applyMarks();
    });
    const layout = this.cy.layout({
      name: "dagre",
      rankDir: "LR",
      nodeSep: 12,
      rankSep: 40,
      edgeSep: 8,
      fit,
      padding: 32,
      animate: false,
      sort: (a, b) => String(a.data("sortKey")).localeCompare(String(b.data("sortKey"))),
    });
    layout.run();
    separate(this.cy.nodes().orphans());
    if (fit) this.cy.fit(undefined, 32);
    if (fit && this.cy.zoom() > 1.25) {
      this.cy.zoom(1.25);
      this.cy.center();
    }
    this.onRender(this.visibleNodes());
  }

  /** The drawn nodes' data (groups included) with their highlight classes, sorted by label. */
  visibleNodes() {
    const highlights = [...this.marks.keys()];
    return this.cy
      .nodes()
      .map((n) => ({ ...n.data(), marks: highlights.filter((cls) => n.hasClass(cls)) }))
      .sort((a, b) => String(a.fullLabel || a.label).localeCompare(String(b.fullLabel || b.label)));
  }

  /** Select a node by id (list and keyboard navigation); `center` pans it into the middle. */
  select(id, { center = true } = {}) {
    const node = this.cy.getElementById(id);
    if (!node.nonempty()) return;
    this.cy.nodes().unselect();
    node.select();
    if (center) this.cy.animate({ center: { eles: node }, duration: 150 });
    this._tap(node);
  }

  /** Show a group's next page of members. */
  expandGroup(groupId) {
    const node = this.cy.getElementById(groupId);
    if (!node.nonempty()) return;
    const members = node.data("members") || [];
    for (const id of members.slice(0, this.groupPage)) this.revealed.add(id);
    this.render();
  }

  /** Zoom to fit everything drawn. */
  fit() {
    this.cy.fit(undefined, 32);
  }

  /** Zoom in (factor > 1) or out around the centre. */
  zoomBy(factor) {
    const zoom = this.cy.zoom() * factor;
    this.cy.zoom({ level: zoom, renderedPosition: { x: this.cy.width() / 2, y: this.cy.height() / 2 } });
  }

  /** Export the drawing as a PNG data URL. */
  png() {
    return this.cy.png({ full: true, scale: 2, bg: "#ffffff" });
  }

  /** Release the canvas; safe to call more than once. */
  destroy() {
    if (!this.cy.destroyed()) this.cy.destroy();
  }

  _tap(node) {
    const data = node.data();
    if (data.kind === "GROUP") {
      this.expandGroup(data.id);
      return;
    }
    this.onSelect(this.nodes.get(data.id) || data);
  }

  _open(node) {
    const data = node.data();
    if (data.kind === "GROUP") return;
    this.onOpen(this.nodes.get(data.id) || data);
  }

  _key(event) {
    const step = 60;
    const selected = this.cy.nodes(":selected").first();
    const actions = {
      "+": () => this.zoomBy(1.2),
      "=": () => this.zoomBy(1.2),
      "-": () => this.zoomBy(1 / 1.2),
      0: () => this.fit(),
      ArrowLeft: () => this.cy.panBy({ x: step, y: 0 }),
      ArrowRight: () => this.cy.panBy({ x: -step, y: 0 }),
      ArrowUp: () => this.cy.panBy({ x: 0, y: step }),
      ArrowDown: () => this.cy.panBy({ x: 0, y: -step }),
      Enter: () => selected.nonempty() && this._open(selected),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }

  // Hop distance from the focus over the model, ignoring direction.
  _distances() {
    const adjacency = new Map();
    for (const edge of this.edges.values()) {
      if (!adjacency.has(edge.source)) adjacency.set(edge.source, []);
      if (!adjacency.has(edge.target)) adjacency.set(edge.target, []);
      adjacency.get(edge.source).push(edge.target);
      adjacency.get(edge.target).push(edge.source);
    }
    const distance = new Map();
    let frontier = [...this.focus].filter((id) => this.nodes.has(id));
    frontier.forEach((id) => distance.set(id, 0));
    for (let hop = 1; frontier.length; hop += 1) {
      const next = [];
      for (const id of frontier) {
        for (const other of adjacency.get(id) || []) {
          if (!distance.has(other)) {
            distance.set(other, hop);
            next.push(other);
          }
        }
      }
      frontier = next;
    }
    return distance;
  }

  // Which model node each node is drawn as: itself, or the group it is folded into.
  _representatives() {
    const shown = new Map();
    const all = [...this.nodes.values()];
    if (all.length <= this.threshold) {
      for (const node of all) shown.set(node.id, node.id);
      return { shown, groups: new Map() };
    }
    const distance = this._distances();
    const marked = new Set();
    for (const ids of this.marks.values()) ids.forEach((id) => marked.add(id));
    const keep = (node) =>
      (distance.get(node.id) ?? Infinity) <= 1 || this.revealed.has(node.id) || marked.has(node.id);
    const groups = new Map();
    for (const node of all) {
      if (keep(node)) {
        shown.set(node.id, node.id);
        continue;
      }
      const key = groupKey(node);
      if (!groups.has(key)) groups.set(key, { kind: node.kind, namespace: node.namespace, members: [] });
      groups.get(key).members.push(node);
      shown.set(node.id, key);
    }
    for (const group of groups.values()) {
      group.members.sort(
        (a, b) =>
          (distance.get(a.id) ?? Infinity) - (distance.get(b.id) ?? Infinity) ||
          String(a.label).localeCompare(String(b.label)),
      );
    }
    return { shown, groups };
  }

  _elements() {
    const { shown, groups } = this._representatives();
    const elements = [];
    const drawn = [];
    for (const node of this.nodes.values()) {
      if (shown.get(node.id) !== node.id) continue;
      const parent =
        this.nested && node.kind === "FIELD" && node.dataset && shown.get(node.dataset) === node.dataset
          ? node.dataset
          : undefined;
      drawn.push({ node, parent, label: canvasLabel(node, parent) });
    }
    const qualifiers = ambiguity(drawn);
    for (const { node, parent, label: plain } of drawn) {
      // a name drawn more than once (the same table in two databases) says where each is
      const namespace = qualifiers.get(node.id);
      const label = namespace ? `${plain}\n${namespace}` : plain;
      elements.push({
        group: "nodes",
        data: {
          id: node.id,
          kind: node.kind,
          label,
          fullLabel: node.label || node.id,
          namespace: namespace || undefined,
          qualified: Boolean(namespace),
          health: node.health || "OK",
          failed: Boolean(node.failed),
          parent,
          sortKey: `${node.kind === "FIELD" ? 1 : 0}${label}`,
          ...nodeSize(node.kind, label),
        },
        classes: this.focus.has(node.id) ? "focus" : "",
      });
    }
    for (const [key, group] of groups) {
      const count = group.members.length;
      const label = `${count} more ${kindName(group.kind).toLowerCase()}${count === 1 ? "" : "s"}\n${group.namespace || ""}`;
      elements.push({
        group: "nodes",
        data: {
          id: key,
          kind: "GROUP",
          label,
          health: group.members.some((m) => m.health === "FAILING")
            ? "FAILING"
            : group.members.some((m) => m.health === "AT_RISK")
              ? "AT_RISK"
              : "OK",
          members: group.members.map((m) => m.id),
          memberKind: group.kind,
          sortKey: `2${label}`,
          width: 190,
          height: 46,
        },
        classes: "group",
      });
    }
    const seen = new Map();
    for (const [key, edge] of this.edges) {
      const source = shown.get(edge.source);
      const target = shown.get(edge.target);
      if (!source || !target || source === target) continue;
      // an edge into a field's own dataset box is drawn by the nesting itself
      if (this.nested && edge.kind === "HAS_FIELD") continue;
      const folded = source !== edge.source || target !== edge.target;
      const id = folded ? `${source}>${edge.kind}>${target}` : key;
      if (seen.has(id)) {
        seen.get(id).data.weight = Math.min(6, seen.get(id).data.weight + 0.5);
        continue;
      }
      const element = {
        group: "edges",
        data: { id, source, target, kind: edge.kind, weight: 1.5 },
        classes: folded ? "grouped" : "",
      };
      seen.set(id, element);
      elements.push(element);
    }
    return elements;
  }

  _applyMarks() {
    if (!this.marks.size) return;
    let any = false;
    for (const [cls, ids] of this.marks) {
      for (const id of ids) {
        const element = this.cy.getElementById(id);
        if (element.nonempty()) {
          element.addClass(cls);
          any = true;
        }
      }
    }
    if (any && this.dimOthers) {
      const lit = [...this.marks.keys()].map((cls) => `.${cls}`).join(", ");
      this.cy.elements().not(lit).not(".focus").addClass("dim");
    }
  }
}
