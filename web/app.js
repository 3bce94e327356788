// The browser demo of the account service (docs/contract.md, "Browser clients").
//
// - The id token lives in this module's memory only: never in localStorage,
//   sessionStorage or a readable cookie, so a reload forgets it.
// - The refresh token is the HttpOnly cookie `__Host-refresh`, set and read by the API
//   alone: every request that sets or relies on it says `X-Token-Transport: cookie` and
//   is sent with `credentials: "include"`.
// - A reload (or a second tab) gets a fresh id token by refreshing through the cookie;
//   a timer refreshes again before the id token expires.
//
// The API's URL comes from `?api=` (make dev prints the whole URL), else
// http://127.0.0.1:9000.

const API = (new URLSearchParams(location.search).get("api") || "http://127.0.0.1:9000").replace(/\/+$/, "");

let idToken = null; // the only copy of the id token
let claims = null;
let refreshTimer = null;
let refreshing = null; // the refresh in flight, shared by everyone who needs one

const $ = (id) => document.getElementById(id);

// ----------------------------------------------------------------- talking to the API

/** An error in the contract's shape: {"error": {"type", "message", "fields"?}}. */
class ApiError extends Error {
  constructor(status, error) {
    super(error.message);
    this.status = status;
    this.type = error.type;
    this.fields = error.fields;
  }
}

/** fetch, with every failure turned into an ApiError in the contract's shape. */
async function call(path, { method = "POST", body, cookie = false, bearer = false } = {}) {
  const headers = {};
  if (cookie) headers["X-Token-Transport"] = "cookie";
  if (bearer) headers["Authorization"] = `Bearer ${idToken}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // The cookie travels only on the requests that set or use it.
      credentials: cookie ? "include" : "same-origin",
    });
  } catch {
    // What a page sees of a CORS refusal (a preflight answered 403) or an API that is down.
    throw new ApiError(0, {
      type: "network-error",
      message: `Could not reach ${API} (the API is down, or refused this page's origin: ${location.origin}).`,
    });
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiError(response.status, json?.error ?? { type: `http-${response.status}`, message: text });
  }
  return json;
}

/** A bearer call; after a 401 (the id token expired or its session ended) it refreshes once and retries. */
async function authorized(path, options = {}) {
  try {
    return await call(path, { ...options, bearer: true });
  } catch (error) {
    if (error.status !== 401) throw error;
    await refresh();
    return call(path, { ...options, bearer: true });
  }
}

// ----------------------------------------------------------------- the session

function decodeClaims(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const json = decodeURIComponent(
    [...atob(payload)].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
  );
  return JSON.parse(json);
}

function signedIn(tokens) {
  idToken = tokens.idToken;
  claims = decodeClaims(idToken);
  scheduleRefresh();
  render();
}

function signedOut() {
  idToken = null;
  claims = null;
  clearTimeout(refreshTimer);
  $("sessions").replaceChildren();
  render();
}

/** Refreshes before the id token expires: a minute ahead, or a fifth of its life if shorter. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const lifetime = claims.exp - claims.iat;
  const margin = Math.min(60, lifetime / 5);
  const delayMs = Math.max(1000, (claims.exp - margin) * 1000 - Date.now());
  refreshTimer = setTimeout(() => refresh().catch(showError), delayMs);
}

/**
 * POST /tokens through the cookie. Concurrent callers in this tab share one request;
 * two tabs refreshing at once both get the same new cookie (the grace window).
 * A 401 means the session is gone (signed out, here or elsewhere): signed out.
 */
function refresh() {
  refreshing ??= call("/tokens", { cookie: true })
    .then((body) => signedIn(body.tokens))
    .catch((error) => {
      if (error.status === 401) {
        signedOut();
      }
      throw error;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

// ----------------------------------------------------------------- actions

async function withCredentials(path) {
  const body = { email: $("email").value, password: $("password").value };
  const result = await call(path, { body, cookie: true });
  $("password").value = "";
  signedIn(result.tokens);
  await listSessions();
}

async function listSessions() {
  const { sessions } = await authorized("/sessions", { method: "GET" });
  $("sessions").replaceChildren(...sessions.map(sessionRow));
}

function sessionRow(session) {
  const row = document.createElement("tr");
  row.dataset.sessionId = session.id;
  for (const text of [
    session.id.slice(0, 8) + "…" + (session.current ? " (this one)" : ""),
    new Date(session.createdAt).toLocaleString(),
    new Date(session.lastUsedAt).toLocaleString(),
    session.userAgent,
  ]) {
    const cell = document.createElement("td");
    cell.textContent = text; // never innerHTML: a user agent is attacker-controlled text
    row.append(cell);
  }
  const end = document.createElement("button");
  end.textContent = "End this session";
  end.className = "end-session";
  end.addEventListener("click", () => run(() => endSession(session)));
  const cell = document.createElement("td");
  cell.append(end);
  row.append(cell);
  return row;
}

async function endSession(session) {
  await authorized(`/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
  if (session.current) {
    // Its cookie is dead now; sign-out clears it (a 401 there is expected).
    await call("/signout", { cookie: true }).catch(() => {});
    signedOut();
  } else {
    await listSessions();
  }
}

async function signOut() {
  await call("/signout", { cookie: true });
  signedOut();
}

async function signOutEverywhere() {
  await authorized("/revoke-all", { cookie: true });
  signedOut();
}

// ----------------------------------------------------------------- the page

function render() {
  const isIn = idToken !== null;
  document.body.dataset.state = isIn ? "signed-in" : "signed-out";
  $("signed-in").hidden = !isIn;
  $("signed-out").hidden = isIn;
  $("status").textContent = isIn ? `signed in as ${claims.email}` : "signed out";
  $("claims").textContent = isIn ? JSON.stringify(claims, null, 2) : "";
  $("expiry").textContent = isIn
    ? `id token expires at ${new Date(claims.exp * 1000).toLocaleTimeString()}; refreshed through the cookie before then`
    : "";
}

function showError(error) {
  $("error").hidden = false;
  $("error-type").textContent = error.type ?? "error";
  $("error-message").textContent = error.message;
  $("error-fields").hidden = !error.fields;
  $("error-fields").textContent = error.fields ? JSON.stringify(error.fields, null, 2) : "";
}

/** Runs an action, showing its error in the contract's shape. */
async function run(action) {
  $("error").hidden = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  }
}

$("api").textContent = API;
$("credentials").addEventListener("submit", (event) => {
  event.preventDefault();
  run(() => withCredentials("/signin"));
});
$("signup").addEventListener("click", () => {
  if ($("credentials").reportValidity()) run(() => withCredentials("/signup"));
});
$("refresh").addEventListener("click", () => run(refresh));
$("list-sessions").addEventListener("click", () => run(listSessions));
$("signout").addEventListener("click", () => run(signOut));
$("signout-everywhere").addEventListener("click", () => run(signOutEverywhere));

// After a reload (or in a new tab) the only way back in is the cookie.
run(async () => {
  try {
    await refresh();
    await listSessions();
  } catch (error) {
    signedOut();
    if (error.status !== 401) throw error; // 401: there was no live session, nothing to say
  }
});
