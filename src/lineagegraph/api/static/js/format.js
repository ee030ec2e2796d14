// Presentation of the graph model: kind names, icons, health, times and labels.

import { h, icon } from "./dom.js";

// Icon paths (24x24, stroked) per entity kind.
const ICONS = {
  DATASET: ["M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3z", "M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6", "M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3"],
  FIELD: ["M4 5h16v14H4z", "M4 10h16", "M10 10v9"],
  JOB: ["M12 3l8 4.5v9L12 21l-8-4.5v-9z", "M9 12l2 2 4-4"],
  RUN: ["M8 5v14l11-7z"],
  DATASET_VERSION: ["M4 7l8-4 8 4-8 4z", "M4 12l8 4 8-4", "M4 17l8 4 8-4"],
  FEATURE: ["M3 12l9-9h9v9l-9 9z", "M16 8h.01"],
  MODEL: ["M12 2l9 5v10l-9 5-9-5V7z", "M12 12l9-5", "M12 12v10", "M12 12L3 7"],
  MODEL_VERSION: ["M12 3l8 4.5v9L12 21l-8-4.5v-9z", "M12 8v8", "M8 12h8"],
  DEPLOYMENT: ["M5 13l4 4L19 7", "M3 20h18"],
  CHECK: ["M9 12l2 2 4-4", "M12 3l7 3v6c0 4-3 7.5-7 9-4-1.5-7-5-7-9V6z"],
  RESULT: ["M4 4h16v16H4z", "M8 12l3 3 5-6"],
  // a check or result that failed: the same outline with a cross for the tick
  CHECK_FAILED: ["M9.5 9.5l5 5", "M14.5 9.5l-5 5", "M12 3l7 3v6c0 4-3 7.5-7 9-4-1.5-7-5-7-9V6z"],
  RESULT_FAILED: ["M4 4h16v16H4z", "M9 9l6 6", "M15 9l-6 6"],
  GROUP: ["M4 4h7v7H4z", "M13 4h7v7h-7z", "M4 13h7v7H4z", "M13 13h7v7h-7z"],
};

/** Colours of each kind's icon, used in lists and on the graph. */
export const KIND_COLOURS = {
  DATASET: "#1570ef",
  FIELD: "#475467",
  JOB: "#6938ef",
  RUN: "#6938ef",
  DATASET_VERSION: "#1570ef",
  FEATURE: "#0e9384",
  MODEL: "#3538cd",
  MODEL_VERSION: "#3538cd",
  DEPLOYMENT: "#c11574",
  CHECK: "#067647",
  RESULT: "#067647",
  GROUP: "#475467",
};

// The colour of a failed check's or result's icon (the failing badge's red).
const FAILED_COLOUR = "#b42318";

/** A kind's icon as an SVG data URI (for the graph's node images); `failed` draws a
 * check's or result's failed icon. */
export function kindIconUri(kind, failed = false) {
  const shown = failed && ICONS[`${kind}_FAILED`] ? `${kind}_FAILED` : kind;
  const colour = shown === kind ? KIND_COLOURS[kind] || KIND_COLOURS.GROUP : FAILED_COLOUR;
  const paths = (ICONS[shown] || ICONS.GROUP).map((d) => `<path d="${d}"/>`).join("");
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24" fill="none" ` +
    `stroke="${colour}" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${paths}</svg>`;
  return `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
}

/** Every entity kind with its display name, in the order the UI lists them. */
export const KINDS = [
  ["DATASET", "Dataset"],
  ["FIELD", "Column"],
  ["JOB", "Job"],
  ["FEATURE", "Feature"],
  ["MODEL", "Model"],
  ["MODEL_VERSION", "Model version"],
  ["DEPLOYMENT", "Deployment"],
  ["CHECK", "Check"],
  ["RUN", "Run"],
  ["DATASET_VERSION", "Dataset version"],
  ["RESULT", "Check result"],
];

const KIND_NAMES = Object.fromEntries(KINDS);

/** The display name of a kind ("MODEL_VERSION" -> "Model version"). */
export function kindName(kind) {
  return KIND_NAMES[kind] || String(kind || "").toLowerCase();
}

/** The icon of a kind as an inline SVG; `failed` gives a check or result its failed icon. */
export function kindIcon(kind, cls = "icon", failed = false) {
  const kindClass = `kind-${String(kind || "group").toLowerCase()}`;
  if (failed && ICONS[`${kind}_FAILED`]) return icon(ICONS[`${kind}_FAILED`], `${cls} ${kindClass} failed`);
  return icon(ICONS[kind] || ICONS.GROUP, `${cls} ${kindClass}`);
}

/** A small badge naming a kind, with its icon (a failed check's or result's when `failed`). */
export function kindBadge(kind, failed = false) {
  return h("span", { class: `badge kind kind-${String(kind).toLowerCase()}` }, kindIcon(kind, "icon", failed), kindName(kind));
}

/** Whether an entity is a check whose latest result failed or a result that failed (the
 * outcome, as the API gives it on the node: latestResult.passed or passed). */
export function failedOutcome(node) {
  if (!node || typeof node !== "object") return false;
  if (node.kind === "CHECK") return Boolean(node.latestResult && node.latestResult.passed === false);
  if (node.kind === "RESULT") return node.passed === false;
  return false;
}

/**
 * Whether the latest result of the check a health reason starts from failed (true when the
 * query did not ask). A check that passes now can still start a reason: an earlier result
 * of it failed on the data version something was built from.
 */
export function reasonCheckFails(reason) {
  const latest = reason.result && reason.result.check ? reason.result.check.latestResult : null;
  return !latest || latest.passed === false;
}

/** "1 node", "2 nodes"; `many` for an irregular plural ("entity", "entities"). */
export function plural(count, one, many = `${one}s`) {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}

/** The noun alone, by count: "node" for 1, "nodes" otherwise. */
export function noun(count, one, many = `${one}s`) {
  return count === 1 ? one : many;
}

const HEALTH = {
  OK: ["OK", "health-ok"],
  AT_RISK: ["At risk", "health-at-risk"],
  FAILING: ["Failing", "health-failing"],
};

/** A badge for a health status (OK, AT_RISK, FAILING). */
export function healthBadge(status) {
  const [label, cls] = HEALTH[status] || [String(status || "unknown"), "health-unknown"];
  return h("span", { class: `badge health ${cls}`, title: `Health: ${label}` }, label);
}

// What each kind of health reason rests on, as the evidence says it.
const REASON_KINDS = {
  OWN_CHECK: "Its own check fails",
  CHECKED_VERSION: "Confirmed by the check's results",
  RECORDED_RUNS: "Confirmed through recorded runs",
  NOT_REFRESHED: "Not refreshed since the failure (recorded runs)",
  DESIGN_LINEAGE: "Potential (design-time lineage)",
};

/** What a health reason rests on, in words. */
export function reasonKindLabel(reason) {
  return REASON_KINDS[reason.kind] || String(reason.kind);
}

/** A pass/fail badge for a check result. */
/** The badge that says how an entity is: a check by its latest result, a check result by
 * its outcome (health, OK for both, told nothing), anything else by its health. */
export function statusBadge(node) {
  if (node.kind === "CHECK") return resultBadge(node.latestResult ? node.latestResult.passed : null);
  if (node.kind === "RESULT") return resultBadge(node.passed);
  return node.health ? healthBadge(node.health.status) : null;
}

export function resultBadge(passed) {
  if (passed === null || passed === undefined) return h("span", { class: "badge muted" }, "no result");
  return passed
    ? h("span", { class: "badge health-ok" }, "passed")
    : h("span", { class: "badge health-failing" }, "failed");
}

/** A run state badge. */
export function stateBadge(state) {
  const cls = { COMPLETE: "health-ok", FAIL: "health-failing", ABORT: "health-at-risk" }[state] || "muted";
  return h("span", { class: `badge ${cls}` }, String(state || "unknown").toLowerCase());
}

/** A timestamp as "2026-10-03 02:20 UTC" (empty for null). */
export function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A number with at most 4 significant decimals. */
export function formatNumber(value) {
  if (typeof value !== "number") return String(value ?? "");
  return Number.isInteger(value) ? value.toLocaleString("en-US") : String(Number(value.toPrecision(4)));
}

/**
 * A short label for an entity id, read from the id itself:
 * "dataset|snowflake://acme|analytics.staging.stg_orders" -> "analytics.staging.stg_orders".
 */
export function labelFromId(id) {
  const parts = String(id).split("|").map((p) => p.replace(/%7C/gi, "|").replace(/%25/g, "%"));
  const kind = (parts[0] || "").toUpperCase();
  const name = parts[2] || id;
  const rest = parts.slice(3);
  if (kind === "FIELD") return `${shortName(name)}.${rest[0]}`;
  if (kind === "MODEL_VERSION") return `${name} v${rest[0]}`;
  if (kind === "CHECK") return `${rest[0]} on ${shortName(name)}`;
  if (kind === "RESULT") return `${rest[0]} @ ${rest[1]}`;
  if (kind === "DATASET_VERSION") return `${shortName(name)} @ ${rest[0]}`;
  if (kind === "RUN") return `${name} run ${String(rest[0]).slice(0, 8)}`;
  return name;
}

/** The kind named at the start of an id ("dataset|..." -> "DATASET"). */
export function kindFromId(id) {
  return String(id).split("|", 1)[0].toUpperCase();
}

/** The last dotted part of a name ("analytics.staging.stg_orders" -> "stg_orders"). */
export function shortName(name) {
  const text = String(name);
  const dot = text.lastIndexOf(".");
  return dot >= 0 && dot < text.length - 1 ? text.slice(dot + 1) : text;
}

/** Join owners/tags as small chips. */
export function chips(values, cls = "chip") {
  if (!values || !values.length) return h("span", { class: "muted" }, "none");
  return h("span", { class: "chips" }, values.map((v) => h("span", { class: cls }, v)));
}
