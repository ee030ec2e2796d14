// Building blocks shared by the views: entity links, tables, health reasons, evidence paths.

import { h } from "./dom.js";
import { failedOutcome, formatTime, kindBadge, kindFromId, kindIcon, labelFromId, reasonCheckFails, reasonKindLabel, statusBadge } from "./format.js";
import { link } from "./router.js";

/**
 * A link to an entity page, with the kind's icon; `node` is {id, kind?, label?} or an id.
 * A check or result that failed gets the failed icon: told by the node's outcome, or by
 * `failed` where the caller knows it (a health reason's check).
 */
export function entityLink(node, { text = null, view = "entity", failed = null } = {}) {
  if (!node) return h("span", { class: "muted" }, "—");
  const id = typeof node === "string" ? node : node.id;
  const kind = (typeof node === "object" && node.kind) || kindFromId(id);
  const label = text || (typeof node === "object" && displayLabel(node)) || labelFromId(id);
  return h(
    "a",
    { href: link(view, id), class: "entity-link", title: id, dataset: { id } },
    kindIcon(kind, "icon", failed ?? failedOutcome(node)),
    " ",
    label,
  );
}

/**
 * The label a person expects for an entity: a column as table.column, a model version as
 * "model v3", a feature without its feature-view prefix.
 */
export function displayLabel(node) {
  const kind = node.kind || kindFromId(node.id);
  if (kind === "FEATURE" && node.name && node.name.includes(":")) return node.name.split(":").pop();
  if (kind === "MODEL_VERSION" || kind === "FIELD" || kind === "CHECK" || kind === "DATASET_VERSION" || kind === "RUN") {
    return labelFromId(node.id);
  }
  return node.label || node.name || labelFromId(node.id);
}

/** A panel with a heading; `actions` go on the heading's right. */
export function panel(title, body, { actions = null, cls = "", id = null } = {}) {
  const headingId = id ? `${id}-title` : null;
  return h(
    "section",
    { class: `panel ${cls}`, id, "aria-labelledby": headingId },
    title
      ? h("div", { class: "page-head" }, h("h2", { id: headingId }, title), actions ? h("div", { class: "actions" }, actions) : null)
      : null,
    body,
  );
}

/** A table: headers are strings; rows are arrays of cells (strings or nodes). */
export function table(headers, rows, { empty = "Nothing here.", rowClass = null, label = null } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { "aria-label": label },
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
      h(
        "tbody",
        {},
        rows.map((cells, i) => h("tr", { class: rowClass ? rowClass(i) : null }, cells.map((c) => h("td", {}, c)))),
      ),
    ),
  );
}

/** A definition list of [label, value] pairs, skipping empty values. */
export function props(pairs) {
  const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "");
  if (!shown.length) return h("p", { class: "muted" }, "No details recorded.");
  return h("dl", { class: "props" }, shown.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

/** An evidence path: a chain of entity chips joined by arrows; `failed` ids (the failed
 * check and its result) get the failed icon. */
export function pathChips(ids, { failed = [] } = {}) {
  const steps = [];
  ids.forEach((id, i) => {
    if (i) steps.push(h("span", { class: "arrow", "aria-hidden": "true" }, "→"));
    steps.push(h("span", { class: "step" }, entityLink(id, { failed: failed.includes(id) })));
  });
  return h("div", { class: "path", role: "list", "aria-label": "Evidence path" }, steps.map((s) => (s.classList.contains("step") ? h("span", { role: "listitem" }, s) : s)));
}

/** The reasons an entity is FAILING or AT_RISK, each with its path back to the failed check. */
export function healthReasons(health) {
  if (!health || health.status === "OK") {
    return h("p", { class: "muted" }, "No failing check reaches this entity.");
  }
  return h(
    "div",
    { class: "reasons" },
    (health.reasons || []).map((reason) =>
      h(
        "div",
        { class: `reason ${reason.hops === 0 ? "failing" : ""}` },
        h("div", {}, reason.message),
        h(
          "div",
          { class: "hint" },
          `${reasonKindLabel(reason)} · ${reason.hops} hop${reason.hops === 1 ? "" : "s"} · check `,
          entityLink(reason.checkId, { failed: reasonCheckFails(reason) }),
          reason.result && reason.result.observedAt ? ` · failed ${formatTime(reason.result.observedAt)}` : "",
        ),
        reason.path && reason.path.length > 1 ? pathChips(reason.path) : null,
      ),
    ),
  );
}

/** The title block of a page: icon, name, kind and health badges, subtitle. */
export function pageTitle(node, subtitle = null) {
  return h(
    "div",
    { class: "title" },
    h("div", { class: "title-row" }, kindIcon(node.kind, "icon entity-icon", failedOutcome(node)), h("h1", {}, displayLabel(node))),
    h(
      "div",
      { class: "subtitle" },
      kindBadge(node.kind, failedOutcome(node)),
      statusBadge(node),
      h("span", { class: "mono" }, node.namespace),
      subtitle,
    ),
  );
}

/** An empty-state panel with a message and optional call to action. */
export function emptyState(message, action = null) {
  return h("div", { class: "panel empty" }, h("p", {}, message), action);
}
