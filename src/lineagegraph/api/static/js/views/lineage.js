// The lineage explorer: an interactive graph around one entity.

import { gql } from "../api.js";
import { emptyState, entityLink, healthReasons, panel, props } from "../components.js";
import { h, replace } from "../dom.js";
import { formatTime, healthBadge, kindBadge, kindFromId, kindIcon, plural } from "../format.js";
import { graphPanel, nodeList } from "../graphpanel.js";
import { fetchLineage } from "../lineagedata.js";
import { go, link } from "../router.js";
import { pickEntity } from "../picker.js";

const DEPTHS = [["1", "1 hop"], ["2", "2 hops"], ["3", "3 hops"], ["5", "5 hops"], ["10", "10 hops"], ["", "All"]];
const DIRECTIONS = [["UPSTREAM", "Upstream"], ["BOTH", "Both"], ["DOWNSTREAM", "Downstream"]];
export const LINEAGE_KINDS = ["DATASET", "FIELD", "JOB", "FEATURE", "MODEL", "MODEL_VERSION", "DEPLOYMENT"];

const DETAIL_QUERY = `query NodeDetail($id: ID!) {
  node(id: $id) {
    id kind label namespace name
    health { status reasons { resultId checkId checkedId path hops precision kind message result { observedAt observed check { id latestResult { passed } } } } }
    ... on Dataset { description owners tags }
    ... on Field { type description }
    ... on Job { description owners jobType }
    ... on Feature { description owners }
    ... on Model { description owners }
    ... on ModelVersion { stage createdAt metrics { name value } }
    ... on Deployment { environment owners }
  }
}`;

/**
 * The settings of a lineage view, read from the route (so views are linkable), and
 * `ignored`: what the address asked for that is not a setting, each said in words (the
 * view then uses the default instead).
 */
export function settingsFrom(params) {
  const ignored = [];
  const directionText = params.get("direction") || "BOTH";
  let direction = directionText.toUpperCase();
  if (!DIRECTIONS.some(([d]) => d === direction)) {
    ignored.push(`direction “${directionText}” (upstream, downstream or both): showing both ways`);
    direction = "BOTH";
  }
  const depthText = params.has("depth") ? params.get("depth").trim() : "2";
  let depth;
  if (depthText === "" || depthText.toLowerCase() === "all") depth = null; // no bound
  else if (/^\d+$/.test(depthText)) depth = Number(depthText);
  else {
    ignored.push(`depth “${depthText}” (a number of hops, or all): showing 2 hops`);
    depth = 2;
  }
  const columns = params.get("columns");
  if (columns !== null && !["", "0", "1"].includes(columns)) ignored.push(`columns “${columns}” (1 or 0): showing dataset level`);
  let asOf = params.get("asOf") || null;
  // A time without a zone is UTC, as the server reads it (a browser reads it as local time).
  if (asOf !== null && /T\d/.test(asOf) && !/(Z|[+-]\d\d(:?\d\d)?)$/i.test(asOf)) asOf += "Z";
  if (asOf !== null && Number.isNaN(new Date(asOf).getTime())) {
    ignored.push(`as of “${asOf}” (a time such as 2026-10-02T12:00:00Z): showing the current lineage`);
    asOf = null;
  }
  return { direction, depth, columnLevel: columns === "1", asOf, ignored };
}

/** Render #/lineage/<id>?direction=BOTH&depth=2&columns=1&asOf=2026-10-02T00:00:00Z */
export async function render(root, route, ctx) {
  if (!route.id) {
    replace(
      root,
      h("div", { class: "page-head" }, h("div", { class: "title" }, h("h1", {}, "Lineage explorer"), h("span", { class: "muted" }, "Pick a dataset, column, job, feature, model or deployment to explore"))),
      pickEntity({ kinds: LINEAGE_KINDS, hrefFor: (node) => link("lineage", node.id), label: "Entity to explore", ctx }),
    );
    return;
  }
  if (!LINEAGE_KINDS.includes(kindFromId(route.id))) {
    replace(root, emptyState(`Lineage is drawn for datasets, columns, jobs, features, models, model versions and deployments.`, entityLink(route.id)));
    return;
  }
  const settings = settingsFrom(route.params);
  const update = (changes) => go(link("lineage", route.id, toParams({ ...settings, ...changes })));
  // what the address asked for and the view cannot show is said, and the address is put
  // right, so it names what is drawn (a reload or a shared link gives the same view)
  const ignoredNote = settings.ignored.length
    ? h("p", { class: "notice", role: "status", id: "lineage-ignored" }, `Not understood in the address, so ignored: ${settings.ignored.join("; ")}.`)
    : null;
  const shown = link("lineage", route.id, toParams(settings));
  const used = new URLSearchParams(shown.split("?")[1] || "");
  const differs = ["direction", "depth", "columns", "asOf"].some((key) => route.params.has(key) && route.params.get(key) !== (used.get(key) ?? ""));
  if (settings.ignored.length || differs) go(shown, { replace: true });

  const side = h("div", { class: "stack", id: "lineage-side" });
  const status = h("span", { class: "graph-status", role: "status" }, "Loading…");
  const listBox = h("div", {});
  const selection = h("div", {}, h("p", { class: "muted" }, "Click a node for details. Double-click (or select and press Enter) to expand it."));
  const expanded = new Set();

  const { element: graphEl, graph } = graphPanel({
    label: "Lineage graph",
    status,
    onSelect: (node) => showDetail(node),
    onOpen: (node) => expand(node),
    onRender: (nodes) => replace(listBox, nodeList(nodes, (id) => graph.select(id))),
  });

  replace(
    root,
    h("div", { class: "page-head" }, h("div", { class: "title", id: "lineage-title" }, h("h1", {}, "Lineage"), h("span", { class: "muted" }, "Loading…"))),
    toolbar(settings, update),
    ignoredNote,
    h("div", { class: "split" }, graphEl, side),
  );
  replace(side, panel("Selected", selection, { id: "selected" }), panel("In view", listBox, { id: "in-view" }));

  const result = await fetchLineage(route.id, settings);
  if (!ctx.isCurrent()) return;
  document.title = `Lineage of ${result.root.label} · lineagegraph`;
  replace(
    root.querySelector("#lineage-title"),
    h("div", { class: "title-row" }, kindIcon(result.root.kind, "icon entity-icon"), h("h1", {}, result.root.label)),
    h(
      "div",
      { class: "subtitle" },
      kindBadge(result.root.kind),
      healthBadge(result.root.health),
      h("span", { class: "mono" }, result.root.namespace),
      h("a", { href: link("entity", route.id) }, "Entity page"),
      result.root.kind === "DATASET" ? h("a", { href: link("impact", route.id) }, "Impact of a change") : null,
      ["MODEL_VERSION", "DEPLOYMENT"].includes(result.root.kind) ? h("a", { href: link("root-cause", route.id) }, "Root cause") : null,
    ),
  );
  graph.load(result, { focus: [route.id], nested: settings.columnLevel });
  graph.render();
  describe(result);
  graph.select(route.id, { center: false });

  function describe(res) {
    const parts = [`${plural(graph.nodes.size, "node")}, ${plural(graph.edges.size, "edge")}`];
    if (graph.cy.nodes(".group").length) parts.push("some folded: click a dashed box to open it");
    if (res && res.truncated) parts.push(`cut at a bound (${res.truncation})`);
    if (res && res.cycles && res.cycles.length) parts.push(plural(res.cycles.length, "cycle"));
    status.textContent = parts.join(" · ");
  }

  async function expand(node, direction = settings.direction) {
    const key = `${node.id}:${direction}`;
    if (expanded.has(key)) return;
    expanded.add(key);
    try {
      const more = await fetchLineage(node.id, { ...settings, direction, depth: 1 });
      if (!ctx.isCurrent()) return;
      // depths in the expansion count from the expanded node, not from the root
      const nodes = more.nodes.map((n) => ({ ...n, depth: undefined }));
      graph.merge({ nodes, edges: more.edges }, { reveal: nodes.map((n) => n.id) });
      graph.render();
      // one node's neighbours drawn: the rest is still cut where the first answer was
      describe(result);
      graph.select(node.id, { center: false });
    } catch (err) {
      expanded.delete(key);
      ctx.showError(err, `Expanding ${node.label}`);
    }
  }

  async function showDetail(node) {
    if (!node) {
      replace(selection, h("p", { class: "muted" }, "Nothing selected."));
      return;
    }
    replace(selection, h("p", { class: "muted" }, `Loading ${node.label}…`));
    let detail;
    try {
      detail = (await gql(DETAIL_QUERY, { id: node.id })).node;
    } catch (err) {
      ctx.showError(err, `Loading ${node.label}`);
      return;
    }
    if (!ctx.isCurrent() || !detail) return;
    const canRoot = node.id !== route.id;
    replace(
      selection,
      h("div", { class: "title-row" }, kindIcon(detail.kind), h("strong", {}, node.label)),
      h("p", { class: "subtitle" }, kindBadge(detail.kind), " ", healthBadge(detail.health.status)),
      props([
        ["Namespace", h("code", {}, detail.namespace)],
        ["Description", detail.description],
        ["Type", detail.type || detail.jobType || detail.environment || detail.stage],
        ["Owners", detail.owners && detail.owners.length ? detail.owners.join(", ") : null],
        ["Created", formatTime(detail.createdAt)],
        ["Depth", node.depth === undefined ? null : String(node.depth)],
      ]),
      detail.health.status !== "OK" ? healthReasons(detail.health) : null,
      h(
        "div",
        { class: "actions", style: "margin-top:10px" },
        h("a", { class: "button small", href: link("entity", node.id) }, "Open page"),
        canRoot ? h("a", { class: "button small", href: link("lineage", node.id, toParams(settings)) }, "Centre here") : null,
        h("button", { type: "button", class: "small", onclick: () => expand(node, "UPSTREAM") }, "Expand upstream"),
        h("button", { type: "button", class: "small", onclick: () => expand(node, "DOWNSTREAM") }, "Expand downstream"),
      ),
    );
  }
}

function toParams(settings) {
  return {
    direction: settings.direction,
    // an empty value is left out of links, which then meant the default of 2 hops
    depth: settings.depth === null ? "all" : String(settings.depth),
    columns: settings.columnLevel,
    asOf: settings.asOf,
  };
}

// The depth menu, with the depth in use when the address asked for one it does not list.
function depthChoices(depth) {
  const value = String(depth ?? "");
  if (DEPTHS.some(([v]) => v === value)) return DEPTHS;
  const extra = [value, `${value} hop${depth === 1 ? "" : "s"}`];
  return [...DEPTHS.filter(([v]) => v !== "" && Number(v) < depth), extra, ...DEPTHS.filter(([v]) => v === "" || Number(v) > depth)];
}

function toolbar(settings, update) {
  const directions = h(
    "div",
    { class: "segmented", role: "group", "aria-label": "Direction" },
    DIRECTIONS.map(([value, name]) =>
      h("button", { type: "button", "aria-pressed": String(settings.direction === value), onclick: () => update({ direction: value }) }, name),
    ),
  );
  const depth = h(
    "select",
    { id: "lineage-depth", onchange: (e) => update({ depth: e.target.value === "" ? null : Number(e.target.value) }) },
    depthChoices(settings.depth).map(([value, name]) => h("option", { value, selected: String(settings.depth ?? "") === value }, name)),
  );
  const columns = h("input", { type: "checkbox", id: "lineage-columns", checked: settings.columnLevel, onchange: (e) => update({ columnLevel: e.target.checked }) });
  const asOf = h("input", {
    type: "datetime-local",
    id: "lineage-asof",
    // the time in use, in UTC as the label says: the address's text cut short showed 14:00
    // for 14:00+02:00 (12:00 UTC), and nothing for a date alone, beside "Lineage as it was at"
    value: settings.asOf ? new Date(settings.asOf).toISOString().slice(0, 16) : "",
    onchange: (e) => update({ asOf: e.target.value ? `${e.target.value}:00Z` : null }),
  });
  return h(
    "div",
    { class: "panel toolbar" },
    h("div", { class: "field" }, h("span", {}, "Direction"), directions),
    h("label", { class: "field", for: "lineage-depth" }, "Depth", depth),
    h("label", { class: "field", for: "lineage-asof" }, "As of (UTC)", h("span", { style: "display:flex;gap:6px" }, asOf, settings.asOf ? h("button", { type: "button", onclick: () => update({ asOf: null }) }, "Now") : null)),
    h("label", { class: "check", for: "lineage-columns" }, columns, "Column level"),
    h("span", { class: "spacer" }),
    // health has no past: the colours on a past graph are today's, which it must say
    h("span", { class: "hint", id: "lineage-when" }, settings.asOf ? `Lineage as it was at ${formatTime(settings.asOf)}; health (colours, badges) as it is now` : "Current lineage"),
  );
}
