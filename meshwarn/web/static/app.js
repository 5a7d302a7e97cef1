// meshwarn common picture: sign in, fetch the views this role may see, replay or follow them.
// Plain Canvas, no libraries: everything is served by meshwarn itself.
"use strict";

const state = {
  role: null, partners: [], regions: null, scenario: null, live: false,
  views: {},          // partner -> {messages: [...], offset}
  t0: 0, t1: 1, now: 1, playing: false, speed: 30, following: true,
};
const BBOX = { lonMin: 120, lonMax: 150, latMin: 28, latMax: 48 };  // Korea, Japan, the East Sea; grows to fit

// Widen the map to hold every track and impact area, keeping distances true in the middle.
function fitBBox() {
  let [lo0, lo1, la0, la1] = [124, 146, 30, 46];
  for (const v of Object.values(state.views)) for (const m of v.messages) {
    const b = m.body, pts = [];
    if (m.kind === "track" || m.kind === "vessel" || m.kind === "anomaly") pts.push([b.lon, b.lat]);
    if ((m.kind === "track" || m.kind === "impact") && b.impact) pts.push([b.impact.ellipse.lon, b.impact.ellipse.lat]);
    for (const [lon, lat] of pts) { lo0 = Math.min(lo0, lon); lo1 = Math.max(lo1, lon); la0 = Math.min(la0, lat); la1 = Math.max(la1, lat); }
  }
  [lo0, lo1, la0, la1] = [Math.max(100, lo0 - 2), Math.min(165, lo1 + 2), Math.max(15, la0 - 2), Math.min(60, la1 + 2)];
  const k = Math.cos((la0 + la1) / 2 * Math.PI / 180), aspect = 4 / 3;
  const widthKm = (lo1 - lo0) * k, heightKm = la1 - la0;
  if (widthKm / heightKm > aspect) { const h = widthKm / aspect, c = (la0 + la1) / 2; la0 = c - h / 2; la1 = c + h / 2; }
  else { const w = heightKm * aspect / k, c = (lo0 + lo1) / 2; lo0 = c - w / 2; lo1 = c + w / 2; }
  Object.assign(BBOX, { lonMin: lo0, lonMax: lo1, latMin: la0, latMax: la1 });
}
const $ = (id) => document.getElementById(id);

// --- messages: normalise whatever envelope the hub wrote into {kind, time, body} ---
function unwrap(m) {
  for (const key of ["message", "payload", "body", "track", "alert"]) {
    const inner = m && m[key];
    if (inner && typeof inner === "object" && !Array.isArray(inner) && (inner.id || inner.track_id)) {
      return { envelope: m, body: m[key] };
    }
  }
  return { envelope: m, body: m };
}
function classify(raw) {
  const { envelope, body } = unwrap(raw);
  // A hub ViewMessage says its kind and when it was released to the partner (after any agreed delay).
  const released = envelope !== body && typeof envelope.release === "number" ? envelope.release : null;
  let kind = "other", time = body.time || body.sent || envelope.time || 0;
  if (body.msg_type && body.region_code) { kind = "alert"; time = body.sent; }
  else if (body.status && body.lat !== undefined && body.domain === "surface") { kind = "vessel"; time = body.time; }
  else if (body.status && body.lat !== undefined) { kind = "track"; time = body.time; }
  else if (body.track_id && "impact" in body) { kind = "impact"; time = body.time; }
  else if (body.unit && body.lat !== undefined) { kind = "unit"; time = body.time; }
  else if (body.kind && body.evidence) { kind = "anomaly"; time = body.time; }
  return { kind, time: released ?? time, body, envelope };
}

// --- picture at time t: latest state of every track and alert up to t ---
const VESSEL_HISTORY = 6;  // snapshots of wake drawn behind a vessel
function pictureAt(messages, t) {
  const tracks = new Map(), history = new Map(), alerts = new Map(), events = [], impacts = new Map();
  const vessels = new Map(), wakes = new Map(), anomalies = new Map();
  for (const m of messages) {
    if (m.time > t) break;
    if (m.kind === "vessel") {
      const b = m.body;
      vessels.set(b.id, { ...b, seen: m.time });
      const wake = wakes.get(b.id) || [];
      wake.push([b.lon, b.lat]); if (wake.length > VESSEL_HISTORY) wake.shift();
      wakes.set(b.id, wake);
    } else if (m.kind === "anomaly") {
      anomalies.set(m.body.id, m.body);
      events.push(m);
    } else if (m.kind === "track") {
      const b = m.body;
      tracks.set(b.id, b);
      if (!history.has(b.id)) history.set(b.id, []);
      history.get(b.id).push([b.lon, b.lat]);
      // An ended track stays on the map (grey, no prediction): the picture keeps what happened.
    } else if (m.kind === "impact") {
      if (m.body.impact && m.body.status !== "deleted") impacts.set(m.body.track_id, m.body); else impacts.delete(m.body.track_id);
    } else if (m.kind === "alert") {
      const key = `${m.body.event_id}/${m.body.region_code}`;
      if (m.body.msg_type === "Cancel") alerts.delete(key); else alerts.set(key, m.body);
      events.push(m);
    }
  }
  // A vessel not reported in the latest snapshots has left the picture (pruned by the tracker).
  for (const [id, v] of vessels) if (t - v.seen > 1800) { vessels.delete(id); wakes.delete(id); }
  return { tracks, history, alerts, events, impacts, vessels, wakes, anomalies };
}

// --- drawing ---
function project(canvas, lon, lat) {
  const x = (lon - BBOX.lonMin) / (BBOX.lonMax - BBOX.lonMin) * canvas.width;
  const y = (BBOX.latMax - lat) / (BBOX.latMax - BBOX.latMin) * canvas.height;
  return [x, y];
}
function pathRings(ctx, canvas, geometry) {
  const polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  for (const poly of polys) for (const ring of poly) {
    ring.forEach(([lon, lat], i) => {
      const [x, y] = project(canvas, lon, lat);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.closePath();
  }
}
function drawMap(ctx, canvas, warned) {
  ctx.fillStyle = "#0a2233"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!state.regions) return;
  for (const f of state.regions.features) {
    ctx.beginPath(); pathRings(ctx, canvas, f.geometry);
    const isWarned = warned.has(f.properties.code);
    ctx.fillStyle = isWarned ? "rgba(255,140,40,0.65)" : (f.properties.layer === "country" ? "#23343c" : "rgba(0,0,0,0)");
    ctx.fill("evenodd");
    ctx.strokeStyle = f.properties.layer === "country" ? "#58707c" : "#34495294";
    ctx.lineWidth = f.properties.layer === "country" ? 1 : 0.5;
    ctx.stroke();
  }
}
function drawAlertAreas(ctx, canvas, alerts) {
  // Areas without an outline on the map (maritime zones) are drawn from the alert's own polygon.
  ctx.strokeStyle = "rgba(255,140,40,0.9)"; ctx.fillStyle = "rgba(255,140,40,0.18)";
  for (const a of alerts.values()) {
    if (!a.polygon || a.polygon.length < 3) continue;
    ctx.beginPath();
    a.polygon.forEach(([lat, lon], i) => { const [x, y] = project(canvas, lon, lat); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.closePath(); ctx.fill(); ctx.stroke();
  }
}
function drawSensors(ctx, canvas, sensors) {
  ctx.strokeStyle = "rgba(120,200,255,0.35)"; ctx.setLineDash([4, 4]);
  for (const s of sensors) {
    if (s.kind === "ir_satellite") continue;
    const [x, y] = project(canvas, s.lon, s.lat);
    const kmPerPx = (BBOX.lonMax - BBOX.lonMin) * 111 * Math.cos(38 * Math.PI / 180) / canvas.width;
    const r = Math.min(s.max_range_km, 3000) / kmPerPx;
    const a0 = (s.azimuth_min_deg - 90) * Math.PI / 180, a1 = (s.azimuth_max_deg - 90) * Math.PI / 180;
    ctx.beginPath();
    if (s.azimuth_max_deg - s.azimuth_min_deg < 360) ctx.moveTo(x, y);
    ctx.arc(x, y, r, a0, a1); if (s.azimuth_max_deg - s.azimuth_min_deg < 360) ctx.closePath();
    ctx.stroke();
    ctx.fillStyle = "#7fd1ff"; ctx.fillRect(x - 2, y - 2, 4, 4);
  }
  ctx.setLineDash([]);
}
function drawEllipse(ctx, canvas, e) {
  const [x, y] = project(canvas, e.lon, e.lat);
  const pxPerKmX = canvas.width / ((BBOX.lonMax - BBOX.lonMin) * 111 * Math.cos(e.lat * Math.PI / 180));
  const pxPerKmY = canvas.height / ((BBOX.latMax - BBOX.latMin) * 111);
  const b = e.bearing_deg * Math.PI / 180;
  ctx.beginPath();
  for (let i = 0; i <= 48; i++) {
    const a = i / 48 * 2 * Math.PI;
    const along = e.semi_major_km * Math.cos(a), across = e.semi_minor_km * Math.sin(a);
    const east = along * Math.sin(b) + across * Math.cos(b), north = along * Math.cos(b) - across * Math.sin(b);
    const px = x + east * pxPerKmX, py = y - north * pxPerKmY;
    i ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
  }
  ctx.fillStyle = "rgba(255,60,60,0.25)"; ctx.fill();
  ctx.strokeStyle = "#ff5050"; ctx.stroke();
}
function drawTracks(ctx, canvas, pic) {
  for (const n of pic.impacts.values()) drawEllipse(ctx, canvas, n.impact.ellipse);  // impact-only agreements
  for (const [id, points] of pic.history) {
    if (!pic.tracks.has(id)) continue;
    ctx.beginPath(); ctx.strokeStyle = "#ffe066"; ctx.lineWidth = 1.5;
    points.forEach(([lon, lat], i) => { const [x, y] = project(canvas, lon, lat); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
  }
  for (const t of pic.tracks.values()) {
    const ended = t.status === "deleted";
    const impact = ended ? null : t.impact;
    if (impact && impact.ground_track && impact.ground_track.length) {
      ctx.beginPath(); ctx.setLineDash([6, 4]); ctx.strokeStyle = "#ff9a9a";
      impact.ground_track.forEach(([, lat, lon], i) => { const [x, y] = project(canvas, lon, lat); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
      ctx.stroke(); ctx.setLineDash([]);
    }
    if (impact && impact.ellipse) drawEllipse(ctx, canvas, impact.ellipse);
    if (t.launch && !ended) {
      const [lx, ly] = project(canvas, t.launch.lon, t.launch.lat);
      ctx.strokeStyle = "#ff66ff"; ctx.beginPath(); ctx.moveTo(lx - 5, ly - 5); ctx.lineTo(lx + 5, ly + 5);
      ctx.moveTo(lx + 5, ly - 5); ctx.lineTo(lx - 5, ly + 5); ctx.stroke();
    }
    const [x, y] = project(canvas, t.lon, t.lat);
    ctx.fillStyle = ended ? "#6d7b82" : t.status === "confirmed" ? "#ffe066" : "#b0b0b0";
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fill();
    // velocity: 60 s ahead, east/north from the ECEF vector at this point
    const v = t.velocity_ecef || [0, 0, 0];
    const la = t.lat * Math.PI / 180, lo = t.lon * Math.PI / 180;
    const ve = -Math.sin(lo) * v[0] + Math.cos(lo) * v[1];
    const vn = -Math.sin(la) * Math.cos(lo) * v[0] - Math.sin(la) * Math.sin(lo) * v[1] + Math.cos(la) * v[2];
    const [x2, y2] = project(canvas, t.lon + ve * 60 / (111e3 * Math.cos(la)), t.lat + vn * 60 / 111e3);
    ctx.strokeStyle = "#ffffff"; ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x2, y2); ctx.stroke();
    ctx.fillStyle = "#ffffff"; ctx.font = "11px sans-serif"; ctx.fillText(t.id, x + 6, y - 6);
  }
}

// Surface tracks: small squares with a short wake; AIS vessels teal, detection-only (no identity) violet.
function drawVessels(ctx, canvas, pic) {
  ctx.lineWidth = 1;
  for (const [id, wake] of pic.wakes) {
    if (wake.length < 2) continue;
    ctx.beginPath(); ctx.strokeStyle = id.startsWith("S") ? "rgba(200,140,255,0.5)" : "rgba(77,208,180,0.5)";
    wake.forEach(([lon, lat], i) => { const [x, y] = project(canvas, lon, lat); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
  }
  for (const v of pic.vessels.values()) {
    const [x, y] = project(canvas, v.lon, v.lat), dark = v.id.startsWith("S");
    ctx.fillStyle = dark ? "#c88cff" : v.status === "coasting" ? "#2f7f70" : "#4dd0b4";
    ctx.fillRect(x - 2, y - 2, 4, 4);
  }
}
const ANOMALY_COLOURS = { dark_vessel: "#ff4fa0", spoofing: "#ff5050", ais_gap: "#ffb347", loitering: "#ffe066", rendezvous: "#ff7f50", zone_entry: "#ff9a3c" };
function drawAnomalies(ctx, canvas, pic) {
  ctx.font = "10px sans-serif"; ctx.lineWidth = 1.5;
  for (const a of pic.anomalies.values()) {
    const [x, y] = project(canvas, a.lon, a.lat), c = ANOMALY_COLOURS[a.kind] || "#ff5050";
    ctx.strokeStyle = c; ctx.beginPath();
    ctx.moveTo(x, y - 7); ctx.lineTo(x + 7, y); ctx.lineTo(x, y + 7); ctx.lineTo(x - 7, y); ctx.closePath(); ctx.stroke();
    ctx.fillStyle = c; ctx.fillText(a.kind.replace("_", " "), x + 9, y + 3);
  }
}

// --- panels ---
function makePanel(partner) {
  const div = document.createElement("section");
  div.className = "panel"; div.id = `panel-${partner}`; div.dataset.partner = partner;
  div.innerHTML = `<h2>${partner} <span class="summary"></span></h2><canvas width="800" height="600"></canvas>
    <table><thead><tr><th>track</th><th>status</th><th>phase</th><th>h km</th><th>impact</th><th>from</th></tr></thead><tbody></tbody></table>`;
  $("panels").appendChild(div);
  return div;
}
function renderPanel(partner) {
  const div = $(`panel-${partner}`), canvas = div.querySelector("canvas"), ctx = canvas.getContext("2d");
  const pic = pictureAt(state.views[partner].messages, state.now);
  const warned = new Set([...pic.alerts.values()].map((a) => a.region_code));
  drawMap(ctx, canvas, warned);
  drawAlertAreas(ctx, canvas, pic.alerts);
  drawSensors(ctx, canvas, sensorsFor(partner, pic));
  drawVessels(ctx, canvas, pic);
  drawAnomalies(ctx, canvas, pic);
  drawTracks(ctx, canvas, pic);
  const live = [...pic.tracks.values()].filter((t) => t.status !== "deleted").length;
  div.dataset.tracks = pic.tracks.size; div.dataset.live = live; div.dataset.alerts = pic.alerts.size;
  div.dataset.impacts = pic.impacts.size;
  div.dataset.vessels = pic.vessels.size; div.dataset.anomalies = pic.anomalies.size;
  const impactOnly = pic.impacts.size ? `, ${pic.impacts.size} impact areas` : "";
  const maritime = pic.vessels.size || pic.anomalies.size ? `, ${pic.vessels.size} vessels, ${pic.anomalies.size} anomalies` : "";
  div.querySelector(".summary").textContent = `${live} live tracks (${pic.tracks.size} in all)${impactOnly}, ${pic.alerts.size} regions warned${maritime}`;
  const rows = [...pic.tracks.values()].map((t) => {
    const impact = t.impact ? `${t.impact.ellipse.lat.toFixed(2)}, ${t.impact.ellipse.lon.toFixed(2)}` : "";
    return `<tr class="track" data-id="${t.id}" data-provenance="${(t.provenance || []).join(" ")}"><td>${t.id}</td><td>${t.status}</td><td>${t.phase}</td>` +
      `<td>${(t.h / 1000).toFixed(0)}</td><td>${impact}</td><td>${(t.provenance || []).join(", ")}</td></tr>`;
  });
  div.querySelector("tbody").innerHTML = rows.join("");
  return pic;
}
function sensorsFor(partner, pic) {
  // A partner sees the coverage of sensors whose owners contribute to its picture, and its own.
  const owners = new Set([partner]);
  for (const t of pic.tracks.values()) for (const p of t.provenance || []) owners.add(p);
  return ((state.scenario && state.scenario.sensors) || []).filter((s) => owners.has(s.partner));
}
function renderTimeline(pics) {
  const items = [];
  const who = (partner) => (state.role === "CONTROL" ? partner + ": " : "");
  for (const [partner, pic] of Object.entries(pics)) for (const e of pic.events) {
    if (e.kind === "anomaly") {
      const b = e.body, from = (b.evidence_partners || []).join(", ");
      items.push([e.time, `<li class="event anomaly" data-partner="${partner}" data-kind="${b.kind}">${fmt(e.time)} ${who(partner)}${b.kind.replace("_", " ")} ${(b.tracks || []).join(" ")} (${from})</li>`]);
      continue;
    }
    const b = e.body, cls = b.msg_type === "Cancel" ? "cancel" : "alert";
    items.push([e.time, `<li class="event ${cls}" data-partner="${partner}">${fmt(e.time)} ${state.role === "CONTROL" ? partner + ": " : ""}${b.msg_type} ${b.region_name} (${b.reason})</li>`]);
  }
  items.sort((a, b) => b[0] - a[0]);
  $("events").innerHTML = items.slice(0, 300).map((i) => i[1]).join("");
}
function fmt(t) { return new Date(t * 1000).toISOString().slice(11, 19); }
const renderTimes = [];  // ms per render, read by benchmarks/web.py
window.meshwarnStats = { renderTimes };
function render() {
  const started = performance.now();
  const pics = {};
  for (const p of state.partners) pics[p] = renderPanel(p);
  renderTimeline(pics);
  $("clock").textContent = `${fmt(state.now)} UTC`;
  $("scrub").value = Math.round((state.now - state.t0) / Math.max(1, state.t1 - state.t0) * 1000);
  renderTimes.push(performance.now() - started);
  if (renderTimes.length > 1000) renderTimes.shift();
}

// --- time: replay and live ---
function updateWindow() {
  let lo = Infinity, hi = -Infinity;
  for (const v of Object.values(state.views)) for (const m of v.messages) { lo = Math.min(lo, m.time); hi = Math.max(hi, m.time); }
  if (state.scenario && state.scenario.start_time) lo = Math.min(lo, state.scenario.start_time);
  if (isFinite(lo)) { state.t0 = lo; state.t1 = Math.max(hi, lo + 1); }
  if (state.following) state.now = state.t1;
}
function tick(last) {
  const now = performance.now();
  if (state.playing) {
    state.now += (now - last) / 1000 * state.speed;
    if (state.now >= state.t1) { state.now = state.t1; state.playing = false; state.following = true; $("play").textContent = "Play"; }
    render();
  }
  requestAnimationFrame(() => tick(now));
}
function follow(partner) {
  const src = new EventSource(`/api/views/${partner}/stream?offset=${state.views[partner].offset}`);
  let pending = false;
  src.onmessage = (ev) => {
    state.views[partner].messages.push(classify(JSON.parse(ev.data)));
    if (!pending) { pending = true; setTimeout(() => { pending = false; updateWindow(); render(); }, 250); }
  };
}

async function start(me) {
  state.role = me.role; state.partners = me.partners; state.live = me.live;
  $("role").textContent = me.role === "CONTROL" ? "exercise control" : me.role;
  $("signin").hidden = true; $("controls").hidden = false; $("timeline").hidden = false;
  const [regions, scenario] = await Promise.all([fetch("/api/regions").then((r) => r.json()), fetch("/api/scenario").then((r) => r.json())]);
  state.regions = regions; state.scenario = scenario;
  for (const p of state.partners) {
    const data = await fetch(`/api/views/${p}/messages`).then((r) => r.json());
    const messages = data.messages.map(classify).sort((a, b) => a.time - b.time);
    state.views[p] = { messages, offset: data.offset };
    makePanel(p);
    if (state.live) follow(p);
  }
  fitBBox(); updateWindow(); render();
  document.body.dataset.ready = "true";
}

$("signin").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const r = await fetch("/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ credential: $("credential").value }) });
  if (!r.ok) { $("signin-error").textContent = (await r.json()).error || "sign-in failed"; return; }
  start(await fetch("/api/me").then((x) => x.json()));
});
$("play").addEventListener("click", () => {
  state.playing = !state.playing; $("play").textContent = state.playing ? "Pause" : "Play";
  if (state.playing && state.now >= state.t1) state.now = state.t0;
  state.following = false;
});
$("speed").addEventListener("change", (e) => { state.speed = Number(e.target.value); });
$("scrub").addEventListener("input", (e) => { state.following = false; state.now = state.t0 + (state.t1 - state.t0) * Number(e.target.value) / 1000; render(); });
$("end").addEventListener("click", () => { state.following = true; state.now = state.t1; render(); });
fetch("/api/me").then((r) => (r.ok ? r.json().then(start) : null));
requestAnimationFrame(() => tick(performance.now()));
