// Search across the catalog, with kind filters; each hit opens the entity page.

import { ApiError, gql } from "../api.js";
import { displayLabel } from "../components.js";
import { h, replace } from "../dom.js";
import { KINDS, failedOutcome, kindBadge, kindIcon, kindName, statusBadge } from "../format.js";
import { go, link } from "../router.js";

const PAGE = 25;
// Kinds offered as filters: what people look for in a catalog.
const FILTER_KINDS = KINDS.filter(([kind]) => !["RUN", "DATASET_VERSION", "RESULT"].includes(kind));

export const SEARCH_QUERY = `query Search($query: String!, $kinds: [EntityKind!], $first: Int!, $after: String) {
  search(query: $query, kinds: $kinds, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id kind label namespace name
      health { status }
      ... on Dataset { description owners tags platform }
      ... on Field { type description }
      ... on Job { description owners jobType }
      ... on Feature { description owners }
      ... on Model { description owners }
      ... on ModelVersion { stage }
      ... on Deployment { description owners environment }
      ... on Check { checkType severity latestResult { passed } }
    }
  }
}`;

/** Render #/search?q=...&kind=DATASET&kind=JOB */
export async function render(root, route, ctx) {
  const query = route.params.get("q") || "";
  // a kind named twice (a hand-edited address) is one kind
  const kinds = [...new Set(route.params.getAll("kind"))];
  document.title = query ? `${query} · search · lineagegraph` : "Search · lineagegraph";

  const input = h("input", {
    type: "search",
    id: "search-input",
    name: "q",
    value: query,
    placeholder: "Name, column, owner, tag or description — e.g. payments, pii, churn",
    "aria-label": "Search the catalog",
    autocomplete: "off",
  });
  const boxes = FILTER_KINDS.map(([kind, name]) =>
    h("label", {}, h("input", { type: "checkbox", name: "kind", value: kind, checked: kinds.includes(kind) }), kindIcon(kind), name),
  );
  const form = h(
    "form",
    { class: "panel stack", role: "search", onsubmit: submit },
    h("div", { class: "search-bar" }, input, h("button", { type: "submit", class: "primary" }, "Search")),
    h("fieldset", { class: "filters", "aria-label": "Filter by kind" }, h("legend", { class: "visually-hidden" }, "Kinds"), boxes),
  );
  const results = h("section", { class: "panel flush", "aria-label": "Search results", id: "results" });
  replace(root, h("div", { class: "page-head" }, h("div", { class: "title" }, h("h1", {}, "Search the catalog"), h("span", { class: "muted" }, "Datasets, columns, jobs, features, models and deployments"))), form, results);
  input.focus();
  for (const box of boxes) box.querySelector("input").addEventListener("change", submit);

  function submit(event) {
    if (event) event.preventDefault();
    const chosen = [...form.querySelectorAll("input[name=kind]:checked")].map((b) => b.value);
    go(link("search", null, { q: input.value.trim(), kind: chosen }));
  }

  try {
    await loadPage(results, query, kinds, null, ctx);
  } catch (err) {
    if (!ctx.isCurrent()) return;
    // a query the server refuses (one without words) is answered beside the search box,
    // which stays to fix it in; so does the box when the server cannot answer (down, say),
    // to search again from
    const refused = err instanceof ApiError && err.details.some((e) => e.extensions && e.extensions.code === "BAD_USER_INPUT");
    if (refused) {
      replace(results, h("p", { class: "empty", role: "alert" }, err.message));
      return;
    }
    ctx.showError(err, "Searching");
    replace(results, h("p", { class: "empty" }, "The results could not be loaded; the reason is shown above."));
  }
}

async function loadPage(results, query, kinds, after, ctx) {
  // no filter means the catalog kinds: runs, versions and check results are reached from
  // their job, dataset or check instead of crowding the hits
  const wanted = kinds.length ? kinds : FILTER_KINDS.map(([kind]) => kind);
  const data = await gql(SEARCH_QUERY, { query, kinds: wanted, first: PAGE, after });
  if (!ctx.isCurrent()) return;
  const page = data.search;
  if (!after) {
    replace(results, h("div", { class: "result-count", role: "status" }));
    if (!page.nodes.length) {
      countResults(results, query, page, 0, kinds);
      results.append(h("p", { class: "empty" }, "Nothing matches. Try fewer words or other kinds."));
      return;
    }
    results.append(h("ul", { class: "results" }));
  }
  const list = results.querySelector("ul.results");
  for (const node of page.nodes) list.append(h("li", {}, resultRow(node)));
  countResults(results, query, page, list.children.length, kinds);
  results.querySelector(".more")?.remove();
  if (page.pageInfo.hasNextPage) {
    const more = h("div", { class: "more", style: "padding:10px 16px" }, h("button", { type: "button" }, "Show more"));
    more.firstChild.addEventListener("click", () => {
      more.firstChild.disabled = true;
      loadPage(results, query, kinds, page.pageInfo.endCursor, ctx).catch((err) => ctx.showError(err, "Loading more results"));
    });
    results.append(more);
  }
}

// The count above the hits: the total when the server gives one, else how many are shown
// with a "+" while more pages follow (the first page's size was shown as the total). With
// kinds chosen and no words, the count is of those kinds, and says so: "5 checks in the
// catalog" read as the whole catalog.
function countResults(results, query, page, shown, kinds) {
  const total = page.totalCount ?? shown;
  const more = page.totalCount == null && page.pageInfo.hasNextPage ? "+" : "";
  const one = total === 1 && !more;
  let noun;
  if (query) noun = `result${one ? "" : "s"} for “${query}”`;
  else if (kinds.length === 1) noun = `${kindName(kinds[0]).toLowerCase()}${one ? "" : "s"} in the catalog`;
  else if (kinds.length) noun = `${one ? "entity" : "entities"} of the chosen kinds`;
  else noun = `${one ? "entity" : "entities"} in the catalog`;
  results.querySelector(".result-count").textContent = `${total}${more} ${noun}`;
}

function resultRow(node) {
  const meta = [h("span", { class: "mono" }, node.namespace)];
  if (node.kind === "FIELD") meta.push(h("span", {}, `column of ${node.name}`), node.type ? h("code", {}, node.type) : null);
  if (node.platform) meta.push(h("span", {}, node.platform));
  if (node.jobType) meta.push(h("span", {}, node.jobType));
  if (node.environment) meta.push(h("span", {}, node.environment));
  if (node.stage) meta.push(h("span", {}, node.stage));
  if (node.owners && node.owners.length) meta.push(h("span", {}, `owners: ${node.owners.join(", ")}`));
  if (node.tags && node.tags.length) meta.push(h("span", {}, node.tags.map((t) => `#${t}`).join(" ")));
  return h(
    "a",
    { class: "result", href: link("entity", node.id), dataset: { id: node.id } },
    kindIcon(node.kind, "icon", failedOutcome(node)),
    h("span", { class: "name" }, displayLabel(node), node.description ? h("span", { class: "muted", style: "font-weight:400" }, ` — ${node.description}`) : null),
    h("span", { class: "side" }, kindBadge(node.kind, failedOutcome(node)), statusBadge(node)),
    h("span", { class: "meta" }, meta),
  );
}
