// The entity page: everything the catalog knows about one entity, by kind.

import { gql } from "../api.js";
import { displayLabel, emptyState, entityLink, healthReasons, pageTitle, panel, props, table } from "../components.js";
import { h, replace } from "../dom.js";
import { chips, formatNumber, formatTime, healthBadge, kindFromId, plural, resultBadge, stateBadge } from "../format.js";
import { link } from "../router.js";
import { LINEAGE_KINDS } from "./lineage.js";

const HEALTH = `health { status reasons { resultId checkId checkedId path hops precision kind message result { observedAt observed check { id latestResult { passed } } } } }`;
const REF = `id kind label namespace name`;
const CHECKS = `checks { ${REF} check checkType field severity system latestResult { id passed observedAt observed expected } }`;

// The selection for each kind: only what its page shows.
const SELECTIONS = {
  DATASET: `... on Dataset {
    description platform owners tags deleted
    fields { ${REF} path type nullable ordinal description tags health { status } }
    ${CHECKS}
    versions(first: 20) { totalCount nodes { ${REF} version createdAt rowCount run { ${REF} runId state } } }
    producers { ${REF} } consumers { ${REF} }
  }`,
  FIELD: `... on Field {
    path type nullable ordinal description tags deleted
    dataset { ${REF} owners }
    ${CHECKS}
    derivedFrom { ${REF} } derivedInto { ${REF} }
  }`,
  JOB: `... on Job {
    description jobType processingType sql codeLocation codeVersion owners tags
    inputs { ${REF} } outputs { ${REF} }
    runs(first: 25) { totalCount nodes { ${REF} runId state startedAt endedAt codeVersion errorMessage } }
  }`,
  RUN: `... on Run {
    runId state startedAt endedAt nominalTime errorMessage codeVersion
    job { ${REF} } parentRun { ${REF} } inputs { ${REF} health { status } } outputs { ${REF} health { status } }
  }`,
  DATASET_VERSION: `... on DatasetVersion {
    version createdAt rowCount byteCount
    schema { path type nullable description ordinal }
    dataset { ${REF} } run { ${REF} runId state } readBy { ${REF} runId }
    results { ${REF} passed observedAt observed expected }
  }`,
  FEATURE: `... on Feature {
    description dtype owners tags
    computedFrom { ${REF} } usedBy { ${REF} version createdAt }
  }`,
  MODEL: `... on Model {
    description framework owners tags
    versions(first: 50) { totalCount nodes {
      ${REF} version createdAt stage metrics { name value } health { status }
      deployments { current deployment { ${REF} } }
    } }
  }`,
  MODEL_VERSION: `... on ModelVersion {
    version createdAt stage description metrics { name value }
    model { ${REF} owners versions(first: 50) { nodes { ${REF} version createdAt metrics { name value } health { status } } } }
    trainingRun { ${REF} runId state startedAt endedAt codeVersion }
    trainedOn { ${REF} }
    deployments { since until current traffic deployment { ${REF} environment } }
  }`,
  DEPLOYMENT: `... on Deployment {
    description environment endpoint owners tags
    servingHistory { since until current traffic modelVersion { ${REF} version createdAt metrics { name value } health { status } } }
  }`,
  CHECK: `... on Check {
    check checkType field severity description system latestResult { passed }
    target { ${REF} }
    results(first: 30) { totalCount nodes { ${REF} passed observedAt observed expected message datasetVersion { ${REF} } } }
  }`,
  RESULT: `... on CheckResult {
    passed observedAt observed expected message system
    check { ${REF} } datasetVersion { ${REF} } run { ${REF} }
  }`,
};

/** The GraphQL query for one entity's page. */
export function entityQuery(kind) {
  return `query EntityPage($id: ID!) {
    node(id: $id) { ${REF} attrs ${HEALTH} ${SELECTIONS[kind] || ""} }
  }`;
}

/** Render #/entity/<id>. */
export async function render(root, route, ctx) {
  if (!route.id) {
    replace(root, emptyState("Pick an entity from search.", h("a", { class: "button", href: link("search") }, "Search the catalog")));
    return;
  }
  const kind = kindFromId(route.id);
  replace(root, h("p", { class: "muted" }, "Loading…"));
  const data = await gql(entityQuery(kind), { id: route.id });
  if (!ctx.isCurrent()) return;
  const node = data.node;
  if (!node) {
    replace(root, emptyState(`No entity with id ${route.id}.`, h("a", { class: "button", href: link("search") }, "Search the catalog")));
    return;
  }
  document.title = `${displayLabel(node)} · lineagegraph`;
  replace(root, header(node), body(node));
}

function header(node) {
  // runs, versions, checks and results are not drawn as lineage: no button that leads nowhere
  const actions = LINEAGE_KINDS.includes(node.kind) ? [h("a", { class: "button primary", href: link("lineage", node.id) }, "Lineage")] : [];
  if (node.kind === "DATASET") actions.push(h("a", { class: "button", href: link("impact", node.id) }, "Impact of a change"));
  if (node.kind === "MODEL_VERSION" || node.kind === "DEPLOYMENT") {
    actions.push(h("a", { class: "button", href: link("root-cause", node.id) }, "Root cause"));
  }
  if (node.health && node.health.status !== "OK") {
    actions.push(h("a", { class: "button", href: link("at-risk", null, { focus: node.id }) }, "Cascade"));
  } else if (failingCheckOf(node)) {
    // a check's health is never set (its target's is): its latest outcome says it fails
    actions.push(h("a", { class: "button", href: link("at-risk", null, { focus: failingCheckOf(node) }) }, "Cascade"));
  }
  return h("div", { class: "page-head" }, pageTitle(node), h("div", { class: "actions" }, actions));
}

/** The failing check a check or a failed result's page leads the cascade from, if any. */
function failingCheckOf(node) {
  if (node.kind === "CHECK" && node.latestResult && node.latestResult.passed === false) return node.id;
  if (node.kind === "RESULT" && node.passed === false && node.check) return node.check.id;
  return null;
}

// A schema table's position column ("#") comes first, and only when some field has a
// position: without one (versions are often recorded without) it was an empty column.
// Given a field, `cells` are its row's cells; without one, the headers.
function positioned(fields, cells, field = null) {
  if (!fields.some((f) => f.ordinal !== null && f.ordinal !== undefined)) return cells;
  return [field ? (field.ordinal ?? "") : "#", ...cells];
}

function list(nodes, empty = "none") {
  if (!nodes || !nodes.length) return h("span", { class: "muted" }, empty);
  return h("ul", { class: "plain-list" }, nodes.map((n) => h("li", {}, entityLink(n))));
}

function metrics(values) {
  if (!values || !values.length) return h("span", { class: "muted" }, "none");
  return h("span", { class: "chips" }, values.map((m) => h("span", { class: "chip" }, `${m.name} ${formatNumber(m.value)}`)));
}

function overview(node) {
  const pairs = [
    ["Description", node.description],
    ["Id", h("code", {}, node.id)],
    ["Namespace", h("code", {}, node.namespace)],
    ["Platform", node.platform],
    ["Type", node.jobType || node.type || node.dtype || node.checkType],
    ["Processing", node.processingType],
    ["Framework", node.framework],
    ["Environment", node.environment],
    ["Endpoint", node.endpoint ? h("code", {}, node.endpoint) : null],
    ["Stage", node.stage],
    ["Created", formatTime(node.createdAt)],
    ["Code version", node.codeVersion],
    ["Code location", node.codeLocation ? h("code", {}, node.codeLocation) : null],
    ["Nullable", node.nullable === null || node.nullable === undefined ? null : node.nullable ? "yes" : "no"],
    ["Severity", node.severity],
    ["Checked by", node.system],
    ["Owners", "owners" in node ? chips(node.owners) : null],
    ["Tags", "tags" in node ? chips(node.tags, "chip tag") : null],
    ["Deleted", node.deleted ? h("span", { class: "badge health-failing" }, "deleted") : null],
  ];
  return panel("Overview", props(pairs), { id: "overview" });
}

function healthPanel(node) {
  if (node.kind === "MODEL") return modelHealthPanel(node);
  if (node.kind === "RUN" && node.health.status === "OK") return runHealthPanel(node);
  return panel(
    "Health",
    [h("p", {}, healthBadge(node.health.status)), healthReasons(node.health)],
    { id: "health" },
  );
}

// Failing checks reach a model's versions (what was trained on the data), not the model:
// its own health said OK with "no failing check reaches this entity" while the version
// it serves was at risk. The panel shows the versions' health instead.
function modelHealthPanel(node) {
  const versions = node.versions ? node.versions.nodes : [];
  const notOk = versions.filter((v) => v.health && v.health.status !== "OK");
  const body = notOk.length
    ? table(
        ["Version", "Health", "Serving now"],
        notOk.map((v) => [
          entityLink(v, { text: `v${v.version}` }),
          healthBadge(v.health.status),
          list(v.deployments.filter((s) => s.current).map((s) => s.deployment).filter(Boolean), "—"),
        ]),
        { label: "Versions not OK" },
      )
    : h("p", { class: "muted" }, "No failing check reaches its versions.");
  return panel(
    "Health",
    [h("p", { class: "muted" }, "Failing checks reach a model's versions, which carry health:"), body],
    { id: "health" },
  );
}

// A failing check taints the versions a run read and wrote, not the run: the page of the
// run on an evidence path said "No failing check reaches this entity" beside the tainted
// version it read and the at-risk one it wrote. The panel shows those versions' health.
function runHealthPanel(node) {
  const versions = [...node.inputs.map((v) => ["Read", v]), ...node.outputs.map((v) => ["Wrote", v])];
  const notOk = versions.filter(([, v]) => v.health && v.health.status !== "OK");
  const body = notOk.length
    ? table(["How", "Version", "Health"], notOk.map(([how, v]) => [how, entityLink(v), healthBadge(v.health.status)]), { label: "Versions not OK" })
    : h("p", { class: "muted" }, "No failing check reaches the versions it read or wrote.");
  return panel(
    "Health",
    [h("p", { class: "muted" }, "Failing checks reach the versions a run read and wrote, which carry health:"), body],
    { id: "health" },
  );
}

function checksPanel(checks) {
  const rows = checks.map((c) => {
    const r = c.latestResult;
    return [
      entityLink(c, { text: c.check }),
      c.field ? h("code", {}, c.field) : h("span", { class: "muted" }, "table"),
      c.checkType || "",
      c.severity || "",
      resultBadge(r ? r.passed : null),
      r ? [r.observed || "", r.expected ? h("span", { class: "hint" }, ` (expected ${r.expected})`) : null] : "",
      r ? formatTime(r.observedAt) : "",
    ];
  });
  return panel("Checks and latest results", table(["Check", "Column", "Type", "Severity", "Latest", "Observed", "When"], rows, { empty: "No checks on this entity.", label: "Checks" }), { id: "checks" });
}

function body(node) {
  const kind = node.kind;
  const left = [overview(node)];
  // a check or a result is told by its outcome (in the title), not by health
  const right = kind === "CHECK" || kind === "RESULT" ? [] : [healthPanel(node)];
  const wide = [];
  if (kind === "DATASET") {
    wide.push(
      panel(
        `Schema (${plural(node.fields.length, "column")})`,
        table(
          positioned(node.fields, ["Column", "Type", "Nullable", "Description", "Health"]),
          node.fields.map((f) => positioned(node.fields, [
            entityLink(f, { text: f.path }),
            h("code", {}, f.type || ""),
            f.nullable === null ? "" : f.nullable ? "yes" : "no",
            f.description || "",
            f.health ? healthBadge(f.health.status) : "",
          ], f)),
          { empty: "No schema recorded.", label: "Schema" },
        ),
        { id: "schema" },
      ),
      checksPanel(node.checks),
      panel(
        `Versions (${node.versions.totalCount ?? node.versions.nodes.length})`,
        table(
          ["Version", "Written", "Rows", "Run"],
          node.versions.nodes.map((v) => [entityLink(v, { text: v.version }), formatTime(v.createdAt), v.rowCount === null ? "" : formatNumber(v.rowCount), v.run ? [entityLink(v.run, { text: v.run.runId.slice(0, 8) }), " ", stateBadge(v.run.state)] : ""]),
          { empty: "No versions recorded.", label: "Versions" },
        ),
        { id: "versions" },
      ),
    );
    right.push(panel("Lineage neighbours", props([["Written by", list(node.producers)], ["Read by", list(node.consumers)]])));
  } else if (kind === "FIELD") {
    left.push(panel("Dataset", props([["Dataset", entityLink(node.dataset)], ["Owners", node.dataset ? chips(node.dataset.owners) : null]])));
    right.push(panel("Column lineage", props([["Derived from", list(node.derivedFrom)], ["Feeds", list(node.derivedInto)]])));
    wide.push(checksPanel(node.checks));
  } else if (kind === "JOB") {
    right.push(panel("Inputs and outputs", props([["Reads", list(node.inputs)], ["Writes", list(node.outputs)]])));
    if (node.sql) wide.push(panel("SQL", h("pre", { class: "code" }, node.sql)));
    wide.push(
      panel(
        `Runs (${node.runs.totalCount ?? node.runs.nodes.length})`,
        table(
          ["Run", "State", "Started", "Ended", "Code version", "Error"],
          node.runs.nodes.map((r) => [entityLink(r, { text: r.runId }), stateBadge(r.state), formatTime(r.startedAt), formatTime(r.endedAt), r.codeVersion || "", r.errorMessage || ""]),
          { empty: "No runs recorded.", label: "Runs" },
        ),
        { id: "runs" },
      ),
    );
  } else if (kind === "RUN") {
    left.push(panel("Run", props([["Run id", h("code", {}, node.runId)], ["Job", entityLink(node.job)], ["State", stateBadge(node.state)], ["Started", formatTime(node.startedAt)], ["Ended", formatTime(node.endedAt)], ["Scheduled for", formatTime(node.nominalTime)], ["Code version", node.codeVersion], ["Parent run", node.parentRun ? entityLink(node.parentRun) : null], ["Error", node.errorMessage]])));
    right.push(panel("Versions read and written", props([["Read", list(node.inputs)], ["Wrote", list(node.outputs)]])));
  } else if (kind === "DATASET_VERSION") {
    left.push(panel("Version", props([["Dataset", entityLink(node.dataset)], ["Version", node.version], ["Written", formatTime(node.createdAt)], ["Rows", node.rowCount === null ? null : formatNumber(node.rowCount)], ["Written by", node.run ? entityLink(node.run) : null], ["Read by", list(node.readBy)]])));
    wide.push(
      panel("Schema at this version", table(positioned(node.schema, ["Column", "Type", "Nullable"]), node.schema.map((f) => positioned(node.schema, [h("code", {}, f.path), h("code", {}, f.type || ""), f.nullable === null ? "" : f.nullable ? "yes" : "no"], f)), { empty: "No schema recorded.", label: "Schema" })),
      panel("Check results on this version", table(["Result", "Outcome", "Observed", "When"], node.results.map((r) => [entityLink(r), resultBadge(r.passed), r.observed || "", formatTime(r.observedAt)]), { empty: "No check ran on this version.", label: "Results" })),
    );
  } else if (kind === "FEATURE") {
    right.push(panel("Lineage", props([["Computed from", list(node.computedFrom)], ["Used by", list(node.usedBy)]])));
  } else if (kind === "MODEL") {
    wide.push(
      panel(
        `Versions (${node.versions.totalCount ?? node.versions.nodes.length})`,
        table(
          ["Version", "Created", "Stage", "Metrics", "Serving now", "Health"],
          node.versions.nodes.map((v) => [
            entityLink(v, { text: `v${v.version}` }),
            formatTime(v.createdAt),
            v.stage || "",
            metrics(v.metrics),
            list(v.deployments.filter((s) => s.current).map((s) => s.deployment).filter(Boolean), "—"),
            v.health ? healthBadge(v.health.status) : "",
          ]),
          { empty: "No versions registered.", label: "Model versions" },
        ),
        { id: "versions" },
      ),
    );
  } else if (kind === "MODEL_VERSION") {
    left.push(panel("Model version", props([["Metrics", metrics(node.metrics)], ["Model", entityLink(node.model)], ["Owners", node.model ? chips(node.model.owners) : null]])));
    right.push(
      panel("Training", props([["Training run", node.trainingRun ? entityLink(node.trainingRun) : null], ["Run state", node.trainingRun ? stateBadge(node.trainingRun.state) : null], ["Trained", formatTime(node.trainingRun && node.trainingRun.startedAt)], ["Trained on", list(node.trainedOn)]])),
    );
    wide.push(
      panel(
        "Deployments",
        table(
          ["Deployment", "Environment", "From", "Until", "Traffic"],
          node.deployments.map((s) => [entityLink(s.deployment), s.deployment ? s.deployment.environment || "" : "", formatTime(s.since), s.until ? formatTime(s.until) : h("span", { class: "badge health-ok" }, "serving"), s.traffic === null ? "" : `${formatNumber(s.traffic)}%`]),
          { empty: "Not deployed now.", label: "Deployments" },
        ),
        { id: "deployments" },
      ),
    );
    if (node.model) {
      wide.push(
        panel("Other versions of this model", table(["Version", "Created", "Metrics", "Health"], node.model.versions.nodes.map((v) => [v.id === node.id ? h("strong", {}, `v${v.version} (this)`) : entityLink(v, { text: `v${v.version}` }), formatTime(v.createdAt), metrics(v.metrics), v.health ? healthBadge(v.health.status) : ""]), { label: "Model versions" })),
      );
    }
  } else if (kind === "DEPLOYMENT") {
    wide.push(
      panel(
        "Model versions served",
        table(
          ["Model version", "From", "Until", "Traffic", "Metrics", "Health"],
          node.servingHistory.map((s) => [entityLink(s.modelVersion), formatTime(s.since), s.current ? h("span", { class: "badge health-ok" }, "serving") : formatTime(s.until), s.traffic === null ? "" : `${formatNumber(s.traffic)}%`, s.modelVersion ? metrics(s.modelVersion.metrics) : "", s.modelVersion && s.modelVersion.health ? healthBadge(s.modelVersion.health.status) : ""]),
          { empty: "Has served nothing yet.", label: "Served versions" },
        ),
        { id: "served" },
      ),
    );
  } else if (kind === "CHECK") {
    left.push(panel("Checked", props([["Target", entityLink(node.target)], ["Check", h("code", {}, node.check)]])));
    wide.push(
      panel(
        `Results (${node.results.totalCount ?? node.results.nodes.length})`,
        table(
          ["Result", "Outcome", "Observed", "Expected", "When", "Dataset version"],
          node.results.nodes.map((r) => [entityLink(r), resultBadge(r.passed), r.observed || "", r.expected || "", formatTime(r.observedAt), r.datasetVersion ? entityLink(r.datasetVersion) : ""]),
          { empty: "No results yet.", label: "Results" },
        ),
        { id: "results" },
      ),
    );
  } else if (kind === "RESULT") {
    left.push(panel("Result", props([["Outcome", resultBadge(node.passed)], ["Observed", node.observed], ["Expected", node.expected], ["Message", node.message], ["When", formatTime(node.observedAt)], ["Check", entityLink(node.check)], ["Dataset version", node.datasetVersion ? entityLink(node.datasetVersion) : null], ["Run", node.run ? entityLink(node.run) : null]])));
  }
  return [h("div", { class: "grid-2" }, h("div", { class: "stack" }, left), h("div", { class: "stack" }, right)), wide];
}
