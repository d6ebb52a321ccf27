/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state shared by the two halves of the route compiler: route.c (objects, hosts,
 * clusters, policies, tables) and route_vs.c (one VirtualService entry into route_http or
 * route_tcp). Private to model/route*.c.
 */
#ifndef WEIR_MODEL_ROUTE_PRIV_H
#define WEIR_MODEL_ROUTE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strmap.h"
#include "model/route.h"

struct istio_dest;
struct istio_http;
struct istio_l4;

#define ROUTE_MOD "route"

/* A traffic object in force, with its position in the input (file order). */
struct route_obj {
	const struct k8s_object *o;
	size_t idx;
};

/* One compile run. Temporary arrays are malloc'd; what is published is in <a>. */
struct route_ctx {
	struct arena *a;
	const struct model *m;
	struct route_cluster **cl; /* clusters made so far (arena), made contiguous at the end */
	size_t ncl, capcl;
	struct strmap cl_by_name;
	struct regex **res; /* compiled regexes: freed with the snapshot */
	size_t nres, capres;
	const struct route_obj *drs; /* DestinationRules in force */
	size_t ndrs;
	const char **nss; /* the Pods' distinct namespaces (malloc'd), made on first need */
	size_t nnss;
	bool nss_made;
	const struct route_obj *dr_of; /* per model service: the DestinationRule a client of no
					* particular namespace sees, or o NULL */
	const struct route_obj *rls;   /* RateLimits in force */
	size_t nrls;
	const struct route_obj *vss; /* VirtualServices in force, for RateLimit targets */
	size_t nvss;
	uint64_t errors;
	bool nomem; /* a copy below failed: the build fails with -ENOMEM */
};

/* A copy of <s> in the snapshot (objects may be freed after the build); sets c->nomem. */
const char *route_strdup(struct route_ctx *c, const char *s);

/* A copy of the pairs <kv>/<n>, keys lower-cased when <lower>; sets c->nomem. */
const struct k8s_kv *route_kv(struct route_ctx *c, const struct k8s_kv *kv, size_t n, bool lower);

/*
 * The Service named by destination host <host> written in namespace <ns> (short name,
 * name.ns, name.ns.svc, FQDN), or NULL.
 */
const struct model_service *route_dest_svc(const struct model *m, const char *ns, const char *host);

/*
 * The cluster for <svc> port <port> and <subset> (NULL: the whole port), made on first use.
 * Returns NULL on -ENOMEM.
 */
struct route_cluster *route_cluster_get(struct route_ctx *c, const struct model_service *svc,
					const struct model_svc_port *port, const char *subset);

/*
 * Checks that every destination of VirtualService <o> names a known Service (and port).
 * Logs the first problem with the object's source and returns false.
 */
bool route_vs_check(struct route_ctx *c, const struct k8s_object *o);

/*
 * Compiles http entry <h> (index <i>) of VirtualService <o> for the table of <svc> port <sp>
 * into *<out>; NULL (nothing, 0 returned) when none of its matches applies to that port.
 * Returns 0 or -ENOMEM.
 */
int route_vs_http(struct route_ctx *c, const struct k8s_object *o, const struct istio_http *h,
		  size_t i, const struct model_service *svc, const struct model_svc_port *sp,
		  const struct route_http **out);

/* Compiles tcp/tls entry <l> of <o> for <svc> port <sp> as route_vs_http() does. */
int route_vs_tcp(struct route_ctx *c, const struct k8s_object *o, const struct istio_l4 *l,
		 const struct model_service *svc, const struct model_svc_port *sp,
		 const struct route_tcp **out);

#endif /* WEIR_MODEL_ROUTE_PRIV_H */
