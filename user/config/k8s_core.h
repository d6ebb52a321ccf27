/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoders of the core Kubernetes kinds (Pod, Service, Endpoints, EndpointSlice): the decode
 * functions of their rows in the kind table of k8s.c. Each follows the contract of
 * k8s_kind.decode in k8s.h: it fills <o> from mapping <root> and returns 0, K8S_SKIP, -EINVAL
 * (reported through <d>) or -ENOMEM.
 */
#ifndef WEIR_USER_K8S_CORE_H
#define WEIR_USER_K8S_CORE_H

#include "config/k8s.h"

struct k8s_dec;

/* v1 Pod into <o>->pod. */
int k8s_core_pod(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);

/* v1 Service into <o>->svc. */
int k8s_core_service(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);

/* v1 Endpoints into <o>->eps. */
int k8s_core_endpoints(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);

/* discovery.k8s.io EndpointSlice into <o>->eps (one subset). */
int k8s_core_endpointslice(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);

#endif /* WEIR_USER_K8S_CORE_H */
