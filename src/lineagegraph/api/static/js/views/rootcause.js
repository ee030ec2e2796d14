// The root-cause view: for a model version or deployment, the ranked upstream suspects with
// their score breakdown, and the provenance diff against the previous version.

import { gql } from "../api.js";
import { displayLabel, emptyState, entityLink, panel, table } from "../components.js";
import { h, replace } from "../dom.js";
import { formatNumber, formatTime, healthBadge, kindBadge, kindFromId } from "../format.js";
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

export const ROOT_CAUSE_QUERY = `query RootCause($id: ID!) {
  rootCause(id: $id) {
    target { id kind label namespace name }
    modelVersion { id kind label namespace name version }
    baseline { id kind label namespace name version }
    suspects {
      rank score kind summary at hops onColumnPath inDiff
      subject { id kind label namespace name }
      parts { name value weight detail }
      evidence
    }
    diff {
      from { id label } to { id label }
      inputs { entity { id kind label namespace name } before { id label } after { id label } change }
      schemaChanges { dataset { id kind label namespace name } field change before after }
      codeChanges { job { id kind label namespace name } before after }
      checkChanges { check { id kind label namespace name } before after }
      edgeChanges { sourceId targetId kind change }
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
    replace(root, head(null), pickEntity({ kinds: ["MODEL_VERSION", "DEPLOYMENT"], label: "Model version or deployment", ctx, onPick: (node) => go(link("root-cause", node.id)) }));
    return undefined;
  }
  const kind = kindFromId(route.id);
  if (kind !== "MODEL_VERSION" && kind !== "DEPLOYMENT") {
    replace(root, head(null), emptyState("Root cause starts from a model version or a deployment.", entityLink(route.id)));
    return undefined;
  }
  const subject = (await gql(SUBJECT_QUERY, { id: route.id })).node;
  if (!ctx.isCurrent()) return undefined;
  if (!subject) {
    replace(root, head(null), emptyState(`No entity with id ${route.id}.`));
    return undefined;
  }
  document.title = `Root cause · ${displayLabel(subject)} · lineagegraph`;
  replace(root, head(subject), h("p", { class: "muted" }, "Ranking suspects…"));
  const report = (await gql(ROOT_CAUSE_QUERY, { id: route.id })).rootCause;
  if (!ctx.isCurrent()) return undefined;

  const status = h("span", { class: "graph-status", role: "status" });
  const listBox = h("div", {});
  const { element: graphEl, graph } = graphPanel({
    label: "Upstream of the model, suspects marked",
    status,
    onSelect: () => {},
    onOpen: (node) => go(link("entity", node.id)),
    onRender: (nodes) => replace(listBox, nodeList(nodes, (id) => graph.select(id))),
    legendExtra: [h("span", {}, h("span", { class: "swatch", style: "border-color:#7f56d9;background:#f4ebff" }), "top suspect"), h("span", {}, h("span", { class: "swatch lit" }), "other suspects")],
  });

  replace(
    root,
    head(subject),
    context(subject, report),
    panel(`Suspects (${report.suspects.length})`, suspectsTable(report.suspects), { id: "suspects" }),
    h("div", { class: "split" }, graphEl, panel("In view", listBox)),
    panel(report.baseline ? `What changed since ${displayLabel(report.baseline)}` : "What changed", diffView(report), { id: "diff" }),
  );

  const start = report.modelVersion ? report.modelVersion.id : route.id;
  const model = await fetchLineage(start, { direction: "UPSTREAM", depth: null, columnLevel: false });
  if (!ctx.isCurrent()) return undefined;
  const lineageIds = new Set(model.nodes.map((n) => n.id));
  const touched = (s) => [s.subject && s.subject.id, ...(s.evidence || [])].filter((id) => id && lineageIds.has(id));
  const [top, ...rest] = report.suspects;
  graph.load(model, { focus: [start] });
  if (top) graph.mark("origin", touched(top));
  graph.mark("affected", rest.flatMap(touched));
  graph.render();
  status.textContent = `${model.nodes.length} upstream entities`;
  return () => graph.destroy();
}

function context(subject, report) {
  const version = report.modelVersion;
  const items = [h("span", {}, "Investigating ", entityLink(version || subject))];
  if (subject.kind === "DEPLOYMENT" && version) items.push(h("span", { class: "muted" }, ` (served by ${displayLabel(subject)})`));
  if (report.baseline) items.push(h("span", {}, " against the previous version ", entityLink(report.baseline)));
  return h("div", { class: "panel" }, h("p", { style: "margin:0" }, items));
}

function scoreBar(parts, total) {
  const sum = parts.reduce((acc, p) => acc + Math.max(0, p.value), 0) || 1;
  return h(
    "div",
    { class: "score-bar", role: "img", "aria-label": `score ${formatNumber(total)}` },
    parts.map((p, i) => h("span", { style: `width:${(100 * Math.max(0, p.value)) / sum}%;background:${PART_COLOURS[i % PART_COLOURS.length]}`, title: `${p.name}: ${formatNumber(p.value)}` })),
  );
}

function breakdown(parts) {
  return h(
    "div",
    { class: "breakdown" },
    parts.map((p, i) => [
      h("span", {}, h("span", { class: "part-swatch", style: `background:${PART_COLOURS[i % PART_COLOURS.length]}` }), p.name),
      h("span", { class: "muted" }, p.detail || ""),
      h("span", { class: "num" }, formatNumber(p.value)),
    ]),
  );
}

function suspectsTable(suspects) {
  if (!suspects.length) return h("p", { class: "muted" }, "No upstream event explains this: no failed check, schema or code change, failed run or volume shift upstream in the window.");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { "aria-label": "Ranked suspects" },
      h("thead", {}, h("tr", {}, ["#", "Suspect", "Event", "When", "Hops", "Score", "Breakdown"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        suspects.map((s, i) =>
          h(
            "tr",
            { class: `suspect ${i === 0 ? "top" : ""}`, dataset: { id: s.subject ? s.subject.id : "" } },
            h("td", { class: "rank" }, String(s.rank ?? i + 1)),
            h("td", {}, s.subject ? entityLink(s.subject) : "", h("div", { class: "hint" }, s.summary || "")),
            h("td", {}, h("span", { class: "badge" }, String(s.kind).toLowerCase().replace(/_/g, " ")), s.onColumnPath ? h("div", { class: "hint" }, "on a column path to the model's features") : null, s.inDiff ? h("div", { class: "hint" }, "in the diff against the previous version") : null),
            h("td", {}, formatTime(s.at)),
            h("td", { class: "num" }, s.hops ?? ""),
            h("td", {}, h("strong", {}, formatNumber(s.score)), scoreBar(s.parts, s.score)),
            h("td", {}, breakdown(s.parts)),
          ),
        ),
      ),
    ),
  );
}

function diffView(report) {
  const diff = report.diff;
  if (!diff) return h("p", { class: "muted" }, "This is the first version: there is no earlier version to compare with.");
  const change = (value) => h("span", { class: value === "ADDED" ? "diff-add" : value === "REMOVED" ? "diff-remove" : "diff-change" }, String(value || "changed").toLowerCase());
  const ref = (n) => (n ? entityLink(n) : h("span", { class: "muted" }, "—"));
  const sections = [
    ["Inputs", table(["Input", "Before", "After", "Change"], diff.inputs.map((x) => [ref(x.entity), ref(x.before), ref(x.after), change(x.change)]), { empty: "Same inputs.", label: "Input changes" })],
    ["Schema changes", table(["Dataset", "Column", "Change", "Before", "After"], diff.schemaChanges.map((x) => [ref(x.dataset), x.field ? h("code", {}, x.field) : "", change(x.change), h("code", {}, x.before || ""), h("code", {}, x.after || "")]), { empty: "No schema changes.", label: "Schema changes" })],
    ["Code changes", table(["Job", "Before", "After"], diff.codeChanges.map((x) => [ref(x.job), x.before || "", x.after || ""]), { empty: "No code changes.", label: "Code changes" })],
    ["Checks", table(["Check", "Before", "After"], diff.checkChanges.map((x) => [ref(x.check), x.before || "", x.after || ""]), { empty: "No new check failures.", label: "Check changes" })],
    ["Lineage", table(["From", "To", "Edge", "Change"], diff.edgeChanges.map((x) => [ref({ id: x.sourceId }), ref({ id: x.targetId }), x.kind, change(x.change)]), { empty: "Same upstream edges.", label: "Lineage changes" })],
  ];
  return h("div", { class: "stack" }, sections.map(([title, body]) => h("div", {}, h("h3", {}, title), body)));
}
