// The cascade view: what is FAILING and AT_RISK now, drawn as an overlay of the evidence
// paths at entity level, and each at-risk entity with its path back to the failing check.

import { gql } from "../api.js";
import { displayLabel, emptyState, entityLink, panel, pathChips } from "../components.js";
import { h, replace } from "../dom.js";
import { chips, formatTime, healthBadge, kindBadge, kindFromId, kindName, labelFromId, noun, reasonCheckFails, reasonKindLabel } from "../format.js";
import { graphPanel, nodeList } from "../graphpanel.js";
import { datasetIdOf } from "../lineagedata.js";
import { go, link } from "../router.js";
import { LINEAGE_KINDS } from "./lineage.js";

const PAGE = 1000;
const MAX_PAGES = 10;
// The order entities are listed in: what is failing, then what serves predictions, then back
// up the flow; runtime records last.
const ORDER = ["DEPLOYMENT", "MODEL_VERSION", "MODEL", "FEATURE", "DATASET", "JOB", "FIELD", "DATASET_VERSION", "RUN", "CHECK", "RESULT"];
// What the list shows unless asked for more: the entities people act on.
const KEY_KINDS = new Set(["DEPLOYMENT", "MODEL_VERSION", "MODEL", "FEATURE", "DATASET"]);

// Who to tell: an entity's own owners; a model version's are its model's, a column's and a
// dataset version's their dataset's, a run's its job's (as the entity pages show them).
const OWNERS = `... on Dataset { owners } ... on Job { owners } ... on Feature { owners } ... on Model { owners }
      ... on Deployment { owners } ... on ModelVersion { model { owners } } ... on Field { dataset { owners } }
      ... on DatasetVersion { dataset { owners } } ... on Run { job { owners } }`;

export const AT_RISK_QUERY = `query AtRisk($first: Int!, $after: String) {
  atRisk(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id kind status
      node { id kind label namespace name ${OWNERS} }
      reasons { resultId checkId checkedId path hops precision kind message result { observedAt observed check { id latestResult { passed } } } }
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

/**
 * The entity a path step stands for on the overlay: a column, dataset version or check
 * result is drawn as its dataset, a run as its job, so paths read as data flows.
 */
export function entityOf(id) {
  const parts = String(id).split("|");
  const kind = kindFromId(id);
  if (kind === "FIELD" || kind === "DATASET_VERSION") return `dataset|${parts[1]}|${parts[2]}`;
  if (kind === "RUN") return `job|${parts[1]}|${parts[2]}`;
  return id;
}

/** The evidence path of a reason at entity level: the check first, then one step per entity. */
export function entityPath(reason) {
  const steps = [reason.checkId, ...reason.path.map(entityOf)];
  return steps.filter((id, i) => i === 0 || id !== steps[i - 1]);
}

/** Render #/at-risk?show=key|all|<KIND>&focus=<id> */
export async function render(root, route, ctx) {
  document.title = "At risk · lineagegraph";
  let show = route.params.get("show") || "key";
  const focus = route.params.get("focus");
  const head = h("div", { class: "page-head" }, h("div", { class: "title" }, h("h1", {}, "At risk now"), h("span", { class: "muted" }, "Failed checks and everything downstream they put at risk, with the evidence")));
  replace(root, head, h("p", { class: "muted" }, "Loading…"));
  const { records, complete } = await fetchAtRisk();
  if (!ctx.isCurrent()) return;

  const failing = records.filter((r) => r.status === "FAILING");
  const atRisk = records.filter((r) => r.status === "AT_RISK");
  const count = (kind) => atRisk.filter((r) => r.kind === kind).length;
  const cards = h(
    "div",
    { class: "summary-cards", id: "risk-summary" },
    // entities, not checks: a failing field check makes its column and its dataset failing
    card(failing.length, `${noun(failing.length, "entity", "entities")} failing`, failing.length ? "alert" : ""),
    card(atRisk.length, `${noun(atRisk.length, "entity", "entities")} at risk`, atRisk.length ? "warn" : ""),
    card(count("DEPLOYMENT"), `${noun(count("DEPLOYMENT"), "deployment")} at risk`, count("DEPLOYMENT") ? "alert" : ""),
    card(count("MODEL_VERSION"), `${noun(count("MODEL_VERSION"), "model version")} at risk`, count("MODEL_VERSION") ? "warn" : ""),
    card(count("FEATURE"), `${noun(count("FEATURE"), "feature")} at risk`, count("FEATURE") ? "warn" : ""),
  );
  if (!records.length) {
    replace(root, head, cards, emptyState("Nothing is failing and nothing is at risk: every latest check result passed."));
    return;
  }

  const status = h("span", { class: "graph-status", role: "status" });
  const listBox = h("div", {});
  const selected = h("div", {}, h("p", { class: "muted" }, "Click a node to see why it is at risk."));
  const { element: graphEl, graph } = graphPanel({
    label: "At-risk overlay",
    status,
    onSelect: (node) => showEvidence(node),
    // a check is not drawn as lineage: its page, not "Lineage is drawn for …"
    onOpen: (node) => go(link(LINEAGE_KINDS.includes(node.kind) ? "lineage" : "entity", node.id)),
    openHint: "opens the selected node's lineage (a check's page)",
    onRender: (nodes) => replace(listBox, nodeList(nodes, (id) => graph.select(id))),
    legendExtra: h("span", {}, h("span", { class: "swatch", style: "border-color:#dc6803;background:#fff" }), "evidence path"),
  });

  const kinds = ORDER.filter((k) => records.some((r) => r.kind === k));
  // a choice the menu does not offer showed an empty list under "Failing, deployments…":
  // the default is shown instead, said, and put in the address
  let ignoredNote = null;
  if (show !== "key" && show !== "all" && !kinds.includes(show)) {
    ignoredNote = h("p", { class: "notice", role: "status", id: "risk-ignored" }, `Not understood in the address, so ignored: show “${show}” (key, all or a kind at risk now).`);
    show = "key";
    go(link("at-risk", null, { show, focus }), { replace: true });
  }
  const showSelect = h(
    "select",
    { id: "risk-show", onchange: (e) => go(link("at-risk", null, { show: e.target.value, focus })) },
    h("option", { value: "key", selected: show === "key" }, "Failing, deployments, models, features and datasets"),
    h("option", { value: "all", selected: show === "all" }, "Everything"),
    kinds.map((k) => h("option", { value: k, selected: show === k }, `${kindName(k)}s only`)),
  );
  const shown = records
    .filter((r) => (show === "all" ? true : show === "key" ? r.status === "FAILING" || KEY_KINDS.has(r.kind) : r.kind === show))
    .sort((a, b) => (a.status === b.status ? 0 : a.status === "FAILING" ? -1 : 1) || ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || a.id.localeCompare(b.id));
  const evidence = h("div", { class: "stack", id: "evidence" }, shown.map(evidenceItem));

  replace(
    root,
    head,
    cards,
    complete ? null : h("p", { class: "hint" }, "Showing the first records only: the at-risk set is larger than this page loads."),
    ignoredNote,
    h("div", { class: "split wide-side" }, graphEl, h("div", { class: "stack" }, panel("Selected", selected, { id: "selected" }), panel("In view", listBox))),
    panel(`Evidence (${shown.length} of ${records.length})`, evidence, { actions: h("label", { class: "field", for: "risk-show" }, "Show", showSelect), id: "evidence-panel" }),
  );

  const model = overlay(records);
  graph.load(model, { focus: [...new Set(failing.flatMap((r) => r.reasons.map((x) => x.checkId)))] });
  graph.mark("path", model.edges.map(edgeKey));
  graph.mark("risk", model.edges.map(edgeKey));
  graph.render();
  status.textContent = `${failing.length} failing · ${atRisk.length} at risk · drawn at entity level`;
  if (focus) graph.select(entityOf(focus));

  // what one failing check makes failing or at risk, of what the list shows
  function checkReach(checkId) {
    const reached = shown.filter((r) => r.reasons.some((reason) => reason.checkId === checkId));
    const now = failingCheckIds(records).has(checkId)
      ? "The failing check this evidence starts from."
      : "This check passes now; the evidence starts from an earlier result of it that failed, on the data these entities were built from.";
    return h(
      "div",
      { id: "check-reach" },
      h("p", {}, now),
      h("p", {}, `Failing or at risk because of it: ${reached.length} ${noun(reached.length, "entity", "entities")} of those the list below shows`),
      h("ul", { class: "plain-list" }, reached.map((r) => h("li", {}, entityLink(r.node || r.id), " ", healthBadge(r.status)))),
    );
  }

  function showEvidence(node) {
    if (!node) return;
    const here = records.filter((r) => r.id === node.id || entityOf(r.id) === node.id);
    const own = here.find((r) => r.id === node.id);
    replace(
      selected,
      h("div", { class: "title-row" }, entityLink(node.id, { text: node.label, failed: Boolean(node.failed) })),
      h("p", { class: "subtitle" }, kindBadge(node.kind, node.failed), " ", healthBadge(own ? own.status : node.health)),
      own ? ownerLine(own.node) : null,
      own ? reasonList(own) : null,
      here.length > (own ? 1 : 0) ? h("p", { class: "hint" }, `Also at risk here: ${here.filter((r) => r !== own).map((r) => displayLabel(r.node || r)).join(", ")}`) : null,
      !own && node.kind === "CHECK" ? checkReach(node.id) : null,
      h("div", { class: "actions" }, LINEAGE_KINDS.includes(node.kind) ? h("a", { class: "button small", href: link("lineage", node.id) }, "Lineage") : null, h("a", { class: "button small", href: link("entity", node.id) }, "Open page")),
    );
  }
}

/**
 * The checks evidence starts from whose latest result failed. A check that passes now can
 * still start evidence: an earlier result of it failed on the data version something was
 * built from (a model version trained on that day's data).
 */
function failingCheckIds(records) {
  return new Set(records.flatMap((r) => r.reasons).filter(reasonCheckFails).map((reason) => reason.checkId));
}


function edgeKey(edge) {
  return `${edge.source}>${edge.kind}>${edge.target}`;
}

function card(value, label, cls = "") {
  return h("div", { class: `card ${cls}` }, h("div", { class: "value" }, String(value)), h("div", { class: "label" }, label));
}

function reasonList(record) {
  return h(
    "div",
    {},
    record.reasons.map((reason) =>
      h(
        "div",
        { class: `reason ${reason.hops === 0 ? "failing" : ""}` },
        h("div", {}, reason.message),
        h(
          "div",
          { class: "hint" },
          `${reasonKindLabel(reason)} · ${reason.hops} hop${reason.hops === 1 ? "" : "s"}`,
          reason.result && reason.result.observedAt ? ` · check failed ${formatTime(reason.result.observedAt)}` : "",
          reason.result && reason.result.observed ? ` (${reason.result.observed})` : "",
        ),
        pathChips(entityPath(reason), { failed: reasonCheckFails(reason) ? [reason.checkId] : [] }),
        reason.path.length > 1
          ? h("details", { class: "full-path" }, h("summary", {}, "Full evidence with versions and runs"), pathChips([reason.checkId, reason.resultId, ...reason.path], { failed: reasonCheckFails(reason) ? [reason.checkId, reason.resultId] : [reason.resultId] }))
          : null,
      ),
    ),
  );
}

/** The owners of an at-risk entity (see OWNERS), or null for an entity the query did not name. */
function ownersOf(node) {
  if (!node) return null;
  const holder = node.owners ? node : node.model || node.dataset || node.job;
  return holder && holder.owners ? holder.owners : null;
}

function ownerLine(node) {
  const owners = ownersOf(node);
  if (!owners) return null;
  return h("div", { class: "owners hint" }, "Owners: ", chips(owners));
}

function evidenceItem(record) {
  const node = record.node || { id: record.id, kind: record.kind };
  return h(
    "article",
    { class: "evidence-item", dataset: { id: record.id }, "aria-label": displayLabel(node) },
    h("div", { class: "title-row" }, entityLink(node), healthBadge(record.status), kindBadge(record.kind)),
    ownerLine(node),
    reasonList(record),
  );
}

// The overlay: every entity on an evidence path at entity level, joined along the paths,
// each starting at its failing check.
function overlay(records) {
  const status = new Map();
  for (const record of records) {
    const id = entityOf(record.id);
    // an entity drawn for several records shows the worst of them
    if (status.get(id) !== "FAILING") status.set(id, record.status);
  }
  const known = new Map(records.filter((r) => r.node && r.node.id === entityOf(r.id)).map((r) => [r.id, r.node]));
  const failingChecks = failingCheckIds(records);
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
      health: status.get(id) || (failingChecks.has(id) ? "FAILING" : "OK"),
      failed: failingChecks.has(id),
      dataset: kind === "FIELD" ? datasetIdOf({ namespace: parts[1], name: parts[2] }) : undefined,
    });
  };
  for (const record of records) {
    add(entityOf(record.id));
    for (const reason of record.reasons) {
      const path = entityPath(reason);
      path.forEach(add);
      for (let i = 1; i < path.length; i += 1) {
        const edge = { source: path[i - 1], target: path[i], kind: "EVIDENCE" };
        edges.set(edgeKey(edge), edge);
      }
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}
