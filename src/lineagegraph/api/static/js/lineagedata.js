// Fetching lineage from the API and turning it into the canvas's model.

import { gql } from "./api.js";
import { displayLabel } from "./components.js";

// Pages of lineage fetched for one view at most; past that the result says it was cut.
const PAGE_SIZE = 1000;
const MAX_PAGES = 10;

export const NODE_FIELDS = `id kind label namespace name health { status }`;

export const LINEAGE_QUERY = `query Lineage($id: ID!, $direction: Direction!, $depth: Int, $columnLevel: Boolean!, $asOf: DateTime, $first: Int!, $after: String) {
  lineage(id: $id, direction: $direction, depth: $depth, columnLevel: $columnLevel, asOf: $asOf, first: $first, after: $after) {
    root { ${NODE_FIELDS} }
    nodes { depth direction partial node { ${NODE_FIELDS} } }
    edges { from to kind via }
    truncated truncation cycles
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;

function escapePart(part) {
  return String(part).replace(/%/g, "%25").replace(/\|/g, "%7C");
}

/** The dataset id a field, check or version belongs to (same namespace and name). */
export function datasetIdOf(node) {
  return `dataset|${escapePart(node.namespace)}|${escapePart(node.name)}`;
}

/** A node of the canvas's model from an API node. */
export function toGraphNode(node, extra = {}) {
  return {
    id: node.id,
    kind: node.kind,
    namespace: node.namespace,
    name: node.name,
    label: displayLabel(node),
    shortLabel: node.label,
    health: node.health ? node.health.status : "OK",
    dataset: node.kind === "FIELD" ? datasetIdOf(node) : undefined,
    ...extra,
  };
}

/**
 * The lineage of one entity, every page up to a cap:
 * {root, nodes: [graph nodes], edges: [{source, target, kind}], truncated, truncation, cycles, total}.
 */
export async function fetchLineage(id, { direction = "BOTH", depth = null, columnLevel = false, asOf = null } = {}) {
  const nodes = [];
  const edges = [];
  let after = null;
  let root = null;
  let truncated = false;
  let truncation = null;
  let cycles = [];
  let total = 0;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const data = await gql(LINEAGE_QUERY, { id, direction, depth, columnLevel, asOf, first: PAGE_SIZE, after });
    const result = data.lineage;
    root = result.root;
    truncated = truncated || result.truncated;
    truncation = truncation || result.truncation;
    cycles = result.cycles || cycles;
    total = result.totalCount ?? total;
    for (const entry of result.nodes) {
      nodes.push(toGraphNode(entry.node, { depth: entry.depth, side: entry.direction, partial: entry.partial }));
    }
    for (const edge of result.edges) {
      edges.push({ source: edge.from, target: edge.to, kind: edge.kind || "VIA", via: edge.via || [] });
    }
    if (!result.pageInfo.hasNextPage) {
      return { root: toGraphNode(root, { depth: 0 }), nodes: [toGraphNode(root, { depth: 0 }), ...nodes], edges, truncated, truncation, cycles, total, complete: true };
    }
    after = result.pageInfo.endCursor;
  }
  return { root: toGraphNode(root, { depth: 0 }), nodes: [toGraphNode(root, { depth: 0 }), ...nodes], edges, truncated: true, truncation: truncation || "pages", cycles, total, complete: false };
}
