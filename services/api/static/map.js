// The live map: site to scale (SVG, y north up), towers by health, tracks with trails,
// alert origins with their 1-sigma ellipses, and the alert list fed by the SSE stream.
"use strict";
const API = "/api/v1";
const SVG_NS = "http://www.w3.org/2000/svg";
const TRAIL_POINTS = 120;
const alerts = new Map();   // alert_id -> latest alert object
const trails = new Map();   // track_id -> [[x, y], ...]

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}
const pt = ([x, y]) => `${x},${-y}`;   // site frame (north up) to SVG (y down)
const layer = (id) => document.getElementById(id);

async function getJson(path) {
  const answer = await fetch(API + path);
  if (!answer.ok) throw new Error(`${path}: ${answer.status}`);
  return answer.json();
}

function drawSite(site) {
  document.getElementById("site-name").textContent = site.name;
  const xs = [], ys = [];
  const add = (points) => points.forEach(([x, y]) => { xs.push(x); ys.push(y); });
  add(site.perimeter); site.towers.forEach((t) => add([[t.x_m, t.y_m]]));
  if (site.river) add(site.river);
  site.terrain.forEach((z) => add(z.polygon)); site.watch_zones.forEach((z) => add(z.polygon));
  const pad = 300, minX = Math.min(...xs) - pad, maxX = Math.max(...xs) + pad;
  const minY = Math.min(...ys) - pad, maxY = Math.max(...ys) + pad;
  layer("map").setAttribute("viewBox", `${minX} ${-maxY} ${maxX - minX} ${maxY - minY}`);
  site.terrain.forEach((z) => el("polygon", {points: z.polygon.map(pt).join(" "),
    class: `zone-${z.kind}`}, layer("layer-zones")));
  site.watch_zones.forEach((z) => el("polygon", {points: z.polygon.map(pt).join(" "),
    class: "watch"}, layer("layer-zones")));
  if (site.river) el("polyline", {points: site.river.map(pt).join(" "), class: "river"},
    layer("layer-lines"));
  el("polyline", {points: site.perimeter.map(pt).join(" "), class: "perimeter"},
    layer("layer-lines"));
  document.getElementById("scale").textContent =
    `${((maxX - minX) / 1000).toFixed(1)} km × ${((maxY - minY) / 1000).toFixed(1)} km`;
}

async function refreshTowers() {
  const towers = (await getJson("/towers")).items;
  const group = layer("layer-towers");
  group.replaceChildren();
  for (const t of towers) {
    const dot = el("circle", {cx: t.position.x_m, cy: -t.position.y_m, r: 90,
      class: `tower ${t.state}`, "data-tower": t.tower_id}, group);
    el("title", {}, dot).textContent = `${t.tower_id}: ${t.state}`;
    const label = el("text", {x: t.position.x_m - 420, y: -t.position.y_m + 50, class: "label"},
      group);
    label.textContent = t.tower_id;
  }
}

async function refreshTracks() {
  const snapshot = await getJson("/tracks");
  const dots = layer("layer-tracks"), lines = layer("layer-trails");
  dots.replaceChildren(); lines.replaceChildren();
  const live = new Set();
  for (const t of snapshot.tracks) {
    live.add(t.track_id);
    const trail = trails.get(t.track_id) || [];
    trail.push([t.position.x_m, t.position.y_m]);
    trails.set(t.track_id, trail.slice(-TRAIL_POINTS));
    el("circle", {cx: t.position.x_m, cy: -t.position.y_m, r: 70,
      class: `track ${t.status}`}, dots);
  }
  for (const [id, trail] of trails) {
    if (!live.has(id)) { trails.delete(id); continue; }
    el("polyline", {points: trail.map(pt).join(" "), class: "trail"}, lines);
  }
}

function drawOrigins() {
  const group = layer("layer-origins");
  group.replaceChildren();
  for (const a of alerts.values()) {
    if (!a.origin || a.status === "closed") continue;
    const o = a.origin;   // orientation_deg: major axis, clockwise from north
    const ellipse = el("ellipse", {cx: o.x_m, cy: -o.y_m, rx: Math.max(o.sigma_major_m, 60),
      ry: Math.max(o.sigma_minor_m, 60), class: "origin",
      transform: `rotate(${o.orientation_deg - 90} ${o.x_m} ${-o.y_m})`}, group);
    el("title", {}, ellipse).textContent = `${a.alert_id} origin`;
  }
}

function renderAlerts() {
  const list = document.getElementById("alerts");
  list.replaceChildren();
  const newest = [...alerts.values()].sort((a, b) => b.first_t_s - a.first_t_s).slice(0, 100);
  for (const a of newest) {
    const item = document.createElement("li");
    item.className = `sev-${a.severity} ${a.status}`;
    item.dataset.alert = a.alert_id;
    const title = document.createElement("div");
    title.textContent = `${a.alert_id} · ${a.class} · ${a.severity} · ${a.status}`;
    const meta = document.createElement("div");
    meta.className = "meta";
    const when = new Date(a.first_t_s * 1000).toISOString().replace("T", " ").slice(0, 19);
    const dist = a.distance_to_perimeter_m == null ? "" :
      ` · ${Math.round(a.distance_to_perimeter_m)} m to perimeter`;
    meta.textContent = `${when} UTC · confidence ${(a.confidence * 100).toFixed(0)}%${dist}`;
    item.append(title, meta);
    if (a.acked) {
      const acked = document.createElement("div");
      acked.className = "meta acked";
      acked.textContent = `acknowledged by ${a.acked_by}`;
      item.appendChild(acked);
    } else {
      const button = document.createElement("button");
      button.textContent = "Acknowledge";
      button.addEventListener("click", () => acknowledge(a.alert_id));
      item.appendChild(button);
    }
    list.appendChild(item);
  }
  drawOrigins();
}

function token() {
  let value = sessionStorage.getItem("perimeter-token");
  if (!value) {
    value = window.prompt("API token (PERIMETER_API_TOKEN) to acknowledge alerts:") || "";
    if (value) sessionStorage.setItem("perimeter-token", value);
  }
  return value;
}

async function acknowledge(alertId) {
  const bearer = token();
  if (!bearer) return;
  const answer = await fetch(`${API}/alerts/${encodeURIComponent(alertId)}/ack`, {
    method: "POST", headers: {"Authorization": `Bearer ${bearer}`,
      "Content-Type": "application/json"}, body: JSON.stringify({by: "map operator"})});
  if (answer.status === 401) { sessionStorage.removeItem("perimeter-token"); }
  if (!answer.ok) { window.alert((await answer.json()).error.message); return; }
  const record = await answer.json();
  delete record.history;
  alerts.set(alertId, record);
  renderAlerts();
}

function onAlertEvent(message) {
  const event = JSON.parse(message.data);
  const known = alerts.get(event.alert_id) || {first_t_s: event.t_s, acked: false};
  alerts.set(event.alert_id, {...known, ...event,
    status: event.event === "closed" ? "closed" : "open"});
  renderAlerts();
}

async function start() {
  drawSite(await getJson("/site"));
  let after = 0;
  for (const a of (await getJson("/alerts?limit=100")).items) {
    alerts.set(a.alert_id, a);
    after = Math.max(after, a.last_seq);
  }
  renderAlerts();
  const feed = document.getElementById("feed-state");
  const source = new EventSource(`${API}/alerts/stream?after=${after}`);
  source.onopen = () => { feed.textContent = "live"; feed.className = "feed live"; };
  source.onerror = () => { feed.textContent = "reconnecting…"; feed.className = "feed down"; };
  source.onmessage = onAlertEvent;
  const poll = (fn, ms) => { fn().catch(console.error); setInterval(() => fn().catch(console.error), ms); };
  poll(refreshTowers, 2000);
  poll(refreshTracks, 1000);
}

start().catch((err) => { document.getElementById("feed-state").textContent = String(err); });
