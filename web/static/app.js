// The minimal signoff web app: every action is a call to the JSON API.
// In jwt mode the access token lives only in this page's memory; the refresh
// token is an HttpOnly cookie that script cannot read.
"use strict";

const mode = document.querySelector('meta[name="signoff-mode"]').content;
let accessToken = null;

const $ = (id) => document.getElementById(id);

function say(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

async function call(path, { method = "GET", json, auth = true } = {}) {
  const headers = {};
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  if (mode === "jwt" && auth && accessToken) {
    headers["Authorization"] = "Bearer " + accessToken;
  }
  const res = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
  let data = null;
  try {
    data = await res.json();
  } catch (_) {
    data = null;
  }
  return { status: res.status, data };
}

function problem(r) {
  return (r.data && (r.data.detail || r.data.title)) || "HTTP " + r.status;
}

// refresh trades the refresh cookie for a new access token (jwt mode).
async function refresh() {
  if (mode !== "jwt") return false;
  const r = await call("/refresh", { method: "POST", auth: false });
  accessToken = r.status === 200 ? r.data.access_token : null;
  return accessToken !== null;
}

async function me() {
  let r = await call("/api/me");
  if (r.status === 401 && mode === "jwt" && (await refresh())) {
    r = await call("/api/me");
  }
  return r;
}

function show(signedIn, email) {
  $("signed-out").hidden = signedIn;
  $("signed-in").hidden = !signedIn;
  $("who").textContent = email || "";
  if (!signedIn) $("me").textContent = "";
}

async function load() {
  const r = await me();
  if (r.status === 200) {
    show(true, r.data.user.email);
  } else if (r.status === 401) {
    show(false);
  } else {
    show(false);
    say(problem(r), true);
  }
}

async function signIn(ev) {
  ev.preventDefault();
  const r = await call("/login", {
    method: "POST",
    json: { email: $("email").value, password: $("password").value },
    auth: false,
  });
  $("password").value = "";
  if (r.status !== 200) {
    say(problem(r), true);
    return;
  }
  accessToken = r.data.access_token || null;
  show(true, r.data.user.email);
  say("Signed in.");
}

async function register() {
  const email = $("email").value;
  const password = $("password").value;
  const r = await call("/register", { method: "POST", json: { email, password }, auth: false });
  if (r.status !== 202) {
    say(problem(r), true);
    return;
  }
  // The server gives the same answer whether or not the address already had
  // an account (so that nobody can ask it who has one): say what to do in
  // either case.
  say("Now sign in as " + r.data.email + ". If you already had an account, sign in with its password.");
}

async function whoami() {
  const r = await me();
  if (r.status === 200) {
    $("me").textContent = JSON.stringify(r.data, null, 2);
    say("");
  } else {
    show(false);
    say(problem(r), r.status !== 401);
  }
}

async function signOut(path) {
  const r = await call(path, { method: "POST" });
  if (r.status !== 200) {
    // 503: the server could not record the logout; nothing was cleared, try again.
    say(problem(r), true);
    return;
  }
  accessToken = null;
  show(false);
  say(path === "/logout/all" ? "Signed out everywhere (" + r.data.revoked + " sessions)." : "Signed out.");
}

$("auth-form").addEventListener("submit", signIn);
if ($("register")) $("register").addEventListener("click", register);
$("whoami").addEventListener("click", whoami);
$("signout").addEventListener("click", () => signOut("/logout"));
$("signout-all").addEventListener("click", () => signOut("/logout/all"));
// After logout the back button may restore this page from the bfcache: ask
// the server again rather than trust what the page showed (R26b).
window.addEventListener("pageshow", (e) => {
  if (e.persisted) load();
});
load();
