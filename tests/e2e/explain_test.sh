#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# weirctl explain against a real datapath: a kernel-mode Service with weights 1:3 and a
# drained backend, an agent-mode Service, a Pod outside the mesh, L3/L4 deny entries
# written into weir_deny (and the traffic they really drop), the counters of real
# connections, and the same questions answered from the pins alone once the agent stops.
# Every assertion reads `-o json` with jq; the exit statuses are checked too.
. "$(dirname "$0")/lib.sh"

CTL=$BUILD/weirctl
[ -x "$CTL" ] || e2e_skip "$CTL not built"
command -v jq >/dev/null || e2e_skip "jq not installed"
command -v bpftool >/dev/null || e2e_skip "bpftool not installed"

# expect_rc RC PATTERN CMD...: CMD exits RC and its stderr holds PATTERN.
expect_rc() {
	local want=$1 pat=$2 rc=0 err
	shift 2
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -eq "$want" ] || e2e_fail "'$*' exited $rc, not $want: $err"
	[[ $err == *"$pat"* ]] || e2e_fail "'$*': message lacks '$pat': $err"
}

# check JSON FILTER WHAT: jq -e FILTER holds on JSON, else fail naming WHAT.
check() {
	echo "$1" | jq -e "$2" >/dev/null || e2e_fail "$3: jq '$2' does not hold on: $1"
}

# --- bad usage: exit 2 before any pin is opened --------------------------------------
expect_rc 2 "needs POD and SERVICE:PORT" "$CTL" explain
expect_rc 2 "needs POD and SERVICE:PORT" "$CTL" explain client
expect_rc 2 "unexpected argument" "$CTL" explain client backend:80 extra
expect_rc 2 "unknown option" "$CTL" explain --frob client backend:80
"$CTL" explain help | grep -q 'explain POD SERVICE:PORT' || e2e_fail "explain help lacks its usage"

e2e_init explain
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
---
apiVersion: v1
kind: Service
metadata:
  name: relayed
  namespace: default
  annotations: {weir.dev/path: agent}
spec:
  clusterIP: 198.19.0.11
  selector: {app: backend}
  ports: [{name: tcp-who, port: 81, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: drained, namespace: default}
spec:
  clusterIP: 198.19.0.12
  selector: {app: backend, version: vc}
  ports: [{name: tcp-who, port: 82, targetPort: 8080}]
YAML
} >"$E2E_TMP/config/app.yaml"
e2e_run a "$E2E_PY" "$E2E_DIR/tcpsrv.py" who a 8080
e2e_run b "$E2E_PY" "$E2E_DIR/tcpsrv.py" who b 8080
e2e_run c "$E2E_PY" "$E2E_DIR/tcpsrv.py" who c 8080
e2e_agent

# weirctl as an operator runs it: in the node netns, where the agent's admin API listens.
ctl_node() {
	nsenter --net="/run/netns/$E2E_NODE" "$CTL" --bpffs-dir "$E2E_BPFFS" -o json "$@"
}

# Waits (bounded) until the agent has programmed both Services and enrolled the client.
for _ in $(seq 50); do
	n=$(e2e_ctl services | jq '[.services[] | select(.name == "backend" or .name == "relayed" or .name == "drained")] | length')
	p=$(e2e_ctl pods | jq '[.pods[] | select(.ip == "198.18.1.20")] | length')
	[ "$n" -ge 3 ] && [ "$p" -ge 1 ] && break
	sleep 0.1
done

# Real connections, so that the counters have something to show.
N=20
out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.10 80 $N)
[ "$(echo "$out" | jq .errors)" -eq 0 ] || e2e_fail "connections through the VIP failed: $out"

# --- kernel mode: weights 1:3, c drained ----------------------------------------------
j=$(ctl_node explain default/client backend:80)
e2e_log "kernel mode: $(echo "$j" | jq -c '.verdict')"
check "$j" '.agent.answering == true and .agent.node_ip == "198.18.1.1"' "agent seen"
check "$j" '.pod.found_by == "agent" and .pod.namespace == "default" and .pod.name == "client"
	and .pod.ip == "198.18.1.20" and .pod.node == "n1" and .pod.mesh == true
	and .pod.local == true and .pod.enrolled == true and .pod.app == "client"
	and .pod.version == "v1" and .pod.service_account == "client"' "Pod from the agent"
check "$j" '.pod.netns_cookie != null and .pod.datapath.enrolled == true
	and .pod.datapath.netns_entry.cookie == .pod.netns_cookie
	and .pod.datapath.netns_entry.ip == "198.18.1.20"
	and .pod.datapath.netns_entry.workload.id == .pod.workload_id
	and .pod.workload_id > 0
	and (.pod.datapath.ip_entry.flags | index("local") != null)
	and (.pod.datapath.ip_entry.flags | index("pod") != null)' "Pod checked against the pins"
check "$j" '.identity.spiffe_id == "spiffe://cluster.local/ns/default/sa/client"
	and .identity.mtls == false' "identity"
check "$j" '.service.known == true and .service.namespace == "default"
	and .service.name == "backend" and .service.vip == "198.19.0.10" and .service.port == 80
	and .service.protocol == "tcp" and .service.port_name == "tcp-who"
	and .service.model_mode == "kernel" and .service.entry.mode == "kernel"
	and .service.entry.id == .service.id and .service.id > 0' "Service"
check "$j" '[.service.entry.backends[] | {(.ip): .probability}] | add
	| .["198.18.1.11"] == 0.25 and .["198.18.1.12"] == 0.75 and .["198.18.1.13"] == 0' \
	"pick probabilities 0.25/0.75/0"
check "$j" '.service.entry.backends[] | select(.ip == "198.18.1.13")
	| .drained == true and .healthy == true and .weight == 0' "c drained"
check "$j" '.verdict.action == "rewritten" and .verdict.reason == "lb_kernel"
	and .verdict.to == "backend" and .verdict.agent == null
	and ([.verdict.backends[].ip] | sort == ["198.18.1.11", "198.18.1.12"])' "kernel verdict"
check "$j" '.route == null and (.route_note | length > 0)' "no route yet"
check "$j" '.policy.checked == true and .policy.verdict == "allow" and .policy.rule == null
	and .policy.deny_probability == 0 and (.policy.paths | length == 2)
	and ([.policy.paths[].checks[] | .enforced] | all)' "policy allows"
check "$j" ".counters.totals.connections_opened >= $N
	and ([.counters.edges[] | .service.name == \"backend\" and .source.app == \"client\"] | all)" \
	"counters of the $N connections"
check "$j" '.unchecked == [] and .issues == []' "nothing left unchecked with the agent up"

# The same Service named every other way gives the same entry.
id=$(echo "$j" | jq .service.id)
for spec in backend:80 backend.default:80 backend.default.svc.cluster.local:80 \
	default/backend:tcp-who 198.19.0.10:80 backend:80/tcp; do
	k=$(ctl_node explain 198.18.1.20 "$spec")
	check "$k" ".service.id == $id and .service.port == 80 and .verdict.reason == \"lb_kernel\"" \
		"service spec $spec"
done
# The text form is for people (never parsed): it must run; the log shows it.
ctl_text() {
	nsenter --net="/run/netns/$E2E_NODE" "$CTL" --bpffs-dir "$E2E_BPFFS" explain "$@" ||
		e2e_fail "explain -o text $* failed"
}
ctl_text client backend:80

# --- agent mode ------------------------------------------------------------------------
j=$(ctl_node explain client relayed:81)
e2e_log "agent mode: $(echo "$j" | jq -c '.verdict | {action, reason, agent}')"
check "$j" '.service.entry.mode == "agent" and .verdict.action == "rewritten"
	and .verdict.reason == "to_agent" and .verdict.to == "agent"
	and .verdict.agent.ip == "198.18.1.1" and .verdict.agent.port == 15001
	and .verdict.agent.source == "datapath" and .verdict.agent.answering == true
	and ([.verdict.backends[] | {(.ip): .probability}] | add
	     | .["198.18.1.11"] == 0.25 and .["198.18.1.12"] == 0.75)' "agent verdict"
check "$j" '[.policy.paths[].checks[0] | .remote_ip == "198.18.1.1" and .port == 15001] | all' \
	"egress goes to the agent"
check "$j" '[.policy.paths[].checks[1] | .remote_ip == "198.18.1.1" and .direction == "ingress"] | all' \
	"backends see the agent's address"

# --- every backend drained: connect4 fails open to the VIP ---------------------------------
j=$(ctl_node explain client drained:82)
check "$j" '.service.entry.count == 1 and .service.entry.backends[0].drained == true
	and .service.entry.backends[0].probability == 0 and .verdict.action == "untouched"
	and .verdict.reason == "no_backend" and .verdict.to == "original"
	and .verdict.backends == [] and (.policy.paths | length == 1)
	and .policy.paths[0].checks[0].remote_ip == "198.19.0.12"' "no usable backend"

# --- a Pod outside the mesh --------------------------------------------------------------
j=$(ctl_node explain outsider backend:80)
check "$j" '.pod.mesh == false and .pod.enrolled == false
	and .pod.datapath.netns_entry == null and .verdict.action == "untouched"
	and .verdict.reason == "not_enrolled" and .verdict.to == "original"
	and .verdict.backends == []' "outsider untouched"

# --- unknown Service or port: exit 1 with a message ------------------------------------
expect_rc 1 "unknown Service default/nosuch" ctl_node explain client nosuch:80
expect_rc 1 "has no port 'grpc'" ctl_node explain client backend:grpc
expect_rc 1 "no Pod 'default/ghost'" ctl_node explain ghost backend:80
expect_rc 1 "no Pod with address 198.18.1.99" ctl_node explain 198.18.1.99 backend:80
expect_rc 2 "is not SERVICE:PORT" ctl_node explain client backend
expect_rc 2 "not 1..65535" ctl_node explain client backend:70000
# A bare address that is no Service is explained, not refused: connect4 leaves it alone.
j=$(ctl_node explain client 198.19.0.99:80)
check "$j" '.service.known == false and .service.entry == null
	and .verdict.reason == "not_service"' "an address that is no Service"

# --- L3/L4 deny entries, written as tc reads them (include/weir/policy.h) ---------------
le32() { printf '%02x %02x %02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
be16() { printf '%02x %02x' $((($1 >> 8) & 255)) $(($1 & 255)); }
ip4() { local IFS=.; set -- $1; printf '%02x %02x %02x %02x' "$1" "$2" "$3" "$4"; }
# deny_key PREFIXLEN WL_ID DIR PORT IP: a weir_deny_key for TCP, as bpftool hex words.
deny_key() { echo "$(le32 $((64 + $1))) $(le32 "$2") $(printf '%02x' "$3") 06 $(be16 "$4") $(ip4 "$5")"; }
DENY=$E2E_BPFFS/weir_deny

client_wl=$(ctl_node explain client backend:80 | jq .pod.workload_id)
b_wl=$(ctl_node explain 198.18.1.12 backend:80 | jq .pod.workload_id)
[ "$client_wl" -gt 0 ] && [ "$b_wl" -gt 0 ] || e2e_fail "no workload ids: $client_wl $b_wl"

# Egress from the client to 198.18.1.0/24, any port: every backend is behind it.
k_egress=$(deny_key 24 "$client_wl" 0 0 198.18.1.0)
bpftool map update pinned "$DENY" key hex $k_egress value hex $(le32 4242) ||
	e2e_fail "bpftool could not write weir_deny"
j=$(ctl_node explain client backend:80)
e2e_log "egress deny: $(echo "$j" | jq -c '.policy | {verdict, rule, deny_probability}')"
check "$j" '.policy.verdict == "deny" and .policy.rule == 4242 and .policy.deny_probability == 1
	and ([.policy.paths[] | .checks[0] | .verdict == "deny" and .rule == 4242
	      and .match.port == 0 and .match.prefix == "198.18.1.0/24"] | all)' "egress deny"
# ... and tc really drops it: no connection gets through.
out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.10 80 2)
[ "$(echo "$out" | jq .errors)" -eq 2 ] || e2e_fail "explain says deny, yet traffic passed: $out"
bpftool map delete pinned "$DENY" key hex $k_egress || e2e_fail "could not delete the entry"

# Ingress at b, from the client, port 8080 exactly: only the paths through b are denied.
k_ingress=$(deny_key 32 "$b_wl" 1 8080 198.18.1.20)
bpftool map update pinned "$DENY" key hex $k_ingress value hex $(le32 77) ||
	e2e_fail "bpftool could not write weir_deny"
j=$(ctl_node explain client backend:80)
check "$j" '.policy.verdict == "partial" and .policy.rule == 77
	and .policy.deny_probability == 0.75
	and (.policy.paths[] | select(.backend.ip == "198.18.1.12") | .verdict == "deny"
	     and .checks[1].rule == 77 and .checks[1].match.port == 8080
	     and .checks[1].match.prefix == "198.18.1.20/32")
	and (.policy.paths[] | select(.backend.ip == "198.18.1.11") | .verdict == "allow")' \
	"ingress deny at b"
ctl_text client backend:80
# Straight to b's address: no Service, so connect4 leaves it, and tc at b denies it.
j=$(ctl_node explain client 198.18.1.12:8080)
check "$j" '.verdict.reason == "not_service" and .policy.verdict == "deny" and .policy.rule == 77' \
	"direct to b"
j=$(ctl_node explain client 198.18.1.11:8080)
check "$j" '.verdict.reason == "not_service" and .policy.verdict == "allow"' "direct to a"
out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.18.1.12 8080 1)
[ "$(echo "$out" | jq .errors)" -eq 1 ] || e2e_fail "explain says b denies, yet traffic passed: $out"
out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.18.1.11 8080 1)
[ "$(echo "$out" | jq '.counts.a // 0')" -eq 1 ] || e2e_fail "explain says a allows, yet: $out"

# --- the agent stopped: the pins alone -------------------------------------------------
e2e_agent_stop
j=$(ctl_node explain 198.18.1.20 backend:80)
e2e_log "pins only: $(echo "$j" | jq -c '.unchecked')"
check "$j" '.agent.answering == false and (.agent.error | length > 0)
	and .pod.found_by == "pins" and .pod.name == null and .pod.node == null
	and .pod.enrolled == true and .pod.datapath.netns_entry.ip == "198.18.1.20"
	and .pod.workload_id == '"$client_wl"'
	and .identity.spiffe_id == "spiffe://cluster.local/ns/default/sa/client"
	and .service.found_by == "pins" and .service.name == "backend" and .service.id == '"$id"'
	and .verdict.reason == "lb_kernel"
	and ([.service.entry.backends[] | {(.ip): .probability}] | add
	     | .["198.18.1.11"] == 0.25 and .["198.18.1.12"] == 0.75 and .["198.18.1.13"] == 0)
	and .policy.verdict == "partial" and .policy.rule == 77
	and (.unchecked | length >= 2)
	and ([.unchecked[] | test("agent")] | any)' "pins only"
j=$(ctl_node explain 198.18.1.20 relayed:81)
ctl_text 198.18.1.20 relayed:81
check "$j" '.verdict.reason == "to_agent" and .verdict.agent.source == "datapath"
	and .verdict.agent.ip == "198.18.1.1" and .verdict.agent.answering == false
	and (.verdict.explanation | test("refused"))' "agent mode, agent down"
j=$(ctl_node explain 198.18.1.21 198.19.0.10:80)
check "$j" '.verdict.reason == "not_enrolled" and .pod.enrolled == false
	and .pod.found_by == "pins" and .pod.datapath.ip_entry.flags == []' "outsider, pins only"
expect_rc 1 "found by its IP only" ctl_node explain default/client backend:80
expect_rc 1 "port names need the agent" ctl_node explain 198.18.1.20 backend:tcp-who
expect_rc 1 "unknown Service default/nosuch" ctl_node explain 198.18.1.20 nosuch:80
e2e_log "ok: kernel, agent, outsider, deny (egress, ingress), counters, pins only"
