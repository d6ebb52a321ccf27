#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A Pod whose sandbox is recreated under the same name and address (CNI DEL, the runtime
# removes the netns, a new netns, CNI ADD) is enrolled again in its new netns: the DEL
# withdrew it and keeps a stale netns from being re-enrolled, but the new ADD names the
# new sandbox and must win over that.
. "$(dirname "$0")/lib.sh"
e2e_init rtcp-prst
[ -x "$BUILD/weir-cni" ] || e2e_skip "$BUILD/weir-cni not built"
e2e_node
e2e_pod srv 198.18.1.11
e2e_pod client 198.18.1.20
{
	e2e_pod_yaml srv 198.18.1.11 echo v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  clusterIP: 198.19.0.70
  selector: {app: echo}
  ports: [{name: tcp, port: 7, targetPort: 8080}]
YAML
} >"$E2E_TMP/config/app.yaml"
e2e_run srv "$E2E_PY" "$E2E_DIR/tcpsrv.py" echo 8080

pod_json() { ip netns exec "$E2E_NODE" curl -sf -m 2 http://127.0.0.1:15000/pods | jq -c ".pods[] | select(.name == \"$1\")"; }
cookie_of() { e2e_ctl pods | jq -r '.pods[] | select(.ip == "198.18.1.20") | .cookie'; }
echo_ok() { e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" hold 198.19.0.70 7 0.3 | jq -e '.fail == null' >/dev/null; }
cni() { # cni ADD|DEL CONTAINERID
	printf '{"cniVersion":"1.0.0","name":"weir","type":"weir-cni","agentSocket":"%s","failPolicy":"closed","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/%s"}],"ips":[{"address":"198.18.1.20/24","interface":0}]}}' \
		"$E2E_TMP/cni.sock" "$T-client" |
		CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS="/run/netns/$T-client" CNI_IFNAME=eth0 \
			CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=client" \
			CNI_PATH=/usr/lib/cni "$BUILD/weir-cni" >/dev/null
}

e2e_agent
cni ADD c-one || e2e_fail "CNI ADD failed"
[ "$(pod_json client | jq .enrolled)" = true ] || e2e_fail "client not enrolled: $(pod_json client)"
echo_ok || e2e_fail "the client's connection through the VIP failed"
first=$(cookie_of)
[ -n "$first" ] || e2e_fail "weirctl pods does not list the client"

# The sandbox goes: DEL, then the runtime removes the netns (and its veth with it).
cni DEL c-one || e2e_fail "CNI DEL failed"
[ "$(pod_json client | jq .enrolled)" = false ] || e2e_fail "not withdrawn on DEL: $(pod_json client)"
ip netns del "$T-client"
for _ in $(seq 50); do
	ip -n "$E2E_NODE" link show h-client >/dev/null 2>&1 || break
	sleep 0.1
done

# The new sandbox: same Pod, same address, a new netns; its ADD must enroll it.
e2e_pod client 198.18.1.20
cni ADD c-two || e2e_fail "second CNI ADD failed"
for _ in $(seq 30); do
	[ "$(pod_json client | jq .enrolled)" = true ] && break
	sleep 0.1
done
[ "$(pod_json client | jq .enrolled)" = true ] || e2e_fail "the restarted Pod is not enrolled: $(pod_json client)"
second=$(cookie_of)
[ -n "$second" ] && [ "$second" != "$first" ] || e2e_fail "weir_netns: cookie '$first' -> '$second'"
echo_ok || e2e_fail "the restarted client's connection through the VIP failed"
e2e_log "ok"
