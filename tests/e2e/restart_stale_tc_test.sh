#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A Pod that left the mesh while the agent was down (here: annotated weir.dev/mesh: off)
# is withdrawn completely by the restarted agent: its weir_netns entry goes, and so do the
# tc filters on its host veth (the running agent removes both on a withdrawal; after a
# restart only the pins say the Pod was enrolled).
. "$(dirname "$0")/lib.sh"
e2e_init rtcp-stc
e2e_node
e2e_pod srv 198.18.1.11
e2e_pod client 198.18.1.20
app_yaml() { # extra annotation for the client
	e2e_pod_yaml srv 198.18.1.11 echo v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1 | sed "s|weir.dev/lb-weight: \"1\"}|weir.dev/lb-weight: \"1\"$1}|"
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  clusterIP: 198.19.0.97
  selector: {app: echo}
  ports: [{name: tcp, port: 7, targetPort: 8080}]
YAML
}
app_yaml "" >"$E2E_TMP/config/app.yaml"
tc_filters() { ip netns exec "$E2E_NODE" tc filter show dev h-client "$1" 2>/dev/null | grep -c ' bpf ' || true; }
netns_ips() { e2e_ctl pods | jq -r '[.pods[] | .ip] | sort | join(",")'; }

e2e_agent
sleep 0.5
[ "$(netns_ips)" = "198.18.1.11,198.18.1.20" ] || e2e_fail "not both enrolled: $(netns_ips)"
[ "$(tc_filters ingress)" -ge 1 ] && [ "$(tc_filters egress)" -ge 1 ] ||
	e2e_fail "no tc filters on the client's veth: $(ip netns exec "$E2E_NODE" tc filter show dev h-client ingress)"

# While the agent is down, the client leaves the mesh.
e2e_agent_stop
app_yaml ', weir.dev/mesh: "off"' >"$E2E_TMP/config/app.yaml"
grep -q 'weir.dev/mesh: "off"' "$E2E_TMP/config/app.yaml" || e2e_fail "test bug: no annotation"
e2e_agent
sleep 0.5
[ "$(netns_ips)" = "198.18.1.11" ] || e2e_fail "weir_netns after the restart: $(netns_ips)"
[ "$(tc_filters ingress)" -eq 0 ] && [ "$(tc_filters egress)" -eq 0 ] ||
	e2e_fail "tc filters left on the withdrawn Pod's veth: $(ip netns exec "$E2E_NODE" tc filter show dev h-client ingress)"
e2e_log "ok"
