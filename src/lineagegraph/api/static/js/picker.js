// An entity picker: type to search, pick from the hits.

import { gql } from "./api.js";
import { displayLabel } from "./components.js";
import { h, replace } from "./dom.js";
import { healthBadge, kindBadge, kindIcon } from "./format.js";

const QUERY = `query Pick($query: String!, $kinds: [EntityKind!], $first: Int!) {
  search(query: $query, kinds: $kinds, first: $first) {
    nodes { id kind label namespace name health { status } }
  }
}`;

/** A panel with a search box listing matching entities of `kinds`, each linking to hrefFor(node). */
export function pickEntity({ kinds, hrefFor, label, ctx, placeholder = "Type a name…" }) {
  const input = h("input", { type: "search", id: "picker-input", placeholder, autocomplete: "off", "aria-label": label });
  const hits = h("ul", { class: "results", id: "picker-results", "aria-label": "Matches" });
  let timer = null;
  let asked = 0;
  async function lookup() {
    const mine = ++asked;
    try {
      const data = await gql(QUERY, { query: input.value.trim(), kinds, first: 15 });
      if (mine !== asked) return;
      const nodes = data.search.nodes;
      replace(
        hits,
        nodes.length
          ? nodes.map((node) =>
              h(
                "li",
                {},
                h(
                  "a",
                  { class: "result", href: hrefFor(node), dataset: { id: node.id } },
                  kindIcon(node.kind),
                  h("span", { class: "name" }, displayLabel(node)),
                  h("span", { class: "side" }, kindBadge(node.kind), healthBadge(node.health.status)),
                  h("span", { class: "meta" }, h("span", { class: "mono" }, node.namespace)),
                ),
              ),
            )
          : h("li", { class: "empty" }, "No match."),
      );
    } catch (err) {
      ctx.showError(err, "Searching");
    }
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(lookup, 200);
  });
  queueMicrotask(lookup);
  setTimeout(() => input.focus(), 0);
  return h("section", { class: "panel stack" }, h("label", { class: "field", for: "picker-input" }, label, input), h("div", { class: "panel flush" }, hits));
}
