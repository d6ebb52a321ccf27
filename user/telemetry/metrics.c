// SPDX-License-Identifier: Apache-2.0
/*
 * Prometheus text exposition (metrics.h). Istio's label values are rendered per edge into
 * one label string; sorting those strings and summing equal neighbours is what guarantees
 * one series per label set whatever ids, ports or paths the rows differ in.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry/metrics.h"

static const char *const metrics_hooks[] = {
#define WEIR__NAME(e, s) s,
    WEIR_HOOKS(WEIR__NAME)};
static const char *const metrics_reasons[] = {WEIR_REASONS(WEIR__NAME)
#undef WEIR__NAME
};

const char *metrics_hook_name(unsigned hook)
{
	return hook < WEIR_HOOK_MAX ? metrics_hooks[hook] : "?";
}

const char *metrics_reason_name(unsigned reason)
{
	return reason < WEIR_R_MAX ? metrics_reasons[reason] : "?";
}

static bool metrics_name_ok(const char *s, bool colon)
{
	const char *p;

	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (p = s; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colon && c == ':')))
			return false;
	}
	/* Label names starting with "__" are reserved for Prometheus itself. */
	return colon || strncmp(s, "__", 2);
}

int metrics_family(struct strbuf *out, const char *name, enum metrics_type type, const char *help)
{
	static const char *const types[] = {"counter", "gauge", "untyped", "histogram"};
	const char *p;

	if (!metrics_name_ok(name, true) || (unsigned)type > METRICS_HISTOGRAM)
		return -EINVAL;
	strbuf_printf(out, "# HELP %s ", name);
	/* HELP text escapes only backslash and newline. */
	for (p = help ? help : ""; *p; p++) {
		if (*p == '\\')
			strbuf_puts(out, "\\\\");
		else if (*p == '\n')
			strbuf_puts(out, "\\n");
		else
			strbuf_append(out, p, 1);
	}
	strbuf_printf(out, "\n# TYPE %s %s\n", name, types[type]);
	return out->err;
}

/* Appends `<name>{a="x",b="y"}` (no braces without labels). */
static int metrics_head(struct strbuf *out, const char *name, const struct metrics_label *labels,
			size_t nlabels)
{
	size_t i;

	if (!metrics_name_ok(name, true))
		return -EINVAL;
	for (i = 0; i < nlabels; i++)
		if (!metrics_name_ok(labels[i].name, false))
			return -EINVAL;
	strbuf_puts(out, name);
	for (i = 0; i < nlabels; i++) {
		strbuf_printf(out, "%s%s=\"", i ? "," : "{", labels[i].name);
		strbuf_append_esc(out, labels[i].value ? labels[i].value : "", STRBUF_ESC_PROM);
		strbuf_puts(out, "\"");
	}
	if (nlabels)
		strbuf_puts(out, "}");
	return out->err;
}

int metrics_sample(struct strbuf *out, const char *name, const struct metrics_label *labels,
		   size_t nlabels, double value)
{
	int err = metrics_head(out, name, labels, nlabels);

	if (err)
		return err;
	if (isnan(value))
		strbuf_puts(out, " NaN\n");
	else if (isinf(value))
		strbuf_puts(out, value > 0 ? " +Inf\n" : " -Inf\n");
	else
		strbuf_printf(out, " %.17g\n", value);
	return out->err;
}

int metrics_sample_u64(struct strbuf *out, const char *name, const struct metrics_label *labels,
		       size_t nlabels, uint64_t value)
{
	int err = metrics_head(out, name, labels, nlabels);

	if (err)
		return err;
	strbuf_printf(out, " %" PRIu64 "\n", value);
	return out->err;
}

int metrics_write_reasons(struct strbuf *out, const uint64_t counts[WEIR_REASON_SLOTS])
{
	unsigned h, r;

	metrics_family(out, "weir_datapath_reasons_total", METRICS_COUNTER,
		       "Decisions of the BPF hooks, by hook and reason (summed over CPUs).");
	for (h = 0; h < WEIR_HOOK_MAX; h++) {
		for (r = 0; r < WEIR_R_MAX; r++) {
			struct metrics_label l[2] = {{"hook", metrics_hooks[h]},
						     {"reason", metrics_reasons[r]}};

			metrics_sample_u64(out, "weir_datapath_reasons_total", l, 2,
					   counts[WEIR_REASON_SLOT(h, r)]);
		}
	}
	return out->err;
}

/* One series after labelling: the rendered label set and the sums behind it. */
struct metrics_series {
	char *labels; /* `{a="x",...}`; weir's series leave the `}` off to append direction */
	uint64_t opened, closed, sent, rcvd, srtt_sum, srtt_n, pkts_sent, pkts_rcvd;
	int64_t active;
	bool tcp;  /* weir series: a TCP edge (active connections and RTT apply) */
	bool pkts; /* weir series: a tc edge (packet counters apply) */
};

static int metrics_series_cmp(const void *a, const void *b)
{
	return strcmp(((const struct metrics_series *)a)->labels,
		      ((const struct metrics_series *)b)->labels);
}

/* Sorts <s>[0..*<n>) by label set and sums equal neighbours; frees the duplicates. */
static void metrics_fold(struct metrics_series *s, size_t *n)
{
	size_t i, m = 0;

	if (!*n)
		return;
	qsort(s, *n, sizeof(*s), metrics_series_cmp);
	for (i = 0; i < *n; i++) {
		struct metrics_series *d = m ? &s[m - 1] : NULL;

		if (d && !strcmp(d->labels, s[i].labels)) {
			d->opened += s[i].opened;
			d->closed += s[i].closed;
			d->sent += s[i].sent;
			d->rcvd += s[i].rcvd;
			d->srtt_sum += s[i].srtt_sum;
			d->srtt_n += s[i].srtt_n;
			d->active += s[i].active;
			d->pkts_sent += s[i].pkts_sent;
			d->pkts_rcvd += s[i].pkts_rcvd;
			free(s[i].labels);
		} else {
			s[m++] = s[i];
		}
	}
	*n = m;
}

static const char *metrics_or_unknown(const char *s)
{
	return s && *s ? s : "unknown";
}

/* Renders the label set of <labels>[0..<n>) into a malloc'd `{...}` string. */
static char *metrics_render(const struct metrics_label *labels, size_t n)
{
	struct strbuf sb;
	char *s;

	strbuf_init(&sb);
	if (metrics_head(&sb, "x", labels, n)) {
		strbuf_fini(&sb);
		errno = EINVAL;
		return NULL;
	}
	s = strbuf_steal(&sb);
	if (s)
		memmove(s, s + 1, strlen(s)); /* drop the placeholder name */
	return s;
}

/* The names of one row, resolved once and shared by both label sets. */
struct metrics_names {
	struct weir_wl_info src, dst;
	struct weir_svc_info svc;
	bool src_known, dst_known, svc_known;
	char fqdn[WEIR_NAME_LEN + WEIR_NS_LEN + 64];
};

static void metrics_resolve(uint32_t src_wl, uint32_t dst_wl, uint32_t svc_id,
			    const struct telemetry_names *names, const struct metrics_opts *opts,
			    struct metrics_names *nm)
{
	nm->src_known = telemetry_wl(names, src_wl, &nm->src);
	nm->dst_known = telemetry_wl(names, dst_wl, &nm->dst);
	nm->svc_known = telemetry_svc(names, svc_id, &nm->svc) && nm->svc.name[0];
	if (nm->svc_known)
		snprintf(nm->fqdn, sizeof(nm->fqdn), "%s.%s.svc.%s", nm->svc.name,
			 metrics_or_unknown(nm->svc.ns),
			 opts->cluster_domain ? opts->cluster_domain : "cluster.local");
	else
		snprintf(nm->fqdn, sizeof(nm->fqdn), "unknown");
}

/* The labels a request series adds to the TCP set; NULL for a TCP series. */
struct metrics_l7 {
	const char *reporter, *proto, *code, *grpc, *flags;
};

/* Istio's standard label set (the order Istio's own exposition uses). */
static char *metrics_istio_labels(const struct metrics_names *nm, const struct metrics_opts *opts,
				  const struct metrics_l7 *l7)
{
	const char *cluster = opts->cluster ? opts->cluster : "Kubernetes";
	const struct weir_wl_info *s = &nm->src, *d = &nm->dst;
	/* Unknown source: only the server side saw it, so that side reports (Istio does so
	 * for traffic from outside the mesh). A request names its reporter itself. */
	struct metrics_label l[] = {
	    {"reporter", l7		 ? l7->reporter
			 : nm->src_known ? "source"
					 : "destination"},
	    {"source_workload", metrics_or_unknown(s->name)},
	    {"source_canonical_service", metrics_or_unknown(s->app[0] ? s->app : s->name)},
	    {"source_canonical_revision", metrics_or_unknown(s->version)},
	    {"source_workload_namespace", metrics_or_unknown(s->ns)},
	    {"source_principal", "unknown"},
	    {"source_app", metrics_or_unknown(s->app)},
	    {"source_version", metrics_or_unknown(s->version)},
	    {"source_cluster", cluster},
	    {"destination_workload", metrics_or_unknown(d->name)},
	    {"destination_workload_namespace", metrics_or_unknown(d->ns)},
	    {"destination_principal", "unknown"},
	    {"destination_app", metrics_or_unknown(d->app)},
	    {"destination_version", metrics_or_unknown(d->version)},
	    {"destination_service", nm->fqdn},
	    {"destination_canonical_service", metrics_or_unknown(d->app[0] ? d->app : d->name)},
	    {"destination_canonical_revision", metrics_or_unknown(d->version)},
	    {"destination_service_name", nm->svc_known ? nm->svc.name : "unknown"},
	    {"destination_service_namespace",
	     nm->svc_known ? metrics_or_unknown(nm->svc.ns) : "unknown"},
	    {"destination_cluster", cluster},
	    {"request_protocol", l7 ? l7->proto : "tcp"},
	    /* Requests only: Istio's TCP families carry neither. */
	    {"response_code", l7 ? l7->code : NULL},
	    {"grpc_response_status", l7 ? l7->grpc : NULL},
	    {"response_flags", l7 ? l7->flags : "-"},
	    {"connection_security_policy", "unknown"},
	};
	size_t n = sizeof(l) / sizeof(l[0]);

	if (!l7) { /* close the gap the two request labels leave */
		l[n - 4] = l[n - 2];
		l[n - 3] = l[n - 1];
		n -= 2;
	}
	return metrics_render(l, n);
}

static const char *metrics_path_name(unsigned path)
{
	switch (path) {
	case WEIR_PATH_KERNEL:
		return "kernel";
	case WEIR_PATH_AGENT:
		return "agent";
	case WEIR_PATH_TC:
		return "tc";
	default:
		return "unknown";
	}
}

/* weir's smaller per-edge label set; keeps the path apart (kernel vs agent is the point).
 * Returned without the closing brace, so that a direction label can follow. */
static char *metrics_weir_labels(const struct metrics_names *nm, const struct telemetry_row *row)
{
	char proto[8], *s;
	struct metrics_label l[] = {
	    {"source_workload", metrics_or_unknown(nm->src.name)},
	    {"source_workload_namespace", metrics_or_unknown(nm->src.ns)},
	    {"destination_workload", metrics_or_unknown(nm->dst.name)},
	    {"destination_workload_namespace", metrics_or_unknown(nm->dst.ns)},
	    {"destination_service", nm->fqdn},
	    {"protocol", row->key.proto == IPPROTO_TCP	  ? "tcp"
			 : row->key.proto == IPPROTO_UDP  ? "udp"
			 : row->key.proto == IPPROTO_ICMP ? "icmp"
							  : proto},
	    {"path", metrics_path_name(row->key.path)},
	};

	snprintf(proto, sizeof(proto), "%u", row->key.proto); /* l[5] points here */
	s = metrics_render(l, sizeof(l) / sizeof(l[0]));
	if (s)
		s[strlen(s) - 1] = '\0';
	return s;
}

static void metrics_series_free(struct metrics_series *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(s[i].labels);
	free(s);
}

/* Writes one u64 field of every series of <s> as family <name>. */
static void metrics_write_u64s(struct strbuf *out, const char *name, const char *help,
			       const struct metrics_series *s, size_t n, size_t field_off)
{
	size_t i;

	metrics_family(out, name, METRICS_COUNTER, help);
	for (i = 0; i < n; i++)
		strbuf_printf(out, "%s%s %" PRIu64 "\n", name, s[i].labels,
			      *(const uint64_t *)((const char *)&s[i] + field_off));
}

int metrics_write_edges(struct strbuf *out, const struct telemetry_row *rows, size_t n,
			const struct telemetry_names *names, const struct metrics_opts *opts)
{
	struct metrics_opts defaults = {0};
	struct metrics_series *istio = NULL, *weir = NULL;
	size_t i, ni = 0, nw = 0;
	int err = -ENOMEM;

	if (!opts)
		opts = &defaults;
	if (n) {
		istio = calloc(n, sizeof(*istio));
		weir = calloc(n, sizeof(*weir));
		if (!istio || !weir)
			goto out_free;
	}
	for (i = 0; i < n; i++) {
		const struct telemetry_row *row = &rows[i];
		const struct weir_edge *v = &row->val;
		struct metrics_names nm;

		metrics_resolve(row->key.src_wl, row->key.dst_wl, row->key.svc_id, names, opts,
				&nm);
		if (row->key.proto == IPPROTO_TCP) { /* Istio's tcp_* families are TCP only */
			istio[ni].labels = metrics_istio_labels(&nm, opts, NULL);
			if (!istio[ni].labels)
				goto out_free;
			/* Istio counts from the server's view: "sent" is the response direction. */
			istio[ni].opened = v->conns_opened;
			istio[ni].closed = v->conns_closed;
			istio[ni].sent = v->bytes_rcvd;
			istio[ni].rcvd = v->bytes_sent;
			ni++;
		}

		weir[nw].labels = metrics_weir_labels(&nm, row);
		if (!weir[nw].labels)
			goto out_free;
		weir[nw].tcp = row->key.proto == IPPROTO_TCP;
		weir[nw].pkts = row->key.path == WEIR_PATH_TC;
		weir[nw].opened = v->conns_opened;
		weir[nw].sent = v->bytes_sent;
		weir[nw].rcvd = v->bytes_rcvd;
		weir[nw].pkts_sent = v->pkts_sent;
		weir[nw].pkts_rcvd = v->pkts_rcvd;
		weir[nw].active = v->conns_active;
		weir[nw].srtt_sum = v->srtt_us_sum;
		weir[nw].srtt_n = v->srtt_samples;
		nw++;
	}
	metrics_fold(istio, &ni);
	metrics_fold(weir, &nw);

	metrics_write_u64s(out, "istio_tcp_connections_opened_total",
			   "Total TCP connections opened (Istio standard metric).", istio, ni,
			   offsetof(struct metrics_series, opened));
	metrics_write_u64s(out, "istio_tcp_connections_closed_total",
			   "Total TCP connections closed (Istio standard metric).", istio, ni,
			   offsetof(struct metrics_series, closed));
	metrics_write_u64s(
	    out, "istio_tcp_sent_bytes_total",
	    "Bytes sent in response direction, destination to source (Istio standard metric).",
	    istio, ni, offsetof(struct metrics_series, sent));
	metrics_write_u64s(
	    out, "istio_tcp_received_bytes_total",
	    "Bytes received in request direction, source to destination (Istio standard metric).",
	    istio, ni, offsetof(struct metrics_series, rcvd));

	metrics_family(out, "weir_edge_opened_total", METRICS_COUNTER,
		       "Connections (TCP) or flows (tc) opened, per edge and datapath path.");
	for (i = 0; i < nw; i++)
		strbuf_printf(out, "weir_edge_opened_total%s} %" PRIu64 "\n", weir[i].labels,
			      weir[i].opened);
	/* Directions are the source's: sent is source -> destination. */
	metrics_family(out, "weir_edge_bytes_total", METRICS_COUNTER,
		       "Payload bytes per edge, path and direction (sent: source to destination).");
	for (i = 0; i < nw; i++)
		strbuf_printf(out,
			      "weir_edge_bytes_total%s,direction=\"sent\"} %" PRIu64 "\n"
			      "weir_edge_bytes_total%s,direction=\"received\"} %" PRIu64 "\n",
			      weir[i].labels, weir[i].sent, weir[i].labels, weir[i].rcvd);
	metrics_family(out, "weir_edge_packets_total", METRICS_COUNTER,
		       "Packets per tc-path edge and direction (sent: source to destination).");
	for (i = 0; i < nw; i++)
		if (weir[i].pkts)
			strbuf_printf(
			    out,
			    "weir_edge_packets_total%s,direction=\"sent\"} %" PRIu64 "\n"
			    "weir_edge_packets_total%s,direction=\"received\"} %" PRIu64 "\n",
			    weir[i].labels, weir[i].pkts_sent, weir[i].labels, weir[i].pkts_rcvd);
	metrics_family(out, "weir_tcp_active_connections", METRICS_GAUGE,
		       "TCP connections open now, per edge and datapath path.");
	for (i = 0; i < nw; i++)
		if (weir[i].tcp)
			strbuf_printf(out, "weir_tcp_active_connections%s} %" PRId64 "\n",
				      weir[i].labels, weir[i].active);
	metrics_family(
	    out, "weir_edge_srtt_seconds", METRICS_GAUGE,
	    "Mean smoothed round-trip time of closed TCP connections, per edge and path.");
	for (i = 0; i < nw; i++)
		if (weir[i].tcp && weir[i].srtt_n)
			strbuf_printf(out, "weir_edge_srtt_seconds%s} %.9f\n", weir[i].labels,
				      (double)weir[i].srtt_sum / (double)weir[i].srtt_n / 1e6);
	err = out->err;
out_free:
	/* Before the fold every slot past ni/nw is still zeroed, after it they were moved or
	 * freed: either way [0, ni) and [0, nw) are exactly the live label strings. */
	metrics_series_free(istio, ni);
	metrics_series_free(weir, nw);
	return err;
}

/* One request series after labelling: its Istio label string and the sums behind it. */
struct metrics_req {
	char *labels; /* `{...}` */
	struct reqstats_counts c;
	bool grpc;
};

static int metrics_req_cmp(const void *a, const void *b)
{
	return strcmp(((const struct metrics_req *)a)->labels,
		      ((const struct metrics_req *)b)->labels);
}

/* Labels one series of the store into <m> (labels malloc'd). Returns 0 or -errno. */
static int metrics_req_label(const struct reqstats_series *s, const struct telemetry_names *names,
			     const struct metrics_opts *opts, struct metrics_req *m)
{
	char code[8], grpc[8], flags[REQSTATS_FLAGS_LEN];
	struct metrics_l7 l7 = {
	    .reporter = s->key.reporter == REQSTATS_DESTINATION ? "destination" : "source",
	    .proto = reqstats_proto_name(s->key.proto),
	    .code = code,
	    .grpc = grpc,
	    .flags = flags,
	};
	struct metrics_names nm;

	metrics_resolve(s->key.src_wl, s->key.dst_wl, s->key.svc_id, names, opts, &nm);
	snprintf(code, sizeof(code), "%u", s->key.response_code);
	/* Istio leaves the label empty where no grpc-status was seen (plain HTTP). */
	if (s->key.grpc_status < 0)
		grpc[0] = '\0';
	else
		snprintf(grpc, sizeof(grpc), "%d", s->key.grpc_status);
	if (reqstats_flags_str(s->key.flags, flags, sizeof(flags)) < 0)
		return -EINVAL; /* cannot happen: the buffer fits every flag */
	m->labels = metrics_istio_labels(&nm, opts, &l7);
	if (!m->labels)
		return -errno;
	m->c = s->c;
	m->grpc = s->key.proto == REQSTATS_GRPC;
	return 0;
}

/* Sorts <v>[0..*<n>) by labels and sums equal neighbours (ids that render alike). */
static void metrics_req_fold(struct metrics_req *v, size_t *n)
{
	size_t i, m = 0;
	unsigned b;

	if (!*n)
		return;
	qsort(v, *n, sizeof(*v), metrics_req_cmp);
	for (i = 0; i < *n; i++) {
		struct reqstats_counts *d = m ? &v[m - 1].c : NULL;
		const struct reqstats_counts *s = &v[i].c;

		if (!d || strcmp(v[m - 1].labels, v[i].labels)) {
			v[m++] = v[i];
			continue;
		}
		d->requests += s->requests;
		d->duration_us_sum += s->duration_us_sum;
		d->req_bytes_sum += s->req_bytes_sum;
		d->resp_bytes_sum += s->resp_bytes_sum;
		d->req_msgs += s->req_msgs;
		d->resp_msgs += s->resp_msgs;
		for (b = 0; b <= REQSTATS_BUCKETS; b++) {
			d->duration[b] += s->duration[b];
			d->req_size[b] += s->req_size[b];
			d->resp_size[b] += s->resp_size[b];
		}
		free(v[i].labels);
	}
	*n = m;
}

/*
 * Writes one series of histogram <name>: cumulative _bucket lines (per-bucket counts in
 * <buckets>), then _sum (<sum>, already a decimal string) and _count. <labels> is `{...}`.
 */
static void metrics_hist(struct strbuf *out, const char *name, const char *labels,
			 const uint64_t *buckets, uint64_t count, const char *sum)
{
	int ll = (int)strlen(labels) - 1; /* le goes inside the braces */
	uint64_t cum = 0;
	unsigned i;

	for (i = 0; i < REQSTATS_BUCKETS; i++) {
		cum += buckets[i];
		/* %g prints the bounds as Prometheus's Go clients do (1.8e+06). */
		strbuf_printf(out, "%s_bucket%.*s,le=\"%g\"} %" PRIu64 "\n", name, ll, labels,
			      reqstats_bounds[i], cum);
	}
	strbuf_printf(out, "%s_bucket%.*s,le=\"+Inf\"} %" PRIu64 "\n", name, ll, labels, count);
	strbuf_printf(out, "%s_sum%s %s\n%s_count%s %" PRIu64 "\n", name, labels, sum, name, labels,
		      count);
}

/* The three histogram families, one loop each so that every family stays one block. */
static void metrics_req_hists(struct strbuf *out, const struct metrics_req *v, size_t n)
{
	char sum[48];
	size_t i;

	metrics_family(out, "istio_request_duration_milliseconds", METRICS_HISTOGRAM,
		       "Request duration in milliseconds (Istio standard metric).");
	for (i = 0; i < n; i++) {
		/* Microseconds to milliseconds without rounding: exact to the microsecond. */
		snprintf(sum, sizeof(sum), "%" PRIu64 ".%03u", v[i].c.duration_us_sum / 1000,
			 (unsigned)(v[i].c.duration_us_sum % 1000));
		metrics_hist(out, "istio_request_duration_milliseconds", v[i].labels,
			     v[i].c.duration, v[i].c.requests, sum);
	}
	metrics_family(out, "istio_request_bytes", METRICS_HISTOGRAM,
		       "Request body sizes in bytes (Istio standard metric).");
	for (i = 0; i < n; i++) {
		snprintf(sum, sizeof(sum), "%" PRIu64, v[i].c.req_bytes_sum);
		metrics_hist(out, "istio_request_bytes", v[i].labels, v[i].c.req_size,
			     v[i].c.requests, sum);
	}
	metrics_family(out, "istio_response_bytes", METRICS_HISTOGRAM,
		       "Response body sizes in bytes (Istio standard metric).");
	for (i = 0; i < n; i++) {
		snprintf(sum, sizeof(sum), "%" PRIu64, v[i].c.resp_bytes_sum);
		metrics_hist(out, "istio_response_bytes", v[i].labels, v[i].c.resp_size,
			     v[i].c.requests, sum);
	}
}

int metrics_write_requests(struct strbuf *out, const struct reqstats *rs,
			   const struct telemetry_names *names, const struct metrics_opts *opts)
{
	struct metrics_opts defaults = {0};
	const struct reqstats_series *s;
	struct metrics_req *v = NULL;
	size_t i = 0, n = 0, cap = reqstats_nseries(rs);
	int err = 0;

	if (!opts)
		opts = &defaults;
	if (cap) {
		v = calloc(cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	while (rs && n < cap && (i = reqstats_next(rs, i, &s)) != 0) {
		err = metrics_req_label(s, names, opts, &v[n]);
		if (err)
			goto out_free;
		n++;
	}
	metrics_req_fold(v, &n);

	metrics_family(out, "istio_requests_total", METRICS_COUNTER,
		       "Requests, HTTP and gRPC, by response (Istio standard metric).");
	for (i = 0; i < n; i++)
		strbuf_printf(out, "istio_requests_total%s %" PRIu64 "\n", v[i].labels,
			      v[i].c.requests);
	metrics_req_hists(out, v, n);
	metrics_family(out, "istio_request_messages_total", METRICS_COUNTER,
		       "gRPC request messages (Istio standard metric).");
	for (i = 0; i < n; i++)
		if (v[i].grpc)
			strbuf_printf(out, "istio_request_messages_total%s %" PRIu64 "\n",
				      v[i].labels, v[i].c.req_msgs);
	metrics_family(out, "istio_response_messages_total", METRICS_COUNTER,
		       "gRPC response messages (Istio standard metric).");
	for (i = 0; i < n; i++)
		if (v[i].grpc)
			strbuf_printf(out, "istio_response_messages_total%s %" PRIu64 "\n",
				      v[i].labels, v[i].c.resp_msgs);

	metrics_family(out, "weir_request_series", METRICS_GAUGE,
		       "Request series the agent keeps (bounded by the series cap).");
	metrics_sample_u64(out, "weir_request_series", NULL, 0, reqstats_nseries(rs));
	metrics_family(out, "weir_requests_dropped_total", METRICS_COUNTER,
		       "Requests not counted: series cap reached, out of memory, bad record.");
	metrics_sample_u64(out, "weir_requests_dropped_total", NULL, 0, reqstats_dropped(rs));
	metrics_family(out, "weir_request_series_expired_total", METRICS_COUNTER,
		       "Request series dropped after their workloads went idle or away.");
	metrics_sample_u64(out, "weir_request_series_expired_total", NULL, 0, reqstats_expired(rs));
	err = out->err;
out_free:
	for (i = 0; i < n; i++)
		free(v[i].labels);
	free(v);
	return err;
}
