// Result viewer: a timeline plot (SVG) synchronised with the video player.
// Click the plot to seek; a cursor follows playback.
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const W = 1000, LEFT = 110, RIGHT = 12, ROW = 18, GAP = 4, VA = 46;
  const root = document.getElementById("viewer");
  const video = document.getElementById("video");
  const plotBox = document.getElementById("plot");
  let data = null, svg = null, cursor = null, duration = 1;

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function x(t) { return LEFT + (W - LEFT - RIGHT) * Math.max(0, Math.min(t, duration)) / duration; }
  function clock(t) {
    const m = Math.floor(t / 60), s = t - 60 * m;
    return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
  }
  function text(parent, tx, ty, str, cls) {
    const t = el("text", { x: tx, y: ty, "font-size": 11, "text-anchor": "end", class: cls || "" }, parent);
    t.textContent = str;
    return t;
  }
  function seek(t) {
    if (video) {
      video.currentTime = Math.max(0, Math.min(t, duration));
    }
    moveCursor(t);
  }

  function draw() {
    duration = Math.max(data.duration || 0, 0.001);
    let h = 24;
    const rows = [];
    for (const p of data.persons) {
      rows.push({ kind: "person", p, y: h }); h += ROW;
      for (const mod of Object.keys(p.tracks)) { rows.push({ kind: "track", p, mod, y: h }); h += ROW + GAP; }
      const va = p.tracks.fused || p.tracks.face || p.tracks.voice || p.tracks.text;
      if (va) { rows.push({ kind: "va", p, pts: va, y: h }); h += VA + GAP; }
    }
    if (data.highlights.length) { rows.push({ kind: "highlights", y: h }); h += ROW + GAP; }
    if (!data.persons.length) { rows.push({ kind: "empty", y: h }); h += 30; }
    h += 6;
    svg = el("svg", { viewBox: `0 0 ${W} ${h}`, id: "timeline-plot", "data-left": LEFT, "data-right": W - RIGHT,
                      "data-duration": duration, role: "img", "aria-label": "emotion timeline" });
    // time axis
    const step = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600].find((s) => duration / s <= 12) || 1200;
    for (let t = 0; t <= duration + 1e-9; t += step) {
      el("line", { x1: x(t), x2: x(t), y1: 14, y2: h, stroke: "#eee" }, svg);
      const lab = el("text", { x: x(t), y: 11, "font-size": 10, "text-anchor": "middle", fill: "#666" }, svg);
      lab.textContent = clock(t);
    }
    for (const r of rows) {
      if (r.kind === "person") {
        const t = text(svg, 4, r.y + 13, r.p.id);
        t.setAttribute("text-anchor", "start"); t.setAttribute("font-weight", "bold");
      } else if (r.kind === "track") {
        text(svg, LEFT - 6, r.y + 13, r.mod);
        for (const [a, b, label, conf] of r.p.tracks[r.mod]) {
          const rect = el("rect", { x: x(a), y: r.y, width: Math.max(x(b) - x(a), 0.8), height: ROW,
                                    fill: data.colours[label] || "#999", "fill-opacity": 0.35 + 0.65 * (conf || 0) }, svg);
          el("title", {}, rect).textContent = `${r.mod} ${label} ${Math.round(100 * conf)}% at ${clock(a)}`;
        }
      } else if (r.kind === "va") {
        text(svg, LEFT - 6, r.y + 14, "valence");
        text(svg, LEFT - 6, r.y + 28, "arousal").setAttribute("fill", "#e34a33");
        el("rect", { x: LEFT, y: r.y, width: W - LEFT - RIGHT, height: VA, fill: "#fafafa", stroke: "#eee" }, svg);
        el("line", { x1: LEFT, x2: W - RIGHT, y1: r.y + VA / 2, y2: r.y + VA / 2, stroke: "#ccc" }, svg);
        for (const [idx, colour] of [[4, "#2b8cbe"], [5, "#e34a33"]]) {
          const pts = r.pts.filter((q) => q[idx] !== null)
            .map((q) => `${x((q[0] + q[1]) / 2).toFixed(1)},${(r.y + VA / 2 - q[idx] * (VA / 2 - 2)).toFixed(1)}`);
          if (pts.length) el("polyline", { points: pts.join(" "), fill: "none", stroke: colour, "stroke-width": 1.5 }, svg);
        }
      } else if (r.kind === "highlights") {
        text(svg, LEFT - 6, r.y + 13, "highlights");
        for (const hl of data.highlights) {
          el("rect", { x: x(hl.start), y: r.y, width: Math.max(x(hl.end) - x(hl.start), 1), height: ROW,
                       fill: "#7e57c2", "fill-opacity": 0.3 + 0.7 * Math.min(1, hl.score || 0), class: "hl" }, svg);
        }
      } else {
        const t = text(svg, LEFT + 10, r.y + 18, "No emotion estimates in this result.");
        t.setAttribute("text-anchor", "start");
      }
    }
    cursor = el("line", { x1: LEFT, x2: LEFT, y1: 14, y2: h, stroke: "#d32f2f", "stroke-width": 2, id: "cursor" }, svg);
    svg.addEventListener("click", (ev) => {
      const box = svg.getBoundingClientRect();
      const vx = (ev.clientX - box.left) * W / box.width;
      seek((vx - LEFT) / (W - LEFT - RIGHT) * duration);
    });
    plotBox.appendChild(svg);
  }

  function current(t) {
    const out = [];
    for (const p of data.persons) {
      for (const mod of Object.keys(p.tracks)) {
        const hit = p.tracks[mod].find((q) => q[0] <= t && t < q[1]);
        if (hit) out.push(`${p.id} ${mod}: ${hit[2]} ${Math.round(100 * hit[3])}%`);
      }
    }
    return out;
  }

  function moveCursor(t) {
    if (!cursor) return;
    const px = x(t).toFixed(2);
    cursor.setAttribute("x1", px);
    cursor.setAttribute("x2", px);
    const now = document.getElementById("now");
    now.innerHTML = "";
    const head = document.createElement("b");
    head.textContent = clock(t);
    now.appendChild(head);
    for (const line of current(t)) {
      const d = document.createElement("div");
      d.textContent = line;
      now.appendChild(d);
    }
    document.querySelectorAll(".utt").forEach((u) => {
      u.classList.toggle("active", +u.dataset.start <= t && t < +u.dataset.end);
    });
  }

  function lists() {
    const legend = document.getElementById("legend");
    for (const lab of data.labels) {
      const s = document.createElement("span");
      s.style.background = data.colours[lab];
      s.textContent = lab;
      legend.appendChild(s);
    }
    const hl = document.getElementById("highlights");
    if (!data.highlights.length) hl.innerHTML = "<li class='muted'>none</li>";
    for (const h of data.highlights) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.className = "seek";
      a.textContent = `${clock(h.start)}–${clock(h.end)}`;
      a.addEventListener("click", () => seek(h.start));
      li.appendChild(a);
      li.appendChild(document.createTextNode(` score ${h.score} · ${h.person || "scene"} · ${h.reason || ""}`));
      hl.appendChild(li);
    }
    const dl = document.getElementById("downloads");
    for (const f of data.downloads) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = f.url;
      a.textContent = f.name;
      if (!f.name.endsWith(".html")) a.setAttribute("download", f.name.split("/").pop());
      else a.target = "_blank";
      li.appendChild(a);
      li.appendChild(document.createTextNode(` (${Math.max(1, Math.round(f.bytes / 1024))} KB)`));
      dl.appendChild(li);
    }
    const kf = document.getElementById("keyframes");
    if (!data.keyframes.length) kf.innerHTML = "<p class='muted'>none</p>";
    for (const k of data.keyframes) {
      const fig = document.createElement("figure");
      if (k.url) {
        const img = document.createElement("img");
        img.src = k.url;
        img.alt = `keyframe at ${clock(k.time)}`;
        fig.appendChild(img);
      }
      const cap = document.createElement("figcaption");
      const desc = k.description ? " · " + Object.values(k.description).filter((v) => typeof v === "string").join(" ") : "";
      cap.textContent = `${clock(k.time)} ${k.reason}${desc}`;
      fig.appendChild(cap);
      fig.addEventListener("click", () => seek(k.time));
      kf.appendChild(fig);
    }
    const tr = document.getElementById("transcript");
    if (!data.utterances.length) tr.innerHTML = "<p class='muted'>No transcript.</p>";
    for (const u of data.utterances) {
      const d = document.createElement("div");
      d.className = "utt";
      d.dataset.start = u.start;
      d.dataset.end = u.end;
      d.style.borderLeftColor = data.colours[u.emotion] || "#ccc";
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = `${clock(u.start)} ${u.who}${u.emotion ? " · " + u.emotion : ""}`;
      d.appendChild(meta);
      d.appendChild(document.createTextNode(u.text));
      d.addEventListener("click", () => seek(u.start));
      tr.appendChild(d);
    }
    document.getElementById("warnings").textContent = data.warnings.join(" · ");
  }

  function follow() {
    if (video && !video.paused) moveCursor(video.currentTime);
    window.requestAnimationFrame(follow);
  }

  fetch(root.dataset.api, { cache: "no-store" })
    .then((r) => r.json())
    .then((d) => {
      data = d;
      draw();
      lists();
      moveCursor(0);
      if (video) {
        video.addEventListener("timeupdate", () => moveCursor(video.currentTime));
        video.addEventListener("seeked", () => moveCursor(video.currentTime));
      }
      window.requestAnimationFrame(follow);
      root.dataset.ready = "1";
    });
})();
