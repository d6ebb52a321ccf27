/* SPDX-License-Identifier: Apache-2.0 */
/*
 * weir-cni's view of its input: the network configuration on stdin (CNI spec 1.0.0 with the
 * plugin's own keys), the prevResult of the plugin before it in the chain and CNI_ARGS.
 * Parsing is kept apart from main.c so that every rule sits in one place.
 */
#ifndef WEIR_TOOLS_CNI_CONF_H
#define WEIR_TOOLS_CNI_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cni/cni.h"

/* The CNI spec's well-known error codes (SPEC.md "Error"), and weir-cni's own from 100. */
enum conf_code {
	CONF_E_VERSION = 1,	    /* incompatible CNI version */
	CONF_E_ENV = 4,		    /* invalid necessary environment variables */
	CONF_E_IO = 5,		    /* I/O failure */
	CONF_E_DECODE = 6,	    /* failed to decode content */
	CONF_E_CONFIG = 7,	    /* invalid network config */
	CONF_E_TRY_AGAIN = 11,	    /* try again later: the agent is down (failPolicy closed) */
	CONF_E_AGENT_REFUSED = 100, /* the agent answered with an error */
	CONF_E_AGENT_PROTO = 101,   /* the agent's reply was not a protocol reply */
	CONF_E_NO_IPV4 = 102,	    /* prevResult holds no IPv4 address to enrol */
};

/* A CNI error object as the plugin prints it. */
struct conf_error {
	int code;
	char msg[256];
	char details[1024];
};

/* The network configuration, parsed and checked. */
struct conf {
	json_t *root;		 /* the whole document; owns every json_t below */
	const char *cni_version; /* cniVersion, one of the supported versions */
	const char *name;	 /* the network name */
	const char *socket;	 /* agentSocket, default CNI_SOCKET_DEFAULT */
	bool fail_closed;	 /* failPolicy "closed" (default "open") */
	int timeout_ms;		 /* timeoutMs, 1..60000, default 2000 */
	json_t *prev_result;	 /* prevResult object, NULL when absent */
};

/* The supported versions as the VERSION command prints them, a JSON array literal. */
#define CONF_SUPPORTED_VERSIONS "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]"

/* Fills <e> with <code>, <msg> and printf-style details. */
void conf_error_set(struct conf_error *e, int code, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True when <version> is one weir-cni speaks; <check> also requires CHECK (>= 0.4.0). */
bool conf_version_ok(const char *version, bool check);

/*
 * Parses the network configuration <buf> (<len> bytes, not necessarily NUL-terminated) into
 * <c>. Returns 0, or -EINVAL with <e> filled (decode, version or config error). On success
 * the caller releases <c> with conf_fini().
 */
int conf_parse(const char *buf, size_t len, struct conf *c, struct conf_error *e);

/* Releases what conf_parse() allocated in <c>. */
void conf_fini(struct conf *c);

/*
 * Picks the Pod's IPv4 address from the result <prev>: the first IPv4 entry of ips[] whose
 * interface is inside the sandbox, else the first IPv4 entry. Stores it in <ip> (network
 * order). Returns 0, -ENOENT when there is no IPv4 address, -EINVAL with the reason in <why>
 * when <prev> is malformed.
 */
int conf_pod_ip(json_t *prev, uint32_t *ip, char *why, size_t len);

/*
 * Reads K8S_POD_NAMESPACE, K8S_POD_NAME and K8S_POD_UID from CNI_ARGS <args> into <pod>.
 * Returns 0, or -EINVAL when one is too long (that field is left empty, the variable named in
 * <why>); unknown keys are ignored as the IgnoreUnknown convention allows.
 */
int conf_args_parse(const char *args, struct cni_pod *pod, char *why, size_t len);

#endif /* WEIR_TOOLS_CNI_CONF_H */
