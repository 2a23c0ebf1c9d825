// The signoff account app: sign in, register, who I am, devices, sign out
// (this device, the others, everywhere) and password change, built on the
// same client SPAs use (signoff.js). Nothing private is shown until the
// server has said who is signed in.

import { createClient, problemOf, SignoffError } from "./signoff.js";

const client = createClient();

/**
 * el returns the element with this ID, of the type asked for.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function el(id, type) {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`signoff app: #${id} is missing or not a ${type.name}`);
  return e;
}

/**
 * maybe returns the element with this ID, or null (register is off with
 * --no-register).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T | null}
 */
function maybe(id, type) {
  const e = document.getElementById(id);
  return e instanceof type ? e : null;
}

const ui = {
  status: el("status", HTMLElement),
  alert: el("alert", HTMLElement),
  loading: el("loading", HTMLElement),
  loadingText: el("loading-text", HTMLElement),
  retry: el("retry", HTMLButtonElement),
  signedOut: el("signed-out", HTMLElement),
  signedIn: el("signed-in", HTMLElement),
  signinForm: el("signin-form", HTMLFormElement),
  email: el("email", HTMLInputElement),
  password: el("password", HTMLInputElement),
  registerForm: maybe("register-form", HTMLFormElement),
  registerEmail: maybe("register-email", HTMLInputElement),
  registerPassword: maybe("register-password", HTMLInputElement),
  showRegister: maybe("show-register", HTMLButtonElement),
  showSignin: maybe("show-signin", HTMLButtonElement),
  who: el("who", HTMLElement),
  me: el("me", HTMLElement),
  whoami: el("whoami", HTMLButtonElement),
  signout: el("signout", HTMLButtonElement),
  devices: el("devices", HTMLUListElement),
  devicesLoading: el("devices-loading", HTMLElement),
  devicesEmpty: el("devices-empty", HTMLElement),
  signoutOthers: el("signout-others", HTMLButtonElement),
  signoutAll: el("signout-all", HTMLButtonElement),
  passwordForm: el("password-form", HTMLFormElement),
  currentPassword: el("current-password", HTMLInputElement),
  newPassword: el("new-password", HTMLInputElement),
  signOutOthers: el("sign-out-others", HTMLInputElement),
};

// Messages: #status (role=status) for news, #alert (role=alert) for
// problems; one at a time.

/** @param {string} text */
function say(text) {
  ui.alert.textContent = "";
  ui.status.textContent = text;
}

/** @param {string} text */
function warn(text) {
  ui.status.textContent = "";
  ui.alert.textContent = text;
}

/**
 * fail shows what went wrong. A device signed out by the server needs no
 * alert: the sign-in view says so (onChange).
 * @param {unknown} err
 */
function fail(err) {
  if (err instanceof SignoffError) {
    if (err.reason !== "revoked") warn(err.message);
    return;
  }
  console.error(err);
  warn("Something went wrong in this page. Reload it and try again.");
}

/**
 * busy disables a button while work runs and says so on it.
 * @template T
 * @param {HTMLButtonElement} button
 * @param {string} label what the button says meanwhile
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
async function busy(button, label, work) {
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = text;
  }
}

// Views.

/** @param {"loading" | "signed-out" | "signed-in"} view */
function show(view) {
  ui.loading.hidden = view !== "loading";
  ui.signedOut.hidden = view !== "signed-out";
  ui.signedIn.hidden = view !== "signed-in";
}

/** forget removes everything private from the page. */
function forget() {
  ui.who.textContent = "";
  ui.me.replaceChildren();
  ui.devices.replaceChildren();
  ui.devicesEmpty.hidden = true;
  ui.passwordForm.reset();
}

/**
 * showSignIn shows the sign-in form, private data gone.
 * @param {boolean} [focus]
 */
function showSignIn(focus) {
  forget();
  show("signed-out");
  if (ui.registerForm) ui.registerForm.hidden = true;
  ui.signinForm.hidden = false;
  if (focus) el("signin-title", HTMLElement).focus();
}

/** @param {string} message */
function showUnavailable(message) {
  forget();
  show("loading");
  ui.loadingText.textContent = "Your account cannot be shown right now.";
  ui.retry.hidden = false;
  warn(message);
}

/** @type {Record<string, string>} */
const signedOutBecause = {
  "signed-out": "Signed out.",
  elsewhere: "You signed out in another tab.",
  revoked: "You were signed out on this device.",
};

/**
 * fact adds one line to the account's facts.
 * @param {string} term
 * @param {string} value
 */
function fact(term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  ui.me.append(dt, dd);
}

/** @type {Promise<boolean> | null} */
let accountLoad = null;

/**
 * loadAccount asks the server who is signed in and shows the account; it
 * resolves to false when nobody is (onChange shows the sign-in form). Calls
 * made while one runs share it.
 * @returns {Promise<boolean>} whether the account is shown
 */
function loadAccount() {
  accountLoad ??= readAccount().finally(() => {
    accountLoad = null;
  });
  return accountLoad;
}

/** @returns {Promise<boolean>} */
async function readAccount() {
  const me = await client.me();
  if (!me) return false;
  ui.who.textContent = me.user.email;
  ui.me.replaceChildren();
  fact("Email", me.user.email);
  fact("User ID", me.user.id);
  fact("This session ends", readable(me.session.expires_at));
  show("signed-in");
  loadDevices().catch(fail);
  return true;
}

// Devices.

/**
 * device names the browser and the system of a user agent, e.g. "Firefox on
 * Linux"; what it does not know, it says so.
 * @param {string | undefined} ua
 * @returns {string}
 */
export function device(ua) {
  if (!ua) return "Unknown device";
  /** @type {[RegExp, string][]} */
  const browsers = [
    [/Edg(e|A|iOS)?\//, "Edge"],
    [/Firefox\/|FxiOS\//, "Firefox"],
    [/Chromium\//, "Chromium"],
    [/HeadlessChrome\//, "Chrome (headless)"],
    [/Chrome\/|CriOS\//, "Chrome"],
    [/Version\/[\d.]+.*Safari\//, "Safari"],
  ];
  /** @type {[RegExp, string][]} */
  const systems = [
    [/Windows/, "Windows"],
    [/iPhone|iPad|iPod/, "iOS"],
    [/Android/, "Android"],
    [/CrOS/, "ChromeOS"],
    [/Macintosh|Mac OS X/, "macOS"],
    [/Linux|X11/, "Linux"],
  ];
  const b = browsers.find(([re]) => re.test(ua));
  const s = systems.find(([re]) => re.test(ua));
  if (!b && !s) {
    const first = ua.split(/[\s/]/)[0];
    return first ? first.slice(0, 40) : "Unknown device";
  }
  return `${b ? b[1] : "Unknown browser"} on ${s ? s[1] : "an unknown system"}`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/**
 * ago says how long ago (or from now) an instant is, in words.
 * @param {string} iso
 */
function ago(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "unknown";
  const secs = Math.round((t - Date.now()) / 1000);
  if (Math.abs(secs) < 60) return "just now";
  /** @type {[Intl.RelativeTimeFormatUnit, number][]} */
  const units = [["minute", 60], ["hour", 3600], ["day", 86400], ["month", 2592000], ["year", 31536000]];
  let unit = units[0];
  for (const u of units) if (Math.abs(secs) >= u[1]) unit = u;
  return relative.format(Math.round(secs / unit[1]), unit[0]);
}

/**
 * readable is an instant as people read it in their locale.
 * @param {string} iso
 */
function readable(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? "unknown" : new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * time makes a <time> element that says ago() and shows the full date on
 * hover.
 * @param {string} iso
 */
function time(iso) {
  const e = document.createElement("time");
  e.dateTime = iso;
  e.textContent = ago(iso);
  e.title = readable(iso);
  return e;
}

/**
 * deviceItem is one device of the list.
 * @param {import("./signoff.js").Device} d
 */
function deviceItem(d) {
  const li = document.createElement("li");
  li.className = "device" + (d.current ? " current" : "");
  li.dataset.id = d.id;
  const name = device(d.user_agent);

  const head = document.createElement("p");
  head.className = "device-name";
  const strong = document.createElement("strong");
  strong.textContent = name;
  head.append(strong);
  if (d.current) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "This device";
    head.append(" ", badge);
  }

  const meta = document.createElement("p");
  meta.className = "device-meta";
  meta.append(d.ip ? `IP ${d.ip} · ` : "", "signed in ", time(d.created_at), " · last seen ", time(d.last_seen_at));
  li.append(head, meta);

  if (!d.current) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "revoke";
    b.textContent = "Sign out";
    b.setAttribute("aria-label", `Sign out ${name}${d.ip ? " at " + d.ip : ""}`);
    b.addEventListener("click", () => {
      busy(b, "Signing out…", async () => {
        await client.revokeDevice(d.id);
        say(`Signed out ${name}.`);
        await loadDevices();
      }).catch(fail);
    });
    li.append(b);
  }
  return li;
}

/** loadDevices lists the user's devices, this one first. */
async function loadDevices() {
  ui.devicesLoading.hidden = false;
  ui.devices.setAttribute("aria-busy", "true");
  try {
    const list = await client.sessions();
    list.sort((a, b) => Number(b.current) - Number(a.current) || Date.parse(b.last_seen_at) - Date.parse(a.last_seen_at));
    ui.devices.replaceChildren(...list.map(deviceItem));
    ui.devicesEmpty.hidden = list.some((d) => !d.current);
    ui.signoutOthers.disabled = !list.some((d) => !d.current);
  } finally {
    ui.devicesLoading.hidden = true;
    ui.devices.setAttribute("aria-busy", "false");
  }
}

// Return after sign-in (?rd=, set by a proxy's forward-auth redirect): the
// server says whether the address is one it may send people to.

/** @returns {Promise<boolean>} whether the page is leaving */
async function followReturn() {
  const rd = new URLSearchParams(location.search).get("rd");
  if (!rd) return false;
  const res = await client.fetch("/return?rd=" + encodeURIComponent(rd));
  if (!res.ok) throw await problemOf(res);
  /** @type {{return?: string}} */
  const body = await res.json();
  if (!body.return) return false;
  location.assign(body.return);
  return true;
}

// Actions.

/** Whether this tab is signing in: it shows the account itself, after ?rd=. */
let signingIn = false;

ui.signinForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const button = el("signin", HTMLButtonElement);
  // A new attempt: the last one's message (say, a wrong password) is over.
  say("");
  busy(button, "Signing in…", async () => {
    const email = ui.email.value;
    const password = ui.password.value;
    ui.password.value = "";
    signingIn = true;
    try {
      await client.login(email, password);
    } finally {
      signingIn = false;
    }
    if (await followReturn().catch((err) => (fail(err), false))) return;
    if (await loadAccount()) {
      if (!ui.alert.textContent) say("Signed in.");
      el("account-title", HTMLElement).focus();
    }
  }).catch(fail);
});

if (ui.registerForm && ui.registerEmail && ui.registerPassword && ui.showRegister && ui.showSignin) {
  const form = ui.registerForm;
  const email = ui.registerEmail;
  const password = ui.registerPassword;
  ui.showRegister.addEventListener("click", () => {
    ui.signinForm.hidden = true;
    form.hidden = false;
    email.value = ui.email.value;
    el("register-title", HTMLElement).focus();
  });
  ui.showSignin.addEventListener("click", () => {
    form.hidden = true;
    ui.signinForm.hidden = false;
    el("signin-title", HTMLElement).focus();
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(el("register", HTMLButtonElement), "Creating…", async () => {
      const r = await client.register(email.value, password.value);
      password.value = "";
      // The server gives the same answer whether or not the address already
      // had an account (so that nobody can ask it who has one): say what to
      // do in either case.
      form.hidden = true;
      ui.signinForm.hidden = false;
      ui.email.value = r.email;
      ui.password.focus();
      say("Now sign in as " + r.email + ". If you already had an account, sign in with its password.");
    }).catch(fail);
  });
}

ui.whoami.addEventListener("click", () => {
  const was = client.signedIn();
  busy(ui.whoami, "Refreshing…", async () => {
    if (await loadAccount()) say("Up to date.");
    else if (!was) say("You are not signed in.");
  }).catch(fail);
});

/**
 * signOutWith runs one of the client's sign-outs from a button; the view
 * changes through onChange, and only once the server has confirmed.
 * @param {HTMLButtonElement} button
 * @param {() => Promise<unknown>} action
 * @param {(result: unknown) => string} [done] the message, for sign-outs that keep this device
 */
function signOutWith(button, action, done) {
  busy(button, "Signing out…", async () => {
    const r = await action();
    if (done) {
      say(done(r));
      await loadDevices();
    }
  }).catch(fail);
}

/** @param {unknown} n */
function devices(n) {
  return n === 1 ? "1 device" : `${n} devices`;
}

ui.signout.addEventListener("click", () => signOutWith(ui.signout, () => client.logout()));
ui.signoutAll.addEventListener("click", () => signOutWith(ui.signoutAll, () => client.logoutEverywhere()));
ui.signoutOthers.addEventListener("click", () =>
  signOutWith(ui.signoutOthers, () => client.logoutOthers(), (n) => `Signed out ${devices(n)}. This device is still signed in.`));

ui.passwordForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  busy(el("change-password", HTMLButtonElement), "Changing…", async () => {
    const n = await client.changePassword(ui.currentPassword.value, ui.newPassword.value, ui.signOutOthers.checked);
    ui.passwordForm.reset();
    say(n > 0 ? `Password changed. Signed out ${devices(n)}.` : "Password changed.");
    await loadDevices();
  }).catch(fail);
});

ui.retry.addEventListener("click", () => start());

// Every tab: a sign-in or sign-out here or elsewhere.
client.onChange((change) => {
  if (change.signedIn) {
    if (!signingIn && ui.signedIn.hidden) loadAccount().catch(fail);
    return;
  }
  if (change.reason === "unavailable") {
    showUnavailable("The server is not answering. Try again in a moment.");
    return;
  }
  const wasShown = !ui.signedIn.hidden;
  showSignIn(wasShown);
  const why = change.reason ? signedOutBecause[change.reason] : "";
  if (why) say(why);
});

// A page restored from the back/forward cache shows nothing private until
// the server has answered again (the client asks it).
window.addEventListener("pageshow", (ev) => {
  if (!ev.persisted) return;
  forget();
  show("loading");
});

/** start shows the account, or the sign-in form. */
async function start() {
  show("loading");
  ui.loadingText.textContent = "Checking your session…";
  ui.retry.hidden = true;
  try {
    if (await loadAccount()) {
      await followReturn().catch(fail);
      return;
    }
    showSignIn();
  } catch (err) {
    showUnavailable(err instanceof SignoffError ? err.message : "Something went wrong in this page. Reload it and try again.");
  }
}

start();
