/* SPDX-License-Identifier: Apache-2.0 */
/*
 * weir-graph: the cluster-wide service graph server (Istio's servicegraph addon, without
 * Istio). main.c serves HTTP with libevent and builds graphs from Prometheus
 * (telemetry/promgraph.h); render.c turns DOT into SVG with Graphviz's library; pages.c
 * holds the two HTML pages, their script written for weir and embedded in the binary.
 */
#ifndef WEIR_TOOLS_GRAPHSRV_H
#define WEIR_TOOLS_GRAPHSRV_H

#include "lib/strbuf.h"

/*
 * Lays out the DOT text <dot> with Graphviz's "dot" engine and appends the SVG document to
 * <out>, from its <svg> element on (no XML prolog, so that it can sit inside HTML).
 * Returns 0, -EINVAL (Graphviz could not read or lay out <dot>) or -ENOMEM.
 */
int render_svg(const char *dot, struct strbuf *out);

/* The /force page: a self-contained HTML document with its script. */
extern const char pages_force_html[];

/*
 * Appends the /dotviz page around <svg> (the rendered picture) to <out>, reloading itself
 * every <refresh_s> seconds with the same query string <query> (may be NULL; escaped here).
 */
void pages_dotviz(struct strbuf *out, const char *svg, const char *query, unsigned refresh_s);

#endif /* WEIR_TOOLS_GRAPHSRV_H */
