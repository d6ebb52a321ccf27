#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The running agent reloads its config dir on change: a good edit moves a Service to new
# backends within seconds; a bad file is rejected with a message naming file, object and
# field, the agent keeps running and ready, and the last good state stays in force (also
# when a file that was good is overwritten with garbage).
. "$(dirname "$0")/lib.sh"
e2e_init reload
e2e_node
e2e_pod a 198.18.1.11
e2e_pod b 198.18.1.12
e2e_pod client 198.18.1.20
{
	e2e_pod_yaml be-a 198.18.1.11 alpha v1 1
	e2e_pod_yaml be-b 198.18.1.12 beta v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
} >"$E2E_TMP/config/pods.yaml"
svc_yaml() { # selector app
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 198.19.0.50
  selector: {app: $1}
  ports: [{name: tcp, port: 80, targetPort: 8080}]
YAML
}
svc_yaml alpha >"$E2E_TMP/config/svc.yaml"
e2e_run a "$E2E_PY" "$E2E_DIR/tcpsrv.py" who a 8080
e2e_run b "$E2E_PY" "$E2E_DIR/tcpsrv.py" who b 8080
e2e_agent
sleep 0.3

answers() { e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.50 80 20 | jq -c .counts; }
# Writes a file the way an editor or kubectl would: a new file renamed into place.
put() { cat >"$E2E_TMP/config/.$1.tmp" && mv "$E2E_TMP/config/.$1.tmp" "$E2E_TMP/config/$1"; }
wait_for() { # description, command...
	local what=$1 i
	shift
	for i in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	e2e_fail "timed out waiting for: $what"
}
status() { ip netns exec "$E2E_NODE" curl -sf -m 5 http://127.0.0.1:15000/status; }
rejected_is() { [ "$(status | jq '.agent.config.files_rejected')" = "$1" ]; }
# /metrics reads the same counters as /status: once status shows N, so must /metrics.
metrics_rejected_is() {
	ip netns exec "$E2E_NODE" curl -sf -m 5 http://127.0.0.1:15020/metrics >"$E2E_TMP/metrics.txt" ||
		e2e_fail "/metrics did not answer"
	grep -q "^weir_config_files_rejected $1\$" "$E2E_TMP/metrics.txt"
}

[ "$(answers)" = '{"a":20}' ] || e2e_fail "start: expected a: $(answers)"

# 1. A bad file next to the good ones: rejected, named, nothing else changes.
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: broken, namespace: default}\nspec:\n  clusterIP: 198.19.0.51\n  ports: [{port: 70000}]\n' | put bad.yaml
wait_for "the rejection in the log" grep -q 'bad.yaml.*Service default/broken.*spec.ports\[0\].port' "$E2E_TMP/logs/agent.log"
e2e_log "log: $(grep 'bad.yaml' "$E2E_TMP/logs/agent.log" | head -1)"
kill -0 "$E2E_AGENT_PID" || e2e_fail "the agent died on a bad file"
ip netns exec "$E2E_NODE" curl -sf -m 2 http://127.0.0.1:15021/healthz/ready >/dev/null || e2e_fail "not ready after a bad file"
[ "$(status | jq '.agent.config.files_rejected')" -eq 1 ] || e2e_fail "status: $(status)"
e2e_ctl services | jq -e '[.services[] | select(.vip == "198.19.0.51")] | length == 0' >/dev/null ||
	e2e_fail "the rejected Service was programmed"
[ "$(answers)" = '{"a":20}' ] || e2e_fail "after a bad file: $(answers)"

# 2. A good edit: the Service moves to beta within seconds.
svc_yaml beta | put svc.yaml
answered_b() { [ "$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.50 80 1 | jq -c .counts)" = '{"b":1}' ]; }
wait_for "web to answer from b" answered_b
out=$(answers)
[ "$out" = '{"b":20}' ] || e2e_fail "after the edit: expected b, got $out"

# 3. The good file overwritten with garbage: rejected, and beta stays in force.
printf 'kind: Service\nmetadata: {name: web\n  spec: [unclosed\n' | put svc.yaml
wait_for "the second rejection" grep -q 'svc.yaml: rejected' "$E2E_TMP/logs/agent.log"
kill -0 "$E2E_AGENT_PID" || e2e_fail "the agent died on garbage"
[ "$(answers)" = '{"b":20}' ] || e2e_fail "garbage replaced the last good state: $(answers)"
wait_for "status to count 2 rejected files" rejected_is 2
metrics_rejected_is 2 || e2e_fail "/metrics does not count the rejected files (status does)"

# 4. Removing the bad files and restoring the Service: clean again.
rm "$E2E_TMP/config/bad.yaml"
svc_yaml alpha | put svc.yaml
wait_for "status to count no rejected file" rejected_is 0
metrics_rejected_is 0 || e2e_fail "/metrics still counts rejected files (status does not)"
answered_a() { [ "$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.50 80 1 | jq -c .counts)" = '{"a":1}' ]; }
wait_for "web to answer from a again" answered_a
[ "$(answers)" = '{"a":20}' ] || e2e_fail "after restoring: $(answers)"
e2e_log "ok"
