#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Kernel-path load balancing at connect(): a Service VIP spread over backends by weight
# (1:3), a drained backend (weight 0) never picked, the application sees the VIP from
# getpeername(), and a Pod outside the mesh is left untouched by the hooks.
. "$(dirname "$0")/lib.sh"
e2e_init lbw
e2e_node
e2e_pod a 198.18.1.11
e2e_pod b 198.18.1.12
e2e_pod c 198.18.1.13
e2e_pod client 198.18.1.20
e2e_pod outsider 198.18.1.21
{
	e2e_pod_yaml be-a 198.18.1.11 backend va 1
	e2e_pod_yaml be-b 198.18.1.12 backend vb 3
	e2e_pod_yaml be-c 198.18.1.13 backend vc 0
	e2e_pod_yaml client 198.18.1.20 client v1 1
	e2e_pod_yaml outsider 198.18.1.21 outsider v1 1 | sed 's/labels: {app: outsider, version: v1}/labels: {app: outsider, version: v1, istio.io\/dataplane-mode: none}/'
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  clusterIP: 198.19.0.10
  selector: {app: backend}
  ports: [{name: tcp-who, port: 80, targetPort: 8080}]
YAML
} >"$E2E_TMP/config/app.yaml"

e2e_run a "$E2E_PY" "$E2E_DIR/tcpsrv.py" who a 8080
e2e_run b "$E2E_PY" "$E2E_DIR/tcpsrv.py" who b 8080
e2e_run c "$E2E_PY" "$E2E_DIR/tcpsrv.py" who c 8080
e2e_agent
sleep 0.5

svc=$(e2e_ctl services)
echo "$svc" | jq -e '[.services[] | select(.name == "backend" and .vip == "198.19.0.10" and .port == 80)] | length == 1' >/dev/null ||
	e2e_fail "weirctl services does not show backend 198.19.0.10:80: $svc"
echo "$svc" | jq -e '[.services[] | select(.name == "backend") | .backends[]] | length == 3' >/dev/null ||
	e2e_fail "backend should have 3 backends: $svc"

N=800
out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.10 80 $N)
e2e_log "distribution: $out"
na=$(echo "$out" | jq '.counts.a // 0')
nb=$(echo "$out" | jq '.counts.b // 0')
nc=$(echo "$out" | jq '.counts.c // 0')
[ "$(echo "$out" | jq .errors)" -eq 0 ] || e2e_fail "connections failed: $out"
[ "$nc" -eq 0 ] || e2e_fail "drained backend c (weight 0) was picked $nc times"
[ $((na + nb)) -eq $N ] || e2e_fail "answers do not add up: $out"
# a ~ Binomial(800, 1/4): mean 200, sd 12.2; 5 sd either side fails with p < 1e-6 by chance.
[ "$na" -ge 139 ] && [ "$na" -le 261 ] || e2e_fail "weight 1:3 not honoured: a=$na b=$nb"

peer=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" peer 198.19.0.10 80)
[ "$(echo "$peer" | jq -r .peer)" = "198.19.0.10:80" ] || e2e_fail "getpeername shows $peer, not the VIP"

# The outsider's netns is not enrolled: its connect() to the VIP is not rewritten and
# there is no route behind the VIP, so it fails, as it would without a mesh.
if out=$(e2e_exec outsider "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.10 80 3); then
	[ "$(echo "$out" | jq '(.counts.a // 0) + (.counts.b // 0)')" -eq 0 ] ||
		e2e_fail "a Pod outside the mesh was load-balanced: $out"
fi
pods=$(e2e_ctl pods)
echo "$pods" | jq -e '[.pods[] | select(.ip == "198.18.1.21")] | length == 0' >/dev/null ||
	e2e_fail "the outsider is enrolled: $pods"
echo "$pods" | jq -e '[.pods[] | select(.ip == "198.18.1.20")] | length == 1' >/dev/null ||
	e2e_fail "the client is not enrolled: $pods"
e2e_log "ok: a=$na b=$nb c=$nc, VIP seen by getpeername, outsider untouched"
