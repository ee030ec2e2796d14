// Boot: route the hash to a view, show API errors, keep the navigation in step.

import { onBusy, saveToken, savedToken } from "./api.js";
import { h, replace } from "./dom.js";
import { destroyGraphs } from "./graphpanel.js";
import { current, go, link } from "./router.js";
import * as cascade from "./views/cascade.js";
import * as entity from "./views/entity.js";
import * as impact from "./views/impact.js";
import * as lineage from "./views/lineage.js";
import * as rootcause from "./views/rootcause.js";
import * as search from "./views/search.js";

const VIEWS = {
  search,
  entity,
  lineage,
  impact,
  "at-risk": cascade,
  "root-cause": rootcause,
};

const root = document.getElementById("view");
const errors = document.getElementById("errors");
let generation = 0;

/** Show an error to the user (never swallowed); `context` says what was being done. */
export function showError(err, context = "") {
  const message = err && err.message ? err.message : String(err);
  const box = h(
    "div",
    { class: "error" },
    h("strong", {}, context ? `${context} failed` : "Error"),
    h("span", { class: "message" }, message),
    h("button", { type: "button", "aria-label": "Dismiss error", onclick: () => box.remove() }, "×"),
  );
  if (err && (err.status === 401 || err.status === 403)) box.append(tokenForm());
  errors.append(box);
  console.error(context, err);
}

// The server has auth on: let the user give a bearer token (kept in this browser only).
function tokenForm() {
  const input = h("input", { type: "password", id: "token-input", placeholder: "bearer token", autocomplete: "off", value: savedToken() });
  return h(
    "form",
    {
      class: "token-form",
      onsubmit: (event) => {
        event.preventDefault();
        saveToken(input.value.trim());
        route();
      },
    },
    h("label", { for: "token-input" }, "Token"),
    input,
    h("button", { type: "submit" }, "Use token"),
  );
}

/** Remove every error shown. */
export function clearErrors() {
  errors.replaceChildren();
}

/** A short confirmation at the bottom of the screen. */
export function toast(message) {
  const note = h("div", { class: "toast", role: "status" }, message);
  document.body.append(note);
  setTimeout(() => note.remove(), 2200);
}

async function route() {
  const state = current();
  const view = VIEWS[state.view];
  generation += 1;
  const mine = generation;
  destroyGraphs();
  clearErrors();
  for (const anchor of document.querySelectorAll(".topbar nav a")) {
    const active = anchor.dataset.view === state.view || (state.view === "entity" && anchor.dataset.view === "search");
    if (active) anchor.setAttribute("aria-current", "page");
    else anchor.removeAttribute("aria-current");
  }
  replace(root);
  if (!view) {
    replace(root, h("div", { class: "panel empty" }, `No view named "${state.view}". `, h("a", { href: link("search") }, "Go to search")));
    return;
  }
  const ctx = {
    showError,
    clearErrors,
    toast,
    // a view checks this after each await so a slow answer never paints over a newer page
    isCurrent: () => mine === generation,
  };
  try {
    await view.render(root, state, ctx);
  } catch (err) {
    if (mine !== generation) return;
    showError(err, "Loading this page");
    destroyGraphs();
    // drop the half-built page (and its canvas) so nothing stale looks like an answer
    replace(root, h("div", { class: "panel empty" }, "This page could not be loaded; the reason is shown above. ", h("a", { href: link("search") }, "Back to search")));
  }
}

// The skip link's "#view" is a route to the router: it led to "No view named view" and lost
// the page. It moves the focus to the page's content instead, leaving the address alone.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  root.focus();
  root.scrollIntoView();
});

document.getElementById("quick-search").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("quick-search-input");
  go(link("search", null, { q: input.value.trim() }));
});

const spinner = document.getElementById("busy");
onBusy((count) => {
  spinner.classList.toggle("on", count > 0);
  spinner.setAttribute("aria-label", count > 0 ? "Loading" : "");
});

window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => showError(event.reason, "A request"));
route();
