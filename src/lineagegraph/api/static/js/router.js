// Hash routing, so every view is linkable: #/view/<url-encoded id>?param=value

/** Build a hash link: link("lineage", id, {depth: 2}) -> "#/lineage/<id>?depth=2". */
export function link(view, id = null, params = {}) {
  let hash = `#/${view}`;
  if (id !== null && id !== undefined && id !== "") hash += `/${encodeURIComponent(id)}`;
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "" || value === false) continue;
    if (Array.isArray(value)) value.forEach((v) => query.append(key, v));
    else query.set(key, value === true ? "1" : String(value));
  }
  const text = query.toString();
  return text ? `${hash}?${text}` : hash;
}

/** The current route: {view, id, params (URLSearchParams)}. */
export function current() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?", 2);
  const slash = path.indexOf("/");
  const view = slash < 0 ? path : path.slice(0, slash);
  const encoded = slash < 0 ? "" : path.slice(slash + 1);
  let id = null;
  if (encoded) {
    try {
      id = decodeURIComponent(encoded);
    } catch {
      id = encoded;
    }
  }
  return { view: view || "search", id, params: new URLSearchParams(query) };
}

/** Go to a route; replace=true updates the address without a new history entry. */
export function go(hash, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, "", hash);
  } else if (location.hash !== hash) {
    location.hash = hash;
  }
}
