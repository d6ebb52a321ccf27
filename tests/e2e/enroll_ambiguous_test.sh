#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Enrolment never guesses between two network namespaces holding a Pod's address (which
# happens when something else on the machine reuses the address plan): a fresh agent
# leaves the Pod pending and says why; the real weir-cni's ADD names the right netns; and
# an agent restarted with the decoy still there keeps the netns the pins recorded.
. "$(dirname "$0")/lib.sh"
e2e_init amb
[ -x "$BUILD/weir-cni" ] || e2e_skip "$BUILD/weir-cni not built"
e2e_node
e2e_pod srv 198.18.1.11
e2e_pod client 198.18.1.20
# The decoy: another netns holding the client's address, on a veth to nowhere.
ip netns add "$T-decoy"
E2E_NETNS+=("$T-decoy")
ip -n "$T-decoy" link add d0 type veth peer name d1
ip -n "$T-decoy" addr add 198.18.1.20/24 dev d0
{
	e2e_pod_yaml srv 198.18.1.11 echo v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  clusterIP: 198.19.0.60
  selector: {app: echo}
  ports: [{name: tcp, port: 7, targetPort: 8080}]
YAML
} >"$E2E_TMP/config/app.yaml"
e2e_run srv "$E2E_PY" "$E2E_DIR/tcpsrv.py" echo 8080

pod_json() { ip netns exec "$E2E_NODE" curl -sf -m 2 http://127.0.0.1:15000/pods | jq -c ".pods[] | select(.name == \"$1\")"; }
cookie_of() { e2e_ctl pods | jq -r '.pods[] | select(.ip == "198.18.1.20") | .cookie'; }
echo_ok() { e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" hold 198.19.0.60 7 0.3 | jq -e '.fail == null' >/dev/null; }

# 1. A fresh agent: two candidates, no pins, no hint -> pending, with a warning.
e2e_agent
sleep 0.5
[ "$(pod_json client | jq .enrolled)" = false ] || e2e_fail "the client was enrolled by a guess: $(pod_json client)"
[ "$(pod_json srv | jq .enrolled)" = true ] || e2e_fail "srv is not enrolled: $(pod_json srv)"
grep -q "Pod default/client: 2 network namespaces hold its address" "$E2E_TMP/logs/agent.log" ||
	e2e_fail "no warning about the ambiguous address"

# 2. The real CNI plugin's ADD names the netns: enrolled there, at once.
conf=$(printf '{"cniVersion":"1.0.0","name":"weir","type":"weir-cni","agentSocket":"%s","failPolicy":"closed","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/%s"}],"ips":[{"address":"198.18.1.20/24","interface":0}]}}' \
	"$E2E_TMP/cni.sock" "$T-client")
echo "$conf" | CNI_COMMAND=ADD CNI_CONTAINERID=c-client CNI_NETNS="/run/netns/$T-client" CNI_IFNAME=eth0 \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=client" CNI_PATH=/usr/lib/cni \
	"$BUILD/weir-cni" >/dev/null || e2e_fail "CNI ADD failed"
[ "$(pod_json client | jq -r .netns)" = "/run/netns/$T-client" ] || e2e_fail "not enrolled in its own netns: $(pod_json client)"
echo_ok || e2e_fail "the client's connection through the VIP failed"
before=$(cookie_of)
[ -n "$before" ] || e2e_fail "weirctl pods does not list the client"

# 3. Restart: the hint is gone, the decoy is still there; the pinned cookie decides.
e2e_agent_stop
e2e_agent
sleep 0.5
[ "$(pod_json client | jq -r .netns)" = "/run/netns/$T-client" ] || e2e_fail "after the restart: $(pod_json client)"
[ "$(cookie_of)" = "$before" ] || e2e_fail "the pinned netns changed: $before -> $(cookie_of)"
echo_ok || e2e_fail "the client's connection failed after the restart"

# 4. CNI DEL, then the runtime removes the sandbox: withdrawn at once, and the decoy, now the
# only netns holding the address, is not enrolled in its place while the config still
# lists the Pod (the API lags the runtime; the address may already be a new Pod's).
echo "$conf" | CNI_COMMAND=DEL CNI_CONTAINERID=c-client CNI_NETNS="/run/netns/$T-client" CNI_IFNAME=eth0 \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=client" CNI_PATH=/usr/lib/cni \
	"$BUILD/weir-cni" >/dev/null || e2e_fail "CNI DEL failed"
[ "$(pod_json client | jq .enrolled)" = false ] || e2e_fail "not withdrawn on CNI DEL: $(pod_json client)"
ip netns del "$T-client"
# Any config change makes the agent sync enrolment again: that is when it would re-enroll.
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: default}\nspec:\n  clusterIP: 198.19.0.61\n  ports: [{port: 80}]\n' \
	>"$E2E_TMP/config/other.yaml"
for _ in $(seq 50); do
	e2e_ctl services | jq -e '[.services[] | select(.vip == "198.19.0.61")] | length == 1' >/dev/null && break
	sleep 0.1
done
sleep 1.5 # and past a tick of enrolment retries
[ "$(pod_json client | jq .enrolled)" = false ] || e2e_fail "re-enrolled after DEL: $(pod_json client)"
[ -z "$(cookie_of)" ] || e2e_fail "weir_netns still holds the deleted Pod: $(cookie_of)"
e2e_log "ok"
