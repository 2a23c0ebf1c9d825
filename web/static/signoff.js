// signoff.js: the browser client of a signoff server on the same site.
//
// It signs in and out, sends requests with the credential, and tells every
// tab when the user signs in or out. Its rules:
//
//   - Sign-out (this device, other devices, everywhere) changes nothing here
//     until the server has answered 2xx. A network error or a 5xx rejects
//     with an Error for people; the user stays signed in and may try again.
//   - jwt mode: the access token lives in this module's memory only; the
//     refresh token only in its HttpOnly cookie. Refresh is single-flight
//     across tabs (Web Locks): the tab that holds the lock rotates and
//     broadcasts the new access token; a tab that waited uses it instead of
//     rotating again. Nothing is ever written to localStorage,
//     sessionStorage or IndexedDB but a sign-in/out counter, and that is
//     removed at once (it only wakes other tabs' "storage" listeners).
//   - Other tabs learn of a sign-out at once: BroadcastChannel("signoff"),
//     and the storage event where BroadcastChannel is missing.
//   - A page restored from the back/forward cache asks the server again.
//
//     import { createClient } from "/static/signoff.js";
//     const auth = createClient();
//     auth.onChange(({ signedIn, reason }) => render(signedIn, reason));
//     await auth.login(email, password);
//     const res = await auth.fetch("/api/things");
//     await auth.logout(); // rejects, and keeps the user signed in, if the server did not confirm

/** @typedef {"session" | "jwt"} Mode */

/**
 * What onChange listeners are told.
 * @typedef {object} Change
 * @property {boolean} signedIn
 * @property {string} [reason] why the user is signed out: "signed-out" (this tab
 *   signed out), "elsewhere" (another tab did), "revoked" (the server no longer
 *   knows this device's credential), "unavailable" (a page restored from the
 *   back/forward cache could not ask the server: show nothing private, and
 *   call me() to try again)
 */

/**
 * A device of the user, as GET /sessions lists it.
 * @typedef {object} Device
 * @property {string} id
 * @property {string} created_at
 * @property {string} last_seen_at
 * @property {string} expires_at
 * @property {string} [user_agent]
 * @property {string} [ip]
 * @property {boolean} current
 */

/**
 * The user and session GET /api/me answers.
 * @typedef {object} Me
 * @property {{id: string, email: string}} user
 * @property {{id: string, mode: string, expires_at: string}} session
 */

/**
 * @typedef {object} Client
 * @property {Mode} mode
 * @property {(email: string, password: string) => Promise<Me>} login
 *   signs in; rejects with "Wrong email or password." and the like
 * @property {(email: string, password: string) => Promise<{email: string, detail?: string}>} register
 * @property {() => Promise<void>} logout this device
 * @property {() => Promise<number>} logoutEverywhere every device; resolves to how many sessions ended
 * @property {() => Promise<number>} logoutOthers every device but this one
 * @property {(current: string, next: string, signOutOthers: boolean) => Promise<number>} changePassword
 *   resolves to how many other devices were signed out
 * @property {() => Promise<Device[]>} sessions
 * @property {(id: string) => Promise<void>} revokeDevice
 * @property {() => Promise<Me | null>} me who is signed in, or null
 * @property {(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>} fetch
 *   a same-origin request with the credential (jwt: refreshed once on 401)
 * @property {(cb: (change: Change) => void) => () => void} onChange
 *   calls cb in this tab and when another tab signs in or out; returns a function that stops it
 * @property {() => boolean | null} signedIn what this tab last knew: null before the first answer
 */

/** The messages people see, one place. */
export const messages = Object.freeze({
  revoked: "You were signed out on this device.",
  unavailable: "The server is not answering. Try again in a moment.",
  offline: "Cannot reach the server. Check your connection and try again.",
  wrongPassword: "Wrong email or password.",
});

/**
 * SignoffError is what every method rejects with: message is for people,
 * status is the HTTP status (0 for a network error).
 */
export class SignoffError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string} [reason] "revoked" when the server no longer knows this device
   */
  constructor(message, status, reason) {
    super(message);
    this.name = "SignoffError";
    this.status = status;
    this.reason = reason;
  }
}

const CHANNEL = "signoff";
const LOCK = "signoff-refresh";
const STORAGE_KEY = "signoff-event"; // holds only "kind:counter:time", never a token

/**
 * sentence makes a problem's detail a sentence: a capital first letter and a
 * full stop.
 * @param {string} s
 */
function sentence(s) {
  const t = s.trim();
  if (t === "") return t;
  const c = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(c) ? c : c + ".";
}

/**
 * problemOf turns a response that is not 2xx into a SignoffError.
 * @param {Response} res
 * @param {{signedIn?: boolean, login?: boolean}} [ctx]
 * @returns {Promise<SignoffError>}
 */
export async function problemOf(res, ctx = {}) {
  /** @type {{detail?: unknown, title?: unknown}} */
  let body = {};
  try {
    body = await res.clone().json();
  } catch {
    body = {};
  }
  const detail = typeof body.detail === "string" ? body.detail : typeof body.title === "string" ? body.title : "";
  const s = res.status;
  if (s === 401 && ctx.login) return new SignoffError(messages.wrongPassword, s);
  if (s === 401 && ctx.signedIn) return new SignoffError(messages.revoked, s, "revoked");
  if (s === 429) {
    const after = Number.parseInt(res.headers.get("Retry-After") || "", 10);
    const when = Number.isFinite(after) && after > 0 ? `in ${after} second${after === 1 ? "" : "s"}` : "in a moment";
    return new SignoffError(`Too many attempts. Try again ${when}.`, s);
  }
  if (s >= 500) return new SignoffError(messages.unavailable, s);
  return new SignoffError(detail ? sentence(detail) : `The server refused the request (HTTP ${s}).`, s);
}

/**
 * readMode reads <meta name="signoff-mode">; session when there is none.
 * @returns {Mode}
 */
function readMode() {
  const m = document.querySelector('meta[name="signoff-mode"]');
  return m instanceof HTMLMetaElement && m.content === "jwt" ? "jwt" : "session";
}

/**
 * createClient returns the client of the signoff server this page came from.
 * Make one per page.
 * @param {{mode?: Mode}} [options] mode defaults to <meta name="signoff-mode">
 * @returns {Client}
 */
export function createClient(options = {}) {
  const mode = options.mode || readMode();

  /** @type {string | null} the access token (jwt mode); memory only */
  let token = null;
  /** when token expires, in ms since the epoch (Date.now's clock, shared by every tab) */
  let tokenExp = 0;
  /** @type {boolean | null} */
  let signedIn = null;
  /** @type {Set<(change: Change) => void>} */
  const listeners = new Set();
  /** @type {Promise<boolean> | null} this tab's refresh in flight */
  let refreshing = null;
  /** whether this tab is queued on the refresh lock, not yet holding it */
  let queued = false;
  /** @type {Map<string, () => void>} what to call when a queued tab acknowledges token message id */
  const acks = new Map();
  let counter = 0;

  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;

  /** @param {Change} change */
  function emit(change) {
    for (const cb of listeners) {
      try {
        cb(change);
      } catch (err) {
        console.error("signoff: onChange listener:", err);
      }
    }
  }

  /**
   * setSignedIn records the state and tells listeners when it changed.
   * @param {boolean} now
   * @param {string} [reason]
   */
  function setSignedIn(now, reason) {
    if (!now) {
      token = null;
      tokenExp = 0;
    }
    if (signedIn === now) return;
    signedIn = now;
    emit(now ? { signedIn: true } : reason ? { signedIn: false, reason } : { signedIn: false });
  }

  /**
   * announce tells the other tabs (BroadcastChannel, and a storage event for
   * browsers without it). The localStorage key is removed at once: it holds
   * a counter, never a token, and only while the event fires.
   * @param {{type: "signin" | "signout", reason?: string} | {type: "token", token: string, exp: number, id: string} | {type: "ack", id: string}} msg
   */
  function announce(msg) {
    channel?.postMessage(msg);
    if (msg.type === "token" || msg.type === "ack") return; // tokens go over the channel only, never into storage
    try {
      counter++;
      localStorage.setItem(STORAGE_KEY, `${msg.type}:${msg.type === "signout" ? msg.reason || "" : ""}:${counter}:${Date.now()}`);
      localStorage.removeItem(STORAGE_KEY);
    } catch {
      // Storage may be off (private modes); the channel is enough.
    }
  }

  /**
   * heard handles what another tab announced.
   * @param {unknown} data
   */
  function heard(data) {
    if (typeof data !== "object" || data === null) return;
    const msg = /** @type {{type?: unknown, token?: unknown, exp?: unknown, reason?: unknown, id?: unknown}} */ (data);
    if (msg.type === "token" && typeof msg.token === "string" && typeof msg.exp === "number") {
      // A newer token from the tab that refreshed: use it rather than rotate again.
      if (msg.exp > tokenExp) {
        token = msg.token;
        tokenExp = msg.exp;
      }
      // A tab queued on the refresh lock says it has the token, so the tab
      // that holds the lock can let it go (see handOver).
      if (queued && typeof msg.id === "string" && msg.id !== "") announce({ type: "ack", id: msg.id });
      return;
    }
    if (msg.type === "ack" && typeof msg.id === "string") {
      acks.get(msg.id)?.();
      return;
    }
    if (msg.type === "signout") {
      setSignedIn(false, msg.reason === "revoked" ? "revoked" : "elsewhere");
    } else if (msg.type === "signin" && signedIn !== true) {
      // Ask the server rather than trust the message; me() tells listeners.
      me().catch(() => {});
    }
  }

  channel?.addEventListener("message", (ev) => heard(ev.data));
  window.addEventListener("storage", (ev) => {
    if (ev.key !== STORAGE_KEY || ev.newValue === null) return;
    const [type, reason] = ev.newValue.split(":");
    heard({ type, reason });
  });
  // A page restored from the back/forward cache may show what it showed
  // before a sign-out: say "unknown" at once, then ask the server again.
  window.addEventListener("pageshow", (ev) => {
    if (!ev.persisted) return;
    signedIn = null; // unknown until the server answers; me() tells listeners
    me().catch(() => emit({ signedIn: false, reason: "unavailable" }));
  });

  /**
   * send is one same-origin request, the access token attached in jwt mode.
   * A network error rejects with the "cannot reach" SignoffError.
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   * @param {boolean} [auth]
   * @returns {Promise<Response>}
   */
  async function send(input, init = {}, auth = true) {
    const headers = new Headers(init.headers);
    if (mode === "jwt" && auth && token && !headers.has("Authorization")) {
      headers.set("Authorization", "Bearer " + token);
    }
    try {
      return await window.fetch(input, { cache: "no-store", ...init, headers, credentials: "same-origin" });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new SignoffError(messages.offline, 0);
    }
  }

  /**
   * postJSON sends a JSON body.
   * @param {string} path
   * @param {unknown} body
   * @param {boolean} [auth]
   */
  function postJSON(path, body, auth = true) {
    return send(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }, auth);
  }

  /**
   * refresh trades the refresh cookie for an access token, once across every
   * tab: under the lock, a tab first looks whether another one has already
   * brought a token newer than the one that failed.
   * @param {string | null} failed the token that got 401, or null
   * @returns {Promise<boolean>} whether this tab now has a token
   */
  function refresh(failed) {
    if (mode !== "jwt") return Promise.resolve(false);
    if (refreshing) return refreshing;
    const run = async () => {
      queued = false;
      if (token !== null && token !== failed && tokenExp > Date.now() + 1000) {
        return true; // another tab rotated while this one waited
      }
      const res = await send("/refresh", { method: "POST" }, false);
      if (res.status === 401) {
        lost();
        return false;
      }
      if (!res.ok) throw await problemOf(res);
      /** @type {{access_token: string, expires_in: number}} */
      const body = await res.json();
      token = body.access_token;
      tokenExp = Date.now() + body.expires_in * 1000;
      await handOver(token, tokenExp);
      return true;
    };
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    queued = locks !== undefined;
    const flight = /** @type {Promise<boolean>} */ (locks ? locks.request(LOCK, run) : run()).finally(() => {
      queued = false;
      refreshing = null;
    });
    refreshing = flight;
    return flight;
  }

  /**
   * handOver gives the new access token to the other tabs and, while it
   * still holds the refresh lock, waits until every tab queued on the lock
   * has said it has the token: then none of them rotates the refresh token
   * again when its turn comes. A queued tab that never answers (it closed)
   * is waited for a second at most; should one rotate after all, it spends
   * the newest token, which is allowed, never a spent one.
   * @param {string} t
   * @param {number} exp
   */
  async function handOver(t, exp) {
    const id = Math.random().toString(36).slice(2) + Date.now().toString(36);
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    /** @type {number} */
    let waiting = 0;
    if (channel && locks) {
      const state = await locks.query();
      waiting = (state.pending || []).filter((l) => l.name === LOCK).length;
    }
    if (waiting === 0) {
      announce({ type: "token", token: t, exp, id });
      return;
    }
    /** @type {Promise<void>} */
    const told = new Promise((resolve) => {
      let n = 0;
      const timer = setTimeout(resolve, 1000);
      acks.set(id, () => {
        if (++n >= waiting) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    announce({ type: "token", token: t, exp, id });
    await told;
    acks.delete(id);
  }

  /**
   * authFetch sends a request with the credential; in jwt mode a 401 is
   * answered by one refresh and one retry. A final 401 means this device is
   * signed out.
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   */
  async function authFetch(input, init = {}) {
    let refreshed = false;
    if (mode === "jwt" && token === null && signedIn !== false) {
      refreshed = true; // the page's first request: no token yet
      await refresh(null);
    }
    const used = token;
    let res = await send(input, init);
    if (res.status === 401 && mode === "jwt" && !(refreshed && used === null) && (await refresh(used))) {
      res = await send(input, init);
    }
    if (res.status === 401) lost();
    return res;
  }

  /**
   * lost records that the server no longer knows this device's credential
   * and, if this tab thought it was signed in, tells the other tabs.
   */
  function lost() {
    const was = signedIn;
    setSignedIn(false, was ? "revoked" : undefined);
    if (was) announce({ type: "signout", reason: "revoked" });
  }

  /**
   * call sends an authenticated request and rejects unless it is 2xx.
   * @param {string} path
   * @param {RequestInit} [init]
   */
  async function call(path, init) {
    const was = signedIn;
    const res = await authFetch(path, init);
    if (!res.ok) throw await problemOf(res, { signedIn: was !== false });
    return res;
  }

  /** @returns {Promise<Me | null>} */
  async function me() {
    const res = await authFetch("/api/me");
    if (res.status === 401) return null;
    if (!res.ok) throw await problemOf(res);
    /** @type {Me} */
    const body = await res.json();
    setSignedIn(true);
    return body;
  }

  /**
   * signOut posts to path and, only when the server confirms, forgets this
   * device's state and tells the other tabs.
   * @param {string} path
   * @returns {Promise<number>} the "revoked" count the server answered, or 0
   */
  async function signOut(path) {
    const res = await call(path, { method: "POST" });
    /** @type {{revoked?: number}} */
    let body = {};
    try {
      body = await res.json();
    } catch {
      body = {};
    }
    setSignedIn(false, "signed-out");
    announce({ type: "signout", reason: "signed-out" });
    return typeof body.revoked === "number" ? body.revoked : 0;
  }

  return {
    mode,
    signedIn: () => signedIn,

    async login(email, password) {
      const body = mode === "jwt" ? { email, password, client: "browser" } : { email, password };
      const res = await postJSON("/login", body, false);
      if (!res.ok) throw await problemOf(res, { login: true });
      /** @type {Me & {access_token?: string, expires_in?: number}} */
      const out = await res.json();
      if (mode === "jwt" && out.access_token) {
        token = out.access_token;
        tokenExp = Date.now() + (out.expires_in || 0) * 1000;
        announce({ type: "token", token, exp: tokenExp, id: "" }); // no tab waits on a login
      }
      setSignedIn(true);
      announce({ type: "signin" });
      return out;
    },

    async register(email, password) {
      const res = await postJSON("/register", { email, password }, false);
      if (!res.ok) throw await problemOf(res);
      return res.json();
    },

    async logout() {
      await signOut("/logout");
    },
    logoutEverywhere: () => signOut("/logout/all"),

    async logoutOthers() {
      const res = await call("/logout/others", { method: "POST" });
      /** @type {{revoked?: number}} */
      const body = await res.json();
      return body.revoked || 0;
    },

    async changePassword(current, next, signOutOthers) {
      const res = await call("/password", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ current_password: current, new_password: next, sign_out_others: signOutOthers }),
      });
      /** @type {{revoked?: number}} */
      const body = await res.json();
      return body.revoked || 0;
    },

    async sessions() {
      const res = await call("/sessions");
      /** @type {{sessions: Device[]}} */
      const body = await res.json();
      return body.sessions;
    },

    async revokeDevice(id) {
      await call("/sessions/" + encodeURIComponent(id), { method: "DELETE" });
    },

    me,
    fetch: authFetch,

    onChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
}
