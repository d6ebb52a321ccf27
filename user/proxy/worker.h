/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the proxy's layers share inside one worker thread (private to user/proxy/): the
 * worker itself (event base, pools, counters, flow table, live sessions), the session
 * contract every protocol session implements, and the small helpers they all use. A worker
 * owns everything here; nothing crosses threads but the flow mailbox and the counters.
 *
 *   listener (relay.c) -> transport (conn.c) -> session (tcp.c, hsession.c)
 *   -> router (router.c) -> upstream pool (upstream.c)
 */
#ifndef WEIR_PROXY_WORKER_H
#define WEIR_PROXY_WORKER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "proxy/balancer.h"
#include "proxy/relay.h"

#define PX_BUF_SIZE   (64 * 1024) /* one pooled buffer: a direction's bytes in flight */
#define PX_POOL_BUFS  256	  /* free buffers a worker keeps (16 MiB) */
#define PX_POOL_CONNS 1024	  /* free session structs a worker keeps per kind */

/* Per-worker counters: written by their worker only, read by relay_stats(). */
enum px_ctr {
	RC_ACCEPTED,
	RC_OPENED,
	RC_CLOSED,
	RC_PASSTHROUGH,
	RC_NO_BACKEND,
	RC_CONNECT_FAILED,
	RC_CONNECT_TIMEOUT,
	RC_ORIGDST_FAILED,
	RC_LOOP,
	RC_RESETS,
	RC_IDLE_CLOSED,
	RC_ACCEPT_ERRORS,
	RC_BYTES_UP,
	RC_BYTES_DOWN,
	RC_BUFFERS,
	RC_HTTP_SESSIONS,  /* downstream HTTP sessions accepted */
	RC_HTTP_REQUESTS,  /* requests received */
	RC_HTTP_RESPONSES, /* responses completed downstream */
	RC_HTTP_LOCAL,	   /* answered by the agent itself (503, 404, fault, redirect) */
	RC_HTTP_RETRIES,   /* upstream attempts beyond the first */
	RC_HTTP_TIMEOUTS,  /* route or per-try timeouts */
	RC_HTTP_PROTO_ERR, /* downstream protocol errors (400, 431, GOAWAY) */
	RC_UP_CONNS,	   /* upstream connections opened for HTTP */
	RC_UP_REUSED,	   /* requests sent on a kept-alive or multiplexed connection */
	RC_HTTP2_QUIET,	   /* idle HTTP/2 sessions that gave their nghttp2 state back */
	RC_MAX
};

struct px_list {
	struct px_list *prev, *next;
};

static inline void px_list_init(struct px_list *l)
{
	l->prev = l->next = l;
}

static inline bool px_list_empty(const struct px_list *l)
{
	return l->next == l;
}

static inline void px_list_del(struct px_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

static inline void px_list_add_tail(struct px_list *head, struct px_list *e)
{
	e->prev = head->prev;
	e->next = head;
	head->prev->next = e;
	head->prev = e;
}

struct px_buf {
	struct px_buf *next; /* free list link */
	unsigned char data[PX_BUF_SIZE];
};

/* Flow deltas keyed by relay_flow's key fields; proto 0 marks an empty slot. */
struct px_flows {
	struct relay_flow *slots;
	size_t cap, n;
};

int px_flows_add(struct px_flows *t, const struct relay_flow *d);
void px_flows_clear(struct px_flows *t);
void px_flows_fini(struct px_flows *t);

struct px_session;

/*
 * The contract of a protocol session (TCP pass-through, HTTP): what the worker asks of
 * every live session. A session sits on the worker's LRU list while it lives.
 */
struct px_session_ops {
	const char *name;
	/* Ends <s> (a reset to its peers when <rst>) and frees it. */
	void (*close)(struct px_session *s, bool rst);
	/* Moves <s>'s pending flow counts into the worker's flow table (see px_account()). */
	void (*account)(struct px_session *s);
	/* The worker drains: finish what is in flight, take nothing new (may be NULL). */
	void (*drain)(struct px_session *s);
	/* <s> has been idle PX_QUIET_MS: give back what it can rebuild (may be NULL); true
	 * when it just did. */
	bool (*quiet)(struct px_session *s);
};

/* How long a session is idle before its quiet op runs (HTTP/2: its nghttp2 session goes). */
#define PX_QUIET_MS 1000
/* Sessions closed or gone quiet (tens of KiB freed each) before a worker trims the heap. */
#define PX_QUIET_TRIM 16

struct px_session {
	struct px_list lru; /* the worker's live sessions, least recently active first */
	const struct px_session_ops *ops;
	struct px_worker *w;
	uint64_t last_ms; /* last activity */
};

struct upstream_pool;
struct reqstats_shard;
struct spans_shard;
struct accesslog_ring;

#define PX_CMD_STOP  1u /* reset what is live, hand the last deltas over, return */
#define PX_CMD_DRAIN 2u /* stop accepting; sessions finish what is in flight */

struct px_worker {
	struct relay *r;
	int idx;
	int reader;	    /* snap reader id while running */
	bool running;	    /* the thread was started and not yet joined */
	bool stopping;	    /* worker-thread only */
	bool accept_paused; /* out of fds: accepting again at the next tick */
	pthread_t thread;
	struct event_base *base;
	int lfd;
	struct event *lev;
	int ctl_fd;	      /* eventfd: the control thread asks the worker to drain or stop */
	_Atomic unsigned cmd; /* PX_CMD_* bits posted with a write to ctl_fd */
	bool draining;
	struct event *ctl_ev;
	struct event *tick_ev;
	uint64_t rnd; /* lb_rand() state */
	uint64_t now_ms;
	uint64_t last_flush_ms;
	uint64_t last_quiet_ms;	   /* the last quiet sweep (worker_tick_cb) */
	uint32_t freed_since_trim; /* sessions closed or gone quiet since the last trim */
	struct px_list lru;	   /* live sessions (sentinel) */
	struct px_buf *free_bufs;
	unsigned nfree_bufs;
	struct upstream_pool *pool; /* upstream connections for HTTP (upstream.c) */
	struct balancer bal;	    /* load-balancing state of this worker (balancer.c) */
	struct reqstats_shard *rs;  /* request telemetry of this worker; NULL: none */
	struct spans_shard *spans;  /* span ring of this worker; NULL: no tracing */
	struct accesslog_ring *al;  /* access log ring of this worker; NULL: no log */
	struct px_list waiting;	    /* exchanges queued by a circuit breaker */
	struct px_flows local;	    /* deltas since the last flush (worker only) */
	pthread_mutex_t mbox_lock;  /* taken once per flush by the worker, by relay_collect */
	struct px_flows mbox;	    /* handed over, waiting for relay_collect() */
	_Atomic uint64_t ctr[RC_MAX];
};

/* The relay's options, as every layer reads them (relay.c owns the struct). */
const struct relay_opts *px_opts(const struct px_worker *w);

/* The per-cluster state all workers share (limits.c). */
struct px_limits *px_limits(const struct px_worker *w);

/* The current model snapshot of <w>'s relay (valid until the callback returns). */
const struct model *px_model(const struct px_worker *w);

/* Single writer: a relaxed load and store, no locked instruction on the byte path. */
static inline void px_ctr_add(struct px_worker *w, enum px_ctr c, uint64_t n)
{
	uint64_t v = atomic_load_explicit(&w->ctr[c], memory_order_relaxed);

	atomic_store_explicit(&w->ctr[c], v + n, memory_order_relaxed);
}

static inline uint64_t px_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A pooled 64 KiB buffer, or NULL. */
struct px_buf *px_buf_get(struct px_worker *w);

/* Returns <b> to the pool. Accepts NULL. */
void px_buf_put(struct px_worker *w, struct px_buf *b);

/* Puts <s> (of <ops>) on <w>'s live list, as just active. */
void px_session_add(struct px_worker *w, struct px_session *s, const struct px_session_ops *ops);

/* Marks <s> active now (moves it to the LRU tail). */
void px_session_touch(struct px_session *s);

/* Takes <s> off the live list and counts it closed. */
void px_session_del(struct px_session *s);

/* Adds one flow delta to <w>'s table (on ENOMEM the delta is lost, relay_stats keeps it). */
void px_account(struct px_worker *w, const struct relay_flow *d);

/* The workload id of the Pod at <ip> in snapshot <m> (may be NULL), or 0. */
uint32_t px_wl_of(const struct model *m, uint32_t ip);

/* Closes <fd> so that the peer sees a reset rather than an orderly end. */
void px_close_rst(int fd);

#endif /* WEIR_PROXY_WORKER_H */
