// The GraphQL client: the UI talks to the server only through POST /graphql.

const ENDPOINT = "/graphql";
const TOKEN_KEY = "lineagegraph.token";

/** An error from the API (HTTP status or GraphQL errors), with a message fit to show. */
export class ApiError extends Error {
  constructor(message, { status = null, details = [] } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.details = details;
  }
}

/** The bearer token the user saved for a server with auth on, or "". */
export function savedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

/** Save (or with "" forget) the bearer token sent with every request. */
export function saveToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage refused (private mode): the token lives only for this page
  }
  sessionToken = token;
}

let sessionToken = savedToken();
let pending = 0;
const listeners = new Set();

/** Call fn(count) whenever the number of requests in flight changes. */
export function onBusy(fn) {
  listeners.add(fn);
}

function busy(delta) {
  pending += delta;
  for (const fn of listeners) fn(pending);
}

/**
 * Run a GraphQL operation and return its `data`.
 * Throws ApiError for a network failure, a non-2xx answer or any GraphQL error, so callers
 * never render a half answer as if it were whole.
 */
export async function gql(query, variables = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (sessionToken) headers.Authorization = `Bearer ${sessionToken}`;
  busy(1);
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    throw new ApiError(`Cannot reach the server: ${err.message}`);
  } finally {
    busy(-1);
  }
  const text = await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null;
  }
  const errors = (payload && payload.errors) || [];
  if (errors.length) {
    const messages = errors.map((e) => e.message || String(e));
    throw new ApiError(messages.join("; "), { status: response.status, details: errors });
  }
  if (!response.ok) {
    const detail = (payload && (payload.detail || payload.message)) || text.slice(0, 300);
    const hint = response.status === 401 || response.status === 403 ? " (set a token)" : "";
    throw new ApiError(`HTTP ${response.status}${hint}: ${detail || response.statusText}`, {
      status: response.status,
    });
  }
  if (!payload || !payload.data) {
    throw new ApiError("The server answered without data");
  }
  return payload.data;
}
