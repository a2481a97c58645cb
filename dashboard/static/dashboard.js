// caplab live: one EventSource, uPlot charts for CP and AP, fault bands on every chart.
// The server sends "init" (every point still on screen) and then one "frame" per tick.
"use strict";

const COLORS = {ok: "#2e7d32", fail: "#c62828", info: "#ef6c00", p50: "#1565c0", p99: "#6a1b9a"};
const NODE_COLORS = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#455a64", "#ad1457"];
const HALTABLE = ["prepare", "steady-before", "under-load"];  // later the run is healing already

const state = {points: [], faults: [], keep: 180, span: 120, nodes: [], services: [], charts: [], drawn: new Set(),
               bandsSeen: {}, run: {phase: "idle"}, frames: 0};
window.dashboard = state;  // for the browser tests

function el(id) { return document.getElementById(id); }
function text(id, value) { el(id).textContent = value == null ? "" : String(value); }
function fmtClock(s) { return new Date(s * 1000).toLocaleTimeString([], {hour12: false}); }

// -- charts ---------------------------------------------------------------------------------------
function chartSpecs(service, nodes) {
  const perNode = (key) => nodes.map((n, i) => ({label: n, stroke: NODE_COLORS[i % NODE_COLORS.length], key, node: n}));
  const specs = [
    {id: "throughput", title: "throughput (ops/s, by outcome)", series: ["ok", "fail", "info"].map(k => ({label: k, stroke: COLORS[k], key: k}))},
    {id: "latency", title: "latency (ms)", series: ["p50", "p99"].map(k => ({label: k, stroke: COLORS[k], key: k}))},
    {id: "breaker", title: "breaker per node (0 closed, 1 half-open, 2 open)", series: perNode("breaker"), stepped: true, range: [-0.2, 2.2]},
  ];
  if (service === "ap") {  // CP keeps no hints: its staleness is always 0, and the sampler records none
    specs.push({id: "staleness", title: "data_staleness_ms per node", series: perNode("staleness")});
    specs.push({id: "hints", title: "pending hints per node", series: perNode("hints")});
  }
  return specs;
}

function bandsPlugin() {
  return {hooks: {drawClear: [u => {
    const ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
    const [xmin, xmax] = [u.scales.x.min, u.scales.x.max];
    ctx.save();
    for (const f of state.faults) {
      const end = f.end == null ? xmax : f.end;
      if (end < xmin || f.start > xmax) continue;
      const x0 = u.valToPos(Math.max(f.start, xmin), "x", true), x1 = u.valToPos(Math.min(end, xmax), "x", true);
      ctx.fillStyle = f.end == null ? "rgba(198,40,40,0.16)" : "rgba(120,120,120,0.18)";
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
      ctx.fillStyle = "#444";
      ctx.textBaseline = "alphabetic";
      ctx.font = `${Math.round(11 * devicePixelRatio)}px sans-serif`;
      const label = `${f.name} ${f.target}`, right = u.bbox.left + u.bbox.width;
      const fits = x0 + 3 + ctx.measureText(label).width <= right;  // else end it at the plot's right edge
      ctx.textAlign = fits ? "left" : "right";
      ctx.fillText(label, fits ? x0 + 3 : right - 3, top + 12 * devicePixelRatio);
    }
    ctx.restore();
  }]}};
}

function makeChart(service, spec, parent) {
  const box = document.createElement("div");
  box.className = "chart";
  box.dataset.chart = `${service}-${spec.id}`;
  parent.appendChild(box);
  const series = [{}].concat(spec.series.map(s => ({
    label: s.label, stroke: s.stroke, width: 1.5, spanGaps: false,
    paths: spec.stepped ? uPlot.paths.stepped({align: 1}) : undefined,
  })));
  const opts = {
    title: spec.title, width: Math.max(300, parent.clientWidth - 8), height: 150, series,
    scales: {x: {time: true, range: (u, lo, hi) => [hi - state.span, hi]}, y: spec.range ? {range: spec.range} : {}},
    axes: [{}, {size: 64}], legend: {live: false}, plugins: [bandsPlugin()],
    hooks: {draw: [u => { if (u.data[0].length) { state.drawn.add(box.dataset.chart); document.body.dataset.chartsDrawn = state.drawn.size; } }]},
  };
  const chart = new uPlot(opts, [[], ...spec.series.map(() => [])], box);
  return {service, spec, chart};
}

function buildCharts() {
  for (const s of ["cp", "ap"]) el(`${s}-charts`).replaceChildren();
  state.charts = [];
  for (const service of state.services) {
    const parent = el(`${service}-charts`);
    if (!parent) continue;
    for (const spec of chartSpecs(service, state.nodes)) state.charts.push(makeChart(service, spec, parent));
  }
  document.body.dataset.chartsExpected = state.charts.length;
}

function seriesValue(point, service, s) {
  const v = point.services[service];
  if (!v) return null;
  if (s.node) { const x = (v[s.key] || {})[s.node]; return x == null ? null : x; }
  return v[s.key] == null ? null : v[s.key];
}

function redraw() {
  const xs = state.points.map(p => p.t);
  for (const c of state.charts) {
    const data = [xs, ...c.spec.series.map(s => state.points.map(p => seriesValue(p, c.service, s)))];
    c.chart.setData(data);
  }
}

// -- panels ---------------------------------------------------------------------------------------
function showRun(run, counts) {
  state.run = run;
  const running = run.phase === "running";
  text("run-name", run.experiment || "No run yet");
  text("run-phase", running && run.stage ? `${run.phase}: ${run.stage}` : run.phase);
  el("run-phase").className = `badge ${run.phase}`;
  text("run-title", run.title);
  text("run-hypothesis", run.hypothesis ? `Hypothesis: ${run.hypothesis}` : "");
  text("run-clock", run.duration_s ? `${Number(run.elapsed_s || 0).toFixed(1)} s / ${run.duration_s} s` : "");
  el("run-schedule").replaceChildren(...(run.schedule || []).map(f => {
    const li = document.createElement("li");
    li.textContent = `${f.name}: ${f.fault} from ${f.at} s for ${f.duration} s`;
    return li;
  }));
  el("halt").disabled = !running || !!run.halt || !HALTABLE.includes(run.stage);
  el("counts").querySelector("tbody").replaceChildren(...Object.entries(counts || {}).map(([s, c]) => {
    const tr = document.createElement("tr");
    tr.dataset.service = s;
    for (const v of [s.toUpperCase(), c.ok, c.fail, c.info, c.stale]) { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); }
    return tr;
  }));
  showVerdicts(run);
  for (const b of document.querySelectorAll("button.start")) b.disabled = running || b.dataset.startable !== "1";
}

function showVerdicts(run) {
  const box = el("verdicts");
  box.hidden = !run.overall;
  if (!run.overall) return;
  text("overall", run.overall);
  el("overall").className = `badge ${run.overall}`;
  box.querySelector("tbody").replaceChildren(...(run.verdicts || []).map(v => {
    const tr = document.createElement("tr");
    for (const x of [v.checker, v.valid, v.summary]) { const td = document.createElement("td"); td.textContent = x; tr.appendChild(td); }
    tr.className = v.valid;
    return tr;
  }));
  text("aborted", run.aborted ? `Aborted: ${run.aborted}` : "");
  el("report").hidden = !run.report;
  if (run.report) el("report").href = run.report;
}

function showHealth(h) {
  const items = [];
  for (const [n, s] of Object.entries(h.nodes || {})) items.push([`node ${n}`, s, s === "up"]);
  const tp = h.toxiproxy || {};
  if (tp.state) items.push(["toxiproxy", tp.state === "up" ? `up, ${(tp.faults || []).length ? tp.faults.join("; ") : "no faults"}` : tp.state, tp.state === "up" && !(tp.faults || []).length]);
  for (const [s, st] of Object.entries(h.services || {})) items.push([s.toUpperCase(), st, st === "ready"]);
  for (const [p, st] of Object.entries(h.processes || {})) items.push([p, st, st === "running"]);
  el("health-items").replaceChildren(...items.map(([name, st, good]) => {
    const span = document.createElement("span");
    span.className = `health ${good ? "good" : "bad"}`;
    span.textContent = `${name}: ${st}`;
    return span;
  }));
}

function noteBands() {
  for (const f of state.faults) {
    const key = `${f.name}@${f.start}`;
    if (!state.bandsSeen[key]) state.bandsSeen[key] = {name: f.name, target: f.target, start: f.start, seen: Date.now() / 1000};
  }
  document.body.dataset.bands = Object.keys(state.bandsSeen).length;
}

function apply(msg, init) {
  if (init) {
    state.keep = msg.keep_s; state.nodes = msg.nodes; state.services = msg.services; state.points = [];
    buildCharts();
  }
  for (const p of msg.points || []) state.points.push(p);
  const last = state.points.length ? state.points[state.points.length - 1].t : msg.now;
  while (state.points.length && state.points[0].t < last - state.keep) state.points.shift();
  state.faults = msg.faults || [];
  noteBands();
  showRun(msg.run || {phase: "idle"}, msg.counts);
  showHealth(msg.health || {});
  text("clock", fmtClock(msg.now));
  redraw();
  state.frames += 1;
  document.body.dataset.frames = state.frames;
}

// -- actions --------------------------------------------------------------------------------------
async function post(url, body) {
  try {
    const resp = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {})});
    const data = await resp.json();
    text("message", resp.ok ? (data.halting ? `Halt requested at ${data.at}` : `Started ${data.started}`) : data.error);
  } catch (err) {
    text("message", `The dashboard did not answer: ${err}`);
  }
}

async function loadCatalogue() {
  try {
    const items = await (await fetch("/api/experiments")).json();
    el("experiments").replaceChildren(...items.map(e => {
      const div = document.createElement("div");
      div.className = "experiment";
      const h = document.createElement("h3"); h.textContent = `${e.name}: ${e.title}`;
      const q = document.createElement("p"); q.innerHTML = "<b>Question.</b> "; q.append(e.question);
      const p = document.createElement("p"); p.innerHTML = "<b>Predict.</b> "; p.append(e.prediction || "(see docs/experiments.md)");
      const f = document.createElement("p"); f.className = "faults"; f.textContent = `${e.duration_s} s; ${e.faults.join("; ")}`;
      const b = document.createElement("button"); b.type = "button"; b.className = "start"; b.textContent = "Start";
      b.dataset.name = e.name; b.dataset.startable = e.startable ? "1" : "0";
      b.disabled = !e.startable || state.run.phase === "running"; b.title = e.why_not || "";
      b.addEventListener("click", () => post("/api/run", {name: e.name}));
      div.append(h, q, p, f, b);
      return div;
    }));
  } catch (err) {
    text("message", `Could not load the catalogue: ${err}`);
  }
}

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("init", ev => { apply(JSON.parse(ev.data), true); text("link", "live"); el("link").className = "badge live"; });
  source.addEventListener("frame", ev => apply(JSON.parse(ev.data), false));
  source.onerror = () => { text("link", "reconnecting"); el("link").className = "badge ended"; };
}

el("halt").addEventListener("click", () => post("/api/halt"));
el("span").addEventListener("change", ev => { state.span = Math.min(+ev.target.value, state.keep); redraw(); });
window.addEventListener("resize", () => { for (const c of state.charts) c.chart.setSize({width: Math.max(300, c.chart.root.parentElement.clientWidth - 8), height: 150}); });
loadCatalogue();
connect();
