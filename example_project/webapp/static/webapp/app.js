/*
 * The drf-twostep demo web app. It talks to the server only through the public HTTP API
 * (docs/API.md), as any front end would: `Authorization: Token <key>`, with the key kept in
 * sessionStorage. Screens are routes after the hash (#/signin, #/account, ...). A trusted
 * device's token ("Remember this device") is kept in localStorage, per username, and sent
 * with the next `login/`.
 */
"use strict";

const AUTH = "/api/auth/";
const ME = "/api/me/";
const TOKEN_KEY = "drf-twostep-demo.token";
const DEVICES_KEY = "drf-twostep-demo.devices";

const KIND_LABELS = {
  authenticator_app: "Authenticator app",
  sms: "Text message (SMS)",
  email: "Email",
  passkey: "Passkey",
};

// What the user reads for each error `code` of the contract (and a few of DRF's own).
const MESSAGES = {
  invalid: "Please correct the fields marked below.",
  invalid_credentials: "That username and password don't match. Check them and try again.",
  password_incorrect: "That password isn't right. Enter the password you sign in with.",
  invalid_code: "That code didn't work. Wait for a fresh code and try again.",
  code_already_used:
    "That code has already been used. Wait for your app to show the next one (a new code every 30 seconds).",
  invalid_recovery_code:
    "That recovery code isn't valid, or it was already used. Check it for typos: each recovery code works once.",
  invalid_passkey: "That passkey didn't work. Try again, or use another method.",
  passkey_cancelled: "The passkey prompt was closed or timed out. Try again, or use another method.",
  passkey_unsupported: "This browser can't use passkeys. Use another method, or another browser.",
  invalid_challenge: "This sign-in is no longer valid. Please sign in again.",
  challenge_expired: "This sign-in took too long and has expired. Please sign in again.",
  method_not_allowed: "Your clinic doesn't allow this kind of method. Please choose another one.",
  method_does_not_send:
    "This method doesn't send codes: open your authenticator app and enter the code it shows.",
  method_not_pending: "This method is already set up.",
  method_required_by_organization:
    "Your clinic requires 2-Step Verification, so you can't remove your last method. Add another method first.",
  two_step_not_enabled: "Turn on 2-Step Verification first.",
  two_step_setup_required:
    "Turn on 2-Step Verification for your own account first: set up a method on My Account.",
  two_step_verification_required:
    "This session hasn't passed 2-Step Verification. Please sign out and sign in again.",
  not_found: "That no longer exists, or it isn't yours. Reload the page to see what's there now.",
  too_many_attempts: "Too many wrong codes. For your security, please wait before trying again.",
  throttled: "Too many requests. Please wait before trying again.",
  delivery_failed:
    "The code couldn't be sent just now. Try again in a moment, or use another method.",
  http_method_not_allowed: "This action isn't available.",
  not_authenticated: "Your session has ended. Please sign in again.",
  authentication_failed: "Your session has ended. Please sign in again.",
  permission_denied: "You're not allowed to do that.",
  reverification_required: "This change needs a fresh code. Try again and enter the code when asked.",
  network: "The server can't be reached. Check your connection and try again.",
};

// -- state -------------------------------------------------------------------------------

const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

/**
 * This browser's trusted devices, per username: `{token, expires_at}` from `login/verify/`
 * with `remember_device`, and `days`, the `remember_device_days` of the user's status object
 * when it was last seen here. `login/`'s challenge does not say whether a device may be
 * remembered: the second step offers "Remember this device for N days" when `days` is
 * known, "Remember this device" when it is not (a null `device_token` then means "not
 * allowed", and is noted as days 0), and nothing when it is 0.
 */
const trustedDevices = {
  all() {
    try {
      return JSON.parse(localStorage.getItem(DEVICES_KEY)) || {};
    } catch (error) {
      return {};
    }
  },
  get(username) {
    return this.all()[username] || {};
  },
  /** Merge `changes` into `username`'s entry; a null value removes that key. */
  update(username, changes) {
    const all = this.all();
    const entry = { ...(all[username] || {}), ...changes };
    for (const [key, value] of Object.entries(entry)) if (value === null || value === undefined) delete entry[key];
    all[username] = entry;
    localStorage.setItem(DEVICES_KEY, JSON.stringify(all));
  },
  forgetToken(username) {
    this.update(username, { token: null, expires_at: null });
  },
};

const state = {
  me: null, // GET /api/me/
  status: null, // GET two-step/
  setupForced: false, // an organization requires 2SV and the user has none
  login: null, // the verification_required answer of login/
  flash: null, // a message for the next screen
};

// Server time minus this device's time, in ms: from the `Date` header of every answer, and
// from the status object's `server_time` (more precise) when it is loaded.
const clock = {
  offset: null,
  note(serverTime, sentAt, receivedAt) {
    const server = Date.parse(serverTime);
    if (Number.isNaN(server)) return;
    this.offset = server - (sentAt + receivedAt) / 2;
  },
  serverNow() {
    return new Date(Date.now() + (this.offset || 0));
  },
};

// -- the API -----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.code = this.body.code || (status === 0 ? "network" : `http_${status}`);
    this.retryAfter = retryAfter ? parseInt(retryAfter, 10) : null;
  }
}

/**
 * A request of the API. A sensitive action refused for want of a recent second step (403
 * `reverification_required`) asks for a fresh code in a dialog, then is sent once more.
 */
async function api(method, path, body, { raw = false, reverified = false } = {}) {
  try {
    return await request(method, path, body, { raw });
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "reverification_required" || reverified) throw error;
    if (!(await askForFreshCode(error.body.max_age))) throw error;
    return api(method, path, body, { raw, reverified: true });
  }
}

async function request(method, path, body, { raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.token) headers.Authorization = `Token ${session.token}`;
  const sentAt = Date.now();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", // the token is the credential, not a cookie
    });
  } catch (error) {
    throw new ApiError(0, { code: "network", detail: String(error) });
  }
  const date = response.headers.get("Date");
  if (date) clock.note(date, sentAt, Date.now());
  if (response.ok) {
    if (raw) return response;
    return response.status === 204 ? null : response.json();
  }
  let data = {};
  try {
    data = await response.json();
  } catch (error) {
    data = { detail: `HTTP ${response.status}` };
  }
  const apiError = new ApiError(response.status, data, response.headers.get("Retry-After"));
  // The credential is gone (signed out elsewhere, reset by an admin): start again.
  if (response.status === 401 && session.token) {
    signedOut(MESSAGES.not_authenticated);
  }
  return Promise.reject(apiError);
}

async function loadAccount() {
  try {
    state.me = await api("GET", ME);
    state.setupForced = false;
  } catch (error) {
    if (error.code !== "two_step_setup_required") throw error;
    state.me = null;
    state.setupForced = true;
  }
  state.status = await api("GET", `${AUTH}two-step/`);
  const sentAt = Date.now();
  clock.note(state.status.server_time, sentAt, sentAt);
  if (state.me) trustedDevices.update(state.me.username, { days: state.status.remember_device_days });
}

function signedOut(message) {
  session.token = null;
  state.me = state.status = state.login = null;
  state.setupForced = false;
  state.flash = message || null;
  go("#/signin");
}

// -- passkeys (WebAuthn) -------------------------------------------------------------------
// The API speaks WebAuthn's JSON forms; browsers without parseCreationOptionsFromJSON /
// parseRequestOptionsFromJSON / toJSON get the small conversions below.

const b64url = {
  decode(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
  },
  encode(buffer) {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

const passkeysSupported = () => typeof window.PublicKeyCredential === "function";

const descriptors = (list) => (list || []).map((c) => ({ ...c, id: b64url.decode(c.id) }));

function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  return { ...json, challenge: b64url.decode(json.challenge), user: { ...json.user, id: b64url.decode(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials) };
}

function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  return { ...json, challenge: b64url.decode(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64url.encode(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = b64url.encode(r.authenticatorData);
    response.signature = b64url.encode(r.signature);
    if (r.userHandle) response.userHandle = b64url.encode(r.userHandle);
  }
  return { id: credential.id, rawId: b64url.encode(credential.rawId), type: credential.type,
    clientExtensionResults: credential.getClientExtensionResults(), response };
}

/** The browser's passkey prompt for `options` (`create` or `get`); its errors as ApiErrors. */
async function passkeyCeremony(kind, options) {
  if (!passkeysSupported()) throw new ApiError(0, { code: "passkey_unsupported" });
  const rpId = kind === "create" ? options.rp.id : options.rpId;
  const host = location.hostname;
  if (rpId && host !== rpId && !host.endsWith(`.${rpId}`)) {
    const there = `${location.protocol}//${rpId}${location.port ? `:${location.port}` : ""}${location.pathname}`;
    throw new ApiError(0, { code: "passkey_host", detail: `Passkeys of this site work at ${there}: open it there to use one.` });
  }
  try {
    const credential = kind === "create"
      ? await navigator.credentials.create({ publicKey: creationOptions(options) })
      : await navigator.credentials.get({ publicKey: requestOptions(options) });
    return credentialJSON(credential);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const code = error && error.name === "InvalidStateError" ? "invalid_passkey" : "passkey_cancelled";
    const detail = error && error.name === "InvalidStateError" ? "This passkey is already registered." : String(error);
    throw new ApiError(0, { code, detail });
  }
}

// -- DOM helpers -------------------------------------------------------------------------

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

/** h("p", {class: "x"}, "text", child...): an element; attributes starting with "on" are listeners. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A labelled input; returns the wrapper, with `.input` and `.error` (for field errors). */
function field(label, attrs, hint) {
  const id = attrs.id || nextId("f");
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h("input", { ...attrs, id, "aria-describedby": [hintId, errorId].filter(Boolean).join(" ") });
  const error = h("p", { class: "field-error", id: errorId });
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    input,
    error,
  );
  wrapper.input = input;
  wrapper.error = error;
  wrapper.name = attrs.name;
  return wrapper;
}

/** The account's username, hidden, so that password managers know which password to offer. */
const usernameHint = () =>
  state.me ? h("input", { type: "text", name: "username", autocomplete: "username", value: state.me.username, hidden: true, readonly: true }) : null;

/**
 * The dialog of a step-up: a fresh code for `two-step/reverify/`, or the user's passkey
 * (`two-step/reverify/options/`, then its assertion) when they have one.
 * Resolves true once the credential is verified again, false when the user cancels.
 */
function askForFreshCode(maxAge) {
  return new Promise((resolve) => {
    const box = alertBox();
    const minutes = Math.max(1, Math.round((maxAge || 0) / 60));
    const code = field("Code", {
      name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true,
      pattern: "[0-9 -]*", maxlength: "12", spellcheck: "false",
    }, "From your authenticator app.");
    const confirm = h("button", { type: "submit" }, "Confirm");
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    const active = ((state.status && state.status.methods) || []).filter((m) => m.status === "active");
    const hasPasskey = passkeysSupported() && active.some((m) => m.kind === "passkey");
    const hasApp = !hasPasskey || active.some((m) => m.kind === "authenticator_app");
    const passkey = hasPasskey ? h("button", { type: "button", class: hasApp ? "secondary" : null }, "Use your passkey") : null;
    code.hidden = confirm.hidden = !hasApp;
    const headingId = nextId("reverify");
    const form = h("form", { novalidate: true },
      h("h2", { id: headingId }, "Confirm it's you"),
      h("p", {}, `This change needs a second step from the last ${minutes} minutes. ` +
        (!hasPasskey ? "Enter a fresh code." : hasApp ? "Use your passkey, or enter a fresh code." : "Use your passkey.")),
      box, code, h("div", { class: "actions" }, confirm, passkey, cancel));
    const dialog = h("dialog", { class: "card reverify", "aria-labelledby": headingId }, form);
    let settled = false;
    const finish = (verified) => {
      if (settled) return;
      settled = true;
      dialog.close();
      dialog.remove();
      resolve(verified);
    };
    const verified = (answer) => {
      if (answer.token) session.token = answer.token; // issuers that hand out a new one
      finish(true);
    };
    if (passkey) {
      passkey.addEventListener("click", () => submitting(passkey, box, async () => {
        const options = await request("POST", `${AUTH}two-step/reverify/options/`);
        const credential = await passkeyCeremony("get", options.public_key);
        verified(await request("POST", `${AUTH}two-step/reverify/`, { credential }));
      }));
    }
    cancel.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", () => finish(false)); // Escape
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitting(confirm, box, async () => {
        verified(await request("POST", `${AUTH}two-step/reverify/`, { code: code.input.value.trim() }));
      }, { fields: [code] });
    });
    document.body.append(dialog);
    dialog.showModal();
    (hasApp ? code.input : passkey).focus();
  });
}

/** The live region where a form's errors are announced. */
const alertBox = () => h("div", { class: "alert", role: "alert", "aria-live": "assertive" });

/** A polite live region for confirmations ("Copied.", "Saved."). */
const statusBox = () => h("p", { class: "status", role: "status", "aria-live": "polite" });

function formatDate(value) {
  if (!value) return "never";
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(value),
  );
}

function formatClock(date) {
  return new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  }).format(date);
}

/** The hint for wrong codes: the server's time, to compare with the phone's clock. */
function clockHint() {
  const drift = clock.offset === null ? 0 : Math.round(clock.offset / 1000);
  let text =
    `Codes depend on the time on your phone. The server's time is ${formatClock(clock.serverNow())}: ` +
    "if your phone's clock is more than a few seconds off, set it to update automatically.";
  if (Math.abs(drift) >= 30) {
    text += ` This device's clock is ${Math.abs(drift)} seconds ${drift > 0 ? "behind" : "ahead of"} the server's.`;
  }
  return text;
}

/**
 * Show `error` in `box`: the message for its code, field errors beside their fields, the
 * clock hint for wrong codes, and a countdown on `button` for `Retry-After`.
 */
function showError(box, error, { fields = [], button = null, context = null } = {}) {
  for (const f of fields) {
    f.error.textContent = "";
    f.input.removeAttribute("aria-invalid");
  }
  let message = MESSAGES[error.code] || error.body.detail || "Something went wrong. Please try again.";
  if (context && context[error.code]) message = context[error.code];
  const parts = [h("p", {}, message)];
  if (error.code === "invalid") {
    let focused = false;
    for (const [name, messages] of Object.entries(error.body)) {
      if (name === "code" || name === "detail") continue;
      const f = fields.find((candidate) => candidate.name === name);
      const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
      if (f) {
        f.error.textContent = text;
        f.input.setAttribute("aria-invalid", "true");
        if (!focused) {
          f.input.focus();
          focused = true;
        }
      } else {
        parts.push(h("p", {}, text));
      }
    }
  }
  if (error.code === "invalid_code") parts.push(h("p", { class: "hint" }, clockHint()));
  if (error.retryAfter && button) {
    parts.push(h("p", {}, `You can try again in ${error.retryAfter} seconds.`));
    countdown(button, error.retryAfter);
  }
  box.replaceChildren(...parts);
}

/** Disable `button` for `seconds`, its label counting down (visually; the alert said it once). */
function countdown(button, seconds) {
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  let left = seconds;
  button.disabled = true;
  const tick = () => {
    if (!button.isConnected) return;
    if (left <= 0) {
      button.disabled = false;
      button.textContent = label;
      return;
    }
    const minutes = Math.floor(left / 60);
    const rest = String(left % 60).padStart(2, "0");
    button.textContent = `${label} (wait ${minutes}:${rest})`;
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
}

/** Run `action` with `button` disabled; errors go to `box`. */
async function submitting(button, box, action, options = {}) {
  if (button.disabled) return;
  box.replaceChildren();
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await action();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) return; // signedOut() took over
    showError(box, error, { button, ...options });
  } finally {
    button.removeAttribute("aria-busy");
    if (!isCountingDown(button)) button.disabled = false;
  }
}

const isCountingDown = (button) =>
  Boolean(button.dataset.label) && button.textContent !== button.dataset.label;

async function copyText(text, status) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (error) {
    const area = h("textarea", { class: "offscreen", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  status.textContent = "Copied to the clipboard.";
}

async function downloadRecoveryPdf(codes, box) {
  const response = await api("POST", `${AUTH}two-step/recovery-codes/pdf/`, { recovery_codes: codes }, { raw: true });
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: "recovery-codes.pdf", class: "offscreen" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  box.textContent = "The PDF was downloaded as recovery-codes.pdf.";
}

// -- screens -----------------------------------------------------------------------------

const main = () => document.getElementById("main");

/** Put a screen in <main>; focus `focus` (default: its heading) so that it is announced. */
function show(title, nodes, focus) {
  const heading = h("h1", { tabindex: "-1" }, title);
  document.title = `${title} · drf-twostep demo`;
  const flash = state.flash ? h("div", { class: "alert", role: "alert" }, h("p", {}, state.flash)) : null;
  state.flash = null;
  main().replaceChildren(...[heading, flash, ...nodes].filter(Boolean));
  (focus || heading).focus();
}

function renderChrome() {
  const nav = document.getElementById("nav");
  const links = [];
  if (session.token && state.setupForced) {
    links.push(h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"));
  } else if (session.token && state.me) {
    links.push(h("a", { href: "#/account" }, "My Account"));
    for (const clinic of state.me.clinics || []) {
      if (clinic.role === "admin") links.push(h("a", { href: `#/clinic/${clinic.id}` }, `${clinic.name} admin`));
    }
    links.push(h("button", { type: "button", class: "link", onclick: signOut }, `Sign out ${state.me.username}`));
  }
  nav.replaceChildren(...(links.length ? [h("ul", {}, links.map((link) => h("li", {}, link)))] : []));

  const banner = document.getElementById("banner");
  const status = state.status;
  if (session.token && status && !status.enabled && status.grace_period_ends_at && !state.setupForced) {
    const names = (status.required_by || []).map((org) => org.name).join(", ") || "Your organization";
    banner.replaceChildren(
      h(
        "div",
        { class: "banner", role: "region", "aria-label": "2-Step Verification required" },
        h(
          "p",
          {},
          `${names} requires 2-Step Verification. Set it up by ${formatDate(status.grace_period_ends_at)}: `,
          "after that you can only sign in to set it up. ",
          h("a", { href: "#/setup" }, "Set it up now"),
        ),
      ),
    );
  } else {
    banner.replaceChildren();
  }
}

async function signOut() {
  try {
    await api("POST", `${AUTH}logout/`);
  } catch (error) {
    // Signed out already (401) or the server is gone: forget the token all the same.
  }
  signedOut("You're signed out.");
}

function signInScreen() {
  const box = alertBox();
  const username = field("Username", { name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const password = field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const button = h("button", { type: "submit" }, "Sign in");
  const passkey = h("button", { type: "button", class: "secondary", id: "passkey-sign-in" }, "Sign in with a passkey");
  passkey.addEventListener("click", () => submitting(passkey, box, async () => {
    session.token = null;
    const options = await api("POST", `${AUTH}login/passkey/options/`);
    const credential = await passkeyCeremony("get", options.public_key);
    await afterLogin(await api("POST", `${AUTH}login/passkey/`, { challenge: options.challenge, credential }));
  }));
  const form = h("form", { class: "card", novalidate: true }, box, username, password, button,
    passkeysSupported() ? h("div", { class: "actions" }, passkey) : null);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(button, box, async () => {
      session.token = null;
      const name = username.input.value;
      const body = { username: name, password: password.input.value };
      const remembered = trustedDevices.get(name).token;
      if (remembered) body.device_token = remembered;
      const answer = await api("POST", `${AUTH}login/`, body);
      if (remembered) {
        // Trusted no more (forgotten, expired, 2SV off): the token is of no further use.
        const trusted = answer.status === "authenticated" && answer.two_step && answer.two_step.enabled;
        if (trusted) state.flash = "Signed in on a trusted device: no code was needed.";
        else trustedDevices.forgetToken(name);
      }
      await afterLogin(answer, name);
    }, { fields: [username, password] });
  });
  show("Sign in", [form]);
}

async function afterLogin(answer, username) {
  if (answer.status === "verification_required") {
    state.login = { ...answer, username };
    go("#/verify");
    return;
  }
  session.token = answer.token;
  await loadAccount();
  if (answer.recovery_codes && answer.recovery_codes.length) {
    renderChrome();
    recoveryCodeScreen(answer.recovery_codes, "Signed in with your recovery code", [
      h("p", {}, "That recovery code is now used up. Here is its replacement: save it as you did the first one."),
    ]);
    return;
  }
  go(state.setupForced ? "#/setup" : "#/account");
}

function verifyScreen() {
  const login = state.login;
  if (!login) return go("#/signin");
  const methods = login.methods || [];
  let method = methods.find((m) => m.id === login.default_method) || methods[0];
  let useRecovery = false;

  const box = alertBox();
  const sent = statusBox();
  const intro = h("p", {});
  const code = field("Code", {
    name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true,
    pattern: "[0-9 -]*", maxlength: "12", spellcheck: "false",
  });
  const recovery = field("Recovery code", {
    name: "recovery_code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", required: true,
  }, "Like ABCD-EFGH-IJKL-MNOP-QRST-UVWX; dashes and spaces are optional.");
  const remember = rememberChoice(trustedDevices.get(login.username).days);
  const button = h("button", { type: "submit" }, "Verify");
  const send = h("button", { type: "button", class: "secondary" }, "Send me a code");
  const toggle = h("button", { type: "button", class: "link" });
  const chooser = methods.length > 1 ? h("fieldset", { class: "choices" }, h("legend", {}, "Verify with"),
    methods.map((m) => {
      const id = nextId("method");
      const kind = KIND_LABELS[m.kind] || m.kind;
      return h("div", {}, h("input", {
        type: "radio", name: "method", id, value: m.id, checked: m === method,
        onchange: () => { method = m; update(); },
      }), h("label", { for: id }, m.name === kind ? kind : `${m.name} · ${kind}`));
    })) : null;

  function update() {
    const sends = method && !["authenticator_app", "passkey"].includes(method.kind);
    const passkey = !useRecovery && method && method.kind === "passkey";
    button.textContent = passkey ? "Use your passkey" : "Verify";
    code.hidden = useRecovery || passkey;
    recovery.hidden = !useRecovery;
    send.hidden = useRecovery || !sends;
    if (chooser) chooser.hidden = useRecovery;
    toggle.textContent = useRecovery ? "Use a code instead" : "Use a recovery code";
    if (useRecovery) intro.textContent = "Enter one of your recovery codes. Each one works once.";
    else if (!method) intro.textContent = "Enter your code.";
    else if (method.kind === "passkey") intro.textContent = `Use your passkey (${method.name}): your browser or security key asks you to confirm.`;
    else if (method.kind === "authenticator_app") intro.textContent = `Enter the 6-digit code that your authenticator app (${method.name}) shows now.`;
    else if (method.kind === "sms") intro.textContent = `Enter the code sent by text message (${method.name}). No code? Choose "Send me a code".`;
    else intro.textContent = `Enter the code sent by email (${method.name}). No code? Choose "Send me a code".`;
  }
  toggle.addEventListener("click", () => {
    useRecovery = !useRecovery;
    box.replaceChildren();
    update();
    (useRecovery ? recovery : code).input.focus();
  });
  send.addEventListener("click", () =>
    submitting(send, box, async () => {
      const answer = await api("POST", `${AUTH}login/send-code/`, { challenge: login.challenge, method: method.id });
      const minutes = Math.round((answer.expires_in || 600) / 60);
      sent.textContent = `${answer.detail || "A code was sent."} It works for ${minutes} minutes.`;
      code.input.focus();
    }, { context: { throttled: "Codes were sent too often. Please wait before asking for another." } }),
  );

  const form = h("form", { class: "card", novalidate: true }, box, intro, chooser, code, recovery, sent, remember, button,
    h("div", { class: "actions" }, send, toggle));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(button, box, async () => {
      const body = { challenge: login.challenge };
      if (remember && remember.input.checked) body.remember_device = true;
      if (useRecovery) body.recovery_code = recovery.input.value;
      else if (method && method.kind === "passkey") body.credential = await passkeyCeremony("get", login.passkey);
      else {
        body.code = code.input.value;
        if (method) body.method = method.id;
      }
      let answer;
      try {
        answer = await api("POST", `${AUTH}login/verify/`, body);
      } catch (error) {
        if (error.code === "invalid_challenge" || error.code === "challenge_expired") {
          state.login = null;
          state.flash = MESSAGES[error.code];
          go("#/signin");
          return;
        }
        if (error.code === "invalid_code" || error.code === "code_already_used") code.input.select();
        throw error;
      }
      state.login = null;
      if (body.remember_device) deviceRemembered(login.username, answer);
      await afterLogin(answer);
    }, { fields: [code, recovery] });
  });
  update();
  show("2-Step Verification", [form], method && method.kind === "passkey" ? button : code.input);
}

/**
 * "Remember this device" on the second step: for `days` days when this browser knows the
 * user's limit, without a number when it does not; nothing when devices may not be
 * remembered (days 0). Returns the wrapper, with `.input`, or null.
 */
function rememberChoice(days) {
  if (days === 0) return null;
  const id = nextId("remember");
  const input = h("input", { type: "checkbox", id, name: "remember_device", "aria-describedby": `${id}-hint` });
  const label = days ? `Remember this device for ${days} days` : "Remember this device";
  const wrapper = h("div", { class: "remember" },
    h("div", { class: "check" }, input, h("label", { for: id }, label)),
    h("p", { class: "hint", id: `${id}-hint` },
      "Next time, your password alone signs you in on this browser. Don't tick this on a shared computer."));
  wrapper.input = input;
  return wrapper;
}

/** Keep the device token of a second step that asked to remember this device. */
function deviceRemembered(username, answer) {
  if (answer.device_token) {
    trustedDevices.update(username, { token: answer.device_token, expires_at: answer.device_expires_at });
  } else {
    trustedDevices.update(username, { days: 0 });
    state.flash = "This device can't be remembered: your account doesn't allow trusted devices. Each sign-in asks for a code.";
  }
}

/** The recovery code(s), shown once: Copy, Download PDF, and a button to go on. */
function recoveryCodeScreen(codes, title, intro) {
  const box = alertBox();
  const done = statusBox();
  const text = codes.join("\n");
  const copy = h("button", { type: "button", class: "secondary" }, "Copy");
  copy.addEventListener("click", () => copyText(text, done));
  const pdf = h("button", { type: "button", class: "secondary" }, "Download PDF");
  pdf.addEventListener("click", () => submitting(pdf, box, () => downloadRecoveryPdf(codes, done)));
  const next = h("button", { type: "button" }, "I've saved it, continue");
  next.addEventListener("click", () => go("#/account"));
  show(title, [
    ...intro,
    h("div", { class: "warning", role: "note" },
      h("p", {}, h("strong", {}, "This is the only time this code is shown. "),
        "Save it somewhere safe, away from your phone: it lets you sign in if you lose your phone, and each code works once.")),
    h("ul", { class: "codes", "aria-label": codes.length > 1 ? "Recovery codes" : "Recovery code" },
      codes.map((c) => h("li", {}, h("code", { class: "recovery-code" }, c)))),
    box,
    h("div", { class: "actions" }, copy, pdf),
    done,
    next,
  ]);
}

function setupChooser() {
  const status = state.status;
  const nodes = [];
  if (state.setupForced) {
    const names = (status.required_by || []).map((org) => org.name).join(", ") || "Your organization";
    nodes.push(h("p", { class: "lead" }, `${names} requires 2-Step Verification. Set up a method to continue: nothing else is available until then.`));
  } else {
    nodes.push(h("p", { class: "lead" }, "Choose how you want to receive your sign-in codes."));
  }
  nodes.push(h("ul", { class: "kinds" },
    h("li", {}, h("a", { class: "button", href: "#/setup/authenticator_app" }, "Set Up an authenticator app"),
      h("p", { class: "hint" }, "Recommended. Any standard app: Google Authenticator, Microsoft Authenticator, 1Password, Bitwarden...")),
    h("li", {}, h("a", { class: "button secondary", href: "#/setup/sms" }, "Set Up text messages (SMS)")),
    h("li", {}, h("a", { class: "button secondary", href: "#/setup/email" }, "Set Up email codes")),
    passkeysSupported() ? h("li", {}, h("a", { class: "button secondary", href: "#/setup/passkey" }, "Add a passkey"),
      h("p", { class: "hint" }, "Your device's screen lock, a password manager or a security key: nothing to type, and it can't be phished.")) : null,
  ));
  if (!state.setupForced) nodes.push(h("p", {}, h("a", { href: "#/account" }, "Back to My Account")));
  show("Set up 2-Step Verification", nodes);
}

/** Set-up of one method kind: password (and phone or address) → code → recovery code. */
function setupScreen(kind) {
  if (!KIND_LABELS[kind]) return go("#/setup");
  const title = `Set Up: ${KIND_LABELS[kind]}`;
  const box = alertBox();
  const password = field("Your password", { name: "password", type: "password", autocomplete: "current-password", required: true },
    "To protect your account, enter your password again.");
  const extra = [];
  if (kind === "sms") {
    extra.push(field("Mobile phone number", { name: "phone_number", type: "tel", autocomplete: "tel", required: true },
      "In international format, starting with + and the country code, e.g. +14155552671."));
  } else if (kind === "email") {
    extra.push(field("Email address", { name: "email", type: "email", autocomplete: "email", placeholder: state.me ? state.me.email : "" },
      "Leave empty to use your account's address."));
  }
  const button = h("button", { type: "submit" }, "Continue");
  const form = h("form", { class: "card", novalidate: true }, box,
    h("p", {}, "Step 1 of 3: confirm it's you."), usernameHint(), password, ...extra, button);

  async function begin() {
    const body = { kind, password: password.input.value };
    for (const f of extra) if (f.input.value.trim()) body[f.name] = f.input.value.trim();
    return api("POST", `${AUTH}two-step/methods/`, body);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(button, box, async () => {
      const method = await begin();
      if (kind !== "passkey") return confirmStep(kind, method, begin);
      const credential = await passkeyCeremony("create", method.public_key);
      await setupDone(await api("POST", `${AUTH}two-step/methods/${method.id}/confirm/`, { credential }));
    }, { fields: [password, ...extra] });
  });
  const back = h("p", {}, h("a", { href: state.setupForced ? "#/setup" : "#/account" }, "Cancel"));
  show(title, [form, back], password.input);
}

function confirmStep(kind, method, resend) {
  const title = `Set Up: ${KIND_LABELS[kind]}`;
  const box = alertBox();
  const notice = statusBox();
  const nodes = [];
  if (kind === "authenticator_app") {
    const copied = statusBox();
    const copy = h("button", { type: "button", class: "secondary" }, "Copy setup key");
    copy.addEventListener("click", () => copyText(method.setup_key.replace(/\s+/g, ""), copied));
    nodes.push(
      h("p", {}, "Step 2 of 3: open your authenticator app, add an account, and scan this QR code."),
      h("img", { class: "qr", src: method.qr_code, alt: "QR code to add this account to an authenticator app", width: "200", height: "200" }),
      h("p", {}, "Can't scan it? Type this setup key into the app instead (time-based):"),
      h("p", { class: "setup-key" }, h("code", { id: "setup-key" }, method.setup_key)),
      h("div", { class: "actions" }, copy),
      copied,
    );
  } else {
    const where = kind === "sms" ? "by text message" : "by email";
    nodes.push(h("p", {}, `Step 2 of 3: we sent a code ${where}.`));
  }
  const code = field("Code", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: "12", spellcheck: "false" },
    kind === "authenticator_app" ? "The 6-digit code the app shows now." : "The code from the message.");
  const button = h("button", { type: "submit" }, "Verify and turn on");
  const form = h("form", { class: "card", novalidate: true }, box, code, notice, button);
  if (kind !== "authenticator_app") {
    const again = h("button", { type: "button", class: "secondary" }, "Send a new code");
    again.addEventListener("click", () => submitting(again, box, async () => {
      method = await resend();
      notice.textContent = "A new code was sent. The earlier one no longer works.";
      code.input.focus();
    }));
    form.append(h("div", { class: "actions" }, again));
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(button, box, async () => {
      let answer;
      try {
        answer = await api("POST", `${AUTH}two-step/methods/${method.id}/confirm/`, { code: code.input.value });
      } catch (error) {
        if (error.code === "invalid_code" || error.code === "code_already_used") code.input.select();
        throw error;
      }
      await setupDone(answer);
    }, { fields: [code] });
  });
  show(title, [...nodes, form], code.input);
}

/** A confirmed method: its recovery code when this turned 2SV on, else back to My Account. */
async function setupDone(answer) {
  if (answer.token) session.token = answer.token;
  await loadAccount();
  renderChrome();
  if (answer.recovery_codes && answer.recovery_codes.length) {
    recoveryCodeScreen(answer.recovery_codes, "2-Step Verification is on", [
      h("p", {}, "Step 3 of 3: save your recovery code."),
    ]);
  } else {
    state.flash = `${answer.method.name} is set up.`;
    go("#/account");
  }
}

function accountScreen() {
  const status = state.status;
  const box = alertBox();
  const done = statusBox();
  const required = status.required_by && status.required_by.length
    ? h("p", {}, `Required by ${status.required_by.map((o) => o.name).join(", ")}.`) : null;

  const methods = h("ul", { class: "methods" }, status.methods.map((m) => methodItem(m, box, done)));
  const recovery = status.recovery_codes;
  const nodes = [
    h("section", { "aria-labelledby": "twostep-heading" },
      h("h2", { id: "twostep-heading" }, "2-Step Verification"),
      h("p", {}, "Status: ", h("strong", { class: status.enabled ? "on" : "off" }, status.enabled ? "On" : "Off")),
      required,
      box,
      done,
      h("h3", {}, "Your methods"),
      status.methods.length ? methods : h("p", {}, "No methods yet."),
      h("p", { class: "actions" }, h("a", { class: "button", href: "#/setup" }, status.enabled ? "Add a method" : "Set Up 2-Step Verification"),
        passkeysSupported() ? h("a", { class: "button secondary", href: "#/setup/passkey", id: "add-passkey" }, "Add a passkey") : null),
      status.enabled && recovery ? recoverySection(recovery) : null,
    ),
    status.enabled ? devicesSection(status.remember_device_days) : null,
  ];
  const clinics = state.me.clinics || [];
  if (clinics.length) {
    nodes.push(h("section", { "aria-labelledby": "clinics-heading" },
      h("h2", { id: "clinics-heading" }, "Your clinics"),
      h("ul", {}, clinics.map((c) => h("li", {}, `${c.name} (${c.role})`,
        c.role === "admin" ? [" · ", h("a", { href: `#/clinic/${c.id}` }, "Manage 2-Step Verification")] : null)))));
  }
  show(`My Account: ${state.me.username}`, nodes);
}

function methodItem(m, box, done) {
  const kind = KIND_LABELS[m.kind] || m.kind;
  const label = [h("span", { class: "method-name" }, m.name)];
  if (m.name !== kind) label.push(" ", h("span", { class: "kind" }, `· ${kind}`));
  if (m.is_default) label.push(" ", h("span", { class: "badge" }, "Default"));
  if (m.status === "pending") label.push(" ", h("span", { class: "badge pending" }, "Not finished"));
  const details = h("p", { class: "hint" }, `Added ${formatDate(m.created_at)} · last used ${formatDate(m.last_used_at)}`);
  const actions = h("div", { class: "actions" });
  const item = h("li", { class: "method" }, h("p", {}, label), details, actions);
  if (m.status === "active" && !m.is_default) {
    const make = h("button", { type: "button", class: "secondary", "aria-label": `Make default: ${m.name}` }, "Make default");
    make.addEventListener("click", () => submitting(make, box, async () => {
      await api("PATCH", `${AUTH}two-step/methods/${m.id}/`, { is_default: true });
      await loadAccount();
      state.flash = null;
      accountScreen();
      document.getElementById("main").querySelector("[role=status]").textContent = `${m.name} is now your default method.`;
    }));
    actions.append(make);
  }
  const remove = h("button", { type: "button", class: "secondary danger", "aria-label": `Remove ${m.name}`, "aria-expanded": "false" }, "Remove");
  remove.addEventListener("click", () => {
    if (item.querySelector("form")) return;
    remove.setAttribute("aria-expanded", "true");
    const formBox = alertBox();
    const password = field(`Your password, to remove ${m.name}`, { name: "password", type: "password", autocomplete: "current-password", required: true });
    const confirm = h("button", { type: "submit", class: "danger" }, "Remove method");
    const cancel = h("button", { type: "button", class: "link" }, "Cancel");
    const form = h("form", { class: "inline", novalidate: true }, formBox, usernameHint(), password, h("div", { class: "actions" }, confirm, cancel));
    cancel.addEventListener("click", () => { form.remove(); remove.setAttribute("aria-expanded", "false"); remove.focus(); });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitting(confirm, formBox, async () => {
        await api("DELETE", `${AUTH}two-step/methods/${m.id}/`, { password: password.input.value });
        await loadAccount();
        state.flash = null;
        renderChrome();
        accountScreen();
        document.getElementById("main").querySelector("[role=status]").textContent = `${m.name} was removed.`;
      }, { fields: [password] });
    });
    item.append(form);
    password.input.focus();
  });
  actions.append(remove);
  return item;
}

/** My Account's trusted devices (`two-step/devices/`): each with Forget, and Forget all. */
function devicesSection(days) {
  const username = state.me.username;
  const box = alertBox();
  const done = statusBox();
  const heading = h("h2", { id: "devices-heading", tabindex: "-1" }, "Trusted devices");
  const list = h("ul", { class: "devices", "aria-labelledby": "devices-heading", hidden: true });
  const empty = h("p", { hidden: true }, "No trusted devices.");
  const forgetAll = h("button", { type: "button", class: "secondary danger", hidden: true }, "Forget all devices");
  const intro = days > 0
    ? `On a trusted device your password alone signs you in, for up to ${days} days. To trust this browser, tick "Remember this device" when you enter a code.`
    : "Trusted devices are off for your account: every sign-in asks for a code.";

  const isThisBrowser = (device) => {
    const mine = trustedDevices.get(username);
    return Boolean(mine.token) && Date.parse(mine.expires_at) === Date.parse(device.expires_at);
  };

  async function load() {
    const found = await api("GET", `${AUTH}two-step/devices/`);
    list.replaceChildren(...found.map(deviceItem));
    list.hidden = !found.length;
    empty.hidden = Boolean(found.length);
    forgetAll.hidden = !found.length;
  }

  /** After a device was forgotten: the list again, the news said, focus on the heading. */
  async function forgotten(message) {
    await load();
    done.textContent = message;
    heading.focus();
  }

  function deviceItem(device) {
    const mine = isThisBrowser(device);
    const name = device.name || "Unnamed device";
    const label = [h("span", { class: "method-name" }, name)];
    if (mine) label.push(" ", h("span", { class: "badge" }, "This browser"));
    const details = h("p", { class: "hint" },
      `Remembered ${formatDate(device.created_at)} · last used ${formatDate(device.last_used_at)} · ` +
      `expires ${formatDate(device.expires_at)}` + (device.ip ? ` · from ${device.ip}` : ""));
    const forget = h("button", { type: "button", class: "secondary danger",
      "aria-label": `Forget ${name}${mine ? " (this browser)" : ""}, remembered ${formatDate(device.created_at)}` }, "Forget");
    forget.addEventListener("click", () => submitting(forget, box, async () => {
      try {
        await api("DELETE", `${AUTH}two-step/devices/${device.id}/`);
      } catch (error) {
        if (error.code !== "not_found") throw error; // forgotten already
      }
      if (mine) trustedDevices.forgetToken(username);
      await forgotten(`${name} was forgotten: it asks for a code at its next sign-in.`);
    }));
    return h("li", { class: "device" }, h("p", {}, label), details, h("div", { class: "actions" }, forget));
  }

  forgetAll.addEventListener("click", () => submitting(forgetAll, box, async () => {
    await api("DELETE", `${AUTH}two-step/devices/`);
    trustedDevices.forgetToken(username);
    await forgotten("Every trusted device was forgotten: each asks for a code at its next sign-in.");
  }));

  load().catch((error) => {
    if (!(error instanceof ApiError)) throw error;
    if (error.status !== 401) showError(box, error);
  });
  return h("section", { "aria-labelledby": "devices-heading" },
    heading, h("p", {}, intro), box, done, list, empty, h("div", { class: "actions" }, forgetAll));
}

function recoverySection(recovery) {
  const box = alertBox();
  const section = h("div", {},
    h("h3", {}, "Recovery code"),
    h("p", {}, `${recovery.remaining} of ${recovery.total} unused` + (recovery.created_at ? `, created ${formatDate(recovery.created_at)}.` : ".")));
  const open = h("button", { type: "button", class: "secondary", "aria-expanded": "false" }, "Get a new recovery code");
  open.addEventListener("click", () => {
    if (section.querySelector("form")) return;
    open.setAttribute("aria-expanded", "true");
    const password = field("Your password", { name: "password", type: "password", autocomplete: "current-password", required: true },
      "Your current recovery code stops working.");
    const button = h("button", { type: "submit" }, "Replace my recovery code");
    const form = h("form", { class: "inline", novalidate: true }, box, usernameHint(), password, button);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitting(button, box, async () => {
        const answer = await api("POST", `${AUTH}two-step/recovery-codes/`, { password: password.input.value });
        await loadAccount();
        recoveryCodeScreen(answer.recovery_codes, "Your new recovery code", [h("p", {}, "Your earlier recovery code no longer works.")]);
      }, { fields: [password] });
    });
    section.append(form);
    password.input.focus();
  });
  section.append(open);
  return section;
}

async function clinicScreen(orgId) {
  const clinic = (state.me.clinics || []).find((c) => String(c.id) === String(orgId));
  const name = clinic ? clinic.name : `Clinic ${orgId}`;
  const base = `${AUTH}organizations/${encodeURIComponent(orgId)}/`;
  const box = alertBox();
  let policy;
  try {
    policy = await api("GET", `${base}two-step-policy/`);
  } catch (error) {
    if (error.status === 401) return;
    show(`${name}: 2-Step Verification`, [box]);
    showError(box, error, { context: { not_found: "This clinic doesn't exist, or you're not one of its admins." } });
    return;
  }

  // The policy form.
  const saved = statusBox();
  const required = h("input", { type: "checkbox", id: "policy-required", checked: policy.required });
  const grace = field("Grace period (days)", { name: "grace_period_days", type: "number", min: "0", max: "365", value: String(policy.grace_period_days), inputmode: "numeric" },
    "How long members who have no 2-Step Verification yet may go on without it.");
  const kinds = Object.keys(KIND_LABELS).map((kind) => h("div", {},
    h("input", { type: "checkbox", id: `allowed-${kind}`, value: kind, checked: policy.allowed_methods.includes(kind) }),
    h("label", { for: `allowed-${kind}` }, KIND_LABELS[kind])));
  const allowedError = h("p", { class: "field-error", id: "allowed-error" });
  const allowed = h("fieldset", { class: "choices", "aria-describedby": "allowed-error" }, h("legend", {}, "Allowed methods"), kinds, allowedError);
  allowed.input = allowed;
  allowed.error = allowedError;
  allowed.name = "allowed_methods";
  const save = h("button", { type: "submit" }, "Save policy");
  const policyBox = alertBox();
  const since = policy.required_since ? h("p", { class: "hint" }, `Required since ${formatDate(policy.required_since)}.`) : null;
  const form = h("form", { class: "card", novalidate: true }, policyBox,
    h("div", { class: "check" }, required, h("label", { for: "policy-required" }, "Require 2-Step Verification of every member")),
    since, grace, allowed, save, saved);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(save, policyBox, async () => {
      saved.textContent = "";
      policy = await api("PATCH", `${base}two-step-policy/`, {
        required: required.checked,
        grace_period_days: parseInt(grace.input.value || "0", 10),
        allowed_methods: [...allowed.querySelectorAll("input:checked")].map((input) => input.value),
      });
      saved.textContent = "The policy was saved.";
      await loadMembers();
    }, { fields: [grace, allowed] });
  });

  // The members.
  const membersBox = alertBox();
  const membersStatus = statusBox();
  const onlyMissing = h("input", { type: "checkbox", id: "only-noncompliant" });
  const tbody = h("tbody", {});
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more members");
  let nextPage = null;

  function memberRow(member) {
    const user = member.user;
    const actions = h("td", {});
    const reset = h("button", { type: "button", class: "secondary danger", "aria-label": `Reset 2-Step Verification of ${user.username}` }, "Reset 2-Step Verification");
    reset.addEventListener("click", () => {
      if (actions.querySelector(".confirm")) return;
      const yes = h("button", { type: "button", class: "danger" }, `Yes, reset ${user.username}`);
      const no = h("button", { type: "button", class: "link" }, "Cancel");
      const confirm = h("div", { class: "confirm", role: "group", "aria-label": `Confirm the reset of ${user.username}` },
        h("p", {}, `Reset ${user.username}'s 2-Step Verification? Their methods and recovery codes are removed and they are signed out everywhere.`),
        h("div", { class: "actions" }, yes, no));
      no.addEventListener("click", () => { confirm.remove(); reset.focus(); });
      yes.addEventListener("click", () => submitting(yes, membersBox, async () => {
        await api("POST", `${base}members/${encodeURIComponent(user.id)}/reset-two-step/`);
        await loadMembers();
        membersStatus.textContent = `${user.username}'s 2-Step Verification was reset. They will set it up again at their next sign-in.`;
      }, { context: { two_step_setup_required: "Turn on 2-Step Verification for your own account before you reset a member." } }));
      actions.append(confirm);
      yes.focus();
    });
    // Your own 2SV is managed on My Account, not reset from here.
    if (!state.me || user.username !== state.me.username) actions.prepend(reset);
    return h("tr", { "data-username": user.username },
      h("th", { scope: "row" }, user.username),
      h("td", { "data-label": "2SV" }, member.enabled ? "On" : "Off"),
      h("td", { "data-label": "Methods" }, member.methods.map((k) => KIND_LABELS[k] || k).join(", ") || "none"),
      h("td", { "data-label": "Meets the policy" }, member.compliant ? "Yes" : h("strong", {}, "No")),
      h("td", { "data-label": "Last verified" }, formatDate(member.last_verified_at)),
      actions);
  }

  async function loadMembers(url) {
    const page = await api("GET", url || `${base}members/${onlyMissing.checked ? "?compliant=false" : ""}`);
    const rows = (page.results || page).map(memberRow);
    if (url) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
    nextPage = page.next || null;
    more.hidden = !nextPage;
  }
  onlyMissing.addEventListener("change", () => loadMembers().catch((error) => showError(membersBox, error)));
  more.addEventListener("click", () => submitting(more, membersBox, () => loadMembers(nextPage)));

  const table = h("div", { class: "table-wrap" }, h("table", { class: "members" },
    h("caption", {}, `Members of ${name}`),
    h("thead", {}, h("tr", {}, ["Member", "2SV", "Methods", "Meets the policy", "Last verified", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
    tbody));

  show(`${name}: 2-Step Verification`, [
    state.status && !state.status.enabled
      ? h("p", { class: "warning" }, "Turn on 2-Step Verification for your own account before you change the policy or reset members.")
      : null,
    h("section", { "aria-labelledby": "policy-heading" }, h("h2", { id: "policy-heading" }, "Policy"), form),
    h("section", { "aria-labelledby": "members-heading" }, h("h2", { id: "members-heading" }, "Members"),
      h("div", { class: "check" }, onlyMissing, h("label", { for: "only-noncompliant" }, "Only members who don't meet the policy")),
      membersBox, membersStatus, table, more),
  ]);
  try {
    await loadMembers();
  } catch (error) {
    showError(membersBox, error);
  }
}

// -- routing -----------------------------------------------------------------------------

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const path = location.hash.replace(/^#/, "") || "/";
  try {
    if (!session.token) {
      renderChrome();
      if (path === "/verify" && state.login) return verifyScreen();
      if (path !== "/signin") return go("#/signin");
      return signInScreen();
    }
    if (!state.status) await loadAccount();
    renderChrome();
    if (state.setupForced) {
      // Nothing but setting up is reachable until a method is confirmed.
      const match = path.match(/^\/setup(?:\/(\w+))?$/);
      if (!match) return go("#/setup");
      return match[1] ? setupScreen(match[1]) : setupChooser();
    }
    let match;
    if (path === "/account") return accountScreen();
    if (path === "/setup") return setupChooser();
    if ((match = path.match(/^\/setup\/(\w+)$/))) return setupScreen(match[1]);
    if ((match = path.match(/^\/clinic\/([^/]+)$/))) return clinicScreen(decodeURIComponent(match[1]));
    return go("#/account");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) return; // signedOut() took over
    if (error.code === "two_step_verification_required") return signedOut(MESSAGES.two_step_verification_required);
    const box = alertBox();
    show("Something went wrong", [box, h("p", {}, h("button", { type: "button", onclick: () => route() }, "Try again"))]);
    showError(box, error);
  }
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  document.querySelector(".skip").addEventListener("click", (event) => {
    event.preventDefault();
    const heading = main().querySelector("h1");
    (heading || main()).focus();
  });
  route();
});
