/**
 * The dashboard's browser script (a plain ES module, no build step), kept as text so the package serves it
 * without reading files. It only ever writes data into the page with `textContent`, never as markup: plugin
 * names and error messages come from plugins the operator may not have written.
 *
 * @module
 */

/** The script of the dashboard page. */
export const DASHBOARD_SCRIPT: string = String.raw`
const $ = (selector) => document.querySelector(selector);
const MAX_EVENTS = 50;
const STORE = "dotcompute.admin.token";
let token = sessionStorage.getItem(STORE) ?? "";
let stream;
const rows = new Map();
const pending = new Map();

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const headers = { Accept: "application/json", ...(token ? { Authorization: "Bearer " + token } : {}) };
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) throw new Unauthorized("the admin API needs a token");
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const error = new Error(body?.error?.message ?? res.status + " " + res.statusText);
    error.status = res.status;
    throw error;
  }
  return body;
}

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
};
const ms = (v) => (typeof v === "number" && v > 0 ? (v < 10 ? v.toFixed(2) : v.toFixed(0)) : "–");
const enc = encodeURIComponent;

function say(text, isError = false) {
  const box = $("#message");
  box.textContent = text;
  box.className = isError ? "error" : "";
}

function ensureRow(id) {
  let tr = rows.get(id);
  if (tr) return tr;
  tr = el("tr");
  tr.dataset.id = id;
  const name = el("th", { scope: "row" }, el("span", { className: "name" }), el("code", { className: "id" }, id));
  tr.append(name);
  for (const col of ["state", "health", "version", "calls", "errors", "p50", "p95"]) {
    tr.append(el("td", { className: "col-" + col }));
  }
  const actions = el("td", { className: "actions" });
  for (const [op, label] of [["start", "Start"], ["stop", "Stop"], ["reload", "Reload"], ["diagnose", "Why?"]]) {
    const verb = op === "diagnose" ? "Diagnose" : label;
    const button = el("button", { type: "button", textContent: label, title: verb + " " + id });
    actions.append(button);
    button.dataset.op = op;
    button.setAttribute("aria-label", verb + " " + id);
  }
  tr.append(actions);
  const body = $("#plugins tbody");
  const after = [...rows.keys()].sort().find((other) => other > id);
  body.insertBefore(tr, after ? rows.get(after) : null);
  rows.set(id, tr);
  $("#empty").hidden = true;
  return tr;
}

function badge(cell, kind, word) {
  cell.replaceChildren(el("span", { className: "badge " + kind + "-" + word, textContent: word }));
}

// reported: the health comes from the plugin itself (GET /plugins/:id, a health event). A list's health is only
// what the state implies, so it never overwrites a report made in the same state.
function render(p, metrics, reported = false) {
  const tr = ensureRow(p.id);
  tr.querySelector(".name").textContent = p.name ?? p.id;
  badge(tr.querySelector(".col-state"), "state", p.state);
  const note = replicaNote(p, metrics);
  if (note) tr.querySelector(".col-state").append(el("span", { className: "note", ...note }));
  if (p.health && (reported || tr.dataset.reportedIn !== p.state)) {
    badge(tr.querySelector(".col-health"), "health", p.health);
    if (reported) tr.dataset.reportedIn = p.state;
    else delete tr.dataset.reportedIn;
  }
  tr.querySelector(".col-version").textContent = p.version;
  tr.dataset.state = p.state;
  if (metrics) {
    tr.querySelector(".col-calls").textContent = String(metrics.calls);
    tr.querySelector(".col-errors").textContent = String(metrics.errors);
    tr.querySelector(".col-p50").textContent = ms(metrics.latencyMs?.p50);
    tr.querySelector(".col-p95").textContent = ms(metrics.latencyMs?.p95);
  }
  const running = p.state === "Running";
  tr.querySelector('[data-op="start"]').disabled = running;
  tr.querySelector('[data-op="stop"]').disabled = ["Unloaded", "Stopped", "Unknown"].includes(p.state);
}

// Replicas (serving of all, and each one's load) and dormancy (lazy, idle: the next call starts it).
function replicaNote(p, metrics) {
  const dormant = p.dormant ? " (" + p.dormant + ")" : "";
  const replicas = metrics?.replicas;
  if (!replicas) return dormant ? { textContent: dormant, title: "starts on the next call" } : undefined;
  const serving = replicas.filter((r) => r.state === "serving").length;
  const title = replicas.map((r) =>
    "replica " + r.index + ": " + r.state + ", " + r.inFlight + " in flight, " + r.calls + " calls, " +
    r.restarts + " restarts"
  ).join("\n");
  return { textContent: " ×" + serving + dormant, title };
}

function removeRow(id) {
  rows.get(id)?.remove();
  rows.delete(id);
  $("#empty").hidden = rows.size > 0;
}

async function refreshHealth() {
  const res = await fetch("health");
  const { status } = await res.json().catch(() => ({ status: "unknown" }));
  badge($("#host-health"), "health", status);
}

async function refreshAll(first = false) {
  const list = await api("plugins");
  const ids = new Set(list.map((p) => p.id));
  for (const id of [...rows.keys()]) if (!ids.has(id)) removeRow(id);
  for (const p of list) render(p);
  $("#empty").hidden = list.length > 0;
  $("#plugins").setAttribute("aria-busy", "false");
  await Promise.all(list.map(async (p) => {
    if (first) return await refreshOne(p.id, false);
    const m = await api("plugins/" + enc(p.id) + "/metrics").catch(() => null);
    if (m && rows.has(p.id)) render({ ...p, state: m.state }, m);
  }));
  await refreshHealth();
  await refreshFleet().catch(() => {}); // _dashboard_fleet.ts
}

async function refreshOne(id, withHostHealth = true) {
  try {
    const detail = await api("plugins/" + enc(id));
    render(detail, detail.metrics, true);
  } catch (e) {
    if (e.status === 404) removeRow(id);
  }
  if (withHostHealth) await refreshHealth().catch(() => {});
}

function scheduleRefresh(id) {
  clearTimeout(pending.get(id));
  pending.set(id, setTimeout(() => { pending.delete(id); void refreshOne(id); }, 100));
}

function describe(type, e) {
  switch (type) {
    case "state": return e.id + ": " + e.from + " → " + e.to + (e.reason ? " (" + e.reason + ")" : "");
    case "health": return e.id + ": health " + e.from + " → " + e.to;
    case "reload":
      return e.id + ": reload " + e.outcome + " " + (e.fromVersion ?? "") + " → " + (e.toVersion ?? "") +
        " (" + e.trigger + ")" + (e.error ? ": " + e.error : "");
    case "crash": return e.id + " crashed: " + e.reason;
    case "heal":
      return e.id + ": self-healing " + e.action + (e.delayMs !== undefined ? " in " + e.delayMs + " ms" : "") +
        (e.reason ? ": " + e.reason : "");
    case "approval": return e.id + ": approval " + e.action + " " + e.fromVersion + " → " + e.toVersion;
    case "dependency": return e.id + ": dependency " + e.dependency + " " + e.change + (e.reason ? ": " + e.reason : "");
    case "protocolError": return e.id + ": malformed message dropped: " + e.reason;
    case "discoveryFailure": return e.dir + ": " + e.message;
    case "fleet": return "host " + e.hostId + " " + e.change + (e.offers.length ? ": " + e.offers.join(", ") : "");
    case "bundle": return e.id + " " + e.version + ": bundle " + e.outcome + (e.reason ? ": " + e.reason : "");
    case "config":
      return "config " + e.outcome + ": " + ((e.changes ?? []).map((c) => c.id + " " + c.action).join(", ") ||
        (e.problems ?? []).join("; ") || "no change");
    default: return (e.id ? e.id + ": " : "") + type;
  }
}

function addEvent(type, e) {
  const at = new Date(e.at ?? Date.now());
  const item = el("li", { className: "event-" + type },
    el("time", { dateTime: at.toISOString(), textContent: at.toLocaleTimeString() }),
    el("span", { className: "type", textContent: type }),
    el("span", { className: "text", textContent: describe(type, e) }));
  const list = $("#events");
  list.prepend(item);
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

function onEvent(type, data) {
  let e;
  try { e = JSON.parse(data); } catch { return; }
  addEvent(type, e);
  if (type === "health" && rows.has(e.id)) {
    const tr = rows.get(e.id);
    badge(tr.querySelector(".col-health"), "health", e.to);
    tr.dataset.reportedIn = tr.dataset.state;
  }
  if (type === "bundle") void refreshFleet().catch(() => {}); // a fleet event refreshes all below
  if (typeof e.id === "string") scheduleRefresh(e.id);
  else void refreshAll().catch(() => {});
}

// Server-sent events read with fetch (EventSource cannot send the Authorization header).
async function listen() {
  for (;;) {
    stream = new AbortController();
    try {
      const res = await fetch("events", {
        headers: token ? { Authorization: "Bearer " + token } : {},
        signal: stream.signal,
      });
      if (res.status === 401) throw new Unauthorized("the admin API needs a token");
      if (!res.ok || !res.body) throw new Error("events: " + res.status);
      $("#conn").textContent = "live";
      $("#conn").className = "live";
      await refreshAll(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replaceAll("\r\n", "\n");
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let type = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          if (data.length > 0) onEvent(type, data.join("\n"));
        }
      }
    } catch (e) {
      if (e instanceof Unauthorized) return askForToken();
    }
    $("#conn").textContent = "reconnecting…";
    $("#conn").className = "down";
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function act(button) {
  const tr = button.closest("tr");
  const id = tr.dataset.id;
  const op = button.dataset.op;
  if (op === "diagnose") return diagnose(id);
  button.disabled = true;
  say((op === "stop" ? "Stopping " : op === "start" ? "Starting " : "Reloading ") + id + "…");
  try {
    const result = await api("plugins/" + enc(id) + "/" + op, { method: "POST" });
    say(id + " is " + result.state);
  } catch (e) {
    if (e instanceof Unauthorized) return askForToken();
    say(op + " " + id + " failed: " + e.message, true);
  } finally {
    button.disabled = false;
    await refreshOne(id);
  }
}

async function diagnose(id) {
  const box = $("#diagnosis");
  try {
    const d = await api("plugins/" + enc(id) + "/diagnosis");
    $("#diagnosis-title").textContent = d.running ? "Diagnosis of " + id : "Why is " + id + " not running?";
    $("#findings").replaceChildren(...d.findings.map((f) =>
      el("li", { className: "finding-" + f.severity },
        el("span", { className: "badge severity-" + f.severity, textContent: f.severity }),
        el("span", { className: "kind", textContent: f.kind }),
        el("span", { className: "text", textContent: f.message }),
        el("span", { className: "action", textContent: "→ " + f.action }))
    ));
    box.hidden = false;
    box.focus();
  } catch (e) {
    if (e instanceof Unauthorized) return askForToken();
    say("diagnosis of " + id + " failed: " + e.message, true);
  }
}

function askForToken() {
  stream?.abort();
  $("#conn").textContent = "needs a token";
  $("#conn").className = "down";
  const form = $("#auth");
  form.hidden = false;
  if (token) $("#auth-error").textContent = "That token was refused.";
  $("#token").focus();
}

$("#auth").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("#token").value.trim();
  sessionStorage.setItem(STORE, token);
  $("#auth").hidden = true;
  $("#auth-error").textContent = "";
  void listen();
});
$("#plugins tbody").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-op]");
  if (button) void act(button);
});
$("#close-diagnosis").addEventListener("click", () => { $("#diagnosis").hidden = true; });
setInterval(() => {
  if (document.visibilityState === "visible" && $("#conn").className === "live") void refreshAll().catch(() => {});
}, 5000);
void listen();
`;
