// The map: the site to scale on Leaflet with a local frame (L.CRS.Simple, 1 unit = 1 m, north
// up: a point is [y_m, x_m]); towers by health, tracks with class icons and trails, alert
// origins as 1-sigma ellipses (observed, or where the target entered view), and the selected
// alert's bearing rays from its towers. Zoom and pan are Leaflet's.
"use strict";
const TRAIL_POINTS = 180;
const siteMap = {
  map: null, towers: new Map(), layers: {}, trails: new Map(), trackMarkers: new Map(),
  onTrack: null,   // called with a track id when a track is clicked
};
const ll = (x, y) => [y, x];

function classIcon(cls, selected) {
  const mark = CLASS_MARK[cls] || "?";
  return L.divIcon({className: "", iconSize: [22, 22], iconAnchor: [11, 11],
    html: `<span class="track-icon cls-${cls}${selected ? " selected" : ""}">${mark}</span>`});
}

function drawSite(site) {
  const map = L.map("map", {crs: L.CRS.Simple, minZoom: -6, maxZoom: 2, zoomSnap: 0.25,
    attributionControl: false});
  siteMap.map = map;
  const points = [...site.perimeter, ...site.towers.map((t) => [t.x_m, t.y_m])];
  for (const zone of [...site.terrain, ...site.watch_zones]) points.push(...zone.polygon);
  if (site.river) points.push(...site.river);
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const bounds = L.latLngBounds(ll(Math.min(...xs) - 300, Math.min(...ys) - 300),
    ll(Math.max(...xs) + 300, Math.max(...ys) + 300));
  for (const name of ["zones", "lines", "origins", "rays", "trails", "tracks", "towers"]) {
    siteMap.layers[name] = L.layerGroup().addTo(map);
  }
  for (const zone of site.terrain) {
    L.polygon(zone.polygon.map(([x, y]) => ll(x, y)), {className: `zone-${zone.kind}`,
      stroke: false, fillOpacity: 1}).bindTooltip(`${zone.name || zone.kind}`)
      .addTo(siteMap.layers.zones);
  }
  for (const zone of site.watch_zones) {
    L.polygon(zone.polygon.map(([x, y]) => ll(x, y)), {className: "watch", fill: false,
      dashArray: "8 6", weight: 2}).bindTooltip(`watch zone ${zone.name}`)
      .addTo(siteMap.layers.zones);
  }
  if (site.river) {
    L.polyline(site.river.map(([x, y]) => ll(x, y)), {className: "river", weight: 5})
      .addTo(siteMap.layers.lines);
  }
  L.polyline(site.perimeter.map(([x, y]) => ll(x, y)), {className: "perimeter", weight: 4})
    .bindTooltip("perimeter").addTo(siteMap.layers.lines);
  map.fitBounds(bounds);
  L.control.scale({metric: true, imperial: false, maxWidth: 160}).addTo(map);
  addLegend(map);
}

function addLegend(map) {
  const legend = L.control({position: "bottomleft"});
  legend.onAdd = () => {
    const box = element("div", {id: "legend", class: "legend"});
    const row = (swatch, label) => element("div", {class: "legend-row"}, swatch, label);
    const sw = (cls, text) => element("span", {class: `swatch ${cls}`}, text || "");
    box.append(element("strong", {}, "Legend"),
      row(sw("sw-perimeter"), "perimeter"), row(sw("sw-river"), "river"),
      row(sw("sw-watch"), "watch zone"), row(sw("sw-forest"), "forest"),
      row(sw("sw-built"), "built-up"), row(sw("sw-water"), "water"),
      row(sw("tower-dot online"), "tower online"), row(sw("tower-dot degraded"), "degraded"),
      row(sw("tower-dot offline"), "offline"), row(sw("tower-dot unknown"), "no status yet"));
    for (const cls of ["person", "group", "vehicle", "animal", "unknown"]) {
      box.append(row(element("span", {class: `track-icon cls-${cls}`}, CLASS_MARK[cls]),
        `track: ${cls}`));
    }
    box.append(row(sw("sw-trail"), "trail"), row(sw("sw-origin-observed"), "origin, observed (1σ)"),
      row(sw("sw-origin-entered"), "origin: entered view"), row(sw("sw-ray"), "bearing ray"));
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  legend.addTo(map);
}

const towerMarkers = new Map();

function drawTowers(towers) {
  // markers made once and restyled after (re-made every poll, they would flicker)
  for (const t of towers) {
    siteMap.towers.set(t.tower_id, t);
    let marker = towerMarkers.get(t.tower_id);
    if (!marker) {
      marker = L.circleMarker(ll(t.position.x_m, t.position.y_m), {radius: 7, weight: 2,
        className: `tower ${t.state}`});
      marker.bindTooltip("", {permanent: true, direction: "right", className: "tower-label",
        offset: [8, 0]});
      marker.addTo(siteMap.layers.towers);
      marker.getElement()?.setAttribute("data-tower", t.tower_id);
      towerMarkers.set(t.tower_id, marker);
    }
    marker.getElement()?.setAttribute("class", `leaflet-interactive tower ${t.state}`);
    marker.setTooltipContent(`${t.tower_id}: ${t.state}`);
  }
}

function drawTracks(snapshot, selectedTrack) {
  const live = new Set();
  const markers = siteMap.layers.tracks, lines = siteMap.layers.trails;
  markers.clearLayers(); lines.clearLayers(); siteMap.trackMarkers.clear();
  for (const t of snapshot.tracks) {
    live.add(t.track_id);
    const trail = siteMap.trails.get(t.track_id) || [];
    const last = trail[trail.length - 1];
    if (!last || last[0] !== t.position.y_m || last[1] !== t.position.x_m) {
      trail.push(ll(t.position.x_m, t.position.y_m));
    }
    siteMap.trails.set(t.track_id, trail.slice(-TRAIL_POINTS));
    const marker = L.marker(ll(t.position.x_m, t.position.y_m), {
      icon: classIcon(t.class, t.track_id === selectedTrack), zIndexOffset: 1000,
      title: `${t.track_id} · ${t.class} (${Math.round(100 * t.class_confidence)}%) · ${t.status}`});
    marker.on("click", () => siteMap.onTrack && siteMap.onTrack(t.track_id));
    marker.addTo(markers);
    marker.getElement()?.setAttribute("data-track", t.track_id);
    siteMap.trackMarkers.set(t.track_id, marker);
  }
  for (const [id, trail] of siteMap.trails) {
    if (!live.has(id)) { siteMap.trails.delete(id); continue; }
    const cls = snapshot.tracks.find((t) => t.track_id === id)?.class || "unknown";
    const line = L.polyline(trail, {className: `trail cls-${cls}`, weight: 3, interactive: false});
    line.addTo(lines);
    line.getElement()?.setAttribute("data-trail", id);
  }
}

function ellipse(o, steps = 48) {
  // orientation_deg: the major axis, clockwise from north
  const phi = (o.orientation_deg * Math.PI) / 180;
  const a = Math.max(o.sigma_major_m, 40), b = Math.max(o.sigma_minor_m, 40);
  const major = [Math.sin(phi), Math.cos(phi)], minor = [Math.cos(phi), -Math.sin(phi)];
  const ring = [];
  for (let i = 0; i < steps; i++) {
    const t = (2 * Math.PI * i) / steps;
    ring.push(ll(o.x_m + a * Math.cos(t) * major[0] + b * Math.sin(t) * minor[0],
      o.y_m + a * Math.cos(t) * major[1] + b * Math.sin(t) * minor[1]));
  }
  return ring;
}

function originKind(origin) {
  if (origin.observed === true) return "observed";
  if (origin.observed === false) return "entered";
  return "unknown";
}

function drawOrigins(alertList, selectedId) {
  const group = siteMap.layers.origins;
  group.clearLayers();
  for (const a of alertList) {
    if (!a.origin) continue;
    const kind = originKind(a.origin);
    const shape = L.polygon(ellipse(a.origin), {weight: a.alert_id === selectedId ? 3 : 1.5,
      className: `origin origin-${kind}${a.alert_id === selectedId ? " selected" : ""}`,
      dashArray: kind === "entered" ? "6 5" : null});
    const said = {observed: "origin (observed)", entered: "entered view here",
      unknown: "origin"}[kind];
    shape.bindTooltip(`${a.alert_id}: ${said}`);
    shape.addTo(group);
    shape.getElement()?.setAttribute("data-origin", a.alert_id);
  }
}

function drawRays(alert) {
  // The rays of the towers behind the alert, from each tower through the fused position (the
  // alert names its towers, not their measured bearings).
  const group = siteMap.layers.rays;
  group.clearLayers();
  if (!alert || !alert.position) return;
  for (const id of alert.towers || []) {
    const tower = siteMap.towers.get(id);
    if (!tower) continue;
    const x0 = tower.position.x_m, y0 = tower.position.y_m;
    const dx = alert.position.x_m - x0, dy = alert.position.y_m - y0;
    const scale = 1.25;   // a little past the target, as a bearing line would run
    const ray = L.polyline([ll(x0, y0), ll(x0 + scale * dx, y0 + scale * dy)],
      {className: "ray", weight: 2, dashArray: "10 6", interactive: false});
    ray.addTo(group);
    ray.getElement()?.setAttribute("data-ray", id);
  }
}

function focusOn(position) {
  if (position && siteMap.map) siteMap.map.panTo(ll(position.x_m, position.y_m));
}
