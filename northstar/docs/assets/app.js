/* Northstar docs: catalog pages, the lineage graph (cytoscape.js + dagre) and metric charts (uPlot).
 * Data comes from data.js (window.NORTHSTAR_DOCS), so the site works from file:// without any request. */
(function () {
  "use strict";

  var DATA = window.NORTHSTAR_DOCS;
  var KINDS = ["metric", "semantic_model", "model", "source", "seed"];
  var KIND_TITLES = {
    metric: "Metrics", semantic_model: "Semantic models", model: "Models", source: "Sources", seed: "Seeds"
  };
  var COLORS = {
    seed: "#7b8794", source: "#3f9142", model: "#2f6fde", semantic_model: "#8e44ad", metric: "#d9822b"
  };
  var LINE_COLORS = ["#2f6fde", "#d9822b", "#3f9142", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#f1c40f"];
  var SEP = "::";
  var ROWS = "*";

  // -- indexes -------------------------------------------------------------------------------------------------
  var byId = new Map();
  var nodeChildren = new Map();
  DATA.nodes.forEach(function (n) { byId.set(n.id, n); nodeChildren.set(n.id, []); });
  DATA.nodes.forEach(function (n) {
    n.parents.forEach(function (p) { if (nodeChildren.has(p)) nodeChildren.get(p).push(n.id); });
  });
  var colParents = new Map();
  var colChildren = new Map();
  Object.keys(DATA.column_edges).forEach(function (uid) {
    var columns = DATA.column_edges[uid];
    Object.keys(columns).forEach(function (col) {
      var key = uid + SEP + col;
      var edges = columns[col].map(function (e) { return { kind: e[0], key: e[1] + SEP + e[2] }; });
      colParents.set(key, edges);
      edges.forEach(function (e) {
        if (!colChildren.has(e.key)) colChildren.set(e.key, []);
        colChildren.get(e.key).push({ kind: e.kind, key: key });
      });
    });
  });

  function splitKey(key) {
    var at = key.lastIndexOf(SEP);
    return [key.slice(0, at), key.slice(at + SEP.length)];
  }
  function nodeName(uid) { return byId.has(uid) ? byId.get(uid).name : uid; }
  // Semantic models are named semantic_model:orders to tell them from a model "orders"; the colour says it too.
  function shortName(n) { return n.kind === "semantic_model" ? n.name.replace(/^semantic_model:/, "") : n.name; }
  function columnLabel(key) {
    var parts = splitKey(key);
    return parts[1] === ROWS ? nodeName(parts[0]) + " (rows)" : nodeName(parts[0]) + "." + parts[1];
  }
  function isRaw(key) {
    var node = byId.get(splitKey(key)[0]);
    return !!node && (node.kind === "seed" || node.kind === "source") && splitKey(key)[1] !== ROWS;
  }
  function closure(start, edges, stop) {
    var seen = new Set();
    var stack = [start];
    while (stack.length) {
      var item = stack.pop();
      if (stop && item !== start && stop(item)) continue;
      (edges.get(item) || []).forEach(function (e) {
        if (!seen.has(e.key)) { seen.add(e.key); stack.push(e.key); }
      });
    }
    return seen;
  }
  function rawColumns(key) {
    var found = [];
    closure(key, colParents, isRaw).forEach(function (k) { if (isRaw(k)) found.push(columnLabel(k)); });
    return found.sort();
  }
  function nodeClosure(uid, up) {
    var seen = new Set();
    var stack = [uid];
    while (stack.length) {
      var item = stack.pop();
      var next = up ? (byId.has(item) ? byId.get(item).parents : []) : (nodeChildren.get(item) || []);
      next.forEach(function (n) { if (!seen.has(n) && byId.has(n)) { seen.add(n); stack.push(n); } });
    }
    return seen;
  }

  // -- small DOM helpers ---------------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "onclick") node.addEventListener("click", attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function link(uid) {
    return el("a", { href: "#node/" + encodeURIComponent(uid), text: nodeName(uid) });
  }
  function badge(kind) {
    return el("span", { "class": "badge kind-" + kind, text: kind.replace("_", " ") });
  }

  // -- the lineage graph ---------------------------------------------------------------------------------------
  var cy = null;
  var shownColumns = new Map(); // uid -> Set of columns shown inside the node (compound)

  function textWidth(label) { return Math.max(60, label.length * 7.2 + 20); }
  // Labels are 12px at zoom 1; below MIN_ZOOM they would be drawn under 11px, which nobody can read. So the graph
  // never zooms out further: "Fit" fits the whole graph when it can, else shows it from its top left at MIN_ZOOM.
  var FONT_SIZE = 12;
  var MIN_ZOOM = 11 / FONT_SIZE;

  function graphStyle() {
    return [
      {
        selector: "node",
        style: {
          "label": "data(label)", "text-valign": "center", "text-halign": "center", "color": "#fff",
          "font-size": FONT_SIZE, "shape": "round-rectangle", "width": "data(w)", "height": 20,
          "background-color": "data(color)", "border-width": 0
        }
      },
      {
        selector: "node.expanded",
        style: {
          "text-valign": "top", "text-halign": "center", "color": "#1f2933", "font-weight": "bold",
          "background-color": "#fff", "background-opacity": 0.9, "border-width": 2, "border-color": "data(color)",
          "padding": 8, "text-margin-y": -4
        }
      },
      {
        selector: "node.column",
        style: {
          "background-color": "#fff", "color": "#1f2933", "border-width": 1, "border-color": "data(color)",
          "font-size": FONT_SIZE, "height": 18, "font-weight": "normal"
        }
      },
      {
        selector: "edge",
        style: {
          "width": 1.5, "line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1", "target-arrow-shape": "triangle",
          "curve-style": "bezier", "arrow-scale": 0.8
        }
      },
      { selector: "edge.column-edge", style: { "line-color": "#2f6fde", "target-arrow-color": "#2f6fde" } },
      {
        selector: "edge.filter, edge.rows",
        style: { "line-style": "dashed", "line-color": "#d9822b", "target-arrow-color": "#d9822b" }
      },
      { selector: ".faded", style: { "opacity": 0.12 } },
      { selector: "node.focused", style: { "border-width": 4, "border-color": "#102a43" } },
      { selector: "node.column.focused", style: { "border-width": 3, "border-color": "#102a43" } },
      { selector: "node.match", style: { "border-width": 3, "border-color": "#f1c40f" } }
    ];
  }

  function nodeElement(n) {
    return {
      group: "nodes",
      data: { id: n.id, label: shortName(n), kind: n.kind, color: COLORS[n.kind] || "#7b8794",
        w: textWidth(shortName(n)) }
    };
  }

  function buildGraph() {
    var elements = DATA.nodes.map(nodeElement);
    DATA.nodes.forEach(function (n) {
      n.parents.forEach(function (p) {
        if (byId.has(p)) elements.push({ group: "edges", data: { id: p + "->" + n.id, source: p, target: n.id } });
      });
    });
    cy = cytoscape({
      container: document.getElementById("cy"),
      elements: elements,
      style: graphStyle(),
      minZoom: MIN_ZOOM,
      maxZoom: 3,
      layout: layoutOptions()
    });
    fitReadable();
    window.northstarGraph = cy; // for the browser tests and for curious users in the console
    cy.on("tap", "node", function (event) {
      var node = event.target;
      // The view stays where it is, so that a second click (a double-click) lands on the same node.
      if (node.hasClass("column")) followColumn(node.id());
      else focusNode(node.id(), true);
    });
    cy.on("dbltap", "node", function (event) {
      if (!event.target.hasClass("column")) toggleColumns(event.target.id());
    });
    cy.on("tap", function (event) { if (event.target === cy) clearFocus(); });
  }

  function layoutOptions() {
    return { name: "dagre", rankDir: "LR", nodeSep: 4, rankSep: 50, edgeSep: 4, animate: false, fit: false,
      padding: 24 };
  }

  // Fit the graph, but never below MIN_ZOOM (labels stay readable) nor above 1.2 (a small project is not drawn huge).
  function fitReadable(elements) {
    var shown = elements || cy.elements();
    var box = shown.boundingBox();
    var padding = 24;
    var zoom = Math.min((cy.width() - 2 * padding) / Math.max(box.w, 1), (cy.height() - 2 * padding) / Math.max(box.h, 1));
    zoom = Math.max(MIN_ZOOM, Math.min(1.2, zoom));
    cy.zoom(zoom);
    var fitsX = box.w * zoom <= cy.width() - 2 * padding;
    var fitsY = box.h * zoom <= cy.height() - 2 * padding;
    cy.pan({
      x: fitsX ? (cy.width() - box.w * zoom) / 2 - box.x1 * zoom : padding - box.x1 * zoom,
      y: fitsY ? (cy.height() - box.h * zoom) / 2 - box.y1 * zoom : padding - box.y1 * zoom
    });
    document.body.setAttribute("data-fit", fitsX && fitsY ? "whole" : "partial");
  }

  function relayout() {
    cy.layout(layoutOptions()).run();
    fitReadable();
  }

  function setColumns(uid, columns) {
    var node = cy.getElementById(uid);
    cy.elements("edge.column-edge").remove();
    node.children().remove();
    if (columns && columns.size) {
      shownColumns.set(uid, columns);
      node.addClass("expanded");
      var color = COLORS[byId.get(uid).kind];
      columns.forEach(function (col) {
        var label = col === ROWS ? "(rows)" : col;
        cy.add({ group: "nodes", classes: "column",
          data: { id: uid + SEP + col, parent: uid, label: label, color: color, w: textWidth(label) } });
      });
    } else {
      shownColumns.delete(uid);
      node.removeClass("expanded");
    }
    addColumnEdges();
  }

  function addColumnEdges() {
    cy.elements("edge.column-edge").remove();
    var edges = [];
    cy.nodes(".column").forEach(function (child) {
      (colParents.get(child.id()) || []).forEach(function (e) {
        if (cy.getElementById(e.key).nonempty()) {
          edges.push({ group: "edges", classes: "column-edge " + e.kind,
            data: { id: e.key + "=>" + child.id(), source: e.key, target: child.id(), kind: e.kind } });
        }
      });
    });
    cy.add(edges);
  }

  function allColumns(uid) {
    var node = byId.get(uid);
    var columns = new Set(node.columns.map(function (c) { return c.name; }));
    Object.keys(DATA.column_edges[uid] || {}).forEach(function (c) { if (c !== ROWS) columns.add(c); });
    return columns;
  }

  function toggleColumns(uid) {
    setColumns(uid, shownColumns.has(uid) ? null : allColumns(uid));
    relayout();
    focusNode(uid, true);
  }

  function collapseAll() {
    Array.from(shownColumns.keys()).forEach(function (uid) { setColumns(uid, null); });
    relayout();
  }

  function clearFocus() {
    if (!cy) return;
    cy.elements().removeClass("faded focused match");
    document.getElementById("panel").hidden = true;
    document.body.removeAttribute("data-focus");
  }

  function focusNode(uid, keepView) {
    if (!cy || !byId.has(uid)) return;
    var keep = new Set([uid]);
    nodeClosure(uid, true).forEach(function (n) { keep.add(n); });
    nodeClosure(uid, false).forEach(function (n) { keep.add(n); });
    cy.elements().removeClass("faded focused match");
    var kept = cy.nodes().filter(function (n) {
      var owner = n.hasClass("column") ? n.data("parent") : n.id();
      return keep.has(owner);
    });
    var shown = kept.union(kept.edgesWith(kept));
    cy.elements().difference(shown).addClass("faded");
    cy.getElementById(uid).addClass("focused");
    if (!keepView) fitReadable(shown);
    document.body.setAttribute("data-focus", uid);
    showPanel(uid, keep.size - 1);
  }

  function followColumn(key) {
    var parts = splitKey(key);
    var path = new Set([key]);
    closure(key, colParents).forEach(function (k) { path.add(k); });
    closure(key, colChildren).forEach(function (k) { path.add(k); });
    // Show, inside each node on the path, the columns on the path (and keep what was shown before).
    var wanted = new Map();
    path.forEach(function (k) {
      var p = splitKey(k);
      if (!byId.has(p[0])) return;
      if (!wanted.has(p[0])) wanted.set(p[0], new Set(shownColumns.get(p[0]) || []));
      wanted.get(p[0]).add(p[1]);
    });
    wanted.forEach(function (columns, uid) { setColumns(uid, columns); });
    relayout();
    cy.elements().removeClass("faded focused match");
    var onPath = cy.nodes().filter(function (n) {
      return n.hasClass("column") ? path.has(n.id()) : wanted.has(n.id());
    });
    var edges = cy.edges(".column-edge").filter(function (e) {
      return path.has(e.source().id()) && path.has(e.target().id());
    });
    cy.elements().difference(onPath.union(edges)).addClass("faded");
    cy.getElementById(key).addClass("focused");
    fitReadable(onPath); // the layout changed anyway: show the whole path
    document.body.setAttribute("data-focus", key);
    showColumnPanel(key, parts, path);
  }

  function showPanel(uid, related) {
    var node = byId.get(uid);
    var panel = document.getElementById("panel");
    panel.innerHTML = "";
    var parents = node.parents.filter(function (p) { return byId.has(p); });
    var children = nodeChildren.get(uid) || [];
    panel.appendChild(el("h2", { text: node.name }));
    panel.appendChild(el("div", {}, [badge(node.kind), " ", el("span", { "class": "meta", text: node.path || "" })]));
    if (node.description) panel.appendChild(el("p", { "class": "description", text: node.description }));
    panel.appendChild(el("div", { "class": "actions" }, [
      el("a", { href: "#node/" + encodeURIComponent(uid), text: "Open page" }),
      el("button", { type: "button", text: shownColumns.has(uid) ? "Hide columns" : "Show columns",
        onclick: function () { toggleColumns(uid); } })
    ]));
    panel.appendChild(el("p", { "class": "meta",
      text: related + " related nodes \u00b7 " + node.columns.length + " columns" }));
    if (parents.length) panel.appendChild(el("div", {}, [el("strong", { text: "Reads" }), listOf(parents)]));
    if (children.length) panel.appendChild(el("div", {}, [el("strong", { text: "Read by" }), listOf(children)]));
    panel.hidden = false;
  }

  function listOf(uids) {
    return el("ul", {}, uids.map(function (u) {
      return el("li", {}, [el("a", { href: "#graph/" + encodeURIComponent(u), text: nodeName(u) })]);
    }));
  }

  function showColumnPanel(key, parts, path) {
    var panel = document.getElementById("panel");
    panel.innerHTML = "";
    panel.appendChild(el("h2", { text: columnLabel(key) }));
    panel.appendChild(el("div", {}, [badge(byId.get(parts[0]).kind)]));
    var raws = rawColumns(key);
    panel.appendChild(el("p", { "class": "meta", text: (path.size - 1) + " columns on its path" }));
    panel.appendChild(el("strong", { text: "Reads " + raws.length + " raw column" + (raws.length === 1 ? "" : "s") }));
    panel.appendChild(el("ul", { "class": "mono" }, raws.map(function (r) { return el("li", { text: r }); })));
    var fed = Array.from(closure(key, colChildren)).filter(function (k) {
      var owner = byId.get(splitKey(k)[0]);
      return owner && owner.kind === "metric" && splitKey(k)[1] !== ROWS;
    }).map(columnLabel).sort();
    if (fed.length) {
      panel.appendChild(el("strong", { text: "Feeds metrics" }));
      panel.appendChild(el("ul", { "class": "mono" }, fed.map(function (r) { return el("li", { text: r }); })));
    }
    panel.hidden = false;
  }

  // -- pages ---------------------------------------------------------------------------------------------------
  function renderNodePage(uid) {
    var node = byId.get(uid);
    var page = document.getElementById("page-view");
    page.innerHTML = "";
    if (!node) {
      page.appendChild(el("p", { "class": "problem", text: "Nothing named " + uid + " in this project." }));
      return;
    }
    page.appendChild(el("h1", {}, [node.name + " ", badge(node.kind)]));
    var meta = [node.path];
    if (node.relation) meta.push("relation " + node.relation);
    if (node.materialized) meta.push(node.materialized);
    if (node.type) meta.push(node.type + " metric");
    if (node.owner) meta.push("owner " + node.owner);
    page.appendChild(el("div", { "class": "meta" }, [meta.filter(Boolean).join(" \u00b7 ") + " \u00b7 ",
      el("a", { href: "#graph/" + encodeURIComponent(uid), text: "show in the lineage graph" })]));
    if (node.description) page.appendChild(el("p", { "class": "description", text: node.description }));
    else page.appendChild(el("p", { "class": "notice", text: "No description yet." }));
    if (node.kind === "metric") renderMetric(page, node);
    var parents = node.parents.filter(function (p) { return byId.has(p); });
    var children = nodeChildren.get(uid) || [];
    if (parents.length || children.length) {
      var row = el("p", {});
      if (parents.length) { row.appendChild(el("strong", { text: "Reads: " })); joinLinks(row, parents); }
      if (children.length) { row.appendChild(el("br")); row.appendChild(el("strong", { text: "Read by: " })); joinLinks(row, children); }
      page.appendChild(row);
    }
    if (node.tests && node.tests.length) {
      page.appendChild(el("p", { "class": "tests" }, [el("strong", { text: "Tests: " })].concat(
        node.tests.map(function (t) { return el("span", { text: t }); }))));
    }
    page.appendChild(el("h2", { text: "Columns" }));
    page.appendChild(columnsTable(node));
    var unresolved = Object.keys(node.unresolved || {});
    if (unresolved.length) {
      page.appendChild(el("h2", { text: "Unresolved lineage" }));
      page.appendChild(el("ul", {}, unresolved.map(function (c) {
        return el("li", {}, [el("code", { text: c === ROWS ? "(rows)" : c }), ": " + node.unresolved[c]]);
      })));
    }
    if (node.sql) {
      page.appendChild(el("h2", { text: node.kind === "metric" ? "SQL" : "Compiled SQL" }));
      page.appendChild(el("pre", { "class": "sql", text: node.sql }));
    }
    if (node.yaml) {
      page.appendChild(el("h2", { text: "YAML" }));
      page.appendChild(el("pre", { "class": "yaml", text: node.yaml }));
    }
    if (node.raw_sql) {
      page.appendChild(el("details", {}, [el("summary", { text: "Source SQL (" + node.path + ")" }),
        el("pre", { text: node.raw_sql })]));
    }
  }

  function joinLinks(parent, uids) {
    uids.forEach(function (u, i) {
      if (i) parent.appendChild(document.createTextNode(", "));
      parent.appendChild(link(u));
    });
  }

  function columnsTable(node) {
    var head = el("tr", {}, ["Column", "Type", "Description", "Tests", "Reads (raw columns)"].map(function (h) {
      return el("th", { text: h });
    }));
    var rows = node.columns.map(function (c) {
      var key = node.id + SEP + c.name;
      var raws = node.kind === "seed" || node.kind === "source" ? [] : rawColumns(key);
      var follow = el("a", { href: "#column/" + encodeURIComponent(key), text: raws.length ? raws.join(", ") : "\u2014" });
      return el("tr", {}, [
        el("td", {}, [el("code", { text: c.name })]),
        el("td", {}, [el("code", { text: c.type || "" })]),
        el("td", { text: c.description || "" }),
        el("td", { "class": "tests" }, (c.tests || []).map(function (t) { return el("span", { text: t }); })),
        el("td", { "class": "reads" }, [follow])
      ]);
    });
    return el("table", { "class": "columns" }, [el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  var COMPACT = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 });
  var PLAIN = new Intl.NumberFormat("en", { maximumFractionDigits: 4 });
  var PERCENT = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });
  function compact(value) { return value === null || value === undefined ? "" : COMPACT.format(value); }
  // "+ 0" turns -0 (a rounded tiny negative) into 0, so no "-0" is shown.
  function plain(value) { return value === null || value === undefined ? "\u2014" : PLAIN.format(value + 0); }
  function percent(value) { return value === null || value === undefined ? "\u2014" : PERCENT.format(value + 0); }
  function signedPercent(value) {
    return value === null || value === undefined ? "\u2014" : (value > 0 ? "+" : "") + PERCENT.format(value);
  }
  function day(ts) { return new Date(ts * 1000).toISOString().slice(0, 10); }
  function withUnit(label, unit) { return unit ? label + " (" + unit + ")" : label; }

  // The band of a partial last period, hatched grey behind the data, with a word saying what it is.
  function partialHook(series) {
    return function (u) {
      if (series.partial_from === null || series.partial_from === undefined) return;
      var ctx = u.ctx;
      // From halfway between the last full period and the partial one, so the band holds the partial point or bar.
      var at = series.x.indexOf(series.partial_from);
      var previous = at > 0 ? series.x[at - 1] : series.partial_from;
      var left = (u.valToPos(previous, "x", true) + u.valToPos(series.partial_from, "x", true)) / 2;
      var right = u.bbox.left + u.bbox.width;
      ctx.save();
      ctx.fillStyle = "rgba(120, 130, 140, 0.16)";
      ctx.fillRect(left, u.bbox.top, Math.max(right - left, 4), u.bbox.height);
      ctx.fillStyle = "#52606d";
      ctx.font = (12 * devicePixelRatio) + "px sans-serif";
      ctx.textAlign = "right";
      ctx.fillText("partial", right - 4 * devicePixelRatio, u.bbox.top + 14 * devicePixelRatio);
      ctx.restore();
    };
  }

  function timeAxis(series) {
    return { label: series.grain ? "period start (" + series.grain + ", UTC)" : series.time, labelSize: 20 };
  }

  function renderMetric(page, node) {
    var box = el("div", { "class": "chart", id: "chart" });
    page.appendChild(box);
    var series = node.series;
    if (!series) {
      box.appendChild(el("p", { "class": "notice", text: node.series_problem || "No values." }));
      return;
    }
    if (node.measures && node.measures.length) {
      page.insertBefore(el("p", { "class": "meta", text: "Measures: " + node.measures.join(", ") +
        (node.dimensions.length ? " \u00b7 dimensions: " + node.dimensions.join(", ") : "") }), box);
    }
    box.setAttribute("data-kind", series.kind);
    if (series.kind === "value") return renderValue(box, series);
    var width = Math.max(400, Math.min(1080, (page.clientWidth || 1000) - 60));
    var plot = series.kind === "funnel" ? funnelChart(series, width, box)
      : series.kind === "uplift" ? upliftChart(series, width, box) : lineChart(series, width, box);
    box.setAttribute("data-points", String(series.x.length));
    if (series.partial_from !== null && series.partial_from !== undefined) {
      box.setAttribute("data-partial", day(series.partial_from));
      box.appendChild(el("p", { "class": "notice partial", text: "The last " + (series.grain || "period") +
        " (" + day(series.partial_from) + ") is partial: the data ends on " + series.data_end +
        ", so it is drawn shaded and is not a real change." }));
    }
    if (series.kind === "uplift") box.appendChild(upliftTable(series));
    window.northstarChart = plot;
  }

  function renderValue(box, series) {
    var format = series.percent ? percent : plain;
    series.values.forEach(function (pair) {
      box.appendChild(el("div", { "class": "big-value" }, [
        el("span", { "class": "value", text: format(pair[1]) + (series.unit && !series.percent ? " " + series.unit : "") }),
        el("span", { "class": "meta", text: pair[0] })
      ]));
    });
  }

  function lineChart(series, width, box) {
    var format = series.percent ? percent : plain;
    var options = {
      width: width, height: 340,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true } },
      series: [{ label: series.time }].concat(series.lines.map(function (line, i) {
        return { label: line[0], stroke: LINE_COLORS[i % LINE_COLORS.length], width: 2, spanGaps: true,
          points: { size: 4 }, value: function (u, v) { return format(v); } };
      })),
      axes: [timeAxis(series), { size: 80, label: withUnit(series.value, series.unit), labelSize: 20,
        values: function (u, values) { return values.map(series.percent ? percent : compact); } }],
      hooks: { drawClear: [partialHook(series)] }
    };
    return new uPlot(options, [series.x].concat(series.lines.map(function (l) { return l[1]; })), box);
  }

  var STEP_COLORS = ["#9fb3c8", "#2f6fde", "#102a43", "#3f9142"];

  function funnelChart(series, width, box) {
    var bars = uPlot.paths.bars({ size: [0.8, 60], gap: 0 });
    var options = {
      width: width, height: 360,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true }, count: {}, rate: { range: [0, 1] } },
      series: [{ label: series.time, value: function (u, v) { return v === null ? "" : day(v); } }]
        .concat(series.steps.map(function (step, i) {
          return { label: step[0], scale: "count", paths: bars, points: { show: false }, width: 0,
            fill: STEP_COLORS[i % STEP_COLORS.length], stroke: STEP_COLORS[i % STEP_COLORS.length],
            value: function (u, v) { return plain(v); } };
        }))
        .concat([{ label: series.rate[0] + " (rate)", scale: "rate", stroke: "#d9822b", width: 2, spanGaps: true,
          points: { show: false }, value: function (u, v) { return percent(v); } }]),
      axes: [
        timeAxis(series),
        { scale: "count", size: 70, label: "count per " + (series.grain || "period"), labelSize: 20,
          values: function (u, values) { return values.map(compact); } },
        { scale: "rate", side: 1, size: 60, label: "rate (%)", labelSize: 20, grid: { show: false },
          values: function (u, values) { return values.map(percent); } }
      ],
      hooks: { drawClear: [partialHook(series)] }
    };
    var data = [series.x].concat(series.steps.map(function (s) { return s[1]; })).concat([series.rate[1]]);
    return new uPlot(options, data, box);
  }

  function upliftChart(series, width, box) {
    var options = {
      width: width, height: 360,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true } },
      series: [
        { label: series.time, value: function (u, v) { return v === null ? "" : day(v); } },
        { label: "treatment per member", stroke: "#3f9142", width: 2, spanGaps: true, points: { size: 4 },
          value: function (u, v) { return plain(v); } },
        { label: "control per member", stroke: "#7b8794", width: 2, spanGaps: true, points: { size: 4 },
          value: function (u, v) { return plain(v); } },
        { label: "uplift", stroke: "#d9822b", width: 2, spanGaps: true, dash: [6, 4], points: { size: 3 },
          value: function (u, v) { return plain(v); } },
        { label: series.confidence + "% interval (high)", stroke: "rgba(217,130,43,0.35)", width: 1, spanGaps: true,
          points: { show: false }, value: function (u, v) { return plain(v); } },
        { label: series.confidence + "% interval (low)", stroke: "rgba(217,130,43,0.35)", width: 1, spanGaps: true,
          points: { show: false }, value: function (u, v) { return plain(v); } }
      ],
      bands: [{ series: [4, 5], fill: "rgba(217,130,43,0.15)" }],
      axes: [timeAxis(series), { size: 80, label: withUnit("outcome per member", series.unit), labelSize: 20,
        values: function (u, values) { return values.map(plain); } }],
      hooks: { drawClear: [partialHook(series)] }
    };
    var data = [series.x, series.treatment, series.control, series.uplift, series.high, series.low];
    return new uPlot(options, data, box);
  }

  function upliftTable(series) {
    var head = el("tr", {}, ["Period", "Treatment (members)", "Control (members)", "Treatment per member",
      "Control per member", "Uplift", "Relative", series.confidence + "% interval"].map(function (h) {
      return el("th", { text: h });
    }));
    var rows = series.x.map(function (x, i) {
      var partial = series.partial_from !== null && x >= series.partial_from;
      return el("tr", { "class": partial ? "partial" : "" }, [
        el("td", { text: day(x) + (partial ? " (partial)" : "") }),
        el("td", { text: plain(series.treatment_members[i]) }), el("td", { text: plain(series.control_members[i]) }),
        el("td", { text: plain(series.treatment[i]) }), el("td", { text: plain(series.control[i]) }),
        el("td", { text: plain(series.uplift[i]) }), el("td", { text: signedPercent(series.relative[i]) }),
        el("td", { text: "[" + plain(series.low[i]) + ", " + plain(series.high[i]) + "]" })
      ]);
    }).reverse();
    return el("table", { "class": "uplift" }, [el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  function renderCatalog() {
    var page = document.getElementById("page-view");
    page.innerHTML = "";
    page.appendChild(el("h1", { text: "Catalog of " + DATA.project }));
    page.appendChild(el("p", { "class": "meta",
      text: "Generated " + DATA.generated_at + " by Northstar " + DATA.northstar_version }));
    KINDS.forEach(function (kind) {
      var nodes = DATA.nodes.filter(function (n) { return n.kind === kind; });
      if (!nodes.length) return;
      page.appendChild(el("h2", { text: KIND_TITLES[kind] + " (" + nodes.length + ")" }));
      page.appendChild(el("table", {}, [el("tbody", {}, nodes.map(function (n) {
        return el("tr", {}, [el("td", {}, [link(n.id)]), el("td", { text: n.description || "" }),
          el("td", { "class": "meta", text: n.columns.length + " columns" })]);
      }))]));
    });
  }

  // -- sidebar and search --------------------------------------------------------------------------------------
  function renderSidebar() {
    var side = document.getElementById("sidebar");
    KINDS.forEach(function (kind) {
      var nodes = DATA.nodes.filter(function (n) { return n.kind === kind; });
      if (!nodes.length) return;
      side.appendChild(el("h3", { text: KIND_TITLES[kind] }));
      nodes.slice().sort(function (a, b) { return a.name < b.name ? -1 : 1; }).forEach(function (n) {
        side.appendChild(el("a", { href: "#node/" + encodeURIComponent(n.id), "data-id": n.id, text: shortName(n),
          "class": "kind-" + kind }));
      });
    });
  }

  var searchIndex = [];
  DATA.nodes.forEach(function (n) {
    searchIndex.push({ text: n.name.toLowerCase(), label: n.name, kind: n.kind, href: "#graph/" + encodeURIComponent(n.id) });
    n.columns.forEach(function (c) {
      searchIndex.push({ text: (n.name + "." + c.name).toLowerCase(), label: n.name + "." + c.name, kind: "column",
        href: "#column/" + encodeURIComponent(n.id + SEP + c.name) });
    });
  });

  function search(text) {
    var list = document.getElementById("search-results");
    list.innerHTML = "";
    var query = text.trim().toLowerCase();
    if (cy) {
      cy.nodes().removeClass("match");
      if (query) cy.nodes().filter(function (n) { return n.data("label").toLowerCase().indexOf(query) >= 0; })
        .addClass("match");
    }
    if (!query) { list.hidden = true; return; }
    var hits = searchIndex.filter(function (item) { return item.text.indexOf(query) >= 0; })
      .sort(function (a, b) {
        return (a.kind === "column") - (b.kind === "column") || a.text.indexOf(query) - b.text.indexOf(query) ||
          a.text.length - b.text.length;
      }).slice(0, 30);
    hits.forEach(function (hit, i) {
      list.appendChild(el("li", { "class": i === 0 ? "active" : "", "data-href": hit.href,
        onclick: function () { go(hit.href); } }, [hit.label, el("span", { "class": "kind", text: hit.kind.replace("_", " ") })]));
    });
    list.hidden = !hits.length;
  }

  function go(href) {
    document.getElementById("search-results").hidden = true;
    document.getElementById("search").blur();
    if (location.hash === href) route(); else location.hash = href;
  }

  // -- routing -------------------------------------------------------------------------------------------------
  function showGraph() {
    document.getElementById("page-view").hidden = true;
    document.getElementById("graph-view").hidden = false;
    if (!cy) buildGraph(); else cy.resize();
  }

  function route() {
    var hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    var view = "graph";
    document.querySelectorAll("#sidebar a").forEach(function (a) { a.classList.remove("current"); });
    if (hash.indexOf("node/") === 0) {
      view = "page";
      var uid = hash.slice(5);
      document.getElementById("graph-view").hidden = true;
      document.getElementById("page-view").hidden = false;
      renderNodePage(uid);
      var current = document.querySelector('#sidebar a[data-id="' + uid.replace(/"/g, '\\"') + '"]');
      if (current) current.classList.add("current");
      document.getElementById("page-view").scrollTop = 0;
    } else if (hash === "catalog") {
      view = "catalog";
      document.getElementById("graph-view").hidden = true;
      document.getElementById("page-view").hidden = false;
      renderCatalog();
    } else if (hash.indexOf("column/") === 0) {
      showGraph();
      followColumn(hash.slice(7));
    } else if (hash.indexOf("graph/") === 0) {
      showGraph();
      focusNode(hash.slice(6));
    } else {
      showGraph();
    }
    document.querySelectorAll("nav a").forEach(function (a) {
      a.classList.toggle("active", a.getAttribute("data-view") === (view === "page" ? "" : view));
    });
  }

  function start() {
    document.getElementById("project").textContent = DATA.project;
    document.title = DATA.project + " \u00b7 Northstar docs";
    var legend = document.getElementById("legend");
    KINDS.slice().reverse().forEach(function (kind) {
      legend.appendChild(el("span", { "class": "kind-" + kind, text: kind.replace("_", " ") }));
    });
    renderSidebar();
    document.getElementById("fit").addEventListener("click", function () { if (cy) fitReadable(); });
    document.getElementById("clear").addEventListener("click", clearFocus);
    document.getElementById("collapse").addEventListener("click", function () { clearFocus(); collapseAll(); });
    var input = document.getElementById("search");
    input.addEventListener("input", function () { search(input.value); });
    input.addEventListener("keydown", function (event) {
      var items = Array.from(document.querySelectorAll("#search-results li"));
      var at = items.findIndex(function (li) { return li.classList.contains("active"); });
      if (event.key === "Enter" && items.length) go(items[Math.max(at, 0)].getAttribute("data-href"));
      else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!items.length) return;
        var next = (at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        items.forEach(function (li, i) { li.classList.toggle("active", i === next); });
      } else if (event.key === "Escape") {
        document.getElementById("search-results").hidden = true;
      }
    });
    window.addEventListener("hashchange", route);
    route();
    document.body.setAttribute("data-ready", "true");
  }

  if (typeof cytoscape === "undefined" || typeof uPlot === "undefined" || !DATA) {
    document.body.textContent = "The docs site's scripts did not load: keep index.html next to data.js and assets/.";
    return;
  }
  start();
})();
