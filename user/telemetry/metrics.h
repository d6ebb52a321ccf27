/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) for /metrics: Istio's standard TCP metrics
 * from the weir_edges counters, with Istio's label set so existing dashboards work, weir's
 * own datapath metrics, and a small writer API any module uses to add its own families.
 */
#ifndef WEIR_USER_METRICS_H
#define WEIR_USER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <weir/reason.h>

#include "lib/strbuf.h"
#include "telemetry/reqstats.h"
#include "telemetry/telemetry.h"

/* Content-Type of the text format. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A histogram family's samples are <name>_bucket{...,le="..."}, <name>_sum and
 * <name>_count (METRICS_HISTOGRAM was added after the others: values stay stable). */
enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_UNTYPED, METRICS_HISTOGRAM };

struct metrics_label {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" */
	const char *value; /* any UTF-8 (escaped on output); NULL prints as "" */
};

struct metrics_opts {
	const char *cluster;	    /* source_cluster / destination_cluster; NULL = "Kubernetes" */
	const char *cluster_domain; /* destination_service suffix; NULL = "cluster.local" */
};

/*
 * Starts family <name> with its # HELP <help> and # TYPE lines. Every sample of a family
 * must follow before the next family starts, and a name may start only one family per
 * exposition (the caller's duty: the writer keeps no state). Returns 0, -EINVAL for a
 * bad name, or -ENOMEM.
 */
int metrics_family(struct strbuf *out, const char *name, enum metrics_type type, const char *help);

/*
 * Appends one sample line `<name>{<labels>} <value>`. <value> prints with full precision
 * (NaN and +Inf/-Inf as Prometheus spells them); metrics_sample_u64() prints an integer
 * exactly, for counters past 2^53. Returns 0, -EINVAL for a bad metric or label name, or
 * -ENOMEM.
 */
int metrics_sample(struct strbuf *out, const char *name, const struct metrics_label *labels,
		   size_t nlabels, double value);
int metrics_sample_u64(struct strbuf *out, const char *name, const struct metrics_label *labels,
		       size_t nlabels, uint64_t value);

/*
 * Appends Istio's TCP families (istio_tcp_connections_opened_total, ..._closed_total,
 * istio_tcp_sent_bytes_total, istio_tcp_received_bytes_total) for the TCP rows of
 * <rows>[0..<n>), and weir's per-edge families with a smaller label set that keeps the
 * datapath path apart (weir_edge_opened_total, weir_edge_bytes_total,
 * weir_edge_packets_total for tc edges, weir_tcp_active_connections,
 * weir_edge_srtt_seconds) for every row, named through <names>. Rows whose labels come
 * out equal (kernel and agent path in Istio's set, several ports, ids without names) are
 * summed into one series. <opts> may be NULL. Returns 0 or -errno.
 */
int metrics_write_edges(struct strbuf *out, const struct telemetry_row *rows, size_t n,
			const struct telemetry_names *names, const struct metrics_opts *opts);

/*
 * Appends to <out> Istio's request families for every series of <rs> (after the caller's
 * reqstats_collect()), named through <names>: istio_requests_total, the histograms
 * istio_request_duration_milliseconds, istio_request_bytes and istio_response_bytes
 * (Envoy's default buckets, reqstats_bounds), and for gRPC series
 * istio_request_messages_total and istio_response_messages_total. Labels are the TCP
 * families' set with request_protocol, response_code, grpc_response_status and
 * response_flags from the series; series whose labels come out equal are summed. Then
 * weir's own: weir_request_series, weir_requests_dropped_total,
 * weir_request_series_expired_total. <rs> NULL writes the families without samples.
 * <opts> may be NULL. Returns 0 or -errno.
 */
int metrics_write_requests(struct strbuf *out, const struct reqstats *rs,
			   const struct telemetry_names *names, const struct metrics_opts *opts);

/* Appends weir_datapath_reasons_total{hook,reason} for every slot of <counts> (zeros
 * included, so the series set is stable). Returns 0 or -ENOMEM. */
int metrics_write_reasons(struct strbuf *out, const uint64_t counts[WEIR_REASON_SLOTS]);

/* Hook and reason names as /metrics and weirctl print them; "?" when out of range. */
const char *metrics_hook_name(unsigned hook);
const char *metrics_reason_name(unsigned reason);

#endif /* WEIR_USER_METRICS_H */
