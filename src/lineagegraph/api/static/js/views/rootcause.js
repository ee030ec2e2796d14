// The root-cause view: for a model version or deployment, the ranked upstream suspects with
// their score breakdown, and the provenance diff against the previous version.

import { gql } from "../api.js";
import { displayLabel, emptyState, entityLink, panel, table } from "../components.js";
import { h, replace } from "../dom.js";
import { formatNumber, formatTime, healthBadge, kindBadge, kindFromId, labelFromId, plural, resultBadge } from "../format.js";
import { graphPanel, nodeList } from "../graphpanel.js";
import { fetchLineage } from "../lineagedata.js";
import { pickEntity } from "../picker.js";
import { go, link } from "../router.js";

const PART_COLOURS = ["#7f56d9", "#f79009", "#2e90fa", "#12b76a", "#f04438", "#667085", "#ee46bc", "#15b79e"];

const SUBJECT_QUERY = `query RootCauseSubject($id: ID!) {
  node(id: $id) {
    id kind label namespace name health { status }
    ... on ModelVersion { version createdAt metrics { name value } model { id label namespace name } }
    ... on Deployment { environment servedVersions { since modelVersion { id kind label namespace name version createdAt metrics { name value } } } }
  }
}`;

const REF = "id kind label namespace name";

export const ROOT_CAUSE_QUERY = `query RootCause($id: ID!) {
  rootCause(id: $id) {
    subjectId modelVersionId baselineId since until
    suspects {
      id kind entityId relatedIds at summary path score
      breakdown { severity hops proximity hoursBefore recency onColumnPath columnFactor inProvenanceDiff diffFactor score }
      entity { ${REF} }
    }
    diff {
      from to
      inputs { entityId change fromVersions toVersions }
      schemaChanges { datasetId fromVersion toVersion field change fromType toType breaking }
      codeChanges { jobId fromCodeVersions toCodeVersions }
      checkChanges { checkId change fromResult fromPassed toResult toPassed }
      edgeChanges { from kind to change }
    }
  }
}`;

/** Render #/root-cause/<model version or deployment id> */
export async function render(root, route, ctx) {
  const head = (node) =>
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "title" },
        h("h1", {}, node ? `Root cause: ${displayLabel(node)}` : "Root cause"),
        h("span", { class: "subtitle" }, node ? [kindBadge(node.kind), healthBadge(node.health.status), h("a", { href: link("entity", node.id) }, "Entity page"), h("a", { href: link("lineage", node.id, { direction: "UPSTREAM" }) }, "Upstream lineage")] : "Pick a model version or deployment that regressed"),
      ),
    );
  if (!route.id) {
    replace(root, head(null), pickEntity({ kinds: ["MODEL_VERSION", "DEPLOYMENT"], label: "Model version or deployment", ctx, hrefFor: (node) => link("root-cause", node.id) }));
    return;
  }
  const kind = kindFromId(route.id);
  if (kind !== "MODEL_VERSION" && kind !== "DEPLOYMENT") {
    replace(root, head(null), emptyState("Root cause starts from a model version or a deployment.", entityLink(route.id)));
    return;
  }
  const subject = (await gql(SUBJECT_QUERY, { id: route.id })).node;
  if (!ctx.isCurrent()) return;
  if (!subject) {
    replace(root, head(null), emptyState(`No entity with id ${route.id}.`));
    return;
  }
  document.title = `Root cause · ${displayLabel(subject)} · lineagegraph`;
  replace(root, head(subject), h("p", { class: "muted" }, "Ranking suspects…"));
  const report = (await gql(ROOT_CAUSE_QUERY, { id: route.id })).rootCause;
  if (!ctx.isCurrent()) return;

  const status = h("span", { class: "graph-status", role: "status" });
  const listBox = h("div", {});
  const { element: graphEl, graph } = graphPanel({
    label: "Upstream of the model, suspects marked",
    status,
    onSelect: () => {},
    onOpen: (node) => go(link("entity", node.id)),
    openHint: "opens the selected node's page",
    onRender: (nodes) => replace(listBox, nodeList(nodes, (id) => graph.select(id), { origin: "top suspect", affected: "suspect" })),
    legendExtra: [h("span", {}, h("span", { class: "swatch", style: "border-color:#7f56d9;background:#f4ebff" }), "top suspect"), h("span", {}, h("span", { class: "swatch lit" }), "other suspects")],
  });

  replace(
    root,
    head(subject),
    context(subject, report),
    panel(`Suspects (${report.suspects.length})`, suspectsTable(report.suspects), { id: "suspects" }),
    h("div", { class: "split" }, graphEl, panel("In view", listBox)),
    panel(report.baselineId ? `What changed since ${labelFromId(report.baselineId)}` : "What changed", diffView(report), { id: "diff" }),
  );

  const start = report.modelVersionId;
  const model = await fetchLineage(start, { direction: "UPSTREAM", depth: null, columnLevel: false });
  if (!ctx.isCurrent()) return;
  const drawn = new Set(model.nodes.map((n) => n.id));
  // a suspect sits on its entity, or on that entity's dataset when columns are not drawn
  const place = (id) => (drawn.has(id) ? id : drawn.has(datasetOf(id)) ? datasetOf(id) : null);
  const [top, ...rest] = report.suspects;
  graph.load(model, { focus: [start] });
  if (top) {
    const steps = top.path.map(place).filter(Boolean);
    const pairs = new Set(steps.slice(1).map((id, i) => `${steps[i]}>${id}`));
    const edges = model.edges.filter((e) => pairs.has(`${e.source}>${e.target}`)).map((e) => `${e.source}>${e.kind}>${e.target}`);
    graph.mark("origin", [place(top.entityId)].filter(Boolean));
    graph.mark("path", edges);
  }
  const topPlace = top ? place(top.entityId) : null;
  graph.mark("affected", rest.map((s) => place(s.entityId)).filter((id) => id && id !== topPlace));
  graph.render();
  status.textContent = plural(model.nodes.length, "upstream entity", "upstream entities");
}

function context(subject, report) {
  const items = [h("span", {}, "Investigating ", entityLink(report.modelVersionId))];
  if (subject.kind === "DEPLOYMENT") items.push(h("span", { class: "muted" }, ` (the version ${displayLabel(subject)} serves now)`));
  if (report.baselineId) items.push(h("span", {}, " against the previous version ", entityLink(report.baselineId)));
  items.push(h("span", { class: "muted" }, ` · events from ${report.since ? formatTime(report.since) : "the beginning"} to ${formatTime(report.until)}`));
  return h("div", { class: "panel" }, h("p", { style: "margin:0" }, items));
}

// The score is the product of its factors; each factor is shown with what it stands for.
function factors(b) {
  return [
    ["Severity", b.severity, "how serious the event is"],
    ["Proximity", b.proximity, `${b.hops} hop${b.hops === 1 ? "" : "s"} from the model version`],
    ["Recency", b.recency, `${formatNumber(b.hoursBefore)} h before the regression`],
    ["Column path", b.columnFactor, b.onColumnPath === null ? "not a column event" : b.onColumnPath ? "on a column path to the model's features" : "off the model's column paths"],
    ["Provenance diff", b.diffFactor, b.inProvenanceDiff ? "in the diff against the previous version" : "not in the diff"],
  ];
}

function breakdown(b) {
  return h(
    "div",
    { class: "breakdown" },
    factors(b).map(([name, value, why], i) => [
      h("span", {}, h("span", { class: "part-swatch", style: `background:${PART_COLOURS[i]}` }), name),
      h("span", { class: "muted" }, why),
      h("span", { class: "num" }, `× ${formatNumber(value)}`),
    ]),
    h("strong", {}, "Score"),
    h("span", { class: "muted" }, "product of the factors"),
    h("strong", { class: "num" }, formatNumber(b.score)),
  );
}

function suspectsTable(suspects) {
  if (!suspects.length) return h("p", { class: "muted" }, "No upstream event explains this in the window: no failed check, schema or code change, failed run, volume shift or lineage change upstream.");
  const top = Math.max(...suspects.map((s) => s.score)) || 1;
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { "aria-label": "Ranked suspects" },
      h("thead", {}, h("tr", {}, ["#", "Suspect", "When", "Score", "Why this score"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        suspects.map((s, i) =>
          h(
            "tr",
            { class: `suspect ${i === 0 ? "top" : ""}`, dataset: { id: s.entityId } },
            h("td", { class: "rank" }, String(i + 1)),
            h(
              "td",
              {},
              h("div", {}, h("span", { class: `badge ${s.kind === "FAILED_CHECK" || s.kind === "FAILED_RUN" ? "health-failing" : "health-at-risk"}` }, String(s.kind).toLowerCase().replace(/_/g, " ")), " ", entityLink(s.entity || s.entityId, { failed: s.kind === "FAILED_CHECK" })),
              h("div", { style: "margin-top:4px" }, s.summary),
              s.relatedIds.length ? h("div", { class: "hint related" }, "Involves: ", s.relatedIds.map((id, k) => [k ? ", " : "", entityLink(id, { failed: s.kind === "FAILED_CHECK" })])) : null,
            ),
            h("td", {}, formatTime(s.at)),
            h("td", {}, h("strong", {}, formatNumber(s.score)), h("div", { class: "score-bar", title: `relative to the top suspect` }, h("span", { style: `width:${(100 * s.score) / top}%;background:${i === 0 ? "#7f56d9" : "#b692f6"}` }))),
            h("td", {}, breakdown(s.breakdown)),
          ),
        ),
      ),
    ),
  );
}

function diffView(report) {
  const diff = report.diff;
  if (!diff) return h("p", { class: "muted" }, "There is no earlier version to compare with.");
  const change = (value) => h("span", { class: value === "ADDED" || value === "RECOVERED" ? "diff-add" : value === "REMOVED" || value === "NEW_FAILURE" ? "diff-remove" : "diff-change" }, String(value || "changed").toLowerCase().replace(/_/g, " "));
  const versions = (ids) => (ids.length ? h("span", { class: "chips" }, ids.map((id) => entityLink(id))) : h("span", { class: "muted" }, "—"));
  const outcome = (passed) => (passed === null || passed === undefined ? h("span", { class: "muted" }, "—") : resultBadge(passed));
  const sections = [
    ["Inputs read at other versions", table(["Input", `On ${labelFromId(diff.from)}`, `On ${labelFromId(diff.to)}`, "Change"], diff.inputs.map((x) => [entityLink(x.entityId), versions(x.fromVersions), versions(x.toVersions), change(x.change)]), { empty: "Same input versions.", label: "Input changes" })],
    ["Schema changes", table(["Dataset", "Column", "Change", "Before", "After", "Breaking"], diff.schemaChanges.map((x) => [entityLink(x.datasetId), h("code", {}, x.field), change(x.change), h("code", {}, x.fromType || ""), h("code", {}, x.toType || ""), x.breaking ? h("span", { class: "badge breaking" }, "breaking") : "no"]), { empty: "No schema changes.", label: "Schema changes" })],
    ["Code changes", table(["Job", "Before", "After"], diff.codeChanges.map((x) => [entityLink(x.jobId), x.fromCodeVersions.join(", "), x.toCodeVersions.join(", ")]), { empty: "No code changes.", label: "Code changes" })],
    ["Check outcomes", table(["Check", "Change", "Before", "After"], diff.checkChanges.map((x) => [entityLink(x.checkId, { failed: x.toPassed === false }), change(x.change), outcome(x.fromPassed), outcome(x.toPassed)]), { empty: "No check outcome changed.", label: "Check changes" })],
    ["Lineage", table(["From", "Edge", "To", "Change"], diff.edgeChanges.map((x) => [entityLink(x.from), x.kind, entityLink(x.to), change(x.change)]), { empty: "Same upstream edges.", label: "Lineage changes" })],
  ];
  return h("div", { class: "stack" }, sections.map(([title, body]) => h("div", {}, h("h3", {}, title), body)));
}

// The entity a field, check, result or dataset version belongs to (its dataset), or a run's job.
function datasetOf(id) {
  const parts = String(id).split("|");
  if (parts.length <= 3) return id;
  return `${parts[0] === "run" ? "job" : "dataset"}|${parts[1]}|${parts[2]}`;
}
