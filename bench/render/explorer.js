/* adapter-bench report explorer: two metrics of the embedded records against each other, filtered by facet,
   the frontier (no other point better on both axes, each in its own better direction) redrawn per group.
   Plain DOM and SVG; reads only the JSON block #explorer-data; loads nothing. Apache-2.0, part of adapter-bench. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 720, H = 430, M = { l: 74, r: 18, t: 14, b: 52 };
  var root = document.getElementById("explorer-app");
  var source = document.getElementById("explorer-data");
  if (!root || !source) return;
  var sets = JSON.parse(source.textContent);
  if (!sets.length) return;
  var state = { set: 0, x: null, y: null, logx: false, logy: false, off: {} };

  function el(tag, attrs, text) {
    var e = tag.indexOf("svg:") === 0 ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function axisOf(ds, name) {
    return ds.axes.filter(function (a) { return a.name === name; })[0];
  }
  function num(v, unit) {
    if (v === null || v === undefined) return "-";
    var a = Math.abs(v), i;
    if (unit === "bytes") {
      var u = ["B", "KiB", "MiB", "GiB", "TiB"];
      for (i = 0; a >= 1024 && i < u.length - 1; i++) { a /= 1024; v /= 1024; }
      return (+v.toPrecision(3)) + " " + u[i];
    }
    if (unit === "params" || unit === "tokens/s") {
      var s = [[1e9, "B"], [1e6, "M"], [1e3, "k"]];
      for (i = 0; i < s.length; i++) if (a >= s[i][0]) return (+(v / s[i][0]).toPrecision(3)) + s[i][1];
    }
    if (a >= 1000) return Math.round(v).toLocaleString("en-US");
    return String(+v.toPrecision(3));
  }
  function arrow(a) {
    return a.direction === "higher" ? " \u2191" : a.direction === "lower" ? " \u2193" : " (setting)";
  }
  function axisText(a) {
    return a.label + " [" + a.unit + "]" + arrow(a);
  }

  // ------------------------------------------------------------------ the controls
  var controls = el("div", { class: "ex-controls" });
  var filters = el("div", { class: "ex-filters" });
  var plot = el("svg:svg", { viewBox: "0 0 " + W + " " + H, id: "ex-plot", role: "img" });
  var tip = el("div", { class: "ex-tip", role: "tooltip", hidden: "" });
  var legend = el("div", { class: "ex-legend" });
  var summary = el("p", { class: "ex-summary meta", "aria-live": "polite" });
  root.textContent = "";
  [controls, filters, plot, legend, summary, tip].forEach(function (n) { root.appendChild(n); });

  function picker(id, text, options, value, onchange) {
    var lab = el("label", { for: id }, text + " ");
    var sel = el("select", { id: id });
    options.forEach(function (o) {
      var opt = el("option", { value: o[0], title: o[2] || "" }, o[1]);
      if (o[0] === value) opt.selected = true;
      sel.appendChild(opt);
    });
    sel.addEventListener("change", function () { onchange(sel.value); draw(); });
    lab.appendChild(sel);
    return lab;
  }
  function box(id, text, checked, onchange) {
    var lab = el("label", { for: id });
    var b = el("input", { type: "checkbox", id: id });
    b.checked = checked;
    b.addEventListener("change", function () { onchange(b.checked); draw(); });
    lab.appendChild(b);
    lab.appendChild(document.createTextNode(" " + text));
    return lab;
  }
  function spread(ds, name) {  // log by default where the values span more than two decades
    var v = ds.points.map(function (p) { return p.v[name]; }).filter(function (x) { return x > 0; });
    return v.length > 1 && Math.max.apply(null, v) / Math.min.apply(null, v) > 100;
  }
  function choose(i) {
    var ds = sets[i];
    state.set = i; state.x = ds.x; state.y = ds.y; state.off = {};
    state.logx = spread(ds, ds.x); state.logy = spread(ds, ds.y);
    build();
  }
  function build() {
    var ds = sets[state.set];
    controls.textContent = "";
    if (sets.length > 1) {
      controls.appendChild(picker("ex-set", "data", sets.map(function (d, i) { return [String(i), d.title]; }),
        String(state.set), function (v) { choose(+v); }));
    }
    var opts = ds.axes.map(function (a) { return [a.name, axisText(a), a.description]; });
    controls.appendChild(picker("ex-x", "x", opts, state.x, function (v) { state.x = v; state.logx = spread(ds, v); build(); }));
    controls.appendChild(picker("ex-y", "y", opts, state.y, function (v) { state.y = v; state.logy = spread(ds, v); build(); }));
    controls.appendChild(box("ex-logx", "log x", state.logx, function (c) { state.logx = c; }));
    controls.appendChild(box("ex-logy", "log y", state.logy, function (c) { state.logy = c; }));
    filters.textContent = "";
    ds.facets.forEach(function (f) {
      var values = [];
      ds.points.forEach(function (p) { if (values.indexOf(p.f[f]) < 0) values.push(p.f[f]); });
      if (values.length < 2) return;
      var set = el("fieldset", { "data-facet": f });
      set.appendChild(el("legend", {}, f));
      [["all", false], ["none", true]].forEach(function (b) {  // show every value, or none, of this facet
        var btn = el("button", { type: "button", class: "ex-all", "data-action": b[0] }, b[0]);
        btn.addEventListener("click", function () {
          state.off[f] = {};
          values.forEach(function (v) { state.off[f][v] = b[1]; });
          build(); draw();
        });
        set.appendChild(btn);
      });
      values.forEach(function (v, j) {
        var lab = box("ex-f-" + f + "-" + j, v, !(state.off[f] || {})[v], function (c) {
          state.off[f] = state.off[f] || {};
          state.off[f][v] = !c;
        });
        lab.firstChild.setAttribute("data-value", v);
        set.appendChild(lab);
      });
      filters.appendChild(set);
    });
  }

  // ------------------------------------------------------------------ scales and ticks
  function scale(values, log, lo, hi, bytes) {
    var f = log ? function (v) { return Math.log10(v); } : function (v) { return v; };
    var t = values.map(f), a = Math.min.apply(null, t), b = Math.max.apply(null, t);
    if (a === b) { var d = log ? 0.5 : (Math.abs(a) * 0.1 || 1); a -= d; b += d; }
    var pad = (b - a) * 0.06; a -= pad; b += pad;
    var s = function (v) { return lo + (f(v) - a) / (b - a) * (hi - lo); };
    s.ticks = function () {
      var out = [], k, m;
      if (log && bytes) {  // sizes: powers of 2, as the tables write them (KiB, MiB, GiB)
        var lo2 = Math.ceil(a / Math.LN2 * Math.LN10), hi2 = Math.floor(b / Math.LN2 * Math.LN10);
        var every = Math.max(1, Math.ceil((hi2 - lo2 + 1) / 7));
        for (k = lo2; k <= hi2; k++) if (k % every === 0) out.push(Math.pow(2, k));
        return out;
      }
      if (log) {
        var many = b - a > 3;
        for (k = Math.floor(a); k <= Math.ceil(b); k++) {
          [1, 2, 5].forEach(function (mul) {
            var v = mul * Math.pow(10, k), lv = Math.log10(v);
            if (lv >= a && lv <= b && (mul === 1 || !many)) out.push(v);
          });
        }
        return out;
      }
      var raw = (b - a) / 6, p = Math.pow(10, Math.floor(Math.log10(raw))), step = p;
      [1, 2, 5, 10].some(function (m2) { step = m2 * p; return raw <= step; });
      for (m = Math.ceil(a / step) * step; m <= b; m += step) out.push(Math.abs(m) < step / 1e6 ? 0 : m);
      return out;
    };
    return s;
  }

  // ------------------------------------------------------------------ the frontier
  function better(dir, a, b) { return dir === "higher" ? a > b : a < b; }
  function dominates(p, q, ax, ay) {
    var px = p.v[ax.name], py = p.v[ay.name], qx = q.v[ax.name], qy = q.v[ay.name];
    var noWorse = !better(ax.direction, qx, px) && !better(ay.direction, qy, py);
    return noWorse && (better(ax.direction, px, qx) || better(ay.direction, py, qy));
  }
  function fronts(points, ds, ax, ay) {
    var groups = {}, apart = ds.front_by.filter(function (f) {  // only the facets that differ name a group
      return points.some(function (p) { return p.f[f] !== points[0].f[f]; });
    });
    points.forEach(function (p) {
      var key = apart.map(function (f) { return f + "=" + p.f[f]; }).join(", ");
      (groups[key] = groups[key] || []).push(p);
    });
    return Object.keys(groups).map(function (key) {
      var g = groups[key];
      var front = g.filter(function (p) { return !g.some(function (q) { return q !== p && dominates(q, p, ax, ay); }); });
      front.sort(function (p, q) { return p.v[ax.name] - q.v[ax.name]; });
      return { key: key, points: front };
    });
  }

  // ------------------------------------------------------------------ drawing
  function showTip(p, ds, ax, ay, node) {
    tip.textContent = "";
    tip.appendChild(el("strong", {}, p.f[ds.colour_by]));
    var others = ds.facets.concat(ds.front_by).filter(function (f, i, all) {
      return f !== ds.colour_by && all.indexOf(f) === i;
    });
    tip.appendChild(el("div", {}, others.map(function (f) { return f + ": " + p.f[f]; }).join(", ")));
    tip.appendChild(el("div", {}, ax.label + ": " + num(p.v[ax.name], ax.unit) + "; " + ay.label + ": " + num(p.v[ay.name], ay.unit)));
    if (p.ids.length) tip.appendChild(el("div", { class: "ex-ids" }, "run ids: " + p.ids.join(", ")));
    if (p.info) tip.appendChild(el("div", { class: "ex-info" }, p.info));
    var r = node.getBoundingClientRect(), box0 = root.getBoundingClientRect();
    tip.hidden = false;
    var left = r.left - box0.left + 12, width = tip.offsetWidth;
    if (left + width > root.clientWidth) left = Math.max(0, r.left - box0.left - width - 8);
    tip.style.left = left + "px";
    tip.style.top = (r.top - box0.top + 12) + "px";
  }
  function hideTip() { tip.hidden = true; }

  function draw() {
    var ds = sets[state.set], ax = axisOf(ds, state.x), ay = axisOf(ds, state.y);
    hideTip();
    plot.textContent = "";
    var shown = ds.points.filter(function (p) {
      return ds.facets.every(function (f) { return !(state.off[f] || {})[p.f[f]]; });
    });
    var missing = 0, nonpos = 0;
    var pts = shown.filter(function (p) {
      var x = p.v[ax.name], y = p.v[ay.name];
      if (x === undefined || y === undefined) { missing++; return false; }
      if ((state.logx && x <= 0) || (state.logy && y <= 0)) { nonpos++; return false; }
      return true;
    });
    plot.appendChild(el("svg:rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, class: "ex-frame" }));
    var text = [pts.length + " of " + ds.points.length + " points drawn"];
    if (shown.length < ds.points.length) text.push((ds.points.length - shown.length) + " filtered out");
    if (missing) text.push(missing + " without a value on both axes");
    if (nonpos) text.push(nonpos + " not above 0 on a log axis");
    if (!pts.length) {
      plot.appendChild(el("svg:text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "nothing to draw"));
      summary.textContent = text.join("; ") + ".";
      legend.textContent = "";
      return;
    }
    var sx = scale(pts.map(function (p) { return p.v[ax.name]; }), state.logx, M.l, W - M.r, ax.unit === "bytes");
    var sy = scale(pts.map(function (p) { return p.v[ay.name]; }), state.logy, H - M.b, M.t, ay.unit === "bytes");
    sx.ticks().forEach(function (v) {
      plot.appendChild(el("svg:line", { x1: sx(v), x2: sx(v), y1: M.t, y2: H - M.b, class: "ex-grid" }));
      plot.appendChild(el("svg:text", { x: sx(v), y: H - M.b + 16, "text-anchor": "middle" }, num(v, ax.unit)));
    });
    sy.ticks().forEach(function (v) {
      plot.appendChild(el("svg:line", { x1: M.l, x2: W - M.r, y1: sy(v), y2: sy(v), class: "ex-grid" }));
      plot.appendChild(el("svg:text", { x: M.l - 6, y: sy(v) + 4, "text-anchor": "end" }, num(v, ay.unit)));
    });
    plot.appendChild(el("svg:text", { x: (M.l + W - M.r) / 2, y: H - 10, "text-anchor": "middle", class: "ex-label" },
      axisText(ax) + (state.logx ? ", log" : "")));
    plot.appendChild(el("svg:text", { x: 14, y: (M.t + H - M.b) / 2, "text-anchor": "middle", class: "ex-label",
      transform: "rotate(-90 14 " + (M.t + H - M.b) / 2 + ")" }, axisText(ay) + (state.logy ? ", log" : "")));

    var onFront = new Set(), lines = [];
    if (ax.direction && ay.direction && ax.name !== ay.name) {
      var all = fronts(pts, ds, ax, ay), groups = all.length;
      all.forEach(function (g) {
        g.points.forEach(function (p) { onFront.add(p); });
        if (g.points.length > 1) {
          plot.appendChild(el("svg:polyline", { class: "ex-front", points: g.points.map(function (p) {
            return sx(p.v[ax.name]).toFixed(1) + "," + sy(p.v[ay.name]).toFixed(1);
          }).join(" ") }));
        }
        var last = g.points[g.points.length - 1];
        if (g.key && groups > 1 && groups <= 4) {  // which group's frontier: named at its last point
          var lx = sx(last.v[ax.name]), right = lx > W * 0.7;
          plot.appendChild(el("svg:text", { x: lx + (right ? -9 : 9), y: sy(last.v[ay.name]) - 8, class: "ex-group",
            "text-anchor": right ? "end" : "start" }, g.key));
        }
        lines.push((g.key ? g.key + ": " : "") + g.points.map(function (p) { return p.f[ds.colour_by]; }).join(", "));
      });
      text.push("frontier (" + ax.label + arrow(ax) + ", " + ay.label + arrow(ay) + ") " + lines.join("; "));
    } else {
      text.push("no frontier: " + (ax.name === ay.name ? "x and y are one metric" : "a setting is on an axis, not a ranked metric"));
    }
    var used = [];
    pts.forEach(function (p, i) {
      var c = ds.colours[p.f[ds.colour_by]] || "#555";
      if (used.indexOf(p.f[ds.colour_by]) < 0) used.push(p.f[ds.colour_by]);
      var dot = el("svg:circle", {
        cx: sx(p.v[ax.name]).toFixed(2), cy: sy(p.v[ay.name]).toFixed(2), r: onFront.has(p) ? 6.5 : 5, fill: c,
        class: onFront.has(p) ? "ex-point ex-on-front" : "ex-point", tabindex: "0", "data-i": String(i),
        "data-label": p.f[ds.colour_by], "data-ids": p.ids.join(" "),
        "aria-label": p.f[ds.colour_by] + ": " + num(p.v[ax.name], ax.unit) + ", " + num(p.v[ay.name], ay.unit)
      });
      var show = function () { showTip(p, ds, ax, ay, dot); };
      dot.addEventListener("mouseenter", show);
      dot.addEventListener("focus", show);
      dot.addEventListener("mouseleave", hideTip);
      dot.addEventListener("blur", hideTip);
      plot.appendChild(dot);
    });
    legend.textContent = "";
    used.forEach(function (name) {
      var item = el("span", { class: "ex-key" });
      var sw = el("span", { class: "ex-swatch" });
      sw.style.background = ds.colours[name] || "#555";
      item.appendChild(sw);
      item.appendChild(document.createTextNode(name));
      legend.appendChild(item);
    });
    summary.textContent = text.join("; ") + ".";
  }

  choose(0);
  draw();
  root.setAttribute("data-ready", "1");
})();
