// Side panels: tower health, and the thresholds (edit, see the API's error, history, roll back).
"use strict";

const SILENT_AFTER_S = 5;

function feedCell(feed, newest_t_s) {
  if (!feed) return element("td", {class: "muted"}, "–");
  const behind_s = newest_t_s - (feed.last_report_t_s ?? newest_t_s);
  if (behind_s > SILENT_AFTER_S) {   // its rate is of reports long gone: say it is silent
    return element("td", {class: "state offline", title: `last report ${utc(feed.last_report_t_s, true)}`},
      `silent ${Math.round(behind_s)} s`);
  }
  const rate = feed.rate_hz === null ? "–" : `${feed.rate_hz.toFixed(1)} Hz`;
  const loss = feed.loss_ratio > 0 ? ` · ${(100 * feed.loss_ratio).toFixed(1)}% lost` : "";
  return element("td", {title: `last report ${utc(feed.last_report_t_s, true)}`}, rate + loss);
}

function renderTowers(towers) {
  const body = document.querySelector("#towers tbody");
  body.replaceChildren();
  const newest_t_s = Math.max(...towers.flatMap((t) => Object.values(t.feeds || {}))
    .map((f) => f.last_report_t_s ?? -Infinity));
  for (const t of towers) {
    const broken = Object.entries(t.sensors || {}).filter(([, s]) => s && s.state !== "ok")
      .map(([name, s]) => `${name} ${s.state}${s.detail ? ": " + s.detail : ""}`);
    const state = element("td", {class: `state ${t.state}`}, t.state,
      broken.length ? element("small", {}, ` (${broken.join("; ")})`) : null);
    body.append(element("tr", {"data-tower-row": t.tower_id}, element("td", {}, t.tower_id),
      state, feedCell(t.feeds.thermal, newest_t_s), feedCell(t.feeds.acoustic, newest_t_s)));
  }
}

const thresholdsPanel = {
  values: {},
  async refresh() {
    this.values = await getJson("/config/thresholds");
    const box = document.getElementById("thresholds");
    box.replaceChildren();
    for (const [name, value] of Object.entries(this.values)) {
      const text = Array.isArray(value) ? value.join(",") : String(value);
      box.append(element("label", {class: "threshold"}, element("span", {}, name),
        element("input", {name, value: text, "data-threshold": name, disabled: !session.can("admin")})));
    }
    document.getElementById("thresholds-apply").disabled = !session.can("admin");
    const history = (await getJson("/config/thresholds/history?limit=20")).items;
    const list = document.getElementById("thresholds-history");
    list.replaceChildren();
    for (const change of history) {
      const what = Object.entries(change.changes).map(([k, v]) => `${k}=${v}`).join(", ");
      const back = element("button", {type: "button", textContent: "roll back to this",
        disabled: !session.can("admin")});
      back.addEventListener("click", () => this.rollback(change.id));
      list.append(element("li", {"data-change": change.id},
        `#${change.id} ${utc(change.at_wall_s, true)} by ${change.by}: ${what} `, back));
    }
  },
  changes() {
    const out = {};
    for (const input of document.querySelectorAll("#thresholds input")) {
      const old = this.values[input.name];
      if (Array.isArray(old)) {
        const list = input.value.split(",").map((s) => s.trim()).filter(Boolean);
        if (list.join(",") !== old.join(",")) out[input.name] = list;
      } else if (input.value.trim() !== String(old)) {
        const number = Number(input.value);
        out[input.name] = input.value.trim() === "" || Number.isNaN(number) ? input.value : number;
      }
    }
    return out;
  },
  async apply(event) {
    event.preventDefault();
    showError("thresholds-error", "");
    document.querySelectorAll("#thresholds input.bad").forEach((i) => i.classList.remove("bad"));
    const changes = this.changes();
    if (!Object.keys(changes).length) { showError("thresholds-error", "nothing changed"); return; }
    try {
      await call("PATCH", "/config/thresholds", changes);
      await this.refresh();
    } catch (err) {
      showError("thresholds-error", err.message);
      document.querySelector(`#thresholds input[name="${err.field}"]`)?.classList.add("bad");
    }
  },
  async rollback(id) {
    showError("thresholds-error", "");
    try {
      await call("POST", "/config/thresholds/rollback", {to_change_id: id});
      await this.refresh();
    } catch (err) { showError("thresholds-error", err.message); }
  },
};
