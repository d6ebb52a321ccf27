#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A finished Pod (status.phase Succeeded, as a completed Job leaves it) keeps its podIP in
# its status, and a running Pod on the same node may already have been given that address.
# The address is the running Pod's: weir_ips names its workload, and only it is enrolled
# (the finished Pod has no netns; enrolling it would take the running Pod's).
. "$(dirname "$0")/lib.sh"
e2e_init rtcp-term
e2e_node
e2e_pod web 198.18.1.30
{
	cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: a-job-x7k2p
  namespace: default
  labels: {app: batch, version: v1}
  ownerReferences:
  - {apiVersion: batch/v1, kind: Job, name: a-job, uid: u-job, controller: true}
spec:
  nodeName: n1
  restartPolicy: Never
  containers: [{name: job, image: weir/test}]
status:
  phase: Succeeded
  podIP: 198.18.1.30
  podIPs: [{ip: 198.18.1.30}]
  conditions: [{type: Ready, status: "False"}]
---
YAML
	e2e_pod_yaml web 198.18.1.30 web v1 1
} >"$E2E_TMP/config/pods.yaml"
e2e_agent
sleep 0.5

pod_json() { ip netns exec "$E2E_NODE" curl -sf -m 2 http://127.0.0.1:15000/pods | jq -c ".pods[] | select(.name == \"$1\")"; }
ip_wl() { e2e_ctl map dump weir_ips | jq -r '.entries[] | select(.key.ip == "198.18.1.30") | .value.workload.name'; }
netns_wl() { e2e_ctl pods | jq -r '[.pods[] | select(.ip == "198.18.1.30") | .workload.name] | join(",")'; }

[ "$(pod_json web | jq .enrolled)" = true ] || e2e_fail "web is not enrolled: $(pod_json web)"
[ "$(pod_json a-job-x7k2p | jq .enrolled)" != true ] || e2e_fail "the finished Pod was enrolled: $(pod_json a-job-x7k2p)"
[ "$(netns_wl)" = web-v1 ] || e2e_fail "weir_netns names '$(netns_wl)' for the address, not web-v1"
[ "$(ip_wl)" = web-v1 ] || e2e_fail "weir_ips names '$(ip_wl)' for the address, not web-v1: $(e2e_ctl map dump weir_ips)"
e2e_log "ok"
