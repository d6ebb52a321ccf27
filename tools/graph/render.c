// SPDX-License-Identifier: Apache-2.0
/*
 * DOT to SVG in-process with Graphviz's library (libgvc, Debian libgraphviz-dev), so that
 * /dotviz needs neither a dot process per request nor a renderer in the browser. One
 * Graphviz context for the life of the process: creating one loads the plugins.
 */
#include <errno.h>
#include <string.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "graphsrv.h"

static GVC_t *render_gvc;

int render_svg(const char *dot, struct strbuf *out)
{
	unsigned int len = 0;
	char *data = NULL;
	const char *svg;
	Agraph_t *g;
	int err = -EINVAL;

	if (!render_gvc) {
		render_gvc = gvContext();
		if (!render_gvc)
			return -ENOMEM;
	}
	/* Graphviz reports its own errors on stderr; the caller answers with one line. */
	g = agmemread(dot);
	if (!g)
		return -EINVAL;
	if (gvLayout(render_gvc, g, "dot"))
		goto out_close;
	if (gvRenderData(render_gvc, g, "svg", &data, &len) || !data)
		goto out_layout;
	/* Skip the <?xml?> prolog and the DOCTYPE: HTML takes the <svg> element only. */
	svg = strstr(data, "<svg");
	if (svg) {
		strbuf_append(out, svg, len - (size_t)(svg - data));
		err = out->err;
	}
	gvFreeRenderData(data);
out_layout:
	gvFreeLayout(render_gvc, g);
out_close:
	agclose(g);
	return err;
}
