// SPDX-License-Identifier: Apache-2.0
/*
 * The TCP pass-through session: a downstream conn and an upstream conn, and one pooled
 * buffer per direction borrowed only while it holds data, so an idle connection holds no
 * buffer. A side is not read while the other side's buffer is full (backpressure); a FIN is
 * passed on once its direction is drained, and the session ends when both directions are
 * shut, or with a reset to both peers on any error (a clean end must never pass for a
 * complete reply that was not).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/access.h"
#include "proxy/conn.h"
#include "proxy/session.h"
#include "proxy/worker.h"
#include "telemetry/reqstats.h"

enum { SIDE_CLIENT = 0, SIDE_BACKEND = 1 };

/* One direction: dir 0 reads the client and writes the backend, dir 1 back. */
struct tcp_dir {
	struct px_buf *buf;  /* NULL while empty */
	uint32_t head, tail; /* buf->data[head, tail) waits to be written */
	bool eof;	     /* the source sent FIN */
	bool shut;	     /* FIN passed on to the destination */
	uint64_t pending;    /* bytes delivered, not yet in the flow table */
};

struct tcp_session {
	struct px_session s;
	struct px_conn side[2];
	bool opened;	   /* the backend connection was established */
	bool open_pending; /* ... and the flow table has not counted it yet */
	struct relay_flow key;
	struct tcp_dir dir[2];
	/* For the access log only: read when the session ends. */
	uint64_t t0_ns;		 /* accepted (CLOCK_MONOTONIC) */
	uint64_t delivered[2];	 /* bytes delivered each direction, never reset */
	uint32_t flags;		 /* REQSTATS_F_* seen so far */
	struct sockaddr_in peer; /* the client (zero: not looked up, no log) */
};

static void tcp_account_delta(struct tcp_session *t, bool closing)
{
	struct relay_flow d = t->key;

	if (!t->opened)
		return;
	d.opened = t->open_pending;
	d.closed = closing;
	d.bytes_up = t->dir[0].pending;
	d.bytes_down = t->dir[1].pending;
	if (!d.opened && !d.closed && !d.bytes_up && !d.bytes_down)
		return;
	px_account(t->s.w, &d);
	t->open_pending = false;
	t->dir[0].pending = t->dir[1].pending = 0;
}

static void tcp_account(struct px_session *s)
{
	tcp_account_delta((struct tcp_session *)s, false);
}

static void tcp_close(struct px_session *s, bool rst)
{
	struct tcp_session *t = (struct tcp_session *)s;
	struct px_worker *w = s->w;

	tcp_account_delta(t, true);
	if (w->al)
		px_access_tcp(w, &t->peer, &t->key, t->t0_ns, t->delivered[0], t->delivered[1],
			      t->flags);
	for (int i = 0; i < 2; i++) {
		conn_close(&t->side[i], rst);
		px_buf_put(w, t->dir[i].buf);
	}
	px_session_del(s);
	free(t);
}

static void tcp_abort(struct tcp_session *t)
{
	px_ctr_add(t->s.w, RC_RESETS, 1);
	tcp_close(&t->s, true);
}

static void tcp_update(struct tcp_session *t, int d)
{
	struct tcp_dir *dr = &t->dir[d];

	/* Backpressure: no reading while this direction's buffer is full. */
	conn_want(&t->side[d], EV_READ, !dr->eof && (!dr->buf || dr->tail < PX_BUF_SIZE));
	conn_want(&t->side[!d], EV_WRITE, dr->buf && dr->tail > dr->head);
}

/* Writes what direction <d> holds to its destination; passes FIN on once drained. */
static void tcp_write(struct tcp_session *t, int d)
{
	struct tcp_dir *dr = &t->dir[d];
	ssize_t n;

	if (dr->buf && dr->tail > dr->head) {
		n = conn_send(&t->side[!d], dr->buf->data + dr->head, dr->tail - dr->head);
		if (n > 0) {
			dr->head += n;
			dr->pending += n;
			t->delivered[d] += n;
			px_ctr_add(t->s.w, d == 0 ? RC_BYTES_UP : RC_BYTES_DOWN, n);
			px_session_touch(&t->s);
		} else if (n != -EAGAIN && n != -EINTR) {
			tcp_abort(t);
			return;
		}
	}
	if (dr->buf && dr->head == dr->tail) {
		px_buf_put(t->s.w, dr->buf);
		dr->buf = NULL;
		dr->head = dr->tail = 0;
	}
	if (dr->eof && !dr->buf && !dr->shut) {
		/* ENOTCONN after a peer reset is found by the next read or write. */
		conn_shutdown_wr(&t->side[!d]);
		dr->shut = true;
	}
	if (t->dir[0].shut && t->dir[1].shut) {
		tcp_close(&t->s, false);
		return;
	}
	tcp_update(t, d);
}

/* Reads side <d> (direction <d>'s source) into its buffer and forwards at once. */
static void tcp_read(struct tcp_session *t, int d)
{
	struct tcp_dir *dr = &t->dir[d];
	ssize_t n;

	if (!dr->buf) {
		dr->buf = px_buf_get(t->s.w);
		if (!dr->buf) {
			tcp_abort(t);
			return;
		}
	}
	if (dr->tail == PX_BUF_SIZE) {
		/* Full (a wakeup raced with tcp_update): recv of 0 bytes would read as EOF. */
		tcp_write(t, d);
		return;
	}
	n = conn_recv(&t->side[d], dr->buf->data + dr->tail, PX_BUF_SIZE - dr->tail);
	if (n > 0) {
		dr->tail += n;
		px_session_touch(&t->s);
	} else if (n == 0) {
		dr->eof = true;
	} else if (n != -EAGAIN && n != -EINTR) {
		tcp_abort(t);
		return;
	}
	tcp_write(t, d);
}

static void tcp_io(void *owner, struct px_conn *c, short what)
{
	struct tcp_session *t = owner;
	int side = c == &t->side[SIDE_CLIENT] ? SIDE_CLIENT : SIDE_BACKEND;

	/* One event at a time: each step may end the session. */
	if (what & EV_READ) {
		tcp_read(t, side);
		return;
	}
	/* <side> writable is the destination of the other direction. */
	if (what & EV_WRITE)
		tcp_write(t, !side);
}

static void tcp_connected(void *owner, struct px_conn *c, int err)
{
	struct tcp_session *t = owner;
	struct px_worker *w = t->s.w;

	if (err) {
		px_ctr_add(w, err == -ETIMEDOUT ? RC_CONNECT_TIMEOUT : RC_CONNECT_FAILED, 1);
		t->flags |= REQSTATS_F_UF;
		tcp_close(&t->s, true);
		return;
	}
	t->opened = true;
	t->open_pending = true;
	px_ctr_add(w, RC_OPENED, 1);
	px_session_touch(&t->s);
	tcp_update(t, 0);
	tcp_update(t, 1);
}

static const struct px_conn_ops tcp_conn_ops = {
    .io = tcp_io,
    .connected = tcp_connected,
};

static const struct px_session_ops tcp_session_ops = {
    .name = "tcp",
    .close = tcp_close,
    .account = tcp_account,
    .drain = NULL, /* opaque bytes: nothing to finish gracefully */
};

int tcp_session_start(struct px_worker *w, int fd, const struct sockaddr_in *target,
		      const struct relay_flow *key)
{
	const struct relay_opts *o = px_opts(w);
	struct tcp_session *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	conn_init(&t->side[SIDE_CLIENT], w, fd, &tcp_conn_ops, t);
	conn_init(&t->side[SIDE_BACKEND], w, -1, &tcp_conn_ops, t);
	t->key = *key;
	if (w->al) {
		socklen_t len = sizeof(t->peer);

		/* One system call per connection, and only while access logs are on. */
		t->t0_ns = px_access_now_ns();
		if (getpeername(fd, (struct sockaddr *)&t->peer, &len) < 0)
			memset(&t->peer, 0, sizeof(t->peer));
	}
	px_session_add(w, &t->s, &tcp_session_ops);
	err = conn_connect(&t->side[SIDE_BACKEND], target, o->source_ip, o->connect_timeout_ms);
	if (err) {
		t->flags |= REQSTATS_F_UF;
		px_ctr_add(w, RC_CONNECT_FAILED, 1);
		tcp_close(&t->s, true);
		/* The client fd is closed: the caller must not touch it. */
		return 0;
	}
	return 0;
}
