/*
 * mailmon's dashboard: one page that answers "is mail flowing, where is it
 * stuck, why, and since when" from mailmond's own API. It adds no numbers
 * of its own: verdict and status (/api/status), alarms (/api/alarms), flow
 * and queue history (/api/v1/history over the registry's families), the
 * deferred queue (/api/queue), services (/api/services), end-to-end probes,
 * disk and CPU (/api/metrics), the cluster (/api/v1/cluster), the queue's
 * baseline band (history of mailmon_baseline_low/high, /api/v1/baseline).
 *
 * A panel whose endpoint is missing says so instead of failing the page.
 * With a bearer token, open the page as .../#token=SECRET: the token is
 * kept for this tab (sessionStorage) and sent with every request. With
 * basic auth the browser asks once and sends it itself.
 */
"use strict";

const REFRESH_MS = 10000;
const params = new URLSearchParams(location.search);
/* ?range=SECONDS&step=SECONDS pick another span and resolution (e.g. the
 * last 10 minutes at 10 s, history's finest). */
const state = { range: Number(params.get("range")) || 3600, stepOverride: Number(params.get("step")) || 0,
  lastOk: 0, failingSince: 0, charts: {}, firstData: 0 };

function token() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("mailmon-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("mailmon-token");
}

async function api(path) {
  const headers = {};
  const t = token();
  if (t) headers["Authorization"] = "Bearer " + t;
  /* location.origin, not a relative URL: a page opened as
   * http://user:password@host/ has a base URL with credentials, which
   * fetch() refuses; the browser still sends the basic auth it holds. */
  const r = await fetch(location.origin + path, { headers, cache: "no-store" });
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

/* ---- small helpers ---- */

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function note(id, text) {
  document.getElementById(id).textContent = text || "";
}

function localTime(unixS) {
  if (!unixS) return "-";
  const d = new Date(unixS * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  if (seconds < 90) return Math.round(seconds) + " s";
  if (seconds < 5400) return Math.round(seconds / 60) + " min";
  if (seconds < 172800) return (seconds / 3600).toFixed(1) + " h";
  return (seconds / 86400).toFixed(1) + " d";
}

function num(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return "-";
  return Number(v).toLocaleString(undefined, { maximumFractionDigits: digits || 0 });
}

function dominant(reasons) {
  let best = null, n = 0;
  for (const [k, v] of Object.entries(reasons || {}))
    if (v > n) { best = k; n = v; }
  return best || "none";
}

/* ---- verdict and alarms ---- */

function showVerdict(status) {
  const box = document.getElementById("verdict");
  const reasons = document.getElementById("verdict-reasons");
  document.getElementById("node").textContent = status.node || status.hostname || "";
  const v = status.verdict;
  if (!v) {
    box.className = "verdict state-unknown";
    box.textContent = "no verdict: this mailmond does not compute one";
    reasons.replaceChildren();
    return;
  }
  box.className = "verdict state-" + v.state;
  box.textContent = v.state + (v.since ? " since " + localTime(v.since) : "");
  reasons.replaceChildren(...(v.reasons || []).map((r) => el("li", {}, r)));
}

function showAlarms(doc) {
  const tbody = document.querySelector("#alarms tbody");
  if (!doc) {
    fill(tbody, []);
    note("alarms-note", "no alarm engine in this mailmond");
    return;
  }
  const firing = (doc.alarms || []).filter((a) => a.state === "firing");
  fill(tbody, firing.map((a) => el("tr", { class: "sev-" + (a.severity || "warning") },
    el("td", {}, a.description || a.alarm),
    el("td", {}, a.instance || ""),
    el("td", {}, localTime(a.since)),
    el("td", {}, num(a.value, 2)),
    el("td", {}, (a.direction === "below" ? "< " : "> ") + num(a.threshold, 2)),
    el("td", {}, a.cause || ""),
    el("td", { class: "cmd" }, a.next_command || a.next || ""))));
  const silenced = (doc.alarms || []).filter((a) => a.state === "silenced").length;
  note("alarms-note", firing.length ? (silenced ? silenced + " silenced" : "")
    : "no alarm is firing" + (silenced ? " (" + silenced + " silenced)" : ""));
}

/* ---- flow and queue charts, from history ---- */

const FLOW = ["received", "delivered", "deferred", "bounced", "rejected"];
const COLORS = { received: "#2b6cb0", delivered: "#2f855a", deferred: "#d69e2e",
  bounced: "#c53030", rejected: "#805ad5", incoming: "#4299e1", active: "#38a169",
  deferred_q: "#dd6b20", hold: "#718096", maildrop: "#a0aec0", band: "#718096" };

function step() {
  if (state.stepOverride) return state.stepOverride;
  return state.range <= 3600 ? 60 : state.range <= 86400 ? 600 : 3600;
}

async function history(selector) {
  const q = "metric=" + encodeURIComponent(selector) + "&from=now-" + state.range +
    "s&to=now&step=" + step();
  return api("/api/v1/history?" + q);
}

/* Sums a field over every series, per bucket time. */
function sumByTime(doc, field, scale) {
  const out = new Map();
  for (const s of (doc && doc.series) || [])
    for (const p of s.points || []) {
      const v = p[field];
      if (v === null || v === undefined) continue;
      out.set(p.t, (out.get(p.t) || 0) + v * scale);
    }
  return out;
}

function drawChart(id, labels, datasets, yTitle) {
  const canvas = document.getElementById(id);
  const points = datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0);
  canvas.setAttribute("data-points", String(points));
  if (typeof Chart === "undefined") return; /* the page still shows the numbers */
  const data = { labels: labels.map((t) => new Date(t * 1000).toLocaleTimeString([],
    state.range > 86400 ? { month: "short", day: "numeric", hour: "2-digit" }
      : { hour: "2-digit", minute: "2-digit" })), datasets };
  const old = state.charts[id];
  if (old) {
    old.data = data;
    old.update("none");
    return;
  }
  state.charts[id] = new Chart(canvas, {
    type: "line", data,
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, title: { display: true, text: yTitle } } },
      plugins: { legend: { position: "bottom" } } } });
}

async function showFlow() {
  const docs = await Promise.all(FLOW.map((f) => history("mailmon_messages_" + f + "_total")));
  if (docs.every((d) => d === null)) {
    note("flow-note", "no history in this mailmond ([history] enable)");
    return;
  }
  const series = docs.map((d) => sumByTime(d, "rate", 60));
  const times = [...new Set(series.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const dots = times.length < 20 ? 3 : 0; /* a short history shows its points */
  drawChart("flow-chart", times, FLOW.map((f, i) => ({ label: f + "/min", borderColor: COLORS[f],
    backgroundColor: COLORS[f], pointRadius: dots, data: times.map((t) => series[i].get(t) ?? null) })),
    "messages per minute");
  const q = await history("mailmon_queue_messages");
  const queues = ["incoming", "active", "deferred", "hold", "maildrop"];
  const qt = new Set();
  const per = {};
  for (const s of (q && q.series) || []) {
    per[s.labels.queue] = new Map((s.points || []).map((p) => [p.t, p.avg]));
    for (const p of s.points || []) qt.add(p.t);
  }
  /* the baseline band: the expected range of incoming+active+deferred
   * as it was at each time (mailmon_baseline_low/high, sampled into the
   * history like every family) */
  const [blo, bhi, bl] = await Promise.all([history('mailmon_baseline_low{metric="queue"}'),
    history('mailmon_baseline_high{metric="queue"}'), api("/api/v1/baseline")]);
  const lo = sumByTime(blo, "avg", 1), hi = sumByTime(bhi, "avg", 1);
  for (const t of lo.keys()) qt.add(t);
  const qtimes = [...qt].sort((a, b) => a - b);
  const sets = queues.filter((n) => per[n]).map((n) => ({
    label: n, borderColor: COLORS[n === "deferred" ? "deferred_q" : n],
    backgroundColor: COLORS[n === "deferred" ? "deferred_q" : n], pointRadius: 0,
    data: qtimes.map((t) => per[n].get(t) ?? null) }));
  const band = qtimes.filter((t) => lo.has(t) && hi.has(t)).length;
  if (band) {
    const dots = band < 20 ? 2 : 0;
    sets.push({ label: "expected high", borderColor: COLORS.band, borderDash: [4, 4],
      backgroundColor: "rgba(113,128,150,0.18)", fill: "+1", pointRadius: dots,
      data: qtimes.map((t) => hi.get(t) ?? null) });
    sets.push({ label: "expected low", borderColor: COLORS.band, borderDash: [4, 4],
      backgroundColor: COLORS.band, pointRadius: dots, data: qtimes.map((t) => lo.get(t) ?? null) });
  }
  document.getElementById("queue-chart").setAttribute("data-baseline-points", String(band));
  drawChart("queue-chart", qtimes, sets, "messages queued");
  showBaseline(bl);
  note("flow-note", times.length ? "" : "no history yet for this span");
}

/* The queue's expected range in words, under the charts (the band on
 * the queue chart shows it over time). */
function showBaseline(doc) {
  if (!doc) {
    note("baseline-note", "no baseline in this mailmond ([baseline] enable)");
    return;
  }
  const q = (doc.metrics || []).find((m) => m.metric === "queue");
  if (!q || doc.computed_at === null) {
    note("baseline-note", "baseline: " + (doc.error ? "history not readable: " + doc.error
      : doc.history ? "not computed yet" : "no history ([history] enable)"));
    return;
  }
  if (q.low === null) {
    note("baseline-note", "baseline: none yet for the queue (" + num(q.history_days, 1) +
      " days of history, 6 hours needed)");
    return;
  }
  note("baseline-note", "baseline: queue expected " + num(q.low, 1) + " to " + num(q.high, 1) +
    " messages (" + q.kind + ", " + q.slot + "), now " + num(q.current, 1) +
    (q.state === "above" || q.state === "below" ? ": DEPARTED " + q.state : ""));
}

/* ---- where it is stuck ---- */

function heat(n, max) {
  if (!n) return "heat0";
  const r = n / max;
  return r > 0.66 ? "heat3" : r > 0.33 ? "heat2" : "heat1";
}

function showStuck(doc) {
  const table = document.getElementById("stuck");
  if (!doc || !doc.queues) {
    note("stuck-note", doc && doc.reason ? "no queue gauges: " + doc.reason : "no queue scan yet");
    return;
  }
  const dq = doc.queues.deferred;
  const cols = dq.age_columns_min || [];
  table.tHead.replaceChildren(el("tr", {}, el("th", {}, "destination"), el("th", {}, "reason"),
    el("th", {}, "T"), ...cols.map((c) => el("th", {}, String(c))), el("th", {}, "oldest")));
  const dests = dq.destinations || [];
  const max = Math.max(1, ...dests.flatMap((d) => d.ages || []));
  fill(table.tBodies[0], dests.map((d) => {
    const row = el("tr", { class: "dest", "data-destination": d.destination },
      el("td", { class: "name" }, d.destination),
      el("td", { class: "reason rc-" + dominant(d.reasons) }, dominant(d.reasons)),
      el("td", {}, num(d.messages)),
      ...(d.ages || []).map((n) => el("td", { class: "cell " + heat(n, max) }, n ? String(n) : "")),
      el("td", {}, age(d.oldest_age_s)));
    row.addEventListener("click", () => showDestination(d));
    return row;
  }));
  note("stuck-note", dests.length ? "click a destination for its oldest messages and reasons"
    : "the deferred queue is empty");
}

function showDestination(d) {
  const box = document.getElementById("stuck-detail");
  box.hidden = false;
  const reasons = Object.entries(d.reasons || {}).map(([k, v]) => k + " " + v).join(", ");
  box.replaceChildren(
    el("h3", {}, d.destination + ": " + num(d.messages) + " messages, " + num(d.recipients) +
      " recipients; " + (reasons || "no delay reason yet")),
    el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, el("th", {}, "queue id"), el("th", {}, "arrived"),
        el("th", {}, "size"), el("th", {}, "delay reason"))),
      el("tbody", {}, ...(d.messages_oldest || []).map((m) => el("tr", {},
        el("td", { class: "cmd" }, m.id), el("td", {}, localTime(m.arrival)),
        el("td", {}, num(m.size)), el("td", {}, m.reason || "-"))))),
    el("p", { class: "cmd" }, d.destination === "other" ? "mailmon qshape --reasons -s deferred"
      : "mailmon qm messages " + d.destination));
}

/* ---- services ---- */

function sparkline(canvas, values) {
  canvas.setAttribute("data-points", String(values.length));
  const ctx = canvas.getContext && canvas.getContext("2d");
  if (!ctx || values.length < 2) return;
  const w = canvas.width, h = canvas.height, max = Math.max(...values) || 1;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#2b6cb0";
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * (w - 2) + 1, y = h - 1 - (v / max) * (h - 2);
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.stroke();
}

async function showServices(doc) {
  const tbody = document.querySelector("#services tbody");
  const svcs = (doc && doc.services) || [];
  const hist = await history("mailmon_service_response_seconds").catch(() => null);
  const byName = {};
  for (const s of (hist && hist.series) || [])
    byName[s.labels.service] = (s.points || []).map((p) => p.avg).filter((v) => v !== null);
  fill(tbody, svcs.map((s) => {
    const spark = el("canvas", { class: "spark", width: 120, height: 24 });
    sparkline(spark, byName[s.name] || []);
    const last = s.last || {};
    return el("tr", { class: "svc state-" + s.state },
      el("td", {}, s.name), el("td", { class: "state" }, s.state),
      el("td", {}, last.response_ms !== undefined ? num(last.response_ms, 1) + " ms" : "-"),
      el("td", {}, spark), el("td", {}, num(s.restarts_total)),
      el("td", {}, last.cert_days !== undefined ? String(last.cert_days) : "-"),
      el("td", {}, s.processes ? s.processes.count + (s.processes.cpu_pct !== null ?
        " (" + num(s.processes.cpu_pct, 1) + "% CPU)" : "") : "-"));
  }));
  note("services-note", svcs.length ? "" : "no [service.NAME] is configured");
}

/* ---- end to end, disk, CPU: registry families ---- */

async function series(selector) {
  const doc = await api("/api/v1/metrics?match=" + encodeURIComponent(selector));
  return (doc && doc.series) || [];
}

async function showE2E() {
  const rows = await series("mailmon_e2e_duration_seconds");
  const tbody = document.querySelector("#e2e tbody");
  fill(tbody, rows.map((s) => el("tr", {}, el("td", {}, s.labels.probe || ""),
    el("td", {}, s.labels.stage || ""),
    el("td", {}, s.count ? num(1000 * s.sum / s.count, 0) + " ms" : "-"),
    el("td", {}, num(s.count)))));
  const late = await series("mailmon_e2e_late_total");
  const lost = await series("mailmon_e2e_lost_total");
  const sum = (xs) => xs.reduce((n, s) => n + (s.value || 0), 0);
  note("e2e-note", rows.length ? "late " + sum(late) + ", lost " + sum(lost)
    : "no [e2e.NAME] probe is configured");
}

async function showSystem() {
  const tbody = document.querySelector("#system tbody");
  const lists = await Promise.all(["mailmon_disk_*", "mailmon_cpu_busy_ratio", "mailmon_load_average"]
    .map((p) => api("/api/v1/metrics?pattern=" + encodeURIComponent(p))));
  const names = lists.flatMap((l) => ((l && l.families) || []).map((f) => f.name));
  const rows = [];
  for (const n of names)
    for (const s of await series(n)) {
      const labels = Object.values(s.labels || {}).join(" ");
      rows.push(el("tr", {}, el("td", {}, n.replace(/^mailmon_/, "")), el("td", {}, labels),
        el("td", {}, num(s.value, 2))));
    }
  fill(tbody, rows);
  note("system-note", rows.length ? "" : "no disk or CPU monitor in this mailmond");
}

async function showCluster() {
  /* The nodes of [cluster] nodes, fetched by mailmond, and this node's
   * flooded destinations and HAProxy agent answer. */
  const [nodes, mine] = await Promise.all([api("/api/v1/cluster/nodes").catch(() => null),
    api("/api/v1/cluster").catch(() => null)]);
  const rows = (nodes && nodes.nodes) || [];
  const panel = document.getElementById("cluster-panel");
  panel.hidden = !rows.length && !mine;
  const q = (n, k) => (n.queues && n.queues[k] !== undefined ? num(n.queues[k]) : "-");
  fill(document.querySelector("#cluster tbody"), rows.map((n) => {
    const state = n.state || "unknown";
    // The named cause (stalled, down, drained), else the first reason.
    const v = n.verdict || {};
    const why = n.error || v.cause || (v.reasons && v.reasons[0]) || "";
    return el("tr", { class: "node state-" + state, "data-node": n.url },
      el("td", {}, n.node ? n.node + " (" + n.url + ")" : n.url), el("td", { class: "state" }, state),
      el("td", {}, q(n, "incoming")), el("td", {}, q(n, "active")), el("td", {}, q(n, "deferred")),
      el("td", {}, num(n.inflow_per_min, 1)), el("td", {}, num(n.outflow_per_min, 1)),
      el("td", {}, why));
  }));
  note("cluster-note", rows.length ? (nodes.backlog_holder ? "the backlog is on " +
    nodes.backlog_holder : "nothing queued on any node") : (nodes && nodes.note) || "");
  const floods = (mine && mine.floods) || [];
  fill(document.querySelector("#floods tbody"), floods.map((f) => el("tr", {},
    el("td", {}, f.destination), el("td", { class: "reason rc-" + f.reason }, f.reason),
    el("td", {}, num(f.messages)), el("td", {}, num(100 * (f.share || 0), 0) + " %"),
    el("td", {}, num(f.growth_per_min, 1) + "/min"))));
  const agent = mine && mine.agent && mine.agent.answer ? "HAProxy agent answers \u201c" +
    mine.agent.answer + "\u201d" : "no HAProxy agent on this node";
  note("floods-note", (floods.length ? "" : "no flooded destination; ") + agent);
}

/* ---- refresh ---- */

function showFreshness(error) {
  const f = document.getElementById("freshness");
  const now = Date.now();
  if (error) {
    if (!state.failingSince) state.failingSince = now;
    f.className = "freshness stale";
    f.textContent = "mailmond cannot be reached since " +
      new Date(state.failingSince).toLocaleTimeString() + " (" + error.message + "); data from " +
      (state.lastOk ? new Date(state.lastOk).toLocaleTimeString() : "never");
    return;
  }
  state.failingSince = 0;
  state.lastOk = now;
  f.className = "freshness";
  f.textContent = "updated " + new Date(now).toLocaleTimeString();
}

async function refresh() {
  try {
    const status = await api("/api/v1/status");
    showVerdict(status || {});
    const [alarms, queue, services] = await Promise.all([api("/api/v1/alarms"), api("/api/v1/queue"),
      api("/api/v1/services")]);
    showAlarms(alarms);
    showStuck(queue);
    await showServices(services);
    await Promise.all([showFlow(), showE2E(), showSystem(), showCluster()]);
    showFreshness(null);
    if (!state.firstData) {
      /* For the benchmark: when the page first showed data and painted. */
      state.firstData = Math.round(performance.now());
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      document.body.setAttribute("data-first-data-ms", String(state.firstData));
      document.body.setAttribute("data-fcp-ms", fcp ? String(Math.round(fcp.startTime)) : "");
    }
  } catch (e) {
    showFreshness(e);
  }
  const root = document.documentElement;
  document.body.setAttribute("data-overflow-x", String(root.scrollWidth > root.clientWidth + 1));
  document.body.setAttribute("data-refreshed", String(Date.now()));
}

function tickAge() {
  if (!state.lastOk || state.failingSince) return;
  const s = Math.round((Date.now() - state.lastOk) / 1000);
  document.getElementById("freshness").textContent = "updated " +
    new Date(state.lastOk).toLocaleTimeString() + (s >= 2 ? " (" + s + " s ago)" : "");
}

for (const b of document.querySelectorAll("#ranges button")) {
  b.classList.toggle("on", Number(b.dataset.range) === state.range);
  b.addEventListener("click", () => {
    state.range = Number(b.dataset.range);
    for (const o of document.querySelectorAll("#ranges button")) o.classList.toggle("on", o === b);
    state.stepOverride = 0;
    showFlow().catch(showFreshness);
  });
}

refresh();
setInterval(refresh, REFRESH_MS);
setInterval(tickAge, 1000);
