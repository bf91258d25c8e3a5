// The operator's console: the alarm queue (severity, then age), the selected alert's detail
// with acknowledge / resolve / comment as the logged-in operator, live updates over SSE, a
// sound and flash for a new critical alarm, and the links between alerts and tracks.
"use strict";
const alerts = new Map();      // alert_id -> record (without history)
const criticalSeen = new Set();
let selectedId = null;
let lastTracks = {tracks: []};

let clockT = null;
function showClock(t_s, fromTracks) {
  // the simulated (data) clock: the tracks snapshot's time; before any, the newest alert time
  if (t_s == null || (!fromTracks && clockT !== null && t_s <= clockT)) return;
  clockT = t_s;
  document.getElementById("sim-clock").textContent = `sim time ${utc(t_s, true)}`;
}

function trackOf(id) { return alerts.get(id)?.track_id || null; }

function keep(record) {
  const copy = {...record};
  delete copy.history; delete copy.actions;
  alerts.set(copy.alert_id, copy);
  return copy;
}

function summary(a) {
  if (a.class === "tower_fault") {
    return `tower fault: ${(a.towers || []).join(", ") || "site"} ${a.fault || ""}`.trim();
  }
  const parts = [utc(a.first_t_s)];
  if (a.status === "open") parts.push(`confidence ${Math.round(100 * a.confidence)}%`);
  else if (a.status === "closed") parts.push(`closed${a.reason ? ` (${a.reason})` : ""}`);
  if (a.distance_to_perimeter_m != null) {
    parts.push(`${Math.round(a.distance_to_perimeter_m)} m to perimeter`);
  }
  return parts.join(" · ");
}

function renderQueue() {
  const list = document.getElementById("queue");
  list.replaceChildren();
  const waiting = [...alerts.values()].filter((a) => a.status !== "resolved")
    .sort((a, b) => (SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity])
      || (a.first_t_s - b.first_t_s));
  for (const a of waiting) {
    const alarm = a.severity === "critical" && !a.acked;
    const item = element("li", {"data-alert": a.alert_id,
      class: `sev-${a.severity} ${a.status} ${a.workflow}${alarm ? " alarm" : ""}` +
        `${a.alert_id === selectedId ? " selected" : ""}`},
    element("div", {class: "title"}, element("span", {class: `track-icon cls-${a.class}`},
      CLASS_MARK[a.class] || "?"), ` ${a.alert_id} · ${a.class} · ${a.severity}`,
    element("span", {class: `badge ${a.workflow}`}, a.workflow)),
    element("div", {class: "meta"}, summary(a)),
    a.acked ? element("div", {class: "meta acked"}, `acknowledged by ${a.acked_by}`) : null);
    item.addEventListener("click", () => select(a.alert_id));
    list.append(item);
  }
  if (!waiting.length) list.append(element("li", {class: "empty"}, "no alarms waiting"));
  drawOrigins(waiting.concat(selectedId && !waiting.some((a) => a.alert_id === selectedId)
    ? [alerts.get(selectedId)].filter(Boolean) : []), selectedId);
}

async function refreshCounts() {
  const counts = await getJson("/alerts/counts");
  const badge = document.getElementById("unacked");
  badge.textContent = `${counts.unacknowledged} unacknowledged`;
  badge.dataset.count = counts.unacknowledged;
  badge.classList.toggle("hot", counts.unacknowledged > 0);
}

function fact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(element("dt", {}, term), element("dd", {}, value));
}

function renderDetail(record) {
  document.getElementById("detail").hidden = false;
  document.getElementById("detail-title").textContent =
    `${record.alert_id} · ${record.class} · ${record.severity}`;
  const facts = document.getElementById("detail-facts");
  facts.replaceChildren();
  fact(facts, "state", record.workflow === "resolved"
    ? `resolved: ${record.disposition} by ${record.resolved_by}`
    : `${record.status} · ${record.workflow}${record.acked ? ` by ${record.acked_by}` : ""}`);
  const fault = record.class === "tower_fault";
  fact(facts, "class", record.class_confidence > 0 && !fault
    ? `${record.class} (${Math.round(100 * record.class_confidence)}% sure)` : record.class);
  if (record.status === "open" && !fault) {
    fact(facts, "confidence", `${Math.round(100 * record.confidence)}%`);
  }
  fact(facts, "close reason", record.reason);
  fact(facts, "fault", record.fault);
  if (record.position) {
    fact(facts, "position", `x ${Math.round(record.position.x_m)} m, y ${Math.round(record.position.y_m)} m`);
  }
  if (record.origin) {
    const o = record.origin;
    const kind = {observed: "observed: ", entered: "entered view (first seen, not where it began): ",
      unknown: ""}[originKind(o)];
    fact(facts, "origin", `${kind}x ${Math.round(o.x_m)} m, y ${Math.round(o.y_m)} m, ` +
      `1σ ${Math.round(o.sigma_major_m)} × ${Math.round(o.sigma_minor_m)} m at ${utc(o.t_s)}`);
  }
  fact(facts, "towers", (record.towers || []).join(", "));
  fact(facts, "sensors", (record.sensors || []).join(", "));
  fact(facts, "raised", utc(record.first_t_s, true));
  fact(facts, "track", record.track_id);
  const history = document.getElementById("detail-history");
  history.replaceChildren();
  const entries = eventEntries(record.history || []);
  for (const a of record.actions || []) {
    const what = a.action === "resolved" ? `resolved as ${a.disposition}` : a.action;
    // an operator's step shows data time when the API knew it, else its wall clock, said so
    const when = a.at_t_s != null ? utc(a.at_t_s) : `${utc(a.at_wall_s)} (wall clock)`;
    entries.push({t: a.at_t_s ?? Infinity, kind: `action ${a.action}`,
      text: `${when} ${what} by ${a.by}${a.text ? `: “${a.text}”` : ""}`});
  }
  entries.sort((a, b) => a.t - b.t);
  for (const e of entries) history.append(element("li", {class: e.kind}, e.text));
  updateActions(record);
}

function eventEntries(history) {
  // fusion's events, a run of updates that change neither class nor severity shown as one line
  const out = [];
  for (const {event: e} of history) {
    const last = out[out.length - 1];
    if (last && e.event === "update" && last.event === "update" && last.class === e.class
        && last.severity === e.severity) {
      last.count += 1; last.until = e.t_s;
    } else {
      out.push({event: e.event, class: e.class, severity: e.severity, t: e.t_s, until: e.t_s,
        count: 1, reason: e.reason});
    }
  }
  return out.map((e) => ({t: e.t, kind: "event", text: `${utc(e.t)} ${e.event}` +
    (e.count > 1 ? ` ×${e.count} to ${utc(e.until)}` : "") + `: ${e.class} ${e.severity}` +
    (e.reason ? ` (${e.reason})` : "")}));
}

function updateActions(record) {
  const operator = session.can("operator");
  const resolved = record.workflow === "resolved";
  document.getElementById("ack").disabled = !operator || record.acked || resolved;
  document.getElementById("resolve").disabled = !operator || resolved;
  document.getElementById("comment").disabled = !operator;
  const note = document.getElementById("role-note");
  note.hidden = operator;
  note.textContent = session.role ? `${session.name} is a ${session.role}: read only`
    : "log in as an operator to acknowledge, resolve or comment";
}

async function select(alertId) {
  selectedId = alertId;
  showError("action-error", "");
  const record = await getJson(`/alerts/${encodeURIComponent(alertId)}`);
  keep(record);
  renderQueue();
  renderDetail(record);
  drawRays(record);
  focusOn(record.position);
  drawTracks(lastTracks, record.track_id);
}

async function act(method, path, body) {
  showError("action-error", "");
  try {
    await call(method, `/alerts/${encodeURIComponent(selectedId)}${path}`, body);
    await select(selectedId);
    await refreshCounts();
  } catch (err) {
    showError("action-error", err.message);
  }
}

function alarm(a) {
  if (criticalSeen.has(a.alert_id)) return;
  criticalSeen.add(a.alert_id);
  document.body.dataset.alarms = String(Number(document.body.dataset.alarms || 0) + 1);
  document.body.dataset.lastAlarm = a.alert_id;
  const top = document.getElementById("top");
  top.classList.remove("flash");
  void top.offsetWidth;   // restart the animation
  top.classList.add("flash");
  if (localStorage.getItem("perimeter-muted") !== "1") beep();
}

function beep() {
  try {
    const audio = beep.context || (beep.context = new AudioContext());
    for (let i = 0; i < 3; i++) {
      const tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.2;
      tone.connect(gain).connect(audio.destination);
      tone.start(audio.currentTime + 0.3 * i);
      tone.stop(audio.currentTime + 0.3 * i + 0.15);
    }
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  } catch (err) { console.warn("no sound:", err); }
}

async function onAlertEvent(message) {
  const event = JSON.parse(message.data);
  let known = alerts.get(event.alert_id);
  if (!known && event.event !== "new") {
    // an alert this page has not loaded (resolved before it opened, say): ask the store
    known = keep(await getJson(`/alerts/${encodeURIComponent(event.alert_id)}`));
  }
  known = known || {first_t_s: event.t_s, acked: false, workflow: "new", status: "open"};
  const status = known.status === "resolved" ? "resolved"
    : event.event === "closed" ? "closed" : "open";
  showClock(event.t_s);
  const merged = {...known, ...event, status};
  delete merged.event; delete merged.t_s;
  alerts.set(event.alert_id, merged);
  if (event.severity === "critical" && status !== "resolved") alarm(merged);
  renderQueue();
  refreshCounts().catch(console.error);
  if (event.alert_id === selectedId) select(selectedId).catch(console.error);
}

async function onAction(message) {
  const action = JSON.parse(message.data);
  keep(await getJson(`/alerts/${encodeURIComponent(action.alert_id)}`));
  renderQueue();
  await refreshCounts();
  if (action.alert_id === selectedId) await select(selectedId);
}

function showWho() {
  document.getElementById("who").textContent = session.name
    ? `${session.name} (${session.role})` : "not logged in";
  document.getElementById("login-open").hidden = Boolean(session.name);
  document.getElementById("logout").hidden = !session.name;
  if (selectedId && alerts.get(selectedId)) updateActions(alerts.get(selectedId));
  thresholdsPanel.refresh().catch(console.error);
}

async function login(event) {
  event.preventDefault();
  const token = document.getElementById("token").value.trim();
  try {
    const me = await call("GET", "/whoami", undefined, token);
    session.save(token, me);
    document.getElementById("token").value = "";
    showError("login-error", "");
    document.getElementById("login").close();
    showWho();
  } catch (err) {
    showError("login-error", err.status === 401 ? "that token is not valid" : err.message);
  }
}

function wireControls() {
  const dialog = document.getElementById("login");
  document.getElementById("login-open").addEventListener("click", () => dialog.showModal());
  document.getElementById("login-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("login-form").addEventListener("submit", login);
  document.getElementById("logout").addEventListener("click", () => { session.clear(); showWho(); });
  const mute = document.getElementById("mute");
  const showMute = () => {
    const muted = localStorage.getItem("perimeter-muted") === "1";
    mute.textContent = muted ? "sound off" : "sound on";
    mute.setAttribute("aria-pressed", String(muted));
  };
  mute.addEventListener("click", () => {
    localStorage.setItem("perimeter-muted",
      localStorage.getItem("perimeter-muted") === "1" ? "0" : "1");
    showMute();
  });
  showMute();
  document.getElementById("ack").addEventListener("click", () => act("POST", "/ack"));
  document.getElementById("resolve-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const disposition = document.getElementById("disposition").value;
    if (!disposition) { showError("action-error", "choose a disposition"); return; }
    const comment = document.getElementById("resolve-comment").value.trim();
    act("POST", "/resolve", comment ? {disposition, comment} : {disposition});
  });
  document.getElementById("comment-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = document.getElementById("comment-text").value.trim();
    if (text) act("POST", "/comments", {text}).then(() => {
      document.getElementById("comment-text").value = "";
    });
  });
  document.getElementById("thresholds-form").addEventListener("submit",
    (event) => thresholdsPanel.apply(event));
  siteMap.onTrack = (trackId) => {
    const mine = [...alerts.values()].filter((a) => a.track_id === trackId)
      .sort((a, b) => (a.status === "resolved") - (b.status === "resolved")
        || b.first_t_s - a.first_t_s);
    if (mine.length) select(mine[0].alert_id).catch(console.error);
  };
}

function poll(fn, ms) {
  const run = () => fn().catch(console.error);
  run();
  setInterval(run, ms);
}

async function start() {
  wireControls();
  const site = await getJson("/site");
  document.getElementById("site-name").textContent = site.name;
  drawSite(site);
  const queue = await getJson("/alerts/queue?limit=200");
  for (const a of queue.items) {
    keep(a);
    showClock(a.last_t_s);
    if (a.severity === "critical") criticalSeen.add(a.alert_id);   // not news: no alarm
  }
  renderQueue();
  showWho();
  await refreshCounts();
  const feed = document.getElementById("feed-state");
  // the feeds from where the queue was read: nothing missed, nothing older replayed
  const source = new EventSource(`${API}/alerts/stream?after=${queue.last_seq}`);
  source.onopen = () => { feed.textContent = "live"; feed.className = "feed live"; };
  source.onerror = () => { feed.textContent = "reconnecting…"; feed.className = "feed down"; };
  let inOrder = Promise.resolve();   // one event at a time, in the feed's order
  source.onmessage = (m) => {
    inOrder = inOrder.then(() => onAlertEvent(m)).catch(console.error);
  };
  const actions = new EventSource(`${API}/alerts/actions/stream?after=${queue.last_action_id}`);
  actions.addEventListener("action", (m) => onAction(m).catch(console.error));
  poll(async () => {
    const towers = (await getJson("/towers")).items;
    drawTowers(towers);
    renderTowers(towers);
    if (selectedId) drawRays(alerts.get(selectedId));
  }, 2000);
  poll(async () => {
    lastTracks = await getJson("/tracks");
    drawTracks(lastTracks, trackOf(selectedId));
    showClock(lastTracks.t_s, true);
  }, 1000);
}

start().catch((err) => { document.getElementById("feed-state").textContent = String(err); });
