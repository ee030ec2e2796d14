// The impact view: propose a schema change to a dataset, see what it breaks downstream.

import { gql } from "../api.js";
import { emptyState, entityLink, panel, table } from "../components.js";
import { copyText, h, replace } from "../dom.js";
import { chips, failedOutcome, healthBadge, kindBadge, kindName, noun, plural } from "../format.js";
import { graphPanel, nodeList } from "../graphpanel.js";
import { fetchLineage } from "../lineagedata.js";
import { pickEntity } from "../picker.js";
import { go, link } from "../router.js";

const SCHEMA_QUERY = `query ImpactDataset($id: ID!) {
  node(id: $id) {
    id kind label namespace name health { status }
    ... on Dataset { owners fields { id path type nullable ordinal } }
  }
}`;

export const IMPACT_QUERY = `query Impact($change: SchemaChangeInput!) {
  impact(change: $change) {
    datasetId breaking truncated summary markdown
    changes { index action path newName newType nullable description oldType compatibility reason precision notes }
    affected {
      id kind name breaking direct hops path precision partial
      node { id kind label namespace name health { status } ... on Check { latestResult { passed } } }
    }
    owners { owner owns breaking }
  }
}`;

const ACTIONS = [
  ["KEEP", "Keep"],
  ["DROP", "Drop"],
  ["RENAME", "Rename"],
  ["CHANGE_TYPE", "Change type"],
];

/** Render #/impact/<dataset id>?drop=a&rename=b:c&retype=d:int, or ?mode=json&schema=<the
 * pasted schema as JSON> */
export async function render(root, route, ctx) {
  const head = (dataset) =>
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "title" },
        h("h1", {}, "Impact of a schema change"),
        h("span", { class: "subtitle" }, dataset ? ["Proposed change to ", entityLink(dataset), " ", healthBadge(dataset.health.status)] : "Pick the dataset you are about to change"),
      ),
      dataset ? h("div", { class: "actions" }, h("a", { class: "button", href: link("lineage", dataset.id, { direction: "DOWNSTREAM" }) }, "Lineage")) : null,
    );
  if (!route.id) {
    replace(root, head(null), pickEntity({ kinds: ["DATASET"], label: "Dataset", ctx, hrefFor: (node) => link("impact", node.id) }));
    return;
  }
  const data = await gql(SCHEMA_QUERY, { id: route.id });
  if (!ctx.isCurrent()) return;
  const dataset = data.node;
  if (!dataset || dataset.kind !== "DATASET") {
    replace(root, head(null), emptyState(dataset ? `${dataset.label} is a ${kindName(dataset.kind).toLowerCase()}; impact analysis starts from a dataset.` : `No dataset with id ${route.id}.`));
    return;
  }
  document.title = `Impact · ${dataset.label} · lineagegraph`;

  const planned = plannedChanges(route.params);
  const editor = changeEditor(dataset, planned);
  // a column the address names that the dataset does not have (a link made before a rename,
  // a typo) was dropped without a word: the analysis shown was not the one asked for
  const columns = new Set(dataset.fields.map((f) => f.path));
  const unknown = planned.filter((p) => !columns.has(p.path));
  const ignoredNote = unknown.length
    ? h(
        "p",
        { class: "notice", role: "status", id: "impact-ignored" },
        `Not columns of ${dataset.label}, so ignored: ${unknown.map((p) => `${PARAM_NAMES[p.action]} “${p.path}”`).join(", ")}.`,
      )
    : null;
  const jsonBox = h("textarea", { id: "proposed-schema", rows: 12, spellcheck: "false", "aria-label": "Proposed schema as JSON" }, schemaText(route.params.get("schema")) ?? JSON.stringify(dataset.fields.map((f) => ({ path: f.path, type: f.type, nullable: f.nullable })), null, 2));
  const dropDataset = h("input", { type: "checkbox", id: "drop-dataset", checked: route.params.get("dropDataset") === "1" });
  let mode = route.params.get("mode") === "json" ? "json" : "edit";
  const modeButtons = h(
    "div",
    { class: "segmented", role: "group", "aria-label": "How to describe the change" },
    h("button", { type: "button", "aria-pressed": String(mode === "edit"), onclick: () => setMode("edit") }, "Edit columns"),
    h("button", { type: "button", "aria-pressed": String(mode === "json"), onclick: () => setMode("json") }, "Paste proposed schema"),
  );
  const editPane = h("div", { id: "edit-pane" }, editor.element);
  const jsonPane = h("div", { id: "json-pane", class: "stack" }, h("p", { class: "hint" }, "The complete schema after the change, as JSON: a list of {path, type, nullable}. Columns missing from it count as dropped; new ones as added."), jsonBox);
  function setMode(next) {
    mode = next;
    editPane.hidden = mode !== "edit";
    jsonPane.hidden = mode !== "json";
    for (const button of modeButtons.children) button.setAttribute("aria-pressed", String(button.textContent.startsWith(mode === "edit" ? "Edit" : "Paste")));
  }
  setMode(mode);

  const analyze = h("button", { type: "submit", class: "primary", id: "analyze" }, "Analyze impact");
  const form = h(
    "form",
    { class: "panel stack", id: "change-form", "aria-label": "Proposed change", onsubmit: (e) => { e.preventDefault(); run(); } },
    h("div", { class: "page-head" }, h("h2", {}, "Proposed change"), modeButtons),
    editPane,
    jsonPane,
    h("div", { class: "toolbar" }, h("label", { class: "check", for: "drop-dataset" }, dropDataset, "Drop the whole dataset"), h("span", { class: "spacer" }), analyze),
  );
  const results = h("div", { class: "stack", id: "impact-results" });
  replace(root, head(dataset), ignoredNote, form, results);

  let graphHandle = null;
  const pasted = mode === "json" && route.params.has("schema");
  const known = planned.some((p) => columns.has(p.path));
  if (known || route.params.get("dropDataset") === "1" || pasted) await run();
  else if (unknown.length && mode === "edit") go(link("impact", dataset.id, editor.params(dropDataset.checked)), { replace: true });

  async function run() {
    let variables;
    try {
      const change = { dataset: { id: dataset.id } };
      if (dropDataset.checked) change.changes = [{ action: "DROP_DATASET" }];
      else if (mode === "json") change.proposedSchema = parseSchema(jsonBox.value);
      else change.changes = editor.changes();
      variables = { change };
    } catch (err) {
      replace(results);
      ctx.showError(err, "Reading the proposed change");
      return;
    }
    if (variables.change.changes && !variables.change.changes.length) {
      replace(results, emptyState("Mark at least one column to drop, rename or retype, or drop the dataset."));
      return;
    }
    ctx.clearErrors();
    analyze.disabled = true;
    replace(results, h("p", { class: "muted" }, "Analyzing…"));
    try {
      // the address names the analysis shown (a pasted schema included), so a reload or a
      // shared link gives this one and not one analysed before
      const proposed = variables.change.proposedSchema;
      const params = mode === "edit" ? editor.params(dropDataset.checked) : { mode: "json", schema: proposed ? JSON.stringify(proposed) : null, dropDataset: dropDataset.checked };
      go(link("impact", dataset.id, params), { replace: true });
      const report = (await gql(IMPACT_QUERY, variables)).impact;
      if (!ctx.isCurrent()) return;
      await showReport(report);
    } catch (err) {
      replace(results);
      ctx.showError(err, "Impact analysis");
    } finally {
      analyze.disabled = false;
    }
  }

  async function showReport(report) {
    const affected = report.affected;
    const count = (kind) => affected.filter((a) => a.kind === kind).length;
    const breaking = report.changes.filter((c) => c.compatibility === "BREAKING").length;
    const owned = ownersByEntity(report.owners);
    const copy = h(
      "button",
      {
        type: "button",
        id: "copy-markdown",
        onclick: async () => {
          const ok = await copyText(report.markdown);
          ctx.toast(ok ? "Markdown report copied" : "Copy refused by the browser");
        },
      },
      "Copy Markdown report",
    );
    const status = h("span", { class: "graph-status", role: "status" });
    const listBox = h("div", {});
    const { element: graphEl, graph } = graphPanel({
      label: "Impact graph",
      status,
      onSelect: () => {},
      onOpen: (node) => go(link("entity", node.id)),
      openHint: "opens the selected node's page",
      onRender: (nodes) => replace(listBox, nodeList(nodes, (id) => graph.select(id))),
      legendExtra: [h("span", {}, h("span", { class: "swatch lit" }), "affected"), h("span", {}, h("span", { class: "swatch", style: "border-color:#7f56d9;background:#f4ebff;border-width:3px" }), "changed column")],
    });
    if (graphHandle) graphHandle.destroy();
    graphHandle = graph;

    // each note says which change it is about (#2: …), as the Markdown report does
    const notes = report.changes.flatMap((c) => c.notes.map((n) => `#${c.index}: ${n}`));
    replace(
      results,
      h(
        "div",
        { class: "summary-cards", id: "impact-summary" },
        card(report.breaking ? "BREAKING" : "Non-breaking", "verdict", report.breaking ? "alert" : ""),
        card(breaking, noun(breaking, "breaking change"), breaking ? "alert" : ""),
        card(count("FIELD"), `${noun(count("FIELD"), "column")} affected`),
        card(count("DATASET"), `${noun(count("DATASET"), "dataset")} affected`),
        card(count("JOB"), `${noun(count("JOB"), "job")} affected`),
        card(count("FEATURE"), `${noun(count("FEATURE"), "feature")} affected`, count("FEATURE") ? "warn" : ""),
        card(count("MODEL_VERSION"), `${noun(count("MODEL_VERSION"), "model version")} affected`, count("MODEL_VERSION") ? "warn" : ""),
        card(count("DEPLOYMENT"), `${noun(count("DEPLOYMENT"), "deployment")} affected`, count("DEPLOYMENT") ? "alert" : ""),
      ),
      panel(
        "Changes",
        [
          h("p", { style: "margin-top:0" }, report.summary),
          table(
            ["#", "Change", "Verdict", "Why", "Consumers found by"],
            report.changes.map((c) => [
              String(c.index),
              c.description,
              h("span", { class: `badge ${c.compatibility === "BREAKING" ? "breaking" : "non-breaking"}` }, c.compatibility === "BREAKING" ? "breaking" : "non-breaking"),
              c.reason,
              c.precision ? precisionLabel(c.precision) : h("span", { class: "muted" }, "nothing to follow"),
            ]),
            { label: "Changes" },
          ),
          notes.length ? h("ul", { class: "hint" }, notes.map((n) => h("li", {}, n))) : null,
          report.truncated ? h("p", { class: "hint" }, "The search for consumers hit a server bound: the list is incomplete.") : null,
        ],
        { actions: copy, id: "changes" },
      ),
      h("div", { class: "split" }, graphEl, panel("In view", listBox)),
      panel(
        `Affected consumers (${affected.length})`,
        table(
          ["Consumer", "Kind", "How", "Hops", "Found by", "Owners"],
          affected.map((a) => [
            entityLink(a.node || { id: a.id, kind: a.kind }),
            [kindBadge(a.kind, failedOutcome(a.node)), a.partial ? h("span", { class: "hint" }, " partly") : null],
            [a.direct ? "direct" : "indirect", a.breaking ? null : h("span", { class: "hint" }, " (non-breaking)")],
            String(a.hops),
            precisionLabel(a.precision),
            chips(owned(a.id)),
          ]),
          { empty: "Nothing downstream is affected.", label: "Affected consumers" },
        ),
        { id: "affected" },
      ),
      panel(
        "Owners to notify",
        table(
          ["Owner", "Breaking", "Owns"],
          report.owners.map((o) => [o.owner, o.breaking ? h("span", { class: "badge breaking" }, "yes") : "no", h("span", { class: "chips" }, o.owns.map((id) => entityLink(id)))]),
          { empty: "No owners recorded on the affected entities.", label: "Owners" },
        ),
        { id: "owners" },
      ),
    );

    const lit = new Set(affected.map((a) => a.id));
    const origins = report.changes.map((c) => (c.path ? fieldId(dataset, c.path) : dataset.id));
    const pairs = new Set(affected.flatMap((a) => a.path.slice(1).map((id, i) => `${a.path[i]}>${id}`)));
    const model = await fetchLineage(dataset.id, { direction: "DOWNSTREAM", depth: null, columnLevel: true });
    if (!ctx.isCurrent()) return;
    graph.load(model, { focus: [dataset.id], nested: true });
    const litEdges = model.edges.filter((e) => pairs.has(`${e.source}>${e.target}`)).map((e) => `${e.source}>${e.kind}>${e.target}`);
    graph.mark("affected", [...lit, ...litEdges]);
    graph.mark("origin", origins);
    graph.setDimOthers(true);
    graph.render();
    // the table also lists what the graph does not draw (the checks on the changed
    // columns): the count is of what is drawn, and the rest is named apart
    const unseen = affected.filter((a) => graph.cy.getElementById(a.id).empty());
    const parts = [`${graph.cy.nodes(".affected").length} of ${plural(graph.nodes.size, "node")} affected`];
    if (unseen.length) parts.push(`${kindCounts(unseen)} listed in the table, not drawn`);
    status.textContent = parts.join(" · ");
  }
}

function precisionLabel(precision) {
  return precision === "DATASET"
    ? h("span", { class: "badge", title: "Column lineage is unknown here: dataset-level lineage was followed" }, "dataset lineage")
    : h("span", { class: "badge", title: "Followed column-level lineage" }, "column lineage");
}

// Owners per entity id; a model version counts as owned by its model's owners, and a
// column by its dataset's.
function ownersByEntity(notices) {
  const owners = new Map();
  for (const notice of notices) {
    for (const id of notice.owns) {
      if (!owners.has(id)) owners.set(id, []);
      owners.get(id).push(notice.owner);
    }
  }
  return (id) => {
    if (owners.has(id)) return owners.get(id);
    const [kind, namespace, name] = id.split("|");
    if (kind === "model_version") return owners.get(`model|${namespace}|${name}`) || [];
    if (kind === "field") return owners.get(`dataset|${namespace}|${name}`) || [];
    return [];
  };
}

// "1 affected check, 2 affected jobs": how many of each kind.
function kindCounts(entries) {
  const counts = new Map();
  for (const entry of entries) counts.set(entry.kind, (counts.get(entry.kind) || 0) + 1);
  return [...counts].map(([kind, n]) => plural(n, `affected ${kindName(kind).toLowerCase()}`)).join(", ");
}

function card(value, label, cls = "") {
  return h("div", { class: `card ${cls}` }, h("div", { class: "value" }, String(value)), h("div", { class: "label" }, label));
}

function fieldId(dataset, path) {
  const esc = (p) => String(p).replace(/%/g, "%25").replace(/\|/g, "%7C");
  return `field|${esc(dataset.namespace)}|${esc(dataset.name)}|${esc(path)}`;
}

// The address parameter of each planned action.
const PARAM_NAMES = { DROP: "drop", RENAME: "rename", CHANGE_TYPE: "retype" };

/** The changes named in the route: drop=a&rename=b:c&retype=d:int */
function plannedChanges(params) {
  const planned = [];
  for (const path of params.getAll("drop")) planned.push({ path, action: "DROP" });
  for (const pair of params.getAll("rename")) {
    const [path, value] = pair.split(":");
    planned.push({ path, action: "RENAME", value });
  }
  for (const pair of params.getAll("retype")) {
    const index = pair.indexOf(":");
    planned.push({ path: pair.slice(0, index), action: "CHANGE_TYPE", value: pair.slice(index + 1) });
  }
  return planned;
}

// The pasted schema an address carries, laid out for the editor (as given when not JSON).
function schemaText(value) {
  if (value === null) return null;
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

function parseSchema(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`The proposed schema is not valid JSON: ${err.message}`);
  }
  const fields = Array.isArray(value) ? value : value && Array.isArray(value.fields) ? value.fields : null;
  if (!fields) throw new Error("The proposed schema must be a JSON list of {path, type, nullable} (or {fields: [...]})");
  return fields.map((f, i) => {
    const path = f.path || f.name;
    if (!path || typeof path !== "string") throw new Error(`Entry ${i + 1} of the proposed schema has no path`);
    const out = { path };
    if (f.type !== undefined && f.type !== null) out.type = String(f.type);
    if (typeof f.nullable === "boolean") out.nullable = f.nullable;
    return out;
  });
}

// One row per current column: what to do with it.
function changeEditor(dataset, planned) {
  const rows = dataset.fields.map((field) => {
    const plan = planned.find((p) => p.path === field.path) || { action: "KEEP" };
    const safe = field.path.replace(/[^A-Za-z0-9_-]/g, "_");
    const action = h(
      "select",
      { id: `action-${safe}`, "aria-label": `Change to ${field.path}`, dataset: { path: field.path } },
      ACTIONS.map(([value, name]) => h("option", { value, selected: plan.action === value }, name)),
    );
    const value = h("input", {
      type: "text",
      id: `value-${safe}`,
      "aria-label": `New name or type for ${field.path}`,
      value: plan.value || "",
      placeholder: plan.action === "CHANGE_TYPE" ? "new type, e.g. varchar(20)" : "new name",
    });
    const sync = () => {
      value.hidden = !(action.value === "RENAME" || action.value === "CHANGE_TYPE");
      value.placeholder = action.value === "CHANGE_TYPE" ? "new type, e.g. varchar(20)" : "new name";
      row.classList.toggle("lit", action.value !== "KEEP");
    };
    action.addEventListener("change", sync);
    const row = h("tr", {}, h("td", {}, h("code", {}, field.path)), h("td", {}, h("code", {}, field.type || "")), h("td", {}, field.nullable === null || field.nullable === undefined ? h("span", { class: "muted" }, "unknown") : field.nullable ? "yes" : "no"), h("td", {}, action), h("td", {}, value));
    sync();
    return { field, action, value, row };
  });
  const element = h(
    "div",
    { class: "table-wrap changes" },
    h("table", { "aria-label": "Columns and the change to each" }, h("thead", {}, h("tr", {}, ["Column", "Type", "Nullable", "Change", "New name or type"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows.map((r) => r.row))),
  );
  return {
    element,
    changes() {
      const out = [];
      for (const { field, action, value } of rows) {
        const text = value.value.trim();
        if (action.value === "KEEP") continue;
        if (action.value === "DROP") out.push({ action: "DROP_FIELD", path: field.path });
        else if (!text) throw new Error(`Give the new ${action.value === "RENAME" ? "name" : "type"} for ${field.path}`);
        else if (action.value === "RENAME") out.push({ action: "RENAME_FIELD", path: field.path, newName: text });
        else out.push({ action: "CHANGE_TYPE", path: field.path, newType: text });
      }
      return out;
    },
    params(drop) {
      const params = { drop: [], rename: [], retype: [], dropDataset: drop };
      for (const { field, action, value } of rows) {
        if (action.value === "DROP") params.drop.push(field.path);
        if (action.value === "RENAME") params.rename.push(`${field.path}:${value.value.trim()}`);
        if (action.value === "CHANGE_TYPE") params.retype.push(`${field.path}:${value.value.trim()}`);
      }
      return params;
    },
  };
}
