// SPDX-License-Identifier: Apache-2.0
/*
 * The node agent's control thread: load the datapath, read the config store, program the
 * maps, enroll this node's Pods, run the relay's workers, serve the CNI socket and the
 * HTTP endpoints, and fold the relay's flow counts into weir_edges. Everything here is
 * wiring; the work happens in the modules it calls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <event2/event.h>
#include <jansson.h>

#include <weir/maps.h>

#include "lib/addr.h"
#include "lib/fdpass.h"
#include "lib/path.h"
#include "admin/admin.h"
#include "admin/routes.h"
#include "agent.h"
#include "datapath/cgroup.h"
#include "lib/clock.h"
#include "cni/cni.h"
#include "datapath/datapath.h"
#include "datapath/enroll.h"
#include "model/ids.h"
#include "lib/log.h"
#include "model/model.h"
#include "proxy/health.h"
#include "proxy/relay.h"
#include "model/snap.h"
#include "config/store.h"
#include "config/dirsrc.h"
#include "lib/strbuf.h"
#include "datapath/sync.h"
#include "telemetry/accesslog.h"
#include "telemetry/mapfill.h"
#include "telemetry/reqstats.h"
#include "model/tpolicy.h"
#include "telemetry/spans.h"
#include "telemetry/trace.h"
#include "telemetry/telemetry.h"

#define AGENT_TICK_MS	  1000	/* relay flow flush, enrolment retries, snapshot reclaim */
#define AGENT_DEBOUNCE_MS 100	/* a burst of file events -> one rebuild */
#define AGENT_MAPFILL_MS  10000 /* map fill levels recounted at most this often */

struct agent {
	const struct agent_opts *opts;
	struct event_base *base;
	struct datapath *dp;
	struct store *store;
	struct dirsrc *dirsrc;
	struct model *model; /* current snapshot; owned by <snap> once published */
	struct snap *snap;
	struct relay *relay;
	struct admin *admin;
	struct reqstats *reqstats;  /* request telemetry: one shard per relay worker */
	struct spans *spans;	    /* span export: one ring per relay worker */
	_Atomic uint32_t trace_ppm; /* --trace-sampling for the workers (ppm); UINT32_MAX: none */
	char collector[280];	    /* the collector in force ("" none), to log changes */
	struct health *health;	    /* active health checks (HealthCheck kind) */
	struct mapfill *mapfill;    /* fill levels of the pinned maps, for /metrics */
	struct cni_server *cni;
	struct ids ids;
	struct sync_state sync;
	struct enroll enroll;
	struct event *ev_store, *ev_debounce, *ev_tick, *ev_sigint, *ev_sigterm;
	uint32_t node_ip; /* network order */
	char node_name[256];
	char cgroup[PATH_MAX];
	bool ready;
	const char *not_ready; /* why not ready, for /healthz/ready */
	unsigned pending;      /* Pods waiting for their netns */
	uint64_t applies;      /* snapshots applied */
	uint64_t sync_errors;  /* failed map writes, cumulative */
	uint64_t edge_errors;  /* relay flows that could not be folded into weir_edges */
	uint64_t flush_due_ns; /* next flush of open connections (agent_flush_live) */
	uint64_t flush_rounds; /* flushes of open connections done */
	uint64_t flush_open;   /* open counted connections seen by the last flush */
	uint64_t flush_failed; /* connections whose bytes could not reach their edge, total */
	uint64_t flush_errors; /* Pod netns that could not be flushed, total */
	uint64_t ejected;      /* backends outlier detection holds ejected now */
	/* Upgrades (agent_handoff_*): the listener a successor connects to, the connection
	 * to a predecessor while taking over, and this agent's own drain. */
	int ho_lfd;
	int ho_fd;
	int ho_peer;
	struct event *ev_ho_accept, *ev_ho;
	bool draining;
	uint64_t drain_deadline_ms;
	uint64_t upgrades; /* hand-overs in this node's line of agents, this one's included */
	/* --access-log: one ring per relay worker (NULL: off); SIGHUP reopens its file. */
	struct accesslog *accesslog;
	struct event *ev_sighup;
};

void agent_opts_default(struct agent_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->bpffs_dir = WEIR_BPFFS_DEFAULT;
	opts->cni_socket = CNI_SOCKET_DEFAULT;
	opts->outbound_addr = "0.0.0.0:15001";
	opts->metrics_addr = "0.0.0.0:15020";
	opts->health_addr = "0.0.0.0:15021";
	opts->admin_addr = "127.0.0.1:15000";
	opts->workers = 2;
	opts->flush_interval = 5;
	opts->splice = true;
	opts->flow_counters = true;
	opts->handoff_socket = ""; /* off: several agents share test machines */
	opts->drain_seconds = 10;
	opts->trace_sampling = -1;
}

/* --- applying snapshots ------------------------------------------------------------ */

static int agent_is_local(const struct model_pod *pod, void *arg)
{
	struct agent *a = arg;

	return enroll_wants(&a->enroll, pod);
}

/*
 * Every node agent's address: this node's, and each node's status.hostIP from the Pods.
 * Flows from those addresses are relayed flows that their agent counts, so a server
 * socket must not count them again as coming from outside the mesh. Returns a malloc'd
 * array (caller frees) and its length in *<n>; on allocation failure, just this node's.
 */
static uint32_t *agent_node_ips(const struct agent *a, const struct model *m, size_t *n)
{
	uint32_t *ips = malloc((m->npods + 1) * sizeof(*ips));
	size_t i, j;

	*n = 0;
	if (!ips)
		return NULL;
	if (a->node_ip)
		ips[(*n)++] = a->node_ip;
	for (i = 0; i < m->npods; i++) {
		uint32_t h = m->pods[i].host_ip;

		for (j = 0; h && j < *n && ips[j] != h; j++)
			;
		if (h && j == *n)
			ips[(*n)++] = h;
	}
	return ips;
}

static uint32_t agent_wl_id(const struct model_pod *pod, void *arg)
{
	const struct agent *a = arg;

	return pod->workload ? ids_find_workload(&a->ids, pod->ns, pod->workload) : 0;
}

static uint32_t agent_svc_id(const struct model_service *svc, void *arg)
{
	const struct agent *a = arg;

	return ids_find_service(&a->ids, svc->ns, svc->name);
}

/* Programs <m> into the datapath maps (only what changed is written). */
static void agent_sync(struct agent *a, const struct model *m, struct sync_stats *st)
{
	uint32_t *nodes;
	size_t nnodes;

	nodes = agent_node_ips(a, m, &nnodes);
	if (nodes)
		sync_apply(&a->sync, &a->ids, a->dp, m, agent_is_local, a, nodes, nnodes, st);
	else
		sync_apply(&a->sync, &a->ids, a->dp, m, agent_is_local, a, &a->node_ip, 1, st);
	free(nodes);
	a->sync_errors += st->errors;
}

/*
 * The span collector of the mesh's telemetry policy (the default tracing provider's Zipkin
 * Service, resolved to an endpoint in the model), unless --zipkin-addr fixed one.
 */
static void agent_tracing_apply(struct agent *a)
{
	const struct tpolicy *mesh;
	const char *c;

	if (!a->spans || !a->model || (a->opts->zipkin_addr && a->opts->zipkin_addr[0]))
		return;
	mesh = tpolicy_of(a->model, NULL);
	c = mesh->collector ? mesh->collector : "";
	if (!strcmp(c, a->collector))
		return;
	if (spans_set_collector(a->spans, c) < 0) {
		log_err("agent", "tracing: out of memory setting the collector");
		return;
	}
	snprintf(a->collector, sizeof(a->collector), "%s", c);
	if (*c)
		log_info("agent", "tracing: spans go to %s (provider %s)", c, mesh->provider);
	else
		log_info("agent", "tracing: no collector: spans are not exported");
}

/* Programs <m> into the datapath and hands it to the relay. <a> takes ownership. */
static void agent_apply(struct agent *a, struct model *m)
{
	struct sync_stats st;
	int err;

	agent_sync(a, m, &st);
	err = enroll_sync(&a->enroll, m, &a->ids, &a->pending);
	if (err < 0)
		log_err("agent", "enrolment: %s", strerror(-err));
	model_set_ids(m, agent_wl_id, agent_svc_id, a);
	/* The relay's workers see the new snapshot from their next callback on; the old one
	 * is freed by snap_reclaim() once every worker has moved past it. */
	if (snap_publish(a->snap, m) < 0) {
		log_err("agent", "publishing snapshot %" PRIu64 ": %s", m->generation,
			strerror(errno));
		model_free(m);
		return;
	}
	a->model = m;
	a->applies++;
	if (a->health)
		health_update(a->health, m);
	agent_tracing_apply(a);
	log_info("agent",
		 "snapshot %" PRIu64 ": %zu pods, %zu services; services %u written "
		 "%u deleted %u unchanged; addresses %u written %u deleted; %u pods pending%s",
		 m->generation, m->npods, m->nservices, st.svc_written, st.svc_deleted,
		 st.svc_unchanged, st.ips_written, st.ips_deleted, a->pending,
		 st.errors ? " (errors: see above)" : "");
}

struct agent_ejected {
	struct sync_ep eps[256];
	size_t n;
};

static void agent_on_ejected(uint32_t ip, uint16_t port, void *arg)
{
	struct agent_ejected *e = arg;

	for (size_t i = 0; i < e->n; i++)
		if (e->eps[i].ip == ip && e->eps[i].port == port)
			return;
	if (e->n < sizeof(e->eps) / sizeof(e->eps[0]))
		e->eps[e->n++] = (struct sync_ep){.ip = ip, .port = port};
}

/*
 * Backends the proxy's outlier detection ejected are marked unhealthy in the kernel's
 * Service entries too, so that kernel-path clients avoid them as well; and back when they
 * return. Runs every tick; a change re-syncs the Service entries (only changed ones are
 * written).
 */
static void agent_sync_ejections(struct agent *a)
{
	struct agent_ejected e = {.n = 0};
	struct sync_stats st;
	int changed;

	if (!a->relay || !a->model)
		return;
	relay_ejected(a->relay, agent_on_ejected, &e);
	a->ejected = e.n;
	changed = sync_set_unhealthy(&a->sync, e.eps, e.n);
	if (changed <= 0)
		return;
	log_info("agent", "outlier detection: %zu backends ejected; Service entries updated", e.n);
	agent_sync(a, a->model, &st);
}

static void agent_rebuild(struct agent *a)
{
	struct model *m = model_from_store(a->store);

	if (!m) {
		log_err("agent", "building a snapshot: %s; the last one stays in force",
			strerror(errno));
		return;
	}
	agent_apply(a, m);
}

static void agent_on_debounce(evutil_socket_t fd, short what, void *arg)
{
	agent_rebuild(arg);
}

static void agent_on_store(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct timeval tv = {0, AGENT_DEBOUNCE_MS * 1000};
	bool changed = false;
	int err;

	err = dirsrc_handle_events(a->dirsrc, &changed);
	if (err < 0)
		log_err("agent", "config dir %s: %s", a->opts->config_dir, strerror(-err));
	if (changed)
		evtimer_add(a->ev_debounce, &tv);
}

/* --- relay flows -> weir_edges ----------------------------------------------------- */

static void agent_on_flow(const struct relay_flow *f, void *arg)
{
	struct agent *a = arg;
	struct weir_edge_key key = {0};
	struct weir_edge delta = {0};

	/* Named by the snapshot the connection was opened under, not the current one: a
	 * Service or Pod deleted since then keeps its own edge, opens and closes together. */
	key.src_wl = f->src_wl;
	key.dst_wl = f->dst_wl;
	key.svc_id = f->svc_id;
	key.dport = f->backend_port;
	key.proto = f->proto;
	key.path = WEIR_PATH_AGENT;
	delta.conns_opened = f->opened;
	delta.conns_closed = f->closed;
	delta.conns_active = (int64_t)f->opened - (int64_t)f->closed;
	delta.bytes_sent = f->bytes_up;
	delta.bytes_rcvd = f->bytes_down;
	delta.last_ns = clock_mono_ns();
	if (datapath_edge_add(a->dp, &key, &delta) < 0)
		a->edge_errors++;
}

/*
 * Every --flush-interval seconds, adds the bytes that open kernel-path connections have
 * carried since the last flush to their edges, so long-lived connections show in the
 * graph before they close (as Istio's periodic TCP metrics do). The tcp iterator sees
 * one netns at a time, so each enrolled Pod's netns is flushed in turn.
 */
static void agent_flush_live(struct agent *a)
{
	struct datapath_flush_stats st, sum = {0};
	uint64_t now = clock_mono_ns();
	const struct enroll_pod *p;
	const char *k;
	void *v;
	size_t i;
	int err;

	/* Half a tick of slack: the tick that comes a hair before the flush is due must not
	 * push it a whole tick later (a 1 s interval became 2 s). */
	if (a->opts->flush_interval <= 0 || !a->opts->flow_counters ||
	    now + AGENT_TICK_MS * 500000ULL < a->flush_due_ns)
		return;
	a->flush_due_ns = now + (uint64_t)a->opts->flush_interval * 1000000000ULL;
	for (i = 0; (i = strmap_next(&a->enroll.pods, i, &k, &v)) != 0;) {
		p = v;
		if (!p->enrolled || !p->netns[0])
			continue;
		err = datapath_flush_netns(a->dp, p->netns, &st);
		if (err == -ENOENT || err == -ESRCH) {
			/* The Pod went away since the last sync; its sockets closed with it. */
			log_debug("agent", "flush %s: netns %s is gone", k, p->netns);
			continue;
		}
		if (err < 0) {
			log_warn("agent", "flush %s (netns %s): %s", k, p->netns, strerror(-err));
			a->flush_errors++;
			continue;
		}
		sum.sockets += st.sockets;
		sum.flushed += st.flushed;
		sum.failed += st.failed;
	}
	a->flush_rounds++;
	a->flush_open = sum.sockets;
	a->flush_failed += sum.failed;
	if (sum.failed)
		log_warn("agent",
			 "flush: %" PRIu64 " connections could not reach their edge "
			 "(weir_edges full?)",
			 sum.failed);
	log_debug("agent", "flush: %" PRIu64 " open connections, %" PRIu64 " with new bytes",
		  sum.sockets, sum.flushed);
}

static void agent_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct timeval tv = {AGENT_TICK_MS / 1000, (AGENT_TICK_MS % 1000) * 1000};

	if (a->relay)
		relay_collect(a->relay, agent_on_flow, a);
	if (a->draining) {
		/* Handed over: only the requests in flight are ours. The datapath, the
		 * config and the Pods are the successor's now. */
		struct relay_stats rs;

		relay_stats(a->relay, &rs);
		if (!rs.active || clock_mono_ns() / 1000000 >= a->drain_deadline_ms) {
			log_info("agent", "drained (%" PRIu64 " connections left): exiting",
				 rs.active);
			event_base_loopbreak(a->base);
			return;
		}
		evtimer_add(a->ev_tick, &tv);
		return;
	}
	if (a->pending && a->model) {
		int err = enroll_sync(&a->enroll, a->model, &a->ids, &a->pending);

		if (err < 0)
			log_err("agent", "enrolment retry: %s", strerror(-err));
	}
	agent_flush_live(a);
	agent_sync_ejections(a);
	snap_reclaim(a->snap);
	evtimer_add(a->ev_tick, &tv);
}

/* SIGHUP: logrotate moved the access log; the writer opens the path again. */
static void agent_on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	log_info("agent", "SIGHUP: reopening the access log %s", a->opts->access_log);
	accesslog_reopen(a->accesslog);
}

static void agent_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	log_info("agent", "signal %d: stopping (pins and links stay in force)", (int)sig);
	event_base_loopbreak(a->base);
}

/* --- CNI -------------------------------------------------------------------------- */

static int agent_cni_add(void *ctx, const struct cni_pod *pod, char *err, size_t errlen)
{
	struct agent *a = ctx;
	int ret;

	ret = enroll_hint(&a->enroll, pod->ns, pod->name, pod->netns, pod->ip);
	if (ret < 0) {
		snprintf(err, errlen, "recording the Pod: %s", strerror(-ret));
		return ret;
	}
	/* Enroll at once when the Pod is known; otherwise when it shows up in the config. */
	if (a->model) {
		ret = enroll_sync(&a->enroll, a->model, &a->ids, &a->pending);
		if (ret < 0) {
			snprintf(err, errlen, "enrolment: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int agent_cni_del(void *ctx, const struct cni_pod *pod, char *err, size_t errlen)
{
	struct agent *a = ctx;

	enroll_forget(&a->enroll, pod->ns, pod->name);
	return 0;
}

static int agent_cni_check(void *ctx, const struct cni_pod *pod, char *err, size_t errlen)
{
	struct agent *a = ctx;
	const struct enroll_pod *p = enroll_find(&a->enroll, pod->ns, pod->name);

	if (p && p->enrolled)
		return 0;
	snprintf(err, errlen, "Pod %s/%s is not enrolled on node %s%s", pod->ns, pod->name,
		 a->node_name, p ? " (its netns was not found yet)" : "");
	return -ENOENT;
}

static const struct cni_server_ops agent_cni_ops = {
    .add = agent_cni_add,
    .del = agent_cni_del,
    .check = agent_cni_check,
};

/* --- admin API ------------------------------------------------------------------- */

static int agent_edges(void *ctx, struct telemetry_row **rows, size_t *n)
{
	struct agent *a = ctx;
	int fd = datapath_map_fd(a->dp, DP_MAP_EDGES);
	struct weir_edge_key k, prev;
	struct telemetry_row *r = NULL;
	size_t len = 0, cap = 0;
	bool first = true;

	while (fd >= 0 && bpf_map_get_next_key(fd, first ? NULL : &prev, &k) == 0) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct telemetry_row *nr = realloc(r, ncap * sizeof(*nr));

			if (!nr) {
				free(r);
				return -ENOMEM;
			}
			r = nr;
			cap = ncap;
		}
		r[len].key = k;
		/* An entry deleted between next_key and lookup is skipped, not an error. */
		if (bpf_map_lookup_elem(fd, &k, &r[len].val) == 0)
			len++;
		prev = k;
		first = false;
	}
	*rows = r;
	*n = len;
	return 0;
}

static int agent_wl_info(void *ctx, uint32_t id, struct weir_wl_info *out)
{
	struct agent *a = ctx;

	if (bpf_map_lookup_elem(datapath_map_fd(a->dp, DP_MAP_WL_INFO), &id, out) < 0)
		return -ENOENT;
	out->ns[sizeof(out->ns) - 1] = out->name[sizeof(out->name) - 1] = '\0';
	out->app[sizeof(out->app) - 1] = out->version[sizeof(out->version) - 1] = '\0';
	out->sa[sizeof(out->sa) - 1] = '\0';
	return 0;
}

static int agent_svc_info(void *ctx, uint32_t id, struct weir_svc_info *out)
{
	struct agent *a = ctx;

	if (bpf_map_lookup_elem(datapath_map_fd(a->dp, DP_MAP_SVC_INFO), &id, out) < 0)
		return -ENOENT;
	out->ns[sizeof(out->ns) - 1] = out->name[sizeof(out->name) - 1] = '\0';
	return 0;
}

static int agent_reasons(void *ctx, uint64_t counts[WEIR_REASON_SLOTS])
{
	struct agent *a = ctx;
	int fd = datapath_map_fd(a->dp, DP_MAP_REASONS), ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	uint32_t i;
	int c;

	if (fd < 0 || ncpu <= 0)
		return -ENOENT;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < WEIR_REASON_SLOTS; i++) {
		counts[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals) < 0)
			continue;
		for (c = 0; c < ncpu; c++)
			counts[i] += vals[c];
	}
	free(vals);
	return 0;
}

static bool agent_ready(void *ctx, const char **why_not)
{
	struct agent *a = ctx;

	if (!a->ready)
		*why_not = a->not_ready ? a->not_ready : "starting";
	return a->ready;
}

static unsigned agent_enrolled(const struct agent *a)
{
	const char *k;
	void *v;
	unsigned n = 0;
	size_t i;

	for (i = 0; (i = strmap_next(&a->enroll.pods, i, &k, &v)) != 0;)
		n += ((struct enroll_pod *)v)->enrolled;
	return n;
}

/* Appends a jansson value to <out> as compact JSON; consumes <v>. */
static int agent_json_out(json_t *v, struct strbuf *out)
{
	char *s;
	int err;

	if (!v)
		return -ENOMEM;
	s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(v);
	if (!s)
		return -ENOMEM;
	err = strbuf_append(out, s, strlen(s));
	free(s);
	return err < 0 ? err : 0;
}

static int agent_status_json(void *ctx, struct strbuf *out)
{
	struct agent *a = ctx;
	struct relay_stats rs = {0};
	char ip[INET_ADDRSTRLEN];
	struct store_stats ss;
	json_int_t objects = 0;
	size_t i;

	store_get_stats(a->store, &ss);
	for (i = 0; i < K8S_KIND_MAX; i++)
		objects += (json_int_t)ss.objects[i];

	if (a->relay)
		relay_stats(a->relay, &rs);
	inet_ntop(AF_INET, &a->node_ip, ip, sizeof(ip));
	return agent_json_out(
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		      " s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		      "node", a->node_name, "node_ip", ip, "cgroup", a->cgroup, "bpffs_dir",
		      a->opts->bpffs_dir, "config_dir", a->opts->config_dir, "ready", a->ready,
		      "generation", (json_int_t)(a->model ? a->model->generation : 0), "pods",
		      (json_int_t)(a->model ? a->model->npods : 0), "services",
		      (json_int_t)(a->model ? a->model->nservices : 0), "enrolled",
		      (json_int_t)agent_enrolled(a), "pending", (json_int_t)a->pending,
		      "snapshots_applied", (json_int_t)a->applies, "sync_errors",
		      (json_int_t)a->sync_errors, "config", "files_ok", (json_int_t)ss.files_ok,
		      "files_rejected", (json_int_t)ss.files_rejected, "objects", objects, "relay",
		      "accepted", (json_int_t)rs.accepted, "active", (json_int_t)rs.active,
		      "no_backend", (json_int_t)rs.no_backend, "connect_failed",
		      (json_int_t)rs.connect_failed, "bytes_up", (json_int_t)rs.bytes_up,
		      "bytes_down", (json_int_t)rs.bytes_down, "edge_errors",
		      (json_int_t)a->edge_errors),
	    out);
}

static int agent_extra_metrics(void *ctx, struct strbuf *out)
{
	struct agent *a = ctx;
	struct store_stats ss;
	struct relay_stats rs = {0};
	struct health_stats hs;
	size_t i;
	int err;

	store_get_stats(a->store, &ss);
	if (a->relay)
		relay_stats(a->relay, &rs);
	health_stats(a->health, &hs);
	const struct {
		const char *name, *help;
		enum metrics_type type;
		uint64_t value;
	} rows[] = {
	    {"weir_agent_snapshots_applied_total", "Config snapshots programmed into the datapath.",
	     METRICS_COUNTER, a->applies},
	    {"weir_agent_upgrades_total",
	     "Listener hand-overs from a running agent, counted along the line of agents that "
	     "replaced one another on this node.",
	     METRICS_COUNTER, a->upgrades},
	    {"weir_agent_enrolled_pods", "Pods of this node enrolled in the datapath.",
	     METRICS_GAUGE, agent_enrolled(a)},
	    {"weir_agent_pending_pods", "Mesh Pods of this node whose netns was not found yet.",
	     METRICS_GAUGE, a->pending},
	    {"weir_agent_sync_errors_total", "Failed datapath map writes.", METRICS_COUNTER,
	     a->sync_errors},
	    {"weir_agent_log_errors_total", "Errors the agent logged.", METRICS_COUNTER,
	     log_count(LOG_ERR)},
	    {"weir_config_files_ok", "Config files whose last version loaded.", METRICS_GAUGE,
	     ss.files_ok},
	    {"weir_config_files_rejected",
	     "Config files rejected at their last change (the "
	     "previous version stays in force).",
	     METRICS_GAUGE, ss.files_rejected},
	    {"weir_agent_flush_rounds_total",
	     "Flushes of open connections' bytes to their edges (every --flush-interval).",
	     METRICS_COUNTER, a->flush_rounds},
	    {"weir_agent_flush_open_connections",
	     "Open kernel-path connections the last flush visited.", METRICS_GAUGE, a->flush_open},
	    {"weir_agent_flush_failed_total",
	     "Open connections whose bytes could not reach their edge (retried next flush).",
	     METRICS_COUNTER, a->flush_failed},
	    {"weir_agent_flush_errors_total", "Pod network namespaces a flush could not enter.",
	     METRICS_COUNTER, a->flush_errors},
	    {"weir_relay_accepted_total", "Connections the outbound relay accepted.",
	     METRICS_COUNTER, rs.accepted},
	    {"weir_relay_active_connections", "Connections the relay holds now.", METRICS_GAUGE,
	     rs.active},
	    {"weir_relay_no_backend_total", "Relayed connections reset: no ready backend.",
	     METRICS_COUNTER, rs.no_backend},
	    {"weir_relay_connect_failed_total",
	     "Relayed connections reset: backend unreachable "
	     "or too slow.",
	     METRICS_COUNTER, rs.connect_failed + rs.connect_timeout},
	    {"weir_relay_upstream_bytes_total",
	     "Payload bytes the relay delivered client to backend.", METRICS_COUNTER, rs.bytes_up},
	    {"weir_relay_downstream_bytes_total",
	     "Payload bytes the relay delivered backend to client.", METRICS_COUNTER,
	     rs.bytes_down},
	    {"weir_proxy_http_sessions_total", "Downstream HTTP connections the proxy accepted.",
	     METRICS_COUNTER, rs.http_sessions},
	    {"weir_proxy_http_requests_total", "HTTP requests the proxy received.", METRICS_COUNTER,
	     rs.http_requests},
	    {"weir_proxy_http_responses_total", "HTTP responses the proxy completed downstream.",
	     METRICS_COUNTER, rs.http_responses},
	    {"weir_proxy_http_local_replies_total",
	     "HTTP requests the agent answered itself (no route, no upstream, fault, timeout).",
	     METRICS_COUNTER, rs.http_local},
	    {"weir_proxy_http_retries_total", "HTTP upstream attempts beyond the first.",
	     METRICS_COUNTER, rs.http_retries},
	    {"weir_proxy_http_timeouts_total", "HTTP route and per-try timeouts.", METRICS_COUNTER,
	     rs.http_timeouts},
	    {"weir_proxy_http_protocol_errors_total",
	     "Downstream HTTP protocol errors (malformed, over limits, abuse).", METRICS_COUNTER,
	     rs.http_proto_err},
	    {"weir_proxy_http2_quiet_total",
	     "Idle downstream HTTP/2 connections that gave their protocol state back (rebuilt "
	     "when the client speaks again).",
	     METRICS_COUNTER, rs.http2_quiet},
	    {"weir_proxy_upstream_connections_total", "Upstream HTTP connections opened.",
	     METRICS_COUNTER, rs.up_conns},
	    {"weir_health_probes_total", "Active health check probes finished.", METRICS_COUNTER,
	     hs.probes},
	    {"weir_health_failures_total", "Active health check probes that failed.",
	     METRICS_COUNTER, hs.failures},
	    {"weir_health_endpoints", "Endpoints under active health checks.", METRICS_GAUGE,
	     hs.targets},
	    {"weir_health_endpoints_down", "Endpoints active health checks took out of service.",
	     METRICS_GAUGE, hs.down},
	    {"weir_proxy_outlier_ejected_endpoints",
	     "Backends the proxy's outlier detection holds ejected now.", METRICS_GAUGE,
	     a->ejected},
	    {"weir_proxy_upstream_reused_total",
	     "HTTP requests sent on a kept-alive or multiplexed upstream connection.",
	     METRICS_COUNTER, rs.up_reused},
	};

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		err = metrics_family(out, rows[i].name, rows[i].type, rows[i].help);
		if (!err)
			err = metrics_sample_u64(out, rows[i].name, NULL, 0, rows[i].value);
		if (err < 0)
			return err;
	}
	if (a->spans && (err = spans_write_metrics(a->spans, out)) < 0)
		return err;
	if (a->accesslog && (err = accesslog_metrics(a->accesslog, out)) < 0)
		return err;
	return a->mapfill ? mapfill_write(a->mapfill, out, telemetry_now_ms()) : 0;
}

static const struct admin_ops agent_admin_ops = {
    .edges = agent_edges,
    .wl_info = agent_wl_info,
    .svc_info = agent_svc_info,
    .reasons = agent_reasons,
    .ready = agent_ready,
    .status_json = agent_status_json,
    .extra_metrics = agent_extra_metrics,
};

/* GET /pods on the admin server: the model's Pods and their enrolment here. */
static int agent_route_pods(struct admin_call *call, void *arg)
{
	struct agent *a = arg;
	json_t *arr = json_array();
	size_t i;

	for (i = 0; a->model && i < a->model->npods; i++) {
		const struct model_pod *p = &a->model->pods[i];
		const struct enroll_pod *e = enroll_find(&a->enroll, p->ns, p->name);
		char cookie[24] = "";

		if (e && e->enrolled)
			snprintf(cookie, sizeof(cookie), "0x%016" PRIx64, e->cookie);
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:b, s:b, s:s?, s:s?}",
			      "namespace", p->ns, "name", p->name, "node", p->node, "ip", p->ip_str,
			      "workload", p->workload, "app", p->app, "version", p->version, "mesh",
			      p->mesh, "local", enroll_wants(&a->enroll, p), "enrolled",
			      e && e->enrolled, "netns", e && e->enrolled ? e->netns : NULL,
			      "netns_cookie", cookie[0] ? cookie : NULL));
	}
	return agent_json_out(json_pack("{s:o}", "pods", arr), call->body) < 0 ? 500 : 200;
}

/* GET /services on the admin server: the model's Services with their endpoints. */
static int agent_route_services(struct admin_call *call, void *arg)
{
	struct agent *a = arg;
	json_t *arr = json_array();
	size_t i, j, k;

	for (i = 0; a->model && i < a->model->nservices; i++) {
		const struct model_service *s = &a->model->services[i];
		json_t *ports = json_array();
		char vip[INET_ADDRSTRLEN] = "";

		if (s->vip)
			inet_ntop(AF_INET, &s->vip, vip, sizeof(vip));
		for (j = 0; j < s->nports; j++) {
			const struct model_svc_port *sp = &s->ports[j];
			json_t *eps = json_array();

			for (k = 0; k < sp->neps; k++) {
				char ip[INET_ADDRSTRLEN];

				inet_ntop(AF_INET, &sp->eps[k].ip, ip, sizeof(ip));
				json_array_append_new(
				    eps,
				    json_pack("{s:s, s:i, s:b, s:s?}", "ip", ip, "port",
					      sp->eps[k].port, "ready", sp->eps[k].ready, "pod",
					      sp->eps[k].pod ? sp->eps[k].pod->name : NULL));
			}
			json_array_append_new(
			    ports,
			    json_pack("{s:s, s:i, s:s, s:o}", "name", sp->name ? sp->name : "",
				      "port", sp->port, "protocol",
				      sp->proto == IPPROTO_UDP ? "UDP" : "TCP", "endpoints", eps));
		}
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "namespace", s->ns, "name", s->name,
			      "vip", vip, "mode", s->mode == WEIR_MODE_AGENT ? "agent" : "kernel",
			      "id", (json_int_t)ids_find_service(&a->ids, s->ns, s->name), "ports",
			      ports));
	}
	return agent_json_out(json_pack("{s:o}", "services", arr), call->body) < 0 ? 500 : 200;
}

/* GET /routes: the current snapshot's compiled route tables (weirctl routes). */
static int agent_route_routes(struct admin_call *call, void *arg)
{
	struct agent *a = arg;

	return routes_h_list(call, a->model);
}

/* GET /routes/explain: the router run on a synthetic request (weirctl explain --header). */
static int agent_route_explain(struct admin_call *call, void *arg)
{
	struct agent *a = arg;

	return routes_h_explain(call, a->model);
}

static int agent_admin_start(struct agent *a)
{
	const struct agent_opts *o = a->opts;
	struct admin_opts ao = {0};

	ao.metrics_addr = o->metrics_addr;
	ao.health_addr = o->health_addr;
	ao.admin_addr = o->admin_addr;
	ao.reqstats = a->reqstats;
	/* Without it /metrics only lacks the map fill levels: not worth failing the start. */
	a->mapfill = mapfill_new(o->bpffs_dir, AGENT_MAPFILL_MS);
	a->admin = admin_new(a->base, &ao, &agent_admin_ops, a);
	if (!a->admin)
		return -errno;
	if (admin_route(a->admin, "/pods", agent_route_pods, a) < 0 ||
	    admin_route(a->admin, "/services", agent_route_services, a) < 0 ||
	    admin_route(a->admin, "/routes", agent_route_routes, a) < 0 ||
	    admin_route(a->admin, "/routes/explain", agent_route_explain, a) < 0)
		return -ENOMEM;
	return 0;
}

/* --- start-up --------------------------------------------------------------------- */

/* The first global IPv4 address of this netns, for a missing --node-ip. */
static uint32_t agent_guess_ip(void)
{
	struct ifaddrs *ifa, *i;
	uint32_t ip = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && !ip; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		ip = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
	}
	freeifaddrs(ifa);
	return ip;
}

static void agent_model_free(void *obj, void *arg)
{
	model_free(obj);
}

/* The port of IPv4 listen address <s> (1..65535: it goes into the datapath's config). */
static int agent_parse_port(const char *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int port;

	if (addr_parse(s, &ss, &len) || ss.ss_family != AF_INET)
		return -EINVAL;
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return port ? port : -EINVAL;
}

/* --- upgrades: handing the listeners over ----------------------------------------- */

/* The successor asked for the listeners and then for the drain. */
static void agent_on_handoff_msg(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	char msg[64];
	int err = fdpass_recv(fd, msg, sizeof(msg), NULL, NULL, 0, 0);

	if (err) {
		/* The successor went away before it took over: carry on as before. */
		log_warn("agent", "upgrade: successor gone (%s); staying in service",
			 strerror(-err));
		event_free(a->ev_ho);
		a->ev_ho = NULL;
		close(a->ho_fd);
		a->ho_fd = -1;
		return;
	}
	if (!strcmp(msg, "takeover")) {
		int fds[FDPASS_MAX_FDS];
		int n = relay_listen_fds(a->relay, fds, FDPASS_MAX_FDS);

		char reply[64];

		/* The count goes along, so the line of agents counts its upgrades. */
		snprintf(reply, sizeof(reply), "listeners %" PRIu64, a->upgrades);
		err = fdpass_send(fd, reply, fds, n);
		log_info("agent", "upgrade: %d listening sockets handed to the successor%s%s", n,
			 err ? ": " : "", err ? strerror(-err) : "");
		return;
	}
	if (strcmp(msg, "go")) {
		log_warn("agent", "upgrade: unknown message '%.32s' ignored", msg);
		return;
	}
	/* Drain: no more accepts; close what the successor binds anew. */
	relay_drain(a->relay);
	admin_free(a->admin);
	a->admin = NULL;
	cni_server_free(a->cni);
	a->cni = NULL;
	if (a->ev_store)
		event_del(a->ev_store);
	event_del(a->ev_ho_accept);
	close(a->ho_lfd); /* not unlinked: the path is the successor's now */
	a->ho_lfd = -1;
	a->draining = true;
	a->ready = false;
	a->not_ready = "draining";
	a->drain_deadline_ms = clock_mono_ns() / 1000000 + (uint64_t)a->opts->drain_seconds * 1000;
	log_info("agent", "upgrade: draining for at most %d s", a->opts->drain_seconds);
	fdpass_send(fd, "done", NULL, 0);
	event_free(a->ev_ho);
	a->ev_ho = NULL;
	close(a->ho_fd);
	a->ho_fd = -1;
}

static void agent_on_handoff_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct agent *a = arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (a->ho_fd >= 0 || a->draining) {
		close(fd); /* one successor at a time */
		return;
	}
	a->ho_fd = fd;
	a->ev_ho = event_new(a->base, fd, EV_READ | EV_PERSIST, agent_on_handoff_msg, a);
	if (!a->ev_ho || event_add(a->ev_ho, NULL)) {
		close(fd);
		a->ho_fd = -1;
	}
}

/* Offers this agent's listeners to its successor at --handoff-socket. */
static int agent_handoff_listen(struct agent *a)
{
	const char *path = a->opts->handoff_socket;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)];
	char *slash;

	if (!path || !*path)
		return 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		path_mkdirs(dir, 0700);
	}
	a->ho_lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->ho_lfd < 0)
		return -errno;
	unlink(path);
	if (bind(a->ho_lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(a->ho_lfd, 1))
		return -errno;
	chmod(path, 0600);
	a->ev_ho_accept =
	    event_new(a->base, a->ho_lfd, EV_READ | EV_PERSIST, agent_on_handoff_accept, a);
	if (!a->ev_ho_accept || event_add(a->ev_ho_accept, NULL))
		return -ENOMEM;
	return 0;
}

/*
 * Asks a running predecessor at --handoff-socket for its listening sockets into <fds>
 * (their count in *<n>; 0 when there is no predecessor). Returns 0 or -errno.
 */
static int agent_takeover(struct agent *a, int *fds, int *n)
{
	const char *path = a->opts->handoff_socket;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char msg[64];
	int fd, err;

	*n = 0;
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return 0; /* nobody there (ENOENT, ECONNREFUSED): a fresh start */
	}
	err = fdpass_send(fd, "takeover", NULL, 0);
	if (!err)
		err = fdpass_recv(fd, msg, sizeof(msg), fds, n, FDPASS_MAX_FDS, 5000);
	/* "listeners" then, from agents that count them, the upgrades so far. */
	if (!err && (strncmp(msg, "listeners", 9) || (msg[9] != '\0' && msg[9] != ' ')))
		err = -EPROTO;
	if (err) {
		log_err("agent", "upgrade: predecessor at %s did not hand over: %s", path,
			strerror(-err));
		close(fd);
		return err;
	}
	a->upgrades = strtoull(msg + 9, NULL, 10) + 1;
	log_info("agent", "upgrade: took %d listening sockets over from the running agent", *n);
	a->ho_peer = fd;
	return 0;
}

/* Tells the predecessor to drain, and waits until it let go of the ports we bind next. */
static int agent_takeover_finish(struct agent *a)
{
	char msg[64];
	int err;

	if (a->ho_peer < 0)
		return 0;
	err = fdpass_send(a->ho_peer, "go", NULL, 0);
	if (!err)
		err = fdpass_recv(a->ho_peer, msg, sizeof(msg), NULL, NULL, 0, 5000);
	if (!err && strcmp(msg, "done"))
		err = -EPROTO;
	close(a->ho_peer);
	a->ho_peer = -1;
	if (err)
		log_err("agent", "upgrade: predecessor did not confirm its drain: %s",
			strerror(-err));
	return err;
}

/*
 * Span export: one ring per worker, the collector from --zipkin-addr (the mesh config's
 * zipkin provider otherwise, see agent_apply_telemetry), sampling from --trace-sampling.
 */
static int agent_tracing_start(struct agent *a, unsigned shards)
{
	const struct agent_opts *o = a->opts;
	struct spans_opts so = {.shards = shards};
	char node_id[320], ip[INET_ADDRSTRLEN];
	int err;

	/* Istio's node id is "sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local"; an agent
	 * serves a node, so it says so in the same shape. */
	inet_ntop(AF_INET, &a->node_ip, ip, sizeof(ip));
	snprintf(node_id, sizeof(node_id), "weir~%s~%s", ip, a->node_name);
	so.node_id = node_id;
	a->spans = spans_new(&so);
	if (!a->spans)
		return -errno;
	atomic_store(&a->trace_ppm,
		     o->trace_sampling >= 0 ? trace_pct_ppm(o->trace_sampling) : UINT32_MAX);
	if (o->zipkin_addr && o->zipkin_addr[0]) {
		err = spans_set_collector(a->spans, o->zipkin_addr);
		if (err < 0)
			return err;
		log_info("agent", "tracing: spans go to %s (--zipkin-addr)", o->zipkin_addr);
	}
	err = spans_start(a->spans);
	if (err < 0) {
		log_err("agent", "tracing: cannot start the span exporter: %s", strerror(-err));
		return err;
	}
	agent_tracing_apply(a);
	return 0;
}

static int agent_start(struct agent *a)
{
	const struct agent_opts *o = a->opts;
	struct datapath_opts dpo = {0};
	struct relay_opts ro = {0};
	char ipstr[INET_ADDRSTRLEN];
	int inherit[FDPASS_MAX_FDS], ninherit = 0;
	struct reqstats_opts rso = {0};
	int err, port;

	if (o->node_name) {
		snprintf(a->node_name, sizeof(a->node_name), "%s", o->node_name);
	} else if (gethostname(a->node_name, sizeof(a->node_name)) < 0) {
		log_err("agent", "--node-name not given and no hostname: %s", strerror(errno));
		return -errno;
	}
	if (o->node_ip) {
		if (inet_pton(AF_INET, o->node_ip, &a->node_ip) != 1) {
			log_err("agent", "--node-ip: '%s' is not an IPv4 address", o->node_ip);
			return -EINVAL;
		}
	} else {
		a->node_ip = agent_guess_ip();
		if (!a->node_ip)
			log_warn("agent", "--node-ip not given and no address found: Services in "
					  "agent mode are load-balanced in the kernel instead");
	}
	if (o->cgroup) {
		snprintf(a->cgroup, sizeof(a->cgroup), "%s", o->cgroup);
	} else {
		err = cgroup_find_root(NULL, a->cgroup, sizeof(a->cgroup));
		if (err < 0) {
			log_err("agent",
				"no cgroup2 mount in /proc/self/mountinfo (%s); give --cgroup",
				strerror(-err));
			return err;
		}
	}
	port = agent_parse_port(o->outbound_addr);
	if (port < 0) {
		log_err("agent", "--outbound-addr: '%s' is not IP:PORT", o->outbound_addr);
		return -EINVAL;
	}
	inet_ntop(AF_INET, &a->node_ip, ipstr, sizeof(ipstr));
	log_info("agent", "node %s, address %s, cgroup %s, pins %s", a->node_name, ipstr, a->cgroup,
		 o->bpffs_dir);

	dpo.bpffs_dir = o->bpffs_dir;
	dpo.cgroup_path = a->cgroup;
	dpo.cfg.agent_ip = a->node_ip;
	dpo.cfg.agent_port = htons((uint16_t)port);
	dpo.cfg.splice = o->splice;
	dpo.cfg.tc_count = o->flow_counters;
	dpo.cfg.sock_count = o->flow_counters;
	a->dp = datapath_open(&dpo);
	if (!a->dp)
		return -errno;

	ids_init(&a->ids, WEIR_MAX_WORKLOADS, WEIR_MAX_SERVICES);
	sync_init(&a->sync);
	enroll_init(&a->enroll, a->dp, a->node_name, o->splice);
	err = sync_restore(&a->sync, &a->ids, a->dp);
	if (!err)
		err = enroll_restore(&a->enroll);
	if (err < 0) {
		log_err("agent", "reading back pinned state: %s", strerror(-err));
		return err;
	}

	a->snap = snap_new((unsigned)o->workers, agent_model_free, NULL);
	if (!a->snap)
		return -errno;
	a->store = store_new();
	a->dirsrc = a->store ? dirsrc_new(a->store, o->config_dir) : NULL;
	if (!a->dirsrc) {
		log_err("agent", "--config-dir %s: %s", o->config_dir, strerror(errno));
		return -errno;
	}
	err = dirsrc_load(a->dirsrc);
	if (err < 0) {
		log_err("agent", "--config-dir %s: %s", o->config_dir, strerror(-err));
		return err;
	}
	agent_rebuild(a);
	if (!a->model) {
		log_err("agent", "no first snapshot");
		return -EIO;
	}

	err = agent_takeover(a, inherit, &ninherit);
	if (err < 0)
		return err;
	/* Request telemetry: one shard per relay worker (more when more listeners came over). */
	rso.shards = (unsigned)(o->workers > ninherit ? o->workers : ninherit);
	a->reqstats = reqstats_new(a->base, &rso);
	if (!a->reqstats)
		return -errno;
	ro.reqstats = a->reqstats;
	err = agent_tracing_start(a, rso.shards);
	if (err < 0)
		return err;
	ro.spans = a->spans;
	ro.trace_ppm = &a->trace_ppm;
	ro.trace_all = o->zipkin_addr && o->zipkin_addr[0];
	{
		/*
		 * Without --access-log the log still exists, off by default, on standard output
		 * (as Envoy's default provider): Istio's Telemetry accessLogging turns it on per
		 * workload. With the flag every request is logged unless Telemetry says off.
		 */
		bool flag = o->access_log && o->access_log[0];
		struct accesslog_opts alo = {
		    .path = flag ? o->access_log : "/dev/stdout",
		    .encoding = (enum accesslog_encoding)o->access_log_encoding,
		    .nrings = rso.shards,
		    .default_off = !flag,
		};

		a->accesslog = accesslog_new(&alo); /* logs the reason, naming the path */
		if (!a->accesslog)
			return -errno;
		ro.accesslog = a->accesslog;
		if (flag) {
			a->ev_sighup = evsignal_new(a->base, SIGHUP, agent_on_sighup, a);
			if (!a->ev_sighup || evsignal_add(a->ev_sighup, NULL) < 0)
				return -ENOMEM;
		}
	}
	ro.listen = o->outbound_addr;
	ro.workers = o->workers;
	ro.source_ip = a->node_ip;
	ro.l4_only = o->l4_only;
	ro.inherit_fds = inherit;
	ro.ninherit = ninherit;
	a->relay = relay_new(&ro, a->snap);
	if (!a->relay) {
		err = -errno;
		log_err("agent", "--outbound-addr %s: %s", o->outbound_addr, strerror(-err));
		return err;
	}
	err = relay_start(a->relay);
	if (err < 0)
		return err;
	a->health = health_new(a->base, relay_limits(a->relay), a->node_ip);
	if (!a->health)
		return -ENOMEM;
	health_update(a->health, a->model);
	/* The predecessor stops accepting and frees the ports bound below. */
	err = agent_takeover_finish(a);
	if (err < 0)
		return err;

	if (o->cni_socket && o->cni_socket[0]) {
		a->cni = cni_server_new(a->base, o->cni_socket, &agent_cni_ops, a);
		if (!a->cni) {
			err = -errno;
			log_err("agent", "--cni-socket %s: %s", o->cni_socket, strerror(-err));
			return err;
		}
	}

	a->ev_debounce = evtimer_new(a->base, agent_on_debounce, a);
	a->ev_tick = evtimer_new(a->base, agent_on_tick, a);
	a->ev_sigint = evsignal_new(a->base, SIGINT, agent_on_signal, a);
	a->ev_sigterm = evsignal_new(a->base, SIGTERM, agent_on_signal, a);
	if (!a->ev_debounce || !a->ev_tick || !a->ev_sigint || !a->ev_sigterm)
		return -ENOMEM;
	if (dirsrc_watch_fd(a->dirsrc) >= 0) {
		a->ev_store = event_new(a->base, dirsrc_watch_fd(a->dirsrc), EV_READ | EV_PERSIST,
					agent_on_store, a);
		if (!a->ev_store || event_add(a->ev_store, NULL) < 0)
			return -ENOMEM;
	}
	evsignal_add(a->ev_sigint, NULL);
	evsignal_add(a->ev_sigterm, NULL);
	agent_on_tick(-1, 0, a);

	err = agent_admin_start(a);
	if (err < 0)
		return err;
	err = agent_handoff_listen(a);
	if (err < 0) {
		log_err("agent", "--handoff-socket %s: %s", o->handoff_socket, strerror(-err));
		return err;
	}
	a->ready = true;
	a->not_ready = NULL;
	log_info("agent", "ready");
	return 0;
}

static void agent_stop(struct agent *a)
{
	health_free(a->health); /* before the relay: it reports into the relay's limits */
	a->health = NULL;
	if (a->relay) {
		relay_stop(a->relay);
		relay_collect(a->relay, agent_on_flow, a); /* the last counts are not lost */
		relay_free(a->relay);
	}
	admin_free(a->admin);
	mapfill_free(a->mapfill);
	reqstats_free(a->reqstats); /* after the workers stopped (relay_stop above) */
	spans_free(a->spans);	    /* ... so did their span rings: a last drain */
	/* Also after the workers: the writer writes what they left in their rings. */
	accesslog_free(a->accesslog);
	if (a->ev_sighup)
		event_free(a->ev_sighup);
	cni_server_free(a->cni);
	if (a->ev_ho)
		event_free(a->ev_ho);
	if (a->ev_ho_accept)
		event_free(a->ev_ho_accept);
	if (a->ho_fd >= 0)
		close(a->ho_fd);
	if (a->ho_lfd >= 0) {
		close(a->ho_lfd);
		unlink(a->opts->handoff_socket); /* ours still: nobody took over */
	}
	if (a->ho_peer >= 0)
		close(a->ho_peer);
	if (a->ev_store)
		event_free(a->ev_store);
	if (a->ev_debounce)
		event_free(a->ev_debounce);
	if (a->ev_tick)
		event_free(a->ev_tick);
	if (a->ev_sigint)
		event_free(a->ev_sigint);
	if (a->ev_sigterm)
		event_free(a->ev_sigterm);
	snap_free(a->snap); /* frees the current model too */
	dirsrc_free(a->dirsrc);
	store_free(a->store);
	enroll_fini(&a->enroll);
	sync_fini(&a->sync);
	ids_fini(&a->ids);
	datapath_close(a->dp);
}

int agent_run(const struct agent_opts *opts)
{
	struct agent *a;
	int err;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->opts = opts;
	a->not_ready = "starting";
	a->ho_lfd = a->ho_fd = a->ho_peer = -1;
	/* A peer closing a relayed connection must not kill the agent. */
	signal(SIGPIPE, SIG_IGN);
	a->base = event_base_new();
	if (!a->base) {
		free(a);
		return -ENOMEM;
	}
	err = agent_start(a);
	if (err == 0)
		event_base_dispatch(a->base);
	agent_stop(a);
	event_base_free(a->base);
	free(a);
	return err;
}

int agent_uninstall(const char *bpffs_dir)
{
	int err = datapath_uninstall(bpffs_dir);

	if (err < 0)
		log_err("agent", "uninstall %s: %s", bpffs_dir, strerror(-err));
	return err;
}
