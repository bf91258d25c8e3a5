// The API and the operator's session: JSON calls with the session's token, errors as the API
// words them, and the small formatting helpers every panel uses.
"use strict";
const API = "/api/v1";
const SEVERITY_RANK = {critical: 0, high: 1, medium: 2, low: 3};

const session = {
  get token() { return sessionStorage.getItem("perimeter-token"); },
  get name() { return sessionStorage.getItem("perimeter-name"); },
  get role() { return sessionStorage.getItem("perimeter-role"); },
  save(token, me) {
    sessionStorage.setItem("perimeter-token", token);
    sessionStorage.setItem("perimeter-name", me.name);
    sessionStorage.setItem("perimeter-role", me.role);
  },
  clear() {
    for (const key of ["perimeter-token", "perimeter-name", "perimeter-role"]) {
      sessionStorage.removeItem(key);
    }
  },
  can(role) {
    const rank = {viewer: 0, operator: 1, admin: 2};
    return this.role !== null && rank[this.role] >= rank[role];
  },
};

class ApiError extends Error {
  constructor(status, message, field) { super(message); this.status = status; this.field = field; }
}

async function call(method, path, body, token) {
  const headers = {};
  const bearer = token || session.token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(API + path, {method, headers,
    body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const error = data.error || {};
    throw new ApiError(answer.status, error.message || `${path}: ${answer.status}`, error.field);
  }
  return data;
}
const getJson = (path) => call("GET", path);

function utc(t_s, withDate) {
  if (t_s === null || t_s === undefined) return "–";
  const text = new Date(t_s * 1000).toISOString().replace("T", " ").slice(0, 19);
  return withDate ? `${text} UTC` : text.slice(11);
}

function element(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function showError(id, message) {
  const box = document.getElementById(id);
  box.textContent = message || "";
  box.hidden = !message;
}

// One text per alert class for icons and labels (no emoji: fonts differ between machines).
const CLASS_MARK = {person: "P", group: "G", vehicle: "V", animal: "A", unknown: "?",
  tower_fault: "!"};
