/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The unix-socket protocol between the chained CNI plugin (weir-cni) and the node agent:
 * one newline-terminated JSON request per connection, one newline-terminated JSON reply.
 * The encoder, decoder and validator are shared by both sides; the server half runs on the
 * agent's libevent loop and the client half (cni_call) is what the plugin uses.
 * See docs/cni.md for the wire format and the plugin's failure policy.
 */
#ifndef WEIR_USER_CNI_H
#define WEIR_USER_CNI_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Field buffer sizes, each including the terminating NUL. */
#define CNI_CONTAINER_ID_LEN 256 /* runtimes use 64 hex digits; the spec sets no bound */
#define CNI_NETNS_LEN	     256 /* an absolute path such as /var/run/netns/cni-<uuid> */
#define CNI_IFNAME_LEN	     16	 /* IFNAMSIZ */
#define CNI_NS_LEN	     64	 /* a Kubernetes namespace is a DNS label (<= 63) */
#define CNI_NAME_LEN	     254 /* a Pod name is a DNS subdomain (<= 253) */
#define CNI_UID_LEN	     64	 /* metadata.uid, a UUID in practice */

/* Largest request or reply line, newline included; longer input is refused unread. */
#define CNI_MSG_MAX 4096

/* Default agent socket, shared by the plugin's config default and the agent's flag. */
#define CNI_SOCKET_DEFAULT "/run/weir/cni.sock"

enum cni_op {
	CNI_OP_ADD = 1,
	CNI_OP_DEL = 2,
	CNI_OP_CHECK = 3,
};

/* What the plugin knows about a Pod sandbox. Empty strings mean "not given". */
struct cni_pod {
	char container_id[CNI_CONTAINER_ID_LEN]; /* CNI_CONTAINERID, always set */
	char netns[CNI_NETNS_LEN];		 /* CNI_NETNS; required for add and check */
	char ifname[CNI_IFNAME_LEN];		 /* CNI_IFNAME, always set */
	char ns[CNI_NS_LEN];			 /* K8S_POD_NAMESPACE from CNI_ARGS */
	char name[CNI_NAME_LEN];		 /* K8S_POD_NAME */
	char uid[CNI_UID_LEN];			 /* K8S_POD_UID */
	uint32_t ip; /* Pod IPv4 address, network order; required for add, 0 = unknown */
};

/* The agent's callbacks, run synchronously on its loop thread. Each returns 0 or -errno and
 * on error writes a one-line reason into <err> (<errlen> bytes) that goes back to the plugin. */
struct cni_server_ops {
	int (*add)(void *ctx, const struct cni_pod *pod, char *err, size_t errlen);
	int (*del)(void *ctx, const struct cni_pod *pod, char *err, size_t errlen);
	int (*check)(void *ctx, const struct cni_pod *pod, char *err, size_t errlen);
};

struct cni_server;

/* "add", "del", "check" for <op>; NULL for anything else. */
const char *cni_op_name(enum cni_op op);

/*
 * Checks every field of <pod> for operation <op>: required fields present, strings bounded
 * and NUL-terminated, characters sane, netns absolute, IP a unicast address. Returns 0 or
 * -EINVAL with the offending field named in <err>.
 */
int cni_pod_validate(enum cni_op op, const struct cni_pod *pod, char *err, size_t errlen);

/*
 * Writes the request line for <op> on <pod> (JSON plus '\n', NUL-terminated) into <buf> of
 * <len> bytes. Validates <pod> first. Returns 0, -EINVAL (invalid pod, reason in <err>) or
 * -ENOSPC.
 */
int cni_request_encode(enum cni_op op, const struct cni_pod *pod, char *buf, size_t len, char *err,
		       size_t errlen);

/*
 * Parses and validates one request <json> (NUL-terminated, trailing newline allowed) into
 * <out> and <op>. Unknown keys are ignored so that newer plugins can talk to older agents.
 * Returns 0 or -EINVAL with the reason in <err>.
 */
int cni_request_decode(const char *json, struct cni_pod *out, enum cni_op *op, char *err,
		       size_t errlen);

/* Writes the reply line ({"ok":true} or {"ok":false,"error":<error>}) into <buf>. Returns 0
 * or -ENOSPC. <error> is ignored when <ok> is non-zero. */
int cni_reply_encode(int ok, const char *error, char *buf, size_t len);

/*
 * Parses one reply <json>. Returns 0 for ok:true, -EREMOTEIO for ok:false with the agent's
 * reason copied into <err>, -EPROTO for anything that is not a well-formed reply.
 */
int cni_reply_decode(const char *json, char *err, size_t errlen);

/*
 * The client half: connects to <socket_path>, sends <op> for <pod> and waits for the reply,
 * all within <timeout_ms> in total. Returns 0 when the agent said ok; -EREMOTEIO when it
 * refused (reason in <err>); -ENOENT, -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET, ... when it
 * could not be reached or did not answer in time; -EPROTO for a garbled reply; -EINVAL for
 * an invalid <pod>. <err> always describes the failure.
 */
int cni_call(const char *socket_path, enum cni_op op, const struct cni_pod *pod, int timeout_ms,
	     char *err, size_t errlen);

/*
 * Listens on the unix socket <socket_path> on <base>, answering requests through <ops>
 * (called with <ctx>). Creates the parent directory, replaces a stale socket left by a dead
 * agent but refuses (EADDRINUSE) one that still answers, and publishes the socket with mode
 * 0600 by renaming it into place, so it never exists with a wider mode. Returns the server or
 * NULL with errno set. <ops> and <ctx> must outlive the server.
 */
struct cni_server *cni_server_new(struct event_base *base, const char *socket_path,
				  const struct cni_server_ops *ops, void *ctx);

/* Sets how long (<ms>) a client may take to send its request; the default is 2000 ms. */
void cni_server_set_timeout(struct cni_server *s, int ms);

/* Closes every open connection and the listener and removes the socket if it is still the
 * one <s> created. Accepts NULL. */
void cni_server_free(struct cni_server *s);

#endif /* WEIR_USER_CNI_H */
