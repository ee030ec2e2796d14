// The cascade view: what is FAILING and AT_RISK now, drawn as an overlay of evidence paths,
// each at-risk entity listed with its path back to the failing check.

import { gql } from "../api.js";
import { displayLabel, emptyState, entityLink, panel, pathChips } from "../components.js";
import { h, replace } from "../dom.js";
import { KINDS, formatTime, healthBadge, kindBadge, kindFromId, labelFromId } from "../format.js";
import { graphPanel, nodeList } from "../graphpanel.js";
import { datasetIdOf } from "../lineagedata.js";
import { go, link } from "../router.js";

const PAGE = 500;
const MAX_PAGES = 10;

export const AT_RISK_QUERY = `query AtRisk($first: Int!, $after: String) {
  atRisk(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id kind status
      node { id kind label namespace name }
      reasons { resultId checkId checkedId path hops precision message result { observedAt observed } }
    }
  }
}`;

async function fetchAtRisk() {
  const records = [];
  let after = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const data = await gql(AT_RISK_QUERY, { first: PAGE, after });
    records.push(...data.atRisk.nodes);
    if (!data.atRisk.pageInfo.hasNextPage) return { records, complete: true };
    after = data.atRisk.pageInfo.endCursor;
  }
  return { records, complete: false };
}

/** Render #/at-risk?kind=DEPLOYMENT&focus=<id> */
export async function render(root, route, ctx) {
  document.title = "At risk · lineagegraph";
  const kindFilter = route.params.get("kind") || "";
  const focus = route.params.get("focus");
  replace(root, h("div", { class: "page-head" }, h("div", { class: "title" }, h("h1", {}, "At risk now"), h("span", { class: "muted" }, "Failed checks and everything downstream that they put at risk"))), h("p", { class: "muted" }, "Loading…"));
  const { records, complete } = await fetchAtRisk();
  if (!ctx.isCurrent()) return undefined;

  const failing = records.filter((r) => r.status === "FAILING");
  const atRisk = records.filter((r) => r.status === "AT_RISK");
  const byKind = (kind) => atRisk.filter((r) => r.kind === kind).length;
  const cards = h(
    "div",
    { class: "summary-cards" },
    card(failing.length, "failing", "alert"),
    card(atRisk.length, "at risk", "warn"),
    card(byKind("MODEL_VERSION"), "model versions at risk", byKind("MODEL_VERSION") ? "warn" : ""),
    card(byKind("DEPLOYMENT"), "deployments at risk", byKind("DEPLOYMENT") ? "warn" : ""),
  );
  const head = h("div", { class: "page-head" }, h("div", { class: "title" }, h("h1", {}, "At risk now"), h("span", { class: "muted" }, "Failed checks and everything downstream that they put at risk")));
  if (!records.length) {
    replace(root, head, cards, emptyState("Nothing is failing and nothing is at risk: every latest check result passed."));
    return undefined;
  }

  const status = h("span", { class: "graph-status", role: "status" });
  const listBox = h("div", {});
  const selected = h("div", {}, h("p", { class: "muted" }, "Click a node to see its evidence."));
  const { element: graphEl, graph } = graphPanel({
    label: "At-risk overlay",
    status,
    onSelect: (node) => showEvidence(node),
    onOpen: (node) => go(link("lineage", node.id)),
    onRender: (nodes) => replace(listBox, nodeList(nodes, (id) => graph.select(id))),
    legendExtra: h("span", {}, h("span", { class: "swatch", style: "border-color:#dc6803" }), "evidence path"),
  });

  const kindSelect = h(
    "select",
    { id: "risk-kind", onchange: (e) => go(link("at-risk", null, { kind: e.target.value, focus })) },
    h("option", { value: "" }, "All kinds"),
    KINDS.filter(([k]) => atRisk.some((r) => r.kind === k) || failing.some((r) => r.kind === k)).map(([k, name]) => h("option", { value: k, selected: k === kindFilter }, name)),
  );
  const shown = records.filter((r) => !kindFilter || r.kind === kindFilter);
  const listPanel = panel(
    `Evidence (${shown.length})`,
    h("div", { class: "stack", id: "evidence" }, shown.map(evidenceItem)),
    { actions: h("label", { class: "field", for: "risk-kind" }, "Show", kindSelect), id: "evidence-panel" },
  );

  replace(
    root,
    head,
    cards,
    complete ? null : h("p", { class: "hint" }, "Showing the first records only: the at-risk set is larger than this page can draw."),
    h("div", { class: "split wide-side" }, graphEl, h("div", { class: "stack" }, panel("Selected", selected, { id: "selected" }), panel("In view", listBox))),
    listPanel,
  );

  const model = overlay(records);
  graph.load(model, { focus: failing.map((r) => r.id) });
  graph.mark("path", model.edges.map((e) => `${e.source}>${e.kind}>${e.target}`));
  graph.mark("risk", model.edges.map((e) => `${e.source}>${e.kind}>${e.target}`));
  graph.render();
  status.textContent = `${failing.length} failing · ${atRisk.length} at risk`;
  if (focus) graph.select(focus);
  return () => graph.destroy();

  function showEvidence(node) {
    if (!node) return;
    const record = records.find((r) => r.id === node.id);
    replace(
      selected,
      h("div", { class: "title-row" }, entityLink(node.id, { text: node.label })),
      h("p", { class: "subtitle" }, kindBadge(node.kind), " ", healthBadge(record ? record.status : "OK")),
      record ? reasons(record) : h("p", { class: "muted" }, "On an evidence path; not at risk itself."),
      h("div", { class: "actions" }, h("a", { class: "button small", href: link("lineage", node.id) }, "Lineage"), h("a", { class: "button small", href: link("entity", node.id) }, "Open page")),
    );
  }
}

function card(value, label, cls = "") {
  return h("div", { class: `card ${cls}` }, h("div", { class: "value" }, String(value)), h("div", { class: "label" }, label));
}

function reasons(record) {
  return h(
    "div",
    {},
    record.reasons.map((reason) =>
      h(
        "div",
        { class: `reason ${reason.hops === 0 ? "failing" : ""}` },
        h("div", {}, reason.message),
        h("div", { class: "hint" }, `${reason.precision === "CONFIRMED" ? "Confirmed through runs" : "Potential (design lineage)"} · ${reason.hops} hop${reason.hops === 1 ? "" : "s"}`, reason.result && reason.result.observedAt ? ` · check failed ${formatTime(reason.result.observedAt)}` : ""),
        pathChips([reason.checkId, ...reason.path.filter((id) => id !== reason.checkId)]),
      ),
    ),
  );
}

function evidenceItem(record) {
  const node = record.node || { id: record.id, kind: record.kind };
  return h(
    "article",
    { class: "evidence-item", dataset: { id: record.id }, "aria-label": displayLabel(node) },
    h("div", { class: "title-row" }, entityLink(node), healthBadge(record.status), kindBadge(record.kind)),
    reasons(record),
  );
}

// The overlay graph: every entity on an evidence path, joined along the paths, the failing
// check at the start of each.
function overlay(records) {
  const status = new Map(records.map((r) => [r.id, r.status]));
  const known = new Map(records.filter((r) => r.node).map((r) => [r.id, r.node]));
  const nodes = new Map();
  const edges = new Map();
  const add = (id) => {
    if (nodes.has(id)) return;
    const kind = kindFromId(id);
    const node = known.get(id);
    const parts = String(id).split("|");
    nodes.set(id, {
      id,
      kind,
      namespace: node ? node.namespace : parts[1],
      name: node ? node.name : parts[2],
      label: node ? displayLabel(node) : labelFromId(id),
      health: status.get(id) || (kind === "CHECK" ? "FAILING" : "OK"),
      dataset: kind === "FIELD" ? datasetIdOf({ namespace: parts[1], name: parts[2] }) : undefined,
    });
  };
  for (const record of records) {
    add(record.id);
    for (const reason of record.reasons) {
      const path = [reason.checkId, ...reason.path.filter((id) => id !== reason.checkId)];
      path.forEach(add);
      for (let i = 1; i < path.length; i += 1) {
        const kind = "EVIDENCE";
        edges.set(`${path[i - 1]}>${kind}>${path[i]}`, { source: path[i - 1], target: path[i], kind });
      }
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}
