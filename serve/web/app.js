// rcbs web page: sign-in and search. No inline script (CSP), no
// innerHTML with data: every value goes in as text.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const pageSize = 20;

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) e.append(c);
  return e;
}

function gmt(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "";
}

function duration(ms) {
  const s = Math.round(ms / 1000);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function nextDay(date) {
  const d = new Date(date + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().replace(".000Z", "Z");
}

async function signIn(ev) {
  ev.preventDefault();
  const form = ev.target;
  const msg = document.getElementById("signin-error");
  msg.textContent = "";
  const resp = await fetch("/signin", {
    method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
  });
  if (resp.ok) {
    location.assign("/");
    return;
  }
  msg.textContent = resp.status === 429
    ? "Too many failed attempts from this address. Try again in ten minutes."
    : "Wrong name or password.";
  form.elements.password.value = "";
  form.elements.password.focus();
}

const state = { cursors: [""], page: 0, next: "" };

function query() {
  const f = document.getElementById("search").elements;
  const q = { limit: pageSize };
  for (const k of ["agent", "ani", "dnis", "direction", "id"]) {
    if (f[k].value.trim()) q[k] = f[k].value.trim();
  }
  if (f.from.value) q.from = f.from.value + "T00:00:00Z";
  if (f.to.value) q.to = nextDay(f.to.value);
  return q;
}

async function search(page) {
  const status = document.getElementById("status");
  const q = query();
  if (state.cursors[page]) q.cursor = state.cursors[page];
  status.textContent = "Searching…";
  let resp;
  try {
    resp = await fetch("/search/", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(q),
    });
  } catch (e) {
    status.textContent = "The service did not answer.";
    return;
  }
  if (resp.status === 401) {
    location.assign("/");
    return;
  }
  const body = await resp.json();
  if (!resp.ok) {
    status.textContent = "Search failed: " + (body.error || resp.status);
    return;
  }
  state.page = page;
  state.next = body.next || "";
  if (state.next) state.cursors[page + 1] = state.next;
  render(body.results);
  const first = page * pageSize + 1;
  const n = body.results.length;
  if (n === 0) status.textContent = "No recordings match.";
  else if (n === 1 && page === 0 && !state.next) status.textContent = "1 recording.";
  else status.textContent = `Recordings ${first}–${first + n - 1}` + (state.next ? ", more on the next page." : ".");
  document.getElementById("prev").disabled = page === 0;
  document.getElementById("next").disabled = !state.next;
}

function cell(label, text) {
  const td = el("td", { textContent: text });
  td.dataset.label = label;
  return td;
}

function mediaItem(r, m, i) {
  const video = (m.type || "").startsWith("video/");
  const player = el(video ? "video" : "audio", { controls: true, preload: "metadata", src: m.url });
  player.setAttribute("aria-label", `Play media ${i + 1} of the call at ${gmt(r.startTime)}`);
  const dl = el("a", { href: m.url, textContent: `Download media ${i + 1}` });
  dl.setAttribute("download", m.mediaId);
  dl.setAttribute("aria-label", `Download media ${i + 1} of the call at ${gmt(r.startTime)}`);
  return el("div", { className: "media-item" }, player, dl);
}

function render(results) {
  const table = document.getElementById("results");
  const tbody = table.tBodies[0];
  tbody.replaceChildren();
  for (const r of results) {
    const media = el("td", { className: "media" }, ...r.media.map((m, i) => mediaItem(r, m, i)));
    const zip = el("a", { href: r.zip, textContent: "Zip with call info" });
    zip.setAttribute("download", r.id + ".zip");
    zip.setAttribute("aria-label", `Zip with the call information of the call at ${gmt(r.startTime)}`);
    const start = cell("Start", gmt(r.startTime));
    start.append(el("small", { className: "rec-id", textContent: r.id }));
    const tr = el("tr", {},
      start, cell("Duration", duration(r.durationMs)), cell("Direction", r.direction),
      cell("ANI", r.ani), cell("DNIS", r.dnis), cell("Agents", r.agents.join(", ")),
      media, el("td", { className: "dl" }, zip));
    tr.dataset.id = r.id;
    tbody.append(tr);
  }
  table.hidden = results.length === 0;
}

document.addEventListener("DOMContentLoaded", () => {
  const signin = document.getElementById("signin");
  if (signin) signin.addEventListener("submit", signIn);
  const form = document.getElementById("search");
  if (!form) return;
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.cursors = [""];
    search(0);
  });
  document.getElementById("prev").addEventListener("click", () => search(state.page - 1));
  document.getElementById("next").addEventListener("click", () => search(state.page + 1));
  search(0);
});
