#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Two Services claiming one ClusterIP and port: the model keeps the first in namespace/name
# order (and warns); the datapath must hold that same Service, on the first sync and on
# every sync after it, so connections, explain and the edges all name one Service.
. "$(dirname "$0")/lib.sh"
e2e_init rtcp-clash
e2e_node
e2e_pod a 198.18.1.11
e2e_pod b 198.18.1.12
e2e_pod client 198.18.1.20
{
	e2e_pod_yaml be-a 198.18.1.11 alpha v1 1
	e2e_pod_yaml be-b 198.18.1.12 beta v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
} >"$E2E_TMP/config/pods.yaml"
svc_yaml() { # name selector
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: default}
spec:
  clusterIP: 198.19.0.90
  selector: {app: $2}
  ports: [{name: tcp, port: 80, targetPort: 8080}]
---
YAML
}
{
	svc_yaml web-a alpha
	svc_yaml web-b beta
} >"$E2E_TMP/config/svc.yaml"
e2e_run a "$E2E_PY" "$E2E_DIR/tcpsrv.py" who a 8080
e2e_run b "$E2E_PY" "$E2E_DIR/tcpsrv.py" who b 8080
e2e_agent
sleep 0.3

answers() { e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.90 80 10 | jq -c .counts; }
owner() { e2e_ctl services | jq -r '[.services[] | select(.vip == "198.19.0.90")] | map(.name) | join(",")'; }

grep -q "Service default/web-b: port 80 uses the same ClusterIP and port as Service default/web-a" \
	"$E2E_TMP/logs/agent.log" || e2e_fail "no warning about the clash"
[ "$(owner)" = web-a ] || e2e_fail "first sync: weir_services holds '$(owner)', the model web-a"
[ "$(answers)" = '{"a":10}' ] || e2e_fail "first sync: expected a, got $(answers)"

# Any other change makes the agent sync again: the winner must stay.
for n in 1 2; do
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: other%s, namespace: default}\nspec:\n  clusterIP: 198.19.0.9%s\n  ports: [{port: 80}]\n' \
		"$n" "$n" >"$E2E_TMP/config/other$n.yaml"
	for _ in $(seq 50); do
		e2e_ctl services | jq -e "[.services[] | select(.vip == \"198.19.0.9$n\")] | length == 1" >/dev/null && break
		sleep 0.1
	done
	[ "$(owner)" = web-a ] || e2e_fail "sync $((n + 1)): weir_services holds '$(owner)', the model web-a"
	[ "$(answers)" = '{"a":10}' ] || e2e_fail "sync $((n + 1)): expected a, got $(answers)"
done
e2e_log "ok"
