/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's outbound listener (:15001): connections that connect4 redirected from
 * enrolled Pods arrive here; the relay learns their original destination, picks a backend
 * from the current model snapshot and relays bytes both ways (L4 now; L7 and the mTLS
 * tunnel plug in as further protocol handlers). N worker threads, each with its own
 * libevent loop and SO_REUSEPORT listener; no locks and no allocation on the byte path.
 */
#ifndef WEIR_USER_RELAY_H
#define WEIR_USER_RELAY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/snap.h"

struct relay;
struct reqstats;
struct spans;
struct accesslog;

/*
 * Looks up the destination the client of accepted socket <fd> connected to, before connect4
 * rewrote it, into <out> (AF_INET, network order). Returns 0 or -errno.
 */
typedef int (*relay_orig_dst_fn)(int fd, struct sockaddr_in *out, void *arg);

struct relay_opts {
	const char *listen;	     /* "ip:port"; NULL: "0.0.0.0:15001"; port 0: any free one */
	int workers;		     /* worker threads; 0: 2 */
	unsigned connect_timeout_ms; /* backend connect timeout; 0: 5000 */
	unsigned idle_timeout_ms;    /* close a connection idle that long; 0: 3600000 (1 h) */
	unsigned flush_ms;	     /* how often workers hand flow deltas over; 0: 1000 */
	relay_orig_dst_fn orig_dst;  /* NULL: relay_orig_dst_sockopt (weir's getsockopt hook) */
	void *orig_dst_arg;	     /* passed to <orig_dst> */
	const int *inherit_fds;	     /* listening sockets handed over by the agent this one
				      * replaces (one per worker; more workers if more fds) */
	int ninherit;
	struct reqstats *reqstats; /* request telemetry (worker i records into shard i);
				    * NULL: none. Must outlive the relay. */
	bool l4_only;		   /* every connection as TCP pass-through: no HTTP sessions
				    * (the agent's --l4-only, and the L4 relay's own tests) */
	uint32_t source_ip;	   /* upstream connections leave from this address (network
				    * order; 0: the kernel's choice). The agent sets its node
				    * address, which every node knows as an agent's, so a
				    * server's socket does not count a relayed flow again. */
	/* Access log (worker i writes into ring i); NULL: none. Must outlive the relay. */
	struct accesslog *accesslog;
	struct spans *spans;		   /* span export (worker i pushes into ring i); NULL: no
					    * tracing at all, trace headers pass untouched */
	const _Atomic uint32_t *trace_ppm; /* sampling override (--trace-sampling), parts
					    * per million; NULL or UINT32_MAX: each source
					    * workload's telemetry policy decides */
	bool trace_all; /* --zipkin-addr: report spans of workloads whose policy names
			 * no tracing provider (disableSpanReporting still wins) */
};

/*
 * The default original-destination lookup: getsockopt(SOL_IP, WEIR_SO_ORIGINAL_DST), which
 * weir's cgroup/getsockopt hook answers from weir_origdst. Returns 0 or -errno.
 */
int relay_orig_dst_sockopt(int fd, struct sockaddr_in *out, void *arg);

/*
 * Creates a relay reading Service backends from <models> (a snap of `struct model`; not
 * consumed, must outlive the relay) and binds its listeners now, so that a busy port or a
 * bad address fails at start. Returns the relay (caller owns, relay_free()) or NULL+errno
 * (a message is logged).
 */
struct relay *relay_new(const struct relay_opts *opts, struct snap *models);

/* The address the listeners are bound to (the port chosen when 0 was asked) into <out>. */
void relay_addr(const struct relay *r, struct sockaddr_in *out);

/*
 * Starts the worker threads of <r>; each registers as a reader of the model snap (so
 * snap_reclaim() waits for its quiescent states from now on). Returns 0 or -errno.
 */
int relay_start(struct relay *r);

/*
 * Stops <r>: closes the listeners, resets every live connection (both peers see a reset,
 * not a clean end that could pass for a complete reply), hands the last flow deltas over
 * and joins the threads. Idempotent; relay_collect() still works afterwards.
 */
void relay_stop(struct relay *r);

/*
 * The listening sockets of <r> (one per worker, still accepting) into <fds>, at most <max>.
 * Returns how many. For a handover to a new agent (SCM_RIGHTS): call before relay_drain().
 */
int relay_listen_fds(const struct relay *r, int *fds, int max);

/*
 * Starts a graceful drain of <r>: the workers stop accepting and close their reference to
 * the listening sockets; HTTP sessions finish their requests in flight (HTTP/1.1 answers
 * with Connection: close and closes idle connections, HTTP/2 sends GOAWAY); TCP sessions
 * go on until they end. relay_stats().active tells when all is done; relay_stop() ends the
 * rest. Returns at once.
 */
void relay_drain(struct relay *r);

/*
 * Calls <cb>(<ip>, <port>, <arg>) (network order) for every backend the proxy's outlier
 * detection holds ejected now. Returns how many. From any thread.
 */
unsigned relay_ejected(struct relay *r, void (*cb)(uint32_t ip, uint16_t port, void *arg),
		       void *arg);

struct px_limits;

/* The per-cluster state <r>'s workers share (proxy/limits.h), for the health checker. */
struct px_limits *relay_limits(struct relay *r);

/* Stops <r> when running and frees it. Accepts NULL. */
void relay_free(struct relay *r);

/*
 * One aggregated flow of agent-path TCP: what happened between relay_collect() calls for one
 * (client, backend, original destination, backend port, protocol). Addresses network
 * order, ports host order (as weir_edge_key.dport).
 */
struct relay_flow {
	uint32_t client_ip;  /* the enrolled Pod that connected */
	uint32_t backend_ip; /* where the relay connected (a backend, or the original dst) */
	uint32_t orig_ip;    /* what the client connected to (a Service VIP, or a Pod IP) */
	uint16_t orig_port;
	uint16_t backend_port;
	uint8_t proto; /* IPPROTO_TCP */
	/* Who, as the snapshot in force at connect() named them (model_set_ids(); 0 when
	 * unknown): a flow's counts stay with its edge after the model forgets them. */
	uint32_t src_wl;
	uint32_t dst_wl;
	uint32_t svc_id;
	uint64_t opened;     /* backend connections established */
	uint64_t closed;     /* of those, closed */
	uint64_t bytes_up;   /* payload bytes delivered client -> backend */
	uint64_t bytes_down; /* payload bytes delivered backend -> client */
};

/*
 * Hands the flow deltas accumulated since the previous call to <cb> (with <arg>), one call
 * per flow, and resets them. A worker hands its deltas over every flush_ms and when it
 * stops, so a delta appears at most flush_ms (plus one tick) after it happened. Calls are
 * serialised internally; <cb> runs on the caller's thread without any worker lock held.
 * Returns the number of flows reported, or -errno.
 */
int relay_collect(struct relay *r, void (*cb)(const struct relay_flow *f, void *arg), void *arg);

/* Counters since relay_new(), summed over workers (each read is a relaxed snapshot). */
struct relay_stats {
	uint64_t accepted;	  /* connections accepted */
	uint64_t active;	  /* connections open now (accepted, not yet closed) */
	uint64_t opened;	  /* backend connections established */
	uint64_t closed;	  /* connections closed, for any reason */
	uint64_t passthrough;	  /* original destination not a Service: relayed to it as is */
	uint64_t no_backend;	  /* Service without a weighted ready endpoint: client reset */
	uint64_t connect_failed;  /* backend refused or unreachable: client reset */
	uint64_t connect_timeout; /* backend connect timed out: client reset */
	uint64_t origdst_failed;  /* no original destination: client reset */
	uint64_t loop;		  /* original destination was the relay itself: client reset */
	uint64_t resets;	  /* relayed connections aborted by an error or a reset */
	uint64_t idle_closed;	  /* closed by the idle timeout */
	uint64_t accept_errors;	  /* accept(2) failures other than EAGAIN */
	uint64_t bytes_up;	  /* payload bytes delivered client -> backend */
	uint64_t bytes_down;	  /* payload bytes delivered backend -> client */
	uint64_t buffers;	  /* relay buffers allocated now (in use or pooled) */
	uint64_t http_sessions;	  /* downstream HTTP connections accepted */
	uint64_t http_requests;	  /* HTTP requests received */
	uint64_t http_responses;  /* HTTP responses completed downstream */
	uint64_t http_local;	  /* answered by the agent itself (no route, fault, overflow) */
	uint64_t http_retries;	  /* upstream attempts beyond the first */
	uint64_t http_timeouts;	  /* route and per-try timeouts */
	uint64_t http_proto_err;  /* downstream protocol errors (400, 431, GOAWAY) */
	uint64_t up_conns;	  /* upstream HTTP connections opened */
	uint64_t up_reused;	  /* requests sent on a kept-alive or multiplexed connection */
	uint64_t http2_quiet;	  /* idle HTTP/2 sessions that gave their nghttp2 state back */
};

/* Sums the counters of <r> into <out>. */
void relay_stats(struct relay *r, struct relay_stats *out);

#endif /* WEIR_USER_RELAY_H */
