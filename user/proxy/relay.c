// SPDX-License-Identifier: Apache-2.0
/*
 * The proxy's listener layer and its workers, declared in relay.h. Each worker thread owns
 * a libevent base, one SO_REUSEPORT listener, its sessions, a pool of 64 KiB buffers, its
 * upstream connections and a table of flow deltas; nothing of it is shared except the flow
 * mailbox (a mutex the worker takes once per flush interval) and relaxed single-writer
 * counters.
 *
 * A connection goes: accept -> original destination -> Service port in the current model
 * snapshot -> its protocol -> a session: TCP pass-through to a backend picked now
 * (tcp.c), or HTTP, where every request is routed and load-balanced on its own
 * (hsession.c). docs/proxy.md draws the layers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include <weir/maps.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "model/lb.h"
#include "model/model.h"
#include "model/route.h"
#include "proxy/access.h"
#include "proxy/relay.h"
#include "proxy/router.h"
#include "proxy/session.h"
#include "proxy/sni.h"
#include "proxy/sniff.h"
#include "proxy/conn.h"
#include "proxy/limits.h"
#include "proxy/upstream.h"
#include "telemetry/accesslog.h"
#include "telemetry/reqstats.h"
#include "telemetry/spans.h"
#include "proxy/worker.h"

#define RELAY_TICK_MS	   100 /* quiescent state, idle scan, accept retry */
#define RELAY_ACCEPT_BATCH 32  /* accepts per listener wakeup: fairness to relaying */
#define RELAY_BACKLOG	   1024

struct relay {
	struct relay_opts opts;
	struct sockaddr_in addr;
	struct snap *models;
	int nworkers;
	struct px_worker **workers;
	pthread_mutex_t collect_lock;
	struct px_flows spare; /* swapped with a worker's mailbox by relay_collect */
	struct px_limits *limits;
};

struct px_limits *px_limits(const struct px_worker *w)
{
	return w->r->limits;
}

const struct relay_opts *px_opts(const struct px_worker *w)
{
	return &w->r->opts;
}

const struct model *px_model(const struct px_worker *w)
{
	return snap_get(w->r->models);
}

/* ---- flow tables ---- */

static uint64_t flows_hash(const struct relay_flow *f)
{
	uint64_t h = ((uint64_t)f->client_ip << 32) ^ f->backend_ip;

	h ^= ((uint64_t)f->orig_ip << 24) ^ ((uint64_t)f->orig_port << 8) ^
	     ((uint64_t)f->backend_port << 40) ^ f->proto ^ ((uint64_t)f->svc_id << 16);
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static bool flows_same(const struct relay_flow *a, const struct relay_flow *b)
{
	return a->client_ip == b->client_ip && a->backend_ip == b->backend_ip &&
	       a->orig_ip == b->orig_ip && a->orig_port == b->orig_port &&
	       a->backend_port == b->backend_port && a->proto == b->proto &&
	       a->src_wl == b->src_wl && a->dst_wl == b->dst_wl && a->svc_id == b->svc_id;
}

static struct relay_flow *flows_slot(struct relay_flow *slots, size_t cap,
				     const struct relay_flow *key)
{
	size_t i = flows_hash(key) & (cap - 1);

	while (slots[i].proto && !flows_same(&slots[i], key))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int flows_grow(struct px_flows *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct relay_flow *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].proto)
			*flows_slot(slots, cap, &t->slots[i]) = t->slots[i];
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* Adds the counters of <d> to its key's entry. Allocates only when a new key needs room. */
int px_flows_add(struct px_flows *t, const struct relay_flow *d)
{
	struct relay_flow *e;

	if ((t->n + 1) * 2 > t->cap && flows_grow(t))
		return -ENOMEM;
	e = flows_slot(t->slots, t->cap, d);
	if (!e->proto) {
		*e = *d;
		e->opened = e->closed = e->bytes_up = e->bytes_down = 0;
		t->n++;
	}
	e->opened += d->opened;
	e->closed += d->closed;
	e->bytes_up += d->bytes_up;
	e->bytes_down += d->bytes_down;
	return 0;
}

void px_flows_clear(struct px_flows *t)
{
	if (t->n)
		memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->n = 0;
}

void px_flows_fini(struct px_flows *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

void px_account(struct px_worker *w, const struct relay_flow *d)
{
	/* On ENOMEM the delta is lost; the counters in relay_stats() still have it. */
	px_flows_add(&w->local, d);
}

/* ---- pools and sessions ---- */

struct px_buf *px_buf_get(struct px_worker *w)
{
	struct px_buf *b = w->free_bufs;

	if (b) {
		w->free_bufs = b->next;
		w->nfree_bufs--;
		return b;
	}
	b = malloc(sizeof(*b));
	if (b)
		px_ctr_add(w, RC_BUFFERS, 1);
	return b;
}

void px_buf_put(struct px_worker *w, struct px_buf *b)
{
	if (!b)
		return;
	if (w->nfree_bufs >= PX_POOL_BUFS) {
		free(b);
		px_ctr_add(w, RC_BUFFERS, (uint64_t)-1);
		return;
	}
	b->next = w->free_bufs;
	w->free_bufs = b;
	w->nfree_bufs++;
}

void px_session_add(struct px_worker *w, struct px_session *s, const struct px_session_ops *ops)
{
	s->w = w;
	s->ops = ops;
	px_list_init(&s->lru);
	px_session_touch(s);
}

void px_session_touch(struct px_session *s)
{
	s->last_ms = px_now_ms();
	px_list_del(&s->lru);
	px_list_add_tail(&s->w->lru, &s->lru);
}

void px_session_del(struct px_session *s)
{
	s->w->freed_since_trim++;
	px_list_del(&s->lru);
	px_ctr_add(s->w, RC_CLOSED, 1);
}

void px_close_rst(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

uint32_t px_wl_of(const struct model *m, uint32_t ip)
{
	const struct model_pod *pod = m ? model_find_pod_by_ip(m, ip) : NULL;

	return pod ? pod->wl_id : 0;
}

/* ---- accepting ---- */

/* Whether <orig> is this relay's own listener: relaying there would loop. */
static bool relay_is_self(const struct relay *r, int fd, const struct sockaddr_in *orig)
{
	struct sockaddr_in self;
	socklen_t len = sizeof(self);

	if (orig->sin_port != r->addr.sin_port)
		return false;
	if (orig->sin_addr.s_addr == r->addr.sin_addr.s_addr ||
	    (ntohl(orig->sin_addr.s_addr) >> 24) == 127)
		return true;
	return getsockname(fd, (struct sockaddr *)&self, &len) == 0 &&
	       self.sin_addr.s_addr == orig->sin_addr.s_addr;
}

static void worker_reject(struct px_worker *w, int fd, enum px_ctr why)
{
	px_ctr_add(w, why, 1);
	px_ctr_add(w, RC_CLOSED, 1);
	px_close_rst(fd);
}

/*
 * The protocol a connection to <sp> of <svc> is served with: the compiled route table's
 * (Istio's detection: appProtocol, port name prefix), else the port's own appProtocol.
 * Opaque TCP unless the port is known to carry HTTP.
 */
static uint8_t relay_proto_for(const struct model *m, const struct model_service *svc,
			       const struct model_svc_port *sp)
{
	const struct route_table *t = m->routes ? route_table_find(m->routes, svc, sp) : NULL;
	const char *ap = sp->app_proto;

	if (t)
		return t->proto;
	if (!ap || !*ap)
		return ROUTE_PROTO_SNIFF; /* no declared protocol: the first bytes tell */
	if (!strcmp(ap, "http"))
		return ROUTE_PROTO_HTTP;
	if (!strcmp(ap, "http2") || !strcmp(ap, "grpc") || !strcmp(ap, "grpc-web"))
		return !strcmp(ap, "grpc") ? ROUTE_PROTO_GRPC : ROUTE_PROTO_HTTP2;
	return ROUTE_PROTO_TCP;
}

/* What the first bytes of a connection said, once a wait session looked at them. */
struct relay_peek {
	int sniffed;		    /* enum sniff_result, or -1: not sniffed */
	bool tls_read;		    /* a ClientHello was waited for */
	bool tls;		    /* ... and one came (with or without a name) */
	char sni[SNI_HOST_MAX + 1]; /* its server name, lower case; "" for none */
	size_t sni_len;
};

static int sniff_session_start(struct px_worker *w, int fd, const struct sockaddr_in *peer,
			       const struct sockaddr_in *orig, const struct relay_peek *pk,
			       bool tls);

/*
 * Whether a connection to a port with table <t> (protocol <proto>) waits for its
 * ClientHello: TLS ports (appProtocol or name tls, https) and ports with tls[] routes.
 */
static bool relay_wants_sni(const struct route_table *t, uint8_t proto)
{
	if (proto == ROUTE_PROTO_TLS)
		return true;
	for (size_t i = 0; t && i < t->ntcp; i++)
		if (t->tcp[i]->tls)
			return true;
	return false;
}

/*
 * The backend of a TCP connection to <sp> of <svc> (original destination <orig>, first
 * bytes <pk>): by the port's VirtualService tls[] route (a ClientHello whose SNI, port,
 * destination and client match) or tcp[] route (port), a weighted destination cluster
 * balanced by its DestinationRule policy, outlier ejections skipped; else by the kernel's
 * own rule over the port's endpoints (Istio's passthrough to the Service when no route
 * holds). NULL when none is usable.
 */
static const struct model_endpoint *
relay_tcp_pick(struct px_worker *w, const struct model *m, const struct model_service *svc,
	       const struct model_svc_port *sp, const struct sockaddr_in *peer,
	       const struct sockaddr_in *orig, const struct relay_peek *pk)
{
	const struct route_table *t = m->routes ? route_table_find(m->routes, svc, sp) : NULL;
	const struct model_pod *pod = model_find_pod_by_ip(m, peer->sin_addr.s_addr);
	struct router_source src = {.port = sp->port};
	struct router_l4 c = {.src = &src, .dst_ip = orig->sin_addr.s_addr};
	const struct route_tcp *rt;
	const struct route_cluster *cl;
	const struct route_dest *d;
	struct balancer_req br = {.gen = m->generation ? m->generation : 1,
				  .src_ip = peer->sin_addr.s_addr};
	size_t idx;

	if (pod) {
		src.labels = pod->labels;
		src.nlabels = pod->nlabels;
		src.ns = pod->ns;
	}
	if (pk && pk->tls) {
		c.tls = true;
		c.sni = pk->sni_len ? pk->sni : NULL;
		c.sni_len = pk->sni_len;
	}
	rt = router_l4_route(t, &c);
	if (!rt || !rt->ndests)
		return lb_pick(sp, lb_rand(&w->rnd));
	d = router_pick_tcp_dest(rt, lb_rand(&w->rnd));
	/* The cluster as the client sees it (DestinationRule exportTo, workloadSelector). */
	cl = d ? router_cluster_for(d->cluster, &src) : NULL;
	if (!cl || cl->subset_unknown)
		return NULL;
	limits_balancer_req(w->r->limits, cl, &br);
	if (balancer_pick(&w->bal, cl, &br, &idx))
		return NULL;
	return cl->eps[idx];
}

/*
 * Hands accepted socket <fd> from <peer>, which connected to <orig>, to its session, in
 * the snapshot in force now. <pk> is what the first bytes said, or NULL when nobody looked
 * yet: a port without a declared protocol is sniffed first, a TLS port waits for the
 * ClientHello's server name.
 */
static void relay_dispatch(struct px_worker *w, int fd, const struct sockaddr_in *peer,
			   const struct sockaddr_in *orig, const struct relay_peek *pk)
{
	int sniffed = pk ? pk->sniffed : -1;
	struct relay *r = w->r;
	const struct model_service *svc = NULL;
	const struct model_svc_port *sp = NULL;
	const struct model_endpoint *ep = NULL;
	const struct model *m;
	struct sockaddr_in target;
	struct relay_flow key;
	uint8_t proto = ROUTE_PROTO_TCP;
	int err;

	target = *orig;
	target.sin_family = AF_INET;
	/* The snapshot is used inside this callback only: what is kept is copied out. */
	m = snap_get(r->models);
	if (m)
		sp = model_find_svc_port(m, orig->sin_addr.s_addr, orig->sin_port, IPPROTO_TCP,
					 &svc);
	if (sp)
		proto = relay_proto_for(m, svc, sp);
	if (proto == ROUTE_PROTO_SNIFF && !r->opts.l4_only) {
		if (sniffed < 0) {
			if (sniff_session_start(w, fd, peer, orig, pk, false))
				worker_reject(w, fd, RC_RESETS);
			return;
		}
		proto = sniffed == SNIFF_HTTP1 ? ROUTE_PROTO_HTTP
			: sniffed == SNIFF_H2  ? ROUTE_PROTO_HTTP2
					       : ROUTE_PROTO_TCP;
	}
	if (sp && proto != ROUTE_PROTO_TCP && proto != ROUTE_PROTO_TLS &&
	    proto != ROUTE_PROTO_SNIFF && !r->opts.l4_only) {
		/* HTTP: the backend is chosen per request, after routing. */
		struct hsession_dest d = {
		    .orig = *orig,
		    .client_ip = peer->sin_addr.s_addr,
		    .client_port = peer->sin_port,
		    .svc_id = svc->id,
		    .src_wl = px_wl_of(m, peer->sin_addr.s_addr),
		    .upstream_proto = proto,
		};

		err = hsession_start(w, fd, &d);
		if (err)
			worker_reject(w, fd, RC_RESETS);
		return;
	}
	if (sp && !r->opts.l4_only && !(pk && pk->tls_read) &&
	    relay_wants_sni(m->routes ? route_table_find(m->routes, svc, sp) : NULL, proto)) {
		/* tls[] routes need the ClientHello's server name: wait for it as for a sniff. */
		if (sniff_session_start(w, fd, peer, orig, pk, true))
			worker_reject(w, fd, RC_RESETS);
		return;
	}
	if (sp) {
		ep = relay_tcp_pick(w, m, svc, sp, peer, orig, pk);
		if (!ep) {
			px_access_tcp_refused(w, peer, orig, REQSTATS_F_UH);
			worker_reject(w, fd, RC_NO_BACKEND);
			return;
		}
		target.sin_addr.s_addr = ep->ip;
		target.sin_port = htons(ep->port);
	} else {
		px_ctr_add(w, RC_PASSTHROUGH, 1);
	}
	memset(&key, 0, sizeof(key));
	key.client_ip = peer->sin_addr.s_addr;
	key.backend_ip = target.sin_addr.s_addr;
	key.orig_ip = orig->sin_addr.s_addr;
	key.orig_port = ntohs(orig->sin_port);
	key.backend_port = ntohs(target.sin_port);
	key.proto = IPPROTO_TCP;
	key.svc_id = svc ? svc->id : 0;
	key.src_wl = px_wl_of(m, peer->sin_addr.s_addr);
	key.dst_wl = ep && ep->pod ? ep->pod->wl_id : px_wl_of(m, target.sin_addr.s_addr);
	if (tcp_session_start(w, fd, &target, &key))
		worker_reject(w, fd, RC_RESETS);
}

/* ---- sniffing: ports with no declared protocol, and TLS server names ---- */

#define SNIFF_WAIT_MS 100 /* Istio's former protocol detection timeout: then it is TCP */

/*
 * A connection whose first bytes are awaited; it is a session only until they come. The
 * bytes are peeked, never read: whatever session follows relays them unchanged. In TLS
 * mode the ClientHello is fed to <sni> as more of it arrives.
 */
struct sniff_wait {
	struct px_session s;
	struct px_conn conn;
	struct sockaddr_in peer, orig;
	struct event timer;
	struct relay_peek pk;
	struct sni_parser *sni; /* TLS mode; NULL: HTTP sniffing */
};

static void sniff_wait_free(struct sniff_wait *sw)
{
	free(sw->sni);
	free(sw);
}

/* Ends the wait with what the bytes said (<sw>->pk) and dispatches the socket again. */
static void sniff_finish(struct sniff_wait *sw)
{
	struct px_worker *w = sw->s.w;
	struct sockaddr_in peer = sw->peer, orig = sw->orig;
	struct relay_peek pk = sw->pk;
	int fd = sw->conn.fd;

	/* The socket goes on to its real session: drop our events, keep the descriptor. */
	event_del(&sw->conn.rev);
	event_del(&sw->conn.wev);
	event_del(&sw->timer);
	px_list_del(&sw->s.lru); /* not px_session_del: the connection is not closed */
	sniff_wait_free(sw);
	relay_dispatch(w, fd, &peer, &orig, &pk);
}

static void sniff_decide(struct sniff_wait *sw, int result)
{
	sw->pk.sniffed = result;
	sniff_finish(sw);
}

/* The TLS verdict <res> (enum sni_result) into <sw>->pk, then on to the session. */
static void sniff_tls_decide(struct sniff_wait *sw, int res)
{
	sw->pk.tls_read = true;
	/* A ClientHello cut short by the deadline still is TLS: tls[] routes without a
	 * name ("*") may hold; anything else (not TLS at all) takes the tcp[] routes. */
	sw->pk.tls =
	    res == SNI_FOUND || res == SNI_NONE || (res == SNI_NEED_MORE && sw->sni->fed > 0);
	if (res == SNI_FOUND) {
		memcpy(sw->pk.sni, sw->sni->host, sw->sni->host_len + 1);
		sw->pk.sni_len = sw->sni->host_len;
	}
	sniff_finish(sw);
}

static void sniff_close(struct px_session *s, bool rst)
{
	struct sniff_wait *sw = (struct sniff_wait *)s;

	event_del(&sw->timer);
	conn_close(&sw->conn, rst);
	px_session_del(s);
	sniff_wait_free(sw);
}

static void sniff_account(struct px_session *s)
{
}

static const struct px_session_ops sniff_ops = {
    .name = "sniff",
    .close = sniff_close,
    .account = sniff_account,
    .drain = NULL,
};

/* A prefix only: level-triggered EV_READ would spin on the same bytes; poll shortly. */
static void sniff_wait_more(struct sniff_wait *sw)
{
	conn_want(&sw->conn, EV_READ, false);
	event_add(&sw->timer, &(struct timeval){0, 5000});
}

/* TLS mode: peek what arrived (into a pool buffer) and feed the parser what is new. */
static void sniff_tls_io(struct sniff_wait *sw, struct px_conn *c)
{
	struct px_buf *b = px_buf_get(sw->s.w);
	enum sni_result res;
	ssize_t n;

	if (!b) {
		sniff_tls_decide(sw, SNI_NEED_MORE); /* no memory to look: as a timeout */
		return;
	}
	n = recv(c->fd, b->data, sizeof(b->data), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		px_buf_put(sw->s.w, b);
		return;
	}
	if (n <= 0) {
		px_buf_put(sw->s.w, b);
		sniff_close(&sw->s, n < 0);
		return;
	}
	res = SNI_NEED_MORE;
	if ((size_t)n > sw->sni->fed)
		res = sni_feed(sw->sni, b->data + sw->sni->fed, (size_t)n - sw->sni->fed);
	px_buf_put(sw->s.w, b);
	if (res == SNI_NEED_MORE && (size_t)n < sizeof(b->data)) {
		sniff_wait_more(sw);
		return;
	}
	/* A hello fragmented past a whole buffer is TLS we will not wait for: no name. */
	sniff_tls_decide(sw, res == SNI_NEED_MORE ? SNI_NONE : (int)res);
}

static void sniff_io(void *owner, struct px_conn *c, short what)
{
	struct sniff_wait *sw = owner;
	uint8_t buf[SNIFF_METHOD_MAX];
	ssize_t n;
	enum sniff_result res;

	if (sw->sni) {
		sniff_tls_io(sw, c);
		return;
	}
	n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		sniff_close(&sw->s, n < 0);
		return;
	}
	res = sniff_proto(buf, (size_t)n);
	if (res == SNIFF_NEED_MORE && (size_t)n < sizeof(buf)) {
		sniff_wait_more(sw);
		return;
	}
	sniff_decide(sw, res == SNIFF_NEED_MORE ? SNIFF_OTHER : (int)res);
}

static void sniff_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sniff_wait *sw = arg;

	if (px_now_ms() - sw->s.last_ms >= SNIFF_WAIT_MS) {
		/* Server-first protocols never speak first: TCP. A ClientHello that did not
		 * come whole in time: TLS without a name. */
		if (sw->sni)
			sniff_tls_decide(sw, SNI_NEED_MORE);
		else
			sniff_decide(sw, SNIFF_OTHER);
		return;
	}
	conn_want(&sw->conn, EV_READ, true);
	event_add(&sw->timer, &(struct timeval){0, SNIFF_WAIT_MS * 1000});
}

static void sniff_connected(void *owner, struct px_conn *c, int err)
{
}

static const struct px_conn_ops sniff_conn_ops = {
    .io = sniff_io,
    .connected = sniff_connected,
};

/*
 * Starts waiting for the first bytes of <fd>: HTTP sniffing, or with <tls> the ClientHello.
 * <pk> (may be NULL) is what an earlier wait found, kept for the next dispatch.
 */
static int sniff_session_start(struct px_worker *w, int fd, const struct sockaddr_in *peer,
			       const struct sockaddr_in *orig, const struct relay_peek *pk,
			       bool tls)
{
	struct sniff_wait *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return -ENOMEM;
	if (pk)
		sw->pk = *pk;
	else
		sw->pk.sniffed = -1;
	if (tls) {
		sw->sni = malloc(sizeof(*sw->sni));
		if (!sw->sni) {
			free(sw);
			return -ENOMEM;
		}
		sni_init(sw->sni);
	}
	sw->peer = *peer;
	sw->orig = *orig;
	conn_init(&sw->conn, w, fd, &sniff_conn_ops, sw);
	event_assign(&sw->timer, w->base, -1, 0, sniff_timer_cb, sw);
	px_session_add(w, &sw->s, &sniff_ops);
	conn_want(&sw->conn, EV_READ, true);
	event_add(&sw->timer, &(struct timeval){0, SNIFF_WAIT_MS * 1000});
	return 0;
}

/* Takes accepted socket <fd> from <peer> through resolution to its session. */
static void worker_conn_new(struct px_worker *w, int fd, const struct sockaddr_in *peer)
{
	struct relay *r = w->r;
	struct sockaddr_in orig;
	int one = 1;

	memset(&orig, 0, sizeof(orig));
	if (r->opts.orig_dst(fd, &orig, r->opts.orig_dst_arg) || !orig.sin_addr.s_addr ||
	    !orig.sin_port) {
		worker_reject(w, fd, RC_ORIGDST_FAILED);
		return;
	}
	if (relay_is_self(r, fd, &orig)) {
		worker_reject(w, fd, RC_LOOP);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	relay_dispatch(w, fd, peer, &orig, NULL);
}

static void worker_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct px_worker *w = arg;
	struct sockaddr_in peer;
	socklen_t len;
	int fd;

	for (int i = 0; i < RELAY_ACCEPT_BATCH; i++) {
		len = sizeof(peer);
		fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNABORTED)
				continue;
			px_ctr_add(w, RC_ACCEPT_ERRORS, 1);
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Level-triggered: without a pause the loop would spin. */
				event_del(w->lev);
				w->accept_paused = true;
			}
			return;
		}
		px_ctr_add(w, RC_ACCEPTED, 1);
		worker_conn_new(w, fd, &peer);
	}
}

/* Moves every live connection's pending counters and the local table into the mailbox. */
static void worker_flush(struct px_worker *w)
{
	for (struct px_list *l = w->lru.next; l != &w->lru; l = l->next)
		((struct px_session *)l)->ops->account((struct px_session *)l);
	if (!w->local.n)
		return;
	pthread_mutex_lock(&w->mbox_lock);
	for (size_t i = 0; i < w->local.cap; i++)
		if (w->local.slots[i].proto)
			px_flows_add(&w->mbox, &w->local.slots[i]);
	pthread_mutex_unlock(&w->mbox_lock);
	px_flows_clear(&w->local);
}

static void worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_worker *w = arg;
	uint64_t now = px_now_ms();

	/* An idle worker blocks in epoll: the tick keeps its quiescent states coming. */
	snap_quiesce(w->r->models, w->reader);
	if (w->accept_paused && !w->draining && !event_add(w->lev, NULL))
		w->accept_paused = false;
	/* The LRU list is in activity order: stop at the first connection not idle. */
	while (w->lru.next != &w->lru) {
		struct px_session *c = (struct px_session *)w->lru.next;

		if (now - c->last_ms < w->r->opts.idle_timeout_ms)
			break;
		px_ctr_add(w, RC_IDLE_CLOSED, 1);
		c->ops->close(c, false);
	}
	/* Once a second, sessions idle for PX_QUIET_MS give back what they can rebuild; the
	 * walk stops at the first more recent one (the list is in activity order). */
	if (now - w->last_quiet_ms >= PX_QUIET_MS) {
		w->last_quiet_ms = now;
		for (struct px_list *l = w->lru.next; l != &w->lru;) {
			struct px_session *c = (struct px_session *)l;

			l = l->next; /* quiet may touch c (its output moves it to the tail) */
			if (now - c->last_ms < PX_QUIET_MS)
				break;
			if (c->ops->quiet && c->ops->quiet(c))
				w->freed_since_trim++;
		}
		/*
		 * What closed and quiet sessions freed stays in the allocator's free lists (and in
		 * the process's resident memory) until trimmed: after a batch of them, once a
		 * second at most, whole free pages go back to the kernel.
		 */
		if (w->freed_since_trim >= PX_QUIET_TRIM) {
			w->freed_since_trim = 0;
			malloc_trim(0);
		}
	}
	w->now_ms = now;
	upstream_pool_tick(w->pool, now);
	exchange_tick(w);
	if (now - w->last_flush_ms >= w->r->opts.flush_ms) {
		w->last_flush_ms = now;
		worker_flush(w);
		if (w->rs)
			reqstats_flush(w->rs);
	}
}

/* Drain: no new connections; every session finishes what it has in flight and ends. */
static void worker_drain(struct px_worker *w)
{
	struct px_list *l, *next;

	if (w->draining)
		return;
	w->draining = true;
	if (w->lev)
		event_del(w->lev);
	/* A reference to the listening socket: the agent that took over holds another one,
	 * so connections queued on it are not lost. */
	if (w->lfd >= 0)
		close(w->lfd);
	w->lfd = -1;
	w->accept_paused = false;
	for (l = w->lru.next; l != &w->lru; l = next) {
		struct px_session *c = (struct px_session *)l;

		next = l->next; /* drain may end the session */
		if (c->ops->drain)
			c->ops->drain(c);
	}
}

static void worker_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_worker *w = arg;
	unsigned cmd;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	cmd = atomic_exchange(&w->cmd, 0);
	if (cmd & PX_CMD_DRAIN)
		worker_drain(w);
	if (!(cmd & PX_CMD_STOP))
		return;
	/* Stop: no new connections, reset the live ones, hand the last deltas over. */
	w->stopping = true;
	event_del(w->lev);
	if (w->lfd >= 0)
		close(w->lfd);
	w->lfd = -1;
	while (w->lru.next != &w->lru) {
		struct px_session *c = (struct px_session *)w->lru.next;

		c->ops->close(c, true);
	}
	upstream_pool_free(w->pool);
	w->pool = NULL;
	worker_flush(w);
	if (w->rs)
		reqstats_flush(w->rs);
	event_del(w->tick_ev);
	event_del(w->ctl_ev);
}

static void *worker_main(void *arg)
{
	struct px_worker *w = arg;

	/* A quiescent state after every loop iteration: no callback keeps a snapshot. */
	while (!w->stopping) {
		if (event_base_loop(w->base, EVLOOP_ONCE) < 0) {
			log_err("relay", "worker %d: event loop failed", w->idx);
			break;
		}
		snap_quiesce(w->r->models, w->reader);
	}
	return NULL;
}

/* ---- setup and teardown ---- */

/* <s> as an IPv4 listen address: the relay's sockets and weir's hooks are IPv4. */
static int relay_parse_addr(const char *s, struct sockaddr_in *out)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (addr_parse(s, &ss, &len) || ss.ss_family != AF_INET)
		return -EINVAL;
	memcpy(out, &ss, sizeof(*out));
	return 0;
}

static int relay_listen(struct sockaddr_in *addr)
{
	int fd, one = 1;
	socklen_t len = sizeof(*addr);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)addr, sizeof(*addr)) || listen(fd, RELAY_BACKLOG) ||
	    getsockname(fd, (struct sockaddr *)addr, &len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void worker_free(struct px_worker *w)
{
	struct px_buf *b;

	if (!w)
		return;
	upstream_pool_free(w->pool);
	balancer_fini(&w->bal);
	while ((b = w->free_bufs)) {
		w->free_bufs = b->next;
		free(b);
		px_ctr_add(w, RC_BUFFERS, (uint64_t)-1);
	}
	if (w->lev)
		event_free(w->lev);
	if (w->ctl_ev)
		event_free(w->ctl_ev);
	if (w->tick_ev)
		event_free(w->tick_ev);
	if (w->base)
		event_base_free(w->base);
	if (w->lfd >= 0)
		close(w->lfd);
	if (w->ctl_fd >= 0)
		close(w->ctl_fd);
	px_flows_fini(&w->local);
	px_flows_fini(&w->mbox);
	pthread_mutex_destroy(&w->mbox_lock);
	free(w);
}

static struct px_worker *worker_new(struct relay *r, int idx)
{
	struct timeval tick = {.tv_sec = 0, .tv_usec = RELAY_TICK_MS * 1000};
	struct event_config *cfg;
	struct px_worker *w;
	int fd;

	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->r = r;
	w->idx = idx;
	w->reader = -1;
	w->lfd = w->ctl_fd = -1;
	w->rnd = ((uint64_t)getpid() << 32) ^ ((uint64_t)idx + 1) * 0x9e3779b97f4a7c15ULL ^
		 (uint64_t)time(NULL);
	px_list_init(&w->lru);
	px_list_init(&w->waiting);
	pthread_mutex_init(&w->mbox_lock, NULL);
	balancer_init(&w->bal, w->rnd ^ 0x5851f42d4c957f2dULL);
	if (r->opts.reqstats)
		w->rs = reqstats_shard(r->opts.reqstats, (unsigned)idx);
	if (r->opts.spans)
		w->spans = spans_shard(r->opts.spans, (unsigned)idx);
	w->al = accesslog_ring(r->opts.accesslog, (unsigned)idx);

	if (idx < r->opts.ninherit) {
		struct sockaddr_in a;
		socklen_t alen = sizeof(a);

		/* A listener handed over by the agent this one replaces: its queue goes on. */
		fd = r->opts.inherit_fds[idx];
		if (getsockname(fd, (struct sockaddr *)&a, &alen) || a.sin_family != AF_INET) {
			errno = EBADF;
			goto out_free;
		}
		if (!r->addr.sin_port)
			r->addr = a;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	} else {
		fd = relay_listen(&r->addr);
		if (fd < 0) {
			errno = -fd;
			goto out_free;
		}
	}
	w->lfd = fd;
	w->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->ctl_fd < 0)
		goto out_free;
	/* One thread per base: its internal locks would only cost. */
	cfg = event_config_new();
	if (!cfg)
		goto out_nomem;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!w->base)
		goto out_nomem;
	w->lev = event_new(w->base, w->lfd, EV_READ | EV_PERSIST, worker_accept_cb, w);
	w->ctl_ev = event_new(w->base, w->ctl_fd, EV_READ | EV_PERSIST, worker_ctl_cb, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, worker_tick_cb, w);
	w->pool = upstream_pool_new(w);
	if (!w->pool || !w->lev || !w->ctl_ev || !w->tick_ev || event_add(w->lev, NULL) ||
	    event_add(w->ctl_ev, NULL) || event_add(w->tick_ev, &tick))
		goto out_nomem;
	return w;

out_nomem:
	errno = ENOMEM;
out_free : {
	int err = errno;

	worker_free(w);
	errno = err;
}
	return NULL;
}

int relay_orig_dst_sockopt(int fd, struct sockaddr_in *out, void *arg)
{
	socklen_t len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (getsockopt(fd, SOL_IP, WEIR_SO_ORIGINAL_DST, out, &len) < 0)
		return -errno;
	if (len < sizeof(*out))
		return -EPROTO;
	return 0;
}

struct relay *relay_new(const struct relay_opts *opts, struct snap *models)
{
	const char *laddr = opts->listen ? opts->listen : "0.0.0.0:15001";
	struct relay *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->opts = *opts;
	r->opts.listen = NULL; /* not kept: the caller's string may go */
	if (!r->opts.workers)
		r->opts.workers = 2;
	if (!r->opts.connect_timeout_ms)
		r->opts.connect_timeout_ms = 5000;
	if (!r->opts.idle_timeout_ms)
		r->opts.idle_timeout_ms = 3600 * 1000;
	if (!r->opts.flush_ms)
		r->opts.flush_ms = 1000;
	if (!r->opts.orig_dst)
		r->opts.orig_dst = relay_orig_dst_sockopt;
	r->models = models;
	pthread_mutex_init(&r->collect_lock, NULL);
	r->limits = limits_new();
	if (!r->limits) {
		err = ENOMEM;
		goto out_free;
	}
	if (r->opts.workers < 0 || r->opts.workers > 256 || !models) {
		err = EINVAL;
		log_err("relay", "bad options: %d workers, models %p", r->opts.workers,
			(void *)models);
		goto out_free;
	}
	if (relay_parse_addr(laddr, &r->addr)) {
		err = EINVAL;
		log_err("relay", "listen address '%s': expected ipv4:port", laddr);
		goto out_free;
	}
	r->workers = calloc(r->opts.workers > r->opts.ninherit ? r->opts.workers : r->opts.ninherit,
			    sizeof(*r->workers));
	if (!r->workers) {
		err = ENOMEM;
		goto out_free;
	}
	/* Every inherited listener gets a worker: closing one would drop its queue. */
	if (r->opts.ninherit > r->opts.workers)
		r->opts.workers = r->opts.ninherit;
	/* The first listener learns the port (when 0 was asked); the others share it. */
	for (r->nworkers = 0; r->nworkers < r->opts.workers; r->nworkers++) {
		r->workers[r->nworkers] = worker_new(r, r->nworkers);
		if (!r->workers[r->nworkers]) {
			err = errno;
			log_err("relay", "listen on %s (worker %d): %s", laddr, r->nworkers,
				strerror(err));
			goto out_free;
		}
	}
	r->opts.inherit_fds = NULL; /* the caller's array: not kept */
	r->opts.ninherit = 0;
	return r;

out_free:
	relay_free(r);
	errno = err;
	return NULL;
}

void relay_addr(const struct relay *r, struct sockaddr_in *out)
{
	*out = r->addr;
}

int relay_start(struct relay *r)
{
	sigset_t all, old;
	int err = 0;

	/* Workers inherit a full signal mask: signals belong to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < r->nworkers; i++) {
		struct px_worker *w = r->workers[i];

		if (w->running || w->stopping)
			continue;
		w->reader = snap_register(r->models);
		if (w->reader < 0) {
			err = w->reader;
			log_err("relay", "worker %d: no snapshot reader slot left", i);
			break;
		}
		w->last_flush_ms = px_now_ms();
		err = -pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			snap_unregister(r->models, w->reader);
			w->reader = -1;
			log_err("relay", "worker %d: %s", i, strerror(-err));
			break;
		}
		w->running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		relay_stop(r);
	return err;
}

void relay_stop(struct relay *r)
{
	uint64_t one = 1;

	for (int i = 0; i < r->nworkers; i++) {
		struct px_worker *w = r->workers[i];

		if (!w->running)
			continue;
		atomic_fetch_or(&w->cmd, PX_CMD_STOP);
		if (write(w->ctl_fd, &one, sizeof(one)) != sizeof(one))
			log_err("relay", "worker %d: cannot signal stop: %s", i, strerror(errno));
	}
	for (int i = 0; i < r->nworkers; i++) {
		struct px_worker *w = r->workers[i];

		if (!w->running)
			continue;
		pthread_join(w->thread, NULL);
		snap_unregister(r->models, w->reader);
		w->reader = -1;
		w->running = false;
	}
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	if (r->workers) {
		relay_stop(r);
		for (int i = 0; i < r->nworkers; i++)
			worker_free(r->workers[i]);
		free(r->workers);
	}
	px_flows_fini(&r->spare);
	limits_free(r->limits);
	pthread_mutex_destroy(&r->collect_lock);
	free(r);
}

int relay_collect(struct relay *r, void (*cb)(const struct relay_flow *f, void *arg), void *arg)
{
	int n = 0;

	pthread_mutex_lock(&r->collect_lock);
	for (int i = 0; i < r->nworkers; i++) {
		struct px_worker *w = r->workers[i];
		struct px_flows t;

		/* O(1) under the worker's lock: swap the mailbox with an empty table. */
		pthread_mutex_lock(&w->mbox_lock);
		t = w->mbox;
		w->mbox = r->spare;
		pthread_mutex_unlock(&w->mbox_lock);
		r->spare = t;
		for (size_t j = 0; j < t.cap; j++) {
			if (!t.slots[j].proto)
				continue;
			cb(&t.slots[j], arg);
			n++;
		}
		px_flows_clear(&r->spare);
	}
	pthread_mutex_unlock(&r->collect_lock);
	return n;
}

void relay_stats(struct relay *r, struct relay_stats *out)
{
	uint64_t v[RC_MAX] = {0};

	for (int i = 0; i < r->nworkers; i++)
		for (int c = 0; c < RC_MAX; c++)
			v[c] += atomic_load_explicit(&r->workers[i]->ctr[c], memory_order_relaxed);
	memset(out, 0, sizeof(*out));
	out->accepted = v[RC_ACCEPTED];
	out->closed = v[RC_CLOSED];
	out->active = v[RC_ACCEPTED] - v[RC_CLOSED];
	out->opened = v[RC_OPENED];
	out->passthrough = v[RC_PASSTHROUGH];
	out->no_backend = v[RC_NO_BACKEND];
	out->connect_failed = v[RC_CONNECT_FAILED];
	out->connect_timeout = v[RC_CONNECT_TIMEOUT];
	out->origdst_failed = v[RC_ORIGDST_FAILED];
	out->loop = v[RC_LOOP];
	out->resets = v[RC_RESETS];
	out->idle_closed = v[RC_IDLE_CLOSED];
	out->accept_errors = v[RC_ACCEPT_ERRORS];
	out->bytes_up = v[RC_BYTES_UP];
	out->bytes_down = v[RC_BYTES_DOWN];
	out->buffers = v[RC_BUFFERS];
	out->http_sessions = v[RC_HTTP_SESSIONS];
	out->http_requests = v[RC_HTTP_REQUESTS];
	out->http_responses = v[RC_HTTP_RESPONSES];
	out->http_local = v[RC_HTTP_LOCAL];
	out->http_retries = v[RC_HTTP_RETRIES];
	out->http_timeouts = v[RC_HTTP_TIMEOUTS];
	out->http_proto_err = v[RC_HTTP_PROTO_ERR];
	out->http2_quiet = v[RC_HTTP2_QUIET];
	out->up_conns = v[RC_UP_CONNS];
	out->up_reused = v[RC_UP_REUSED];
}

int relay_listen_fds(const struct relay *r, int *fds, int max)
{
	int n = 0;

	for (int i = 0; i < r->nworkers && n < max; i++)
		if (r->workers[i]->lfd >= 0)
			fds[n++] = r->workers[i]->lfd;
	return n;
}

void relay_drain(struct relay *r)
{
	uint64_t one = 1;

	for (int i = 0; i < r->nworkers; i++) {
		struct px_worker *w = r->workers[i];

		if (!w->running)
			continue;
		atomic_fetch_or(&w->cmd, PX_CMD_DRAIN);
		if (write(w->ctl_fd, &one, sizeof(one)) != sizeof(one))
			log_err("relay", "worker %d: cannot signal drain: %s", i, strerror(errno));
	}
}

unsigned relay_ejected(struct relay *r, void (*cb)(uint32_t ip, uint16_t port, void *arg),
		       void *arg)
{
	return limits_od_foreach(r->limits, px_now_ms(), cb, arg);
}

struct px_limits *relay_limits(struct relay *r)
{
	return r->limits;
}
