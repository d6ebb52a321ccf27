// SPDX-License-Identifier: Apache-2.0
/*
 * The pages weir-graph serves, embedded so that the binary needs no files and a browser
 * loads nothing from anywhere else. /force draws /graph with a small force-directed layout
 * of its own (one node per service and version); /dotviz wraps Graphviz's SVG.
 */
#include <string.h>

#include "graphsrv.h"

/* Edge widths grow with the log of the rate; request edges go from green to red at 20 %
 * errors; the page polls /graph (with its own query string) every 3 s. */
const char pages_force_html[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>weir service graph</title>\n"
    "<style>\n"
    "body { font-family: sans-serif; margin: 0; background: #fafafa; }\n"
    "#bar { padding: 6px 10px; background: #223; color: #eee; font-size: 13px; }\n"
    "#bar a { color: #9cf; }\n"
    "#graph { width: 100vw; height: calc(100vh - 30px); display: block; }\n"
    ".n circle { stroke: #334; stroke-width: 1.5px; fill: #9cf; }\n"
    ".n text { font-size: 12px; fill: #112; }\n"
    ".e { stroke-opacity: 0.85; }\n"
    "</style></head>\n"
    "<body><div id=\"bar\">weir service graph <a href=\"dotviz\">Graphviz view</a>:\n"
    "<span id=\"status\">loading</span></div>\n"
    "<svg id=\"graph\" xmlns=\"http://www.w3.org/2000/svg\">\n"
    "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"20\" refY=\"5\" markerWidth=\"10\"\n"
    " markerHeight=\"10\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path "
    "d=\"M0,0L10,5L0,10z\" fill=\"#556\"/></marker></defs>\n"
    "<g id=\"edges\"></g><g id=\"nodes\"></g></svg>\n"
    "<script>\n"
    "\"use strict\";\n"
    "/* A force-directed picture of /graph: one node per service and version, one line per edge,\n"
    " * as wide as its rate and as red as its error share, refreshed from /graph every few\n"
    " * seconds. Written for weir: no framework, nothing loaded from elsewhere. */\n"
    "(function () {\n"
    "  var NS = \"http://www.w3.org/2000/svg\", REFRESH_MS = 3000;\n"
    "  var svg = document.getElementById(\"graph\"), status = "
    "document.getElementById(\"status\");\n"
    "  var gEdges = document.getElementById(\"edges\"), gNodes = "
    "document.getElementById(\"nodes\");\n"
    "  var nodes = {}, edges = [], settled = false;\n"
    "\n"
    "  function key(svc, ver) { return ver && ver !== \"unknown\" ? svc + \":\" + ver : svc; }\n"
    "  function el(name, attrs) {\n"
    "    var e = document.createElementNS(NS, name), a;\n"
    "    for (a in attrs) e.setAttribute(a, attrs[a]);\n"
    "    return e;\n"
    "  }\n"
    "  /* Flow edges carry no error rate: blue-grey. Requests: green to red at 20% errors. */\n"
    "  function colour(e) {\n"
    "    if (e.proto !== \"http\" && e.proto !== \"grpc\" && e.proto !== \"mixed\")\n"
    "      return \"#6a7fa0\";\n"
    "    return \"hsl(\" + Math.round(120 * (1 - Math.min(1, e.err * 5))) + \",70%,40%)\";\n"
    "  }\n"
    "  function width(qps) { return (1 + Math.min(8, 2 * Math.log(1 + qps))).toFixed(2); }\n"
    "  function node(k) {\n"
    "    var n = nodes[k], a, w = svg.clientWidth || 800, h = svg.clientHeight || 600, t;\n"
    "    if (n) { n.seen = true; return n; }\n"
    "    a = Math.random() * 2 * Math.PI;\n"
    "    n = nodes[k] = { key: k, x: w / 2 + Math.cos(a) * w / 4,\n"
    "      y: h / 2 + Math.sin(a) * h / 4, vx: 0, vy: 0, seen: true };\n"
    "    n.g = el(\"g\", { \"class\": \"n\", \"data-node\": k });\n"
    "    n.g.appendChild(el(\"circle\", { r: 9 }));\n"
    "    t = el(\"text\", { x: 12, y: 4 });\n"
    "    t.textContent = k;\n"
    "    n.g.appendChild(t);\n"
    "    gNodes.appendChild(n.g);\n"
    "    return n;\n"
    "  }\n"
    "  function load(g) {\n"
    "    var k, names = Object.keys(g.nodes || {});\n"
    "    for (k in nodes) nodes[k].seen = false;\n"
    "    edges.forEach(function (e) { gEdges.removeChild(e.line); });\n"
    "    edges = [];\n"
    "    (g.edges || []).forEach(function (e) {\n"
    "      var l = e.labels || {}, title;\n"
    "      var d = { s: node(key(e.source, l.source_version)), t: node(key(e.target, l.version)),\n"
    "        qps: parseFloat(l.qps) || 0, err: parseFloat(l.error_rate) || 0,\n"
    "        proto: l.protocol || \"tcp\" };\n"
    "      /* A pair's flow edge and request edge sit side by side, not on each other. */\n"
    "      d.off = d.proto === \"http\" || d.proto === \"grpc\" ? 3 : -3;\n"
    "      d.line = el(\"line\", { \"class\": \"e\", stroke: colour(d),\n"
    "        \"stroke-width\": width(d.qps),\n"
    "        \"marker-end\": \"url(#arrow)\", \"data-edge\": d.s.key + \"->\" + d.t.key });\n"
    "      title = el(\"title\", {});\n"
    "      title.textContent = d.s.key + \" -> \" + d.t.key + \" \" + d.proto + \" qps \" + l.qps "
    "+\n"
    "        (l.error_rate ? \" errors \" + (100 * d.err).toFixed(1) + \"%\" : \"\");\n"
    "      d.line.appendChild(title);\n"
    "      gEdges.appendChild(d.line);\n"
    "      edges.push(d);\n"
    "    });\n"
    "    /* A service without edges (filter_empty=false) still gets its node. */\n"
    "    names.forEach(function (s) {\n"
    "      for (k in nodes) if (nodes[k].seen && (k === s || k.indexOf(s + \":\") === 0)) return;\n"
    "      node(s);\n"
    "    });\n"
    "    for (k in nodes) if (!nodes[k].seen) { gNodes.removeChild(nodes[k].g); delete nodes[k]; "
    "}\n"
    "  }\n"
    "  /* One step: nodes repel, edges pull (harder the busier), everything drifts to the middle. "
    "*/\n"
    "  function tick() {\n"
    "    var list = Object.keys(nodes).map(function (k) { return nodes[k]; });\n"
    "    var w = svg.clientWidth || 800, h = svg.clientHeight || 600, i, j, a, b, dx, dy, d2, d, "
    "f;\n"
    "    for (i = 0; i < list.length; i++)\n"
    "      for (j = i + 1; j < list.length; j++) {\n"
    "        a = list[i]; b = list[j];\n"
    "        dx = a.x - b.x; dy = a.y - b.y;\n"
    "        d2 = Math.max(dx * dx + dy * dy, 25); d = Math.sqrt(d2); f = 6000 / d2;\n"
    "        a.vx += f * dx / d; a.vy += f * dy / d; b.vx -= f * dx / d; b.vy -= f * dy / d;\n"
    "      }\n"
    "    edges.forEach(function (e) {\n"
    "      dx = e.t.x - e.s.x; dy = e.t.y - e.s.y; d = Math.max(1, Math.sqrt(dx * dx + dy * dy));\n"
    "      f = (d - 170) * 0.01 * (1 + Math.log(1 + e.qps) / 4);\n"
    "      e.s.vx += f * dx / d; e.s.vy += f * dy / d; e.t.vx -= f * dx / d; e.t.vy -= f * dy / "
    "d;\n"
    "    });\n"
    "    list.forEach(function (n) {\n"
    "      n.vx = (n.vx + (w / 2 - n.x) * 0.002) * 0.8; n.vy = (n.vy + (h / 2 - n.y) * 0.002) * "
    "0.8;\n"
    "      n.x = Math.max(20, Math.min(w - 100, n.x + n.vx));\n"
    "      n.y = Math.max(20, Math.min(h - 20, n.y + n.vy));\n"
    "    });\n"
    "  }\n"
    "  function draw() {\n"
    "    var k, dx, dy, d;\n"
    "    for (k in nodes)\n"
    "      nodes[k].g.setAttribute(\"transform\", \"translate(\" + nodes[k].x.toFixed(1) + \",\" "
    "+\n"
    "        nodes[k].y.toFixed(1) + \")\");\n"
    "    edges.forEach(function (e) {\n"
    "      dx = e.t.x - e.s.x; dy = e.t.y - e.s.y; d = Math.max(1, Math.sqrt(dx * dx + dy * dy));\n"
    "      dx = -dy / d * e.off; dy = (e.t.x - e.s.x) / d * e.off;\n"
    "      e.line.setAttribute(\"x1\", (e.s.x + dx).toFixed(1));\n"
    "      e.line.setAttribute(\"y1\", (e.s.y + dy).toFixed(1));\n"
    "      e.line.setAttribute(\"x2\", (e.t.x + dx).toFixed(1));\n"
    "      e.line.setAttribute(\"y2\", (e.t.y + dy).toFixed(1));\n"
    "    });\n"
    "  }\n"
    "  function refresh() {\n"
    "    fetch(\"graph\" + location.search, { cache: \"no-store\" }).then(function (r) {\n"
    "      return r.json().then(function (j) {\n"
    "        if (!r.ok) throw new Error(j.error || \"HTTP \" + r.status);\n"
    "        return j;\n"
    "      });\n"
    "    }).then(function (g) {\n"
    "      var i;\n"
    "      load(g);\n"
    "      if (!settled) { for (i = 0; i < 300; i++) tick(); settled = true; }\n"
    "      draw();\n"
    "      status.textContent = Object.keys(nodes).length + \" nodes, \" + edges.length +\n"
    "        \" edges over \" + (g.time_horizon || \"?\") + \", updated \" +\n"
    "        new Date().toLocaleTimeString() +\n"
    "        (g.warnings ? \"; partial: \" + g.warnings.join(\"; \") : \"\");\n"
    "      document.body.setAttribute(\"data-state\", \"ready\");\n"
    "    }).catch(function (e) {\n"
    "      status.textContent = \"graph unavailable: \" + e.message;\n"
    "      document.body.setAttribute(\"data-state\", \"error\");\n"
    "    });\n"
    "  }\n"
    "  refresh();\n"
    "  setInterval(refresh, REFRESH_MS);\n"
    "  setInterval(function () { if (edges.length) { tick(); draw(); } }, 50);\n"
    "})();\n"
    "</script></body></html>\n";

/* Appends <s> escaped for HTML text and attribute values. */
static void pages_html_esc(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			strbuf_puts(out, "&amp;");
			break;
		case '<':
			strbuf_puts(out, "&lt;");
			break;
		case '>':
			strbuf_puts(out, "&gt;");
			break;
		case '"':
			strbuf_puts(out, "&quot;");
			break;
		case '\'':
			strbuf_puts(out, "&#39;");
			break;
		default:
			strbuf_append(out, s, 1);
		}
	}
}

/* Appends "<path>?<query>" (escaped) for the page's links. */
static void pages_link(struct strbuf *out, const char *path, const char *query)
{
	pages_html_esc(out, path);
	if (query && query[0]) {
		strbuf_puts(out, "?");
		pages_html_esc(out, query);
	}
}

void pages_dotviz(struct strbuf *out, const char *svg, const char *query, unsigned refresh_s)
{
	strbuf_printf(
	    out,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"refresh\" content=\"%u\">\n"
	    "<title>weir service graph (Graphviz)</title>\n"
	    "<style>body { font-family: sans-serif; margin: 0; } #bar { padding: 6px 10px; "
	    "background: #223; color: #eee; font-size: 13px; } #bar a { color: #9cf; } "
	    "#picture { padding: 10px; }</style></head>\n<body><div id=\"bar\">weir "
	    "service graph, rendered by Graphviz; reloads every %u s: <a href=\"",
	    refresh_s, refresh_s);
	pages_link(out, "force", query);
	strbuf_puts(out, "\">live force view</a> <a href=\"");
	pages_link(out, "dotgraph", query);
	strbuf_puts(out, "\">DOT</a> <a href=\"");
	pages_link(out, "graph", query);
	strbuf_puts(out, "\">JSON</a></div>\n<div id=\"picture\">\n");
	strbuf_puts(out, svg);
	strbuf_puts(out, "</div></body></html>\n");
}
