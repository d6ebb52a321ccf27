// SPDX-License-Identifier: Apache-2.0
/*
 * The outbound relay declared in relay.h. Each worker thread owns a libevent base, one
 * SO_REUSEPORT listener, its connections, a pool of connection structs and 64 KiB buffers,
 * and a table of flow deltas; nothing of it is shared except the flow mailbox (a mutex the
 * worker takes once per flush interval) and relaxed single-writer counters.
 *
 * A connection goes: accept -> original destination -> Service lookup in the current model
 * snapshot -> weighted backend pick -> protocol handler (L4 today) -> connect -> relay.
 * The L4 handler moves bytes through one buffer per direction, borrowed from the pool only
 * while it holds data, and stops reading a side while the other side's buffer is full.
 */
#include <arpa/inet.h>
#include <errno.h>
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

#include "model/lb.h"
#include "lib/log.h"
#include "model/model.h"
#include "lib/addr.h"
#include "proxy/relay.h"

#define RELAY_BUF_SIZE	   (64 * 1024) /* per direction while data is in flight */
#define RELAY_TICK_MS	   100	       /* quiescent state, idle scan, accept retry */
#define RELAY_ACCEPT_BATCH 32	       /* accepts per listener wakeup: fairness to relaying */
#define RELAY_BACKLOG	   1024
#define RELAY_POOL_BUFS	   256	/* free buffers a worker keeps (16 MiB) */
#define RELAY_POOL_CONNS   1024 /* free connection structs a worker keeps */

/* Per-worker counters: written by their worker only, read by relay_stats(). */
enum relay_ctr {
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
	RC_MAX
};

struct relay_buf {
	struct relay_buf *next; /* free list link */
	unsigned char data[RELAY_BUF_SIZE];
};

struct relay_list {
	struct relay_list *prev, *next;
};

/* One direction of an L4 relay: dir 0 reads the client and writes the backend, dir 1 back. */
struct relay_dir {
	struct relay_buf *buf; /* NULL while empty: idle connections hold no buffer */
	uint32_t head, tail;   /* buf->data[head, tail) waits to be written */
	bool eof;	       /* the source sent FIN */
	bool shut;	       /* FIN passed on to the destination */
	uint64_t pending;      /* bytes delivered, not yet in the flow table */
};

enum { SIDE_CLIENT = 0, SIDE_BACKEND = 1 };

struct relay_conn;

/*
 * A protocol handler: what the relay does with a connection once its original destination
 * (and Service) is known. L4 is the only one so far; HTTP/1.1, HTTP/2 and the mTLS tunnel
 * join as further entries chosen by relay_handler_for(), over the same connection struct,
 * events and pools. Each callback may close the connection and must then return at once.
 */
struct relay_handler {
	const char *name;
	int (*start)(struct relay_conn *c);	 /* 0, or -errno (the client is reset) */
	void (*connected)(struct relay_conn *c); /* the backend connection is up */
	void (*readable)(struct relay_conn *c, int side);
	void (*writable)(struct relay_conn *c, int side);
};

struct relay_conn {
	struct relay_list lru; /* live connections, least recently active first */
	struct relay_worker *w;
	const struct relay_handler *h;
	struct relay_conn *next_free;
	int fd[2];		   /* SIDE_CLIENT, SIDE_BACKEND (-1 until created) */
	uint8_t ev_on[2];	   /* EV_READ|EV_WRITE currently added per side */
	bool opened;		   /* the backend connection was established */
	bool open_pending;	   /* ... and the flow table has not counted it yet */
	uint64_t last_ms;	   /* last activity, CLOCK_MONOTONIC_COARSE */
	struct sockaddr_in target; /* where the backend side connects */
	struct relay_flow key;	   /* flow key; its counters stay zero */
	struct relay_dir dir[2];
	struct event rev[2], wev[2]; /* readable / writable per side */
	struct event cev;	     /* backend connect completion or timeout */
};

/* Flow deltas keyed by relay_flow's key fields; proto 0 marks an empty slot. */
struct relay_flows {
	struct relay_flow *slots;
	size_t cap, n;
};

struct relay_worker {
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
	int ctl_fd; /* eventfd: the control thread asks the worker to stop */
	struct event *ctl_ev;
	struct event *tick_ev;
	uint64_t rnd; /* lb_rand() state */
	uint64_t last_flush_ms;
	struct relay_list lru; /* sentinel */
	struct relay_conn *free_conns;
	unsigned nfree_conns;
	struct relay_buf *free_bufs;
	unsigned nfree_bufs;
	struct relay_flows local;  /* deltas since the last flush (worker only) */
	pthread_mutex_t mbox_lock; /* taken once per flush by the worker, by relay_collect */
	struct relay_flows mbox;   /* handed over, waiting for relay_collect() */
	_Atomic uint64_t ctr[RC_MAX];
};

struct relay {
	struct relay_opts opts;
	struct sockaddr_in addr;
	struct snap *models;
	int nworkers;
	struct relay_worker **workers;
	pthread_mutex_t collect_lock;
	struct relay_flows spare; /* swapped with a worker's mailbox by relay_collect */
};

static uint64_t relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Single writer: a relaxed load and store, no locked instruction on the byte path. */
static inline void ctr_add(struct relay_worker *w, enum relay_ctr c, uint64_t n)
{
	uint64_t v = atomic_load_explicit(&w->ctr[c], memory_order_relaxed);

	atomic_store_explicit(&w->ctr[c], v + n, memory_order_relaxed);
}

static void list_init(struct relay_list *l)
{
	l->prev = l->next = l;
}

static void list_del(struct relay_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

static void list_add_tail(struct relay_list *head, struct relay_list *e)
{
	e->prev = head->prev;
	e->next = head;
	head->prev->next = e;
	head->prev = e;
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

static int flows_grow(struct relay_flows *t)
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
static int flows_add(struct relay_flows *t, const struct relay_flow *d)
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

static void flows_clear(struct relay_flows *t)
{
	if (t->n)
		memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->n = 0;
}

static void flows_fini(struct relay_flows *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

/* ---- pools ---- */

static struct relay_buf *buf_get(struct relay_worker *w)
{
	struct relay_buf *b = w->free_bufs;

	if (b) {
		w->free_bufs = b->next;
		w->nfree_bufs--;
		return b;
	}
	b = malloc(sizeof(*b));
	if (b)
		ctr_add(w, RC_BUFFERS, 1);
	return b;
}

static void buf_put(struct relay_worker *w, struct relay_buf *b)
{
	if (w->nfree_bufs >= RELAY_POOL_BUFS) {
		free(b);
		ctr_add(w, RC_BUFFERS, (uint64_t)-1);
		return;
	}
	b->next = w->free_bufs;
	w->free_bufs = b;
	w->nfree_bufs++;
}

static struct relay_conn *conn_get(struct relay_worker *w)
{
	struct relay_conn *c = w->free_conns;

	if (c) {
		w->free_conns = c->next_free;
		w->nfree_conns--;
	} else {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
	}
	memset(c, 0, sizeof(*c));
	return c;
}

static void conn_put(struct relay_worker *w, struct relay_conn *c)
{
	if (w->nfree_conns >= RELAY_POOL_CONNS) {
		free(c);
		return;
	}
	c->next_free = w->free_conns;
	w->free_conns = c;
	w->nfree_conns++;
}

/* ---- connections ---- */

/* Closes <fd> so that the peer sees a reset rather than an orderly end. */
static void close_rst(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void conn_touch(struct relay_conn *c)
{
	c->last_ms = relay_now_ms();
	list_del(&c->lru);
	list_add_tail(&c->w->lru, &c->lru);
}

/* Moves the connection's pending counters into the worker's flow table. */
static void conn_account(struct relay_conn *c, bool closing)
{
	struct relay_flow d = c->key;

	if (!c->opened)
		return;
	d.opened = c->open_pending;
	d.closed = closing;
	d.bytes_up = c->dir[0].pending;
	d.bytes_down = c->dir[1].pending;
	if (!d.opened && !d.closed && !d.bytes_up && !d.bytes_down)
		return;
	/* On ENOMEM the delta is lost; the counters in relay_stats() still have it. */
	flows_add(&c->w->local, &d);
	c->open_pending = false;
	c->dir[0].pending = c->dir[1].pending = 0;
}

/* Adds or removes <what> (EV_READ or EV_WRITE) on <side>, touching libevent only on change. */
static void conn_want(struct relay_conn *c, int side, short what, bool on)
{
	struct event *ev = what == EV_READ ? &c->rev[side] : &c->wev[side];

	if (!!(c->ev_on[side] & what) == on)
		return;
	if (on) {
		if (event_add(ev, NULL))
			return; /* epoll out of memory: the idle timeout ends it */
		c->ev_on[side] |= what;
	} else {
		event_del(ev);
		c->ev_on[side] &= ~what;
	}
}

/* Ends <c>: with a reset to both peers when <rst>, else an orderly close. Frees <c>. */
static void conn_close(struct relay_conn *c, bool rst)
{
	struct relay_worker *w = c->w;

	for (int s = 0; s < 2; s++) {
		event_del(&c->rev[s]);
		event_del(&c->wev[s]);
	}
	event_del(&c->cev);
	conn_account(c, true);
	for (int s = 0; s < 2; s++) {
		if (c->fd[s] < 0)
			continue;
		if (rst)
			close_rst(c->fd[s]);
		else
			close(c->fd[s]);
	}
	for (int d = 0; d < 2; d++)
		if (c->dir[d].buf)
			buf_put(w, c->dir[d].buf);
	list_del(&c->lru);
	ctr_add(w, RC_CLOSED, 1);
	conn_put(w, c);
}

static void conn_abort(struct relay_conn *c)
{
	ctr_add(c->w, RC_RESETS, 1);
	conn_close(c, true);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_conn *c = arg;

	c->h->readable(c, fd == c->fd[SIDE_CLIENT] ? SIDE_CLIENT : SIDE_BACKEND);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_conn *c = arg;

	c->h->writable(c, fd == c->fd[SIDE_CLIENT] ? SIDE_CLIENT : SIDE_BACKEND);
}

static void conn_assign(struct relay_conn *c, int side)
{
	struct event_base *base = c->w->base;

	event_assign(&c->rev[side], base, c->fd[side], EV_READ | EV_PERSIST, conn_read_cb, c);
	event_assign(&c->wev[side], base, c->fd[side], EV_WRITE | EV_PERSIST, conn_write_cb, c);
}

static void conn_connected(struct relay_conn *c)
{
	c->opened = true;
	c->open_pending = true;
	ctr_add(c->w, RC_OPENED, 1);
	conn_touch(c);
	c->h->connected(c);
}

static void conn_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_conn *c = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if (what & EV_TIMEOUT) {
		ctr_add(c->w, RC_CONNECT_TIMEOUT, 1);
		conn_close(c, true);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		ctr_add(c->w, RC_CONNECT_FAILED, 1);
		conn_close(c, true);
		return;
	}
	conn_connected(c);
}

/*
 * Starts the non-blocking connect of <c>'s backend side to <c>->target. Returns 0 (the
 * handler's connected() runs when it is up) or -errno (counted; the caller resets).
 */
static int conn_connect(struct relay_conn *c)
{
	struct relay *r = c->w->r;
	struct timeval tv = {
	    .tv_sec = r->opts.connect_timeout_ms / 1000,
	    .tv_usec = (r->opts.connect_timeout_ms % 1000) * 1000,
	};
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The relay writes what it read at once: Nagle would only add latency. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd[SIDE_BACKEND] = fd;
	conn_assign(c, SIDE_BACKEND);
	if (r->opts.source_ip) {
		struct sockaddr_in src = {.sin_family = AF_INET};

		src.sin_addr.s_addr = r->opts.source_ip;
		/* The port is picked at connect() time, per destination, not at bind(). */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			ctr_add(c->w, RC_CONNECT_FAILED, 1);
			return -errno;
		}
	}
	if (connect(fd, (struct sockaddr *)&c->target, sizeof(c->target)) == 0) {
		conn_connected(c);
		return 0;
	}
	if (errno != EINPROGRESS) {
		ctr_add(c->w, RC_CONNECT_FAILED, 1);
		return -errno;
	}
	event_assign(&c->cev, c->w->base, fd, EV_WRITE, conn_connect_cb, c);
	if (event_add(&c->cev, &tv))
		return -ENOMEM;
	return 0;
}

/* ---- the L4 handler ---- */

static void l4_update(struct relay_conn *c, int d)
{
	struct relay_dir *dr = &c->dir[d];

	/* Backpressure: no reading while this direction's buffer is full. */
	conn_want(c, d, EV_READ, !dr->eof && (!dr->buf || dr->tail < RELAY_BUF_SIZE));
	conn_want(c, !d, EV_WRITE, dr->buf && dr->tail > dr->head);
}

/* Writes what direction <d> holds to its destination; passes FIN on once drained. */
static void l4_write(struct relay_conn *c, int d)
{
	struct relay_dir *dr = &c->dir[d];
	ssize_t n;

	if (dr->buf && dr->tail > dr->head) {
		n = send(c->fd[!d], dr->buf->data + dr->head, dr->tail - dr->head, MSG_NOSIGNAL);
		if (n > 0) {
			dr->head += n;
			dr->pending += n;
			ctr_add(c->w, d == 0 ? RC_BYTES_UP : RC_BYTES_DOWN, n);
			conn_touch(c);
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			conn_abort(c);
			return;
		}
	}
	if (dr->buf && dr->head == dr->tail) {
		buf_put(c->w, dr->buf);
		dr->buf = NULL;
		dr->head = dr->tail = 0;
	}
	if (dr->eof && !dr->buf && !dr->shut) {
		/* ENOTCONN after a peer reset is found by the next read or write. */
		shutdown(c->fd[!d], SHUT_WR);
		dr->shut = true;
	}
	if (c->dir[0].shut && c->dir[1].shut) {
		conn_close(c, false);
		return;
	}
	l4_update(c, d);
}

/* Reads side <d> (direction <d>'s source) into its buffer and forwards at once. */
static void l4_read(struct relay_conn *c, int d)
{
	struct relay_dir *dr = &c->dir[d];
	ssize_t n;

	if (!dr->buf) {
		dr->buf = buf_get(c->w);
		if (!dr->buf) {
			conn_abort(c);
			return;
		}
	}
	if (dr->tail == RELAY_BUF_SIZE) {
		/* Full (a wakeup raced with l4_update): recv of 0 bytes would read as EOF. */
		l4_write(c, d);
		return;
	}
	n = recv(c->fd[d], dr->buf->data + dr->tail, RELAY_BUF_SIZE - dr->tail, 0);
	if (n > 0) {
		dr->tail += n;
		conn_touch(c);
	} else if (n == 0) {
		dr->eof = true;
	} else if (errno != EAGAIN && errno != EINTR) {
		conn_abort(c);
		return;
	}
	l4_write(c, d);
}

static int l4_start(struct relay_conn *c)
{
	return conn_connect(c);
}

static void l4_connected(struct relay_conn *c)
{
	l4_update(c, 0);
	l4_update(c, 1);
}

static void l4_readable(struct relay_conn *c, int side)
{
	l4_read(c, side);
}

static void l4_writable(struct relay_conn *c, int side)
{
	/* <side> writable is the destination of the other direction. */
	l4_write(c, !side);
}

static const struct relay_handler relay_l4 = {
    .name = "l4",
    .start = l4_start,
    .connected = l4_connected,
    .readable = l4_readable,
    .writable = l4_writable,
};

/*
 * The handler for a connection to <sp> of <svc> (both NULL when the destination is not a
 * Service). The seam where L7 (sp->app_proto http/http2/grpc) and mTLS will be chosen.
 */
static const struct relay_handler *relay_handler_for(const struct model_service *svc,
						     const struct model_svc_port *sp)
{
	return &relay_l4;
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

static void worker_reject(struct relay_worker *w, int fd, enum relay_ctr why)
{
	ctr_add(w, why, 1);
	ctr_add(w, RC_CLOSED, 1);
	close_rst(fd);
}

/* The workload id of the Pod at <ip> in snapshot <m> (may be NULL), or 0. */
static uint32_t relay_wl_of(const struct model *m, uint32_t ip)
{
	const struct model_pod *pod = m ? model_find_pod_by_ip(m, ip) : NULL;

	return pod ? pod->wl_id : 0;
}

/* Takes accepted socket <fd> from <peer> through resolution to its handler's start. */
static void worker_conn_new(struct relay_worker *w, int fd, const struct sockaddr_in *peer)
{
	struct relay *r = w->r;
	const struct model_service *svc = NULL;
	const struct model_svc_port *sp = NULL;
	const struct model_endpoint *ep;
	const struct relay_handler *h;
	const struct model *m;
	struct sockaddr_in orig, target;
	struct relay_conn *c;
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
	target = orig;
	target.sin_family = AF_INET;
	/* The snapshot is used inside this callback only: what is kept is copied out. */
	m = snap_get(r->models);
	if (m)
		sp = model_find_svc_port(m, orig.sin_addr.s_addr, orig.sin_port, IPPROTO_TCP, &svc);
	if (sp) {
		ep = lb_pick(sp, lb_rand(&w->rnd));
		if (!ep) {
			worker_reject(w, fd, RC_NO_BACKEND);
			return;
		}
		target.sin_addr.s_addr = ep->ip;
		target.sin_port = htons(ep->port);
	} else {
		ctr_add(w, RC_PASSTHROUGH, 1);
	}
	h = relay_handler_for(svc, sp);

	c = conn_get(w);
	if (!c) {
		worker_reject(w, fd, RC_RESETS);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->w = w;
	c->h = h;
	c->fd[SIDE_CLIENT] = fd;
	c->fd[SIDE_BACKEND] = -1;
	c->target = target;
	c->key.client_ip = peer->sin_addr.s_addr;
	c->key.backend_ip = target.sin_addr.s_addr;
	c->key.orig_ip = orig.sin_addr.s_addr;
	c->key.orig_port = ntohs(orig.sin_port);
	c->key.backend_port = ntohs(target.sin_port);
	c->key.proto = IPPROTO_TCP;
	c->key.svc_id = svc ? svc->id : 0;
	c->key.src_wl = relay_wl_of(m, peer->sin_addr.s_addr);
	c->key.dst_wl = sp && ep->pod ? ep->pod->wl_id : relay_wl_of(m, target.sin_addr.s_addr);
	conn_assign(c, SIDE_CLIENT);
	conn_assign(c, SIDE_BACKEND); /* fd -1 until connect: keeps event_del() valid */
	event_assign(&c->cev, w->base, -1, 0, conn_connect_cb, c);
	list_init(&c->lru);
	conn_touch(c);
	if (h->start(c))
		conn_close(c, true);
}

static void worker_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct relay_worker *w = arg;
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
			ctr_add(w, RC_ACCEPT_ERRORS, 1);
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Level-triggered: without a pause the loop would spin. */
				event_del(w->lev);
				w->accept_paused = true;
			}
			return;
		}
		ctr_add(w, RC_ACCEPTED, 1);
		worker_conn_new(w, fd, &peer);
	}
}

/* Moves every live connection's pending counters and the local table into the mailbox. */
static void worker_flush(struct relay_worker *w)
{
	for (struct relay_list *l = w->lru.next; l != &w->lru; l = l->next)
		conn_account((struct relay_conn *)l, false);
	if (!w->local.n)
		return;
	pthread_mutex_lock(&w->mbox_lock);
	for (size_t i = 0; i < w->local.cap; i++)
		if (w->local.slots[i].proto)
			flows_add(&w->mbox, &w->local.slots[i]);
	pthread_mutex_unlock(&w->mbox_lock);
	flows_clear(&w->local);
}

static void worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_worker *w = arg;
	uint64_t now = relay_now_ms();

	/* An idle worker blocks in epoll: the tick keeps its quiescent states coming. */
	snap_quiesce(w->r->models, w->reader);
	if (w->accept_paused && !event_add(w->lev, NULL))
		w->accept_paused = false;
	/* The LRU list is in activity order: stop at the first connection not idle. */
	while (w->lru.next != &w->lru) {
		struct relay_conn *c = (struct relay_conn *)w->lru.next;

		if (now - c->last_ms < w->r->opts.idle_timeout_ms)
			break;
		ctr_add(w, RC_IDLE_CLOSED, 1);
		conn_close(c, false);
	}
	if (now - w->last_flush_ms >= w->r->opts.flush_ms) {
		w->last_flush_ms = now;
		worker_flush(w);
	}
}

static void worker_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_worker *w = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	/* Stop: no new connections, reset the live ones, hand the last deltas over. */
	w->stopping = true;
	event_del(w->lev);
	close(w->lfd);
	w->lfd = -1;
	while (w->lru.next != &w->lru)
		conn_close((struct relay_conn *)w->lru.next, true);
	worker_flush(w);
	event_del(w->tick_ev);
	event_del(w->ctl_ev);
}

static void *worker_main(void *arg)
{
	struct relay_worker *w = arg;

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

static void worker_free(struct relay_worker *w)
{
	struct relay_conn *c;
	struct relay_buf *b;

	if (!w)
		return;
	while ((c = w->free_conns)) {
		w->free_conns = c->next_free;
		free(c);
	}
	while ((b = w->free_bufs)) {
		w->free_bufs = b->next;
		free(b);
		ctr_add(w, RC_BUFFERS, (uint64_t)-1);
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
	flows_fini(&w->local);
	flows_fini(&w->mbox);
	pthread_mutex_destroy(&w->mbox_lock);
	free(w);
}

static struct relay_worker *worker_new(struct relay *r, int idx)
{
	struct timeval tick = {.tv_sec = 0, .tv_usec = RELAY_TICK_MS * 1000};
	struct event_config *cfg;
	struct relay_worker *w;
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
	list_init(&w->lru);
	pthread_mutex_init(&w->mbox_lock, NULL);

	fd = relay_listen(&r->addr);
	if (fd < 0) {
		errno = -fd;
		goto out_free;
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
	if (!w->lev || !w->ctl_ev || !w->tick_ev || event_add(w->lev, NULL) ||
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
	r->workers = calloc(r->opts.workers, sizeof(*r->workers));
	if (!r->workers) {
		err = ENOMEM;
		goto out_free;
	}
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
		struct relay_worker *w = r->workers[i];

		if (w->running || w->stopping)
			continue;
		w->reader = snap_register(r->models);
		if (w->reader < 0) {
			err = w->reader;
			log_err("relay", "worker %d: no snapshot reader slot left", i);
			break;
		}
		w->last_flush_ms = relay_now_ms();
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
		struct relay_worker *w = r->workers[i];

		if (w->running && write(w->ctl_fd, &one, sizeof(one)) != sizeof(one))
			log_err("relay", "worker %d: cannot signal stop: %s", i, strerror(errno));
	}
	for (int i = 0; i < r->nworkers; i++) {
		struct relay_worker *w = r->workers[i];

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
	flows_fini(&r->spare);
	pthread_mutex_destroy(&r->collect_lock);
	free(r);
}

int relay_collect(struct relay *r, void (*cb)(const struct relay_flow *f, void *arg), void *arg)
{
	int n = 0;

	pthread_mutex_lock(&r->collect_lock);
	for (int i = 0; i < r->nworkers; i++) {
		struct relay_worker *w = r->workers[i];
		struct relay_flows t;

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
		flows_clear(&r->spare);
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
}
