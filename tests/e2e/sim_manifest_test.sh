#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The simulator's manifest checks, table-driven: each bad manifest makes `weir-sim up` fail with
# a message naming the file and the field, and leaves nothing behind (no state, no namespace,
# no cgroup). Then scheduling: spec.nodeName and spec.nodeSelector place bare Pods where asked.
# Exit 0 pass, 77 skip, else fail.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SIM=wt-sim-manifest
SIMCTL=(/usr/bin/python3 tools/sim/weir-sim --name "$SIM")
CG=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
TMP=$(mktemp -d /tmp/wt-sim-manifest.XXXXXX)

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x /usr/lib/cni/bridge ] || { echo "SKIP: containernetworking-plugins missing"; exit 77; }
trap '"${SIMCTL[@]}" down >/dev/null 2>&1; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; exit 1; }

pod() { # name, extra lines for the container
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n  - name: c\n%s\n' "$1" "$2"
}
svc() { # spec body
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n%s\n' "$1"
}

# name | expected text in the message | manifest
cases=()
add() { cases+=("$1"); printf '%s\n' "$3" >"$TMP/$1.yaml"; printf '%s' "$2" >"$TMP/$1.want"; }
add no-command 'spec.containers[0].command: is required' "$(pod p '    image: nginx')"
add no-program 'spec.containers[0].command[0]: "no-such-program-wt"' \
	"$(pod p '    command: [no-such-program-wt]')"
add command-type 'spec.containers[0].command: must be a list of strings' \
	"$(pod p '    command: sleep 1')"
add port-range 'spec.containers[0].ports[0].containerPort: must be a port number' \
	"$(pod p "    command: [sleep, '1']
    ports: [{containerPort: 70000}]")"
add field-ref 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: unsupported' \
	"$(pod p "    command: [sleep, '1']
    env: [{name: X, valueFrom: {fieldRef: {fieldPath: metadata.labels}}}]")"
add bad-name 'metadata.name: "Bad_Name" is not a valid name' "$(pod Bad_Name "    command: [sleep, '1']")"
add host-network 'spec.hostNetwork: is not supported' \
	"$(printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, command: [sleep]}]\n')"
add replicas 'spec.replicas: must be a whole number' \
	"$(printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: -1\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec: {containers: [{name: c, command: [sleep]}]}\n')"
add selector 'spec.selector.matchLabels: app=a does not match the template labels' \
	"$(printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: b}}\n    spec: {containers: [{name: c, command: [sleep]}]}\n')"
add deploy-api 'apiVersion: Deployment must be apps/v1' \
	"$(printf 'apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n')"
add svc-port 'spec.ports[0].port: must be a port number' "$(svc '  ports: [{port: 0}]')"
add svc-target 'spec.ports[0].targetPort: must be a port number or a port name' \
	"$(svc '  ports: [{port: 80, targetPort: [1]}]')"
add svc-noports 'spec.ports: is required' "$(svc '  selector: {app: a}')"
add svc-vip 'spec.clusterIP: 10.96.0.1 is outside' "$(svc '  clusterIP: 10.96.0.1
  ports: [{port: 80}]')"
add twice 'is defined twice' "$(svc '  ports: [{port: 80}]')
---
$(svc '  ports: [{port: 81}]')"
add no-kind 'kind: is required' 'apiVersion: v1
metadata: {name: x}'
add not-map 'is not a mapping' '- just
- a list'
add yaml ':4: not valid YAML' 'apiVersion: v1
kind: Pod
metadata: {name: x
spec: [1'
add node-name "spec.nodeName 'n7' is not a node" \
	"$(printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: n7\n  containers: [{name: c, command: [sleep]}]\n')"
add node-selector 'no node matches spec.nodeSelector' \
	"$(printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeSelector: {disk: ssd}\n  containers: [{name: c, command: [sleep]}]\n')"

n=0
for c in "${cases[@]}"; do
	f=$TMP/$c.yaml
	if "${SIMCTL[@]}" up "$f" --build "$BUILD" --no-agent --no-weir-cni >"$TMP/$c.out" 2>&1; then
		fail "$c: up accepted the manifest"
	fi
	want=$(cat "$TMP/$c.want")
	grep -qF -- "$f" "$TMP/$c.out" || [ "$c" = node-name ] || [ "$c" = node-selector ] ||
		fail "$c: message does not name the file: $(cat "$TMP/$c.out")"
	grep -qF -- "$want" "$TMP/$c.out" || fail "$c: want '$want' in: $(cat "$TMP/$c.out")"
	[ -e "/run/weir-sim/$SIM" ] && fail "$c: state left behind"
	[ -e "$CG/weir-sim-$SIM" ] && fail "$c: cgroup left behind"
	ip netns list | grep -q "^$SIM-" && fail "$c: namespace left behind"
	n=$((n + 1))
done
"${SIMCTL[@]}" up "$TMP/missing.yaml" --no-agent --no-weir-cni >"$TMP/missing.out" 2>&1 &&
	fail "up accepted a missing file"
grep -q 'missing.yaml: No such file' "$TMP/missing.out" || fail "missing file: $(cat "$TMP/missing.out")"
echo "ok: $((n + 1)) bad manifests refused with file and field, nothing left behind"

# Scheduling: nodeName and nodeSelector are honoured, the rest goes round-robin.
cat >"$TMP/sched.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: on-n3}
spec:
  nodeName: n3
  containers: [{name: c, command: [sleep, "600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: pick-n2}
spec:
  nodeSelector: {kubernetes.io/hostname: n2}
  containers: [{name: c, command: [sleep, "600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: any, namespace: other}
spec:
  containers: [{name: c, command: [sleep, "600"]}]
EOF
"${SIMCTL[@]}" up "$TMP/sched.yaml" --nodes 3 --build "$BUILD" --no-agent --no-weir-cni \
	>"$TMP/sched.out" 2>&1 || { cat "$TMP/sched.out"; fail "up of the scheduling manifest"; }
"${SIMCTL[@]}" pods -o json >"$TMP/pods.json"
jq -e 'map({(.name): .node}) | add == {"on-n3": "n3", "pick-n2": "n2", "any": "n1"}' \
	"$TMP/pods.json" >/dev/null || fail "placement: $(jq -c 'map({(.name): .node})' "$TMP/pods.json")"
jq -e 'all(.[]; .ready and .alive)' "$TMP/pods.json" >/dev/null || fail "Pods not running"
[ -f "/run/weir-sim/$SIM/config/pod-other-any.yaml" ] || fail "Pod in namespace other not written"
"${SIMCTL[@]}" down >/dev/null || fail "down"
echo "ok: nodeName, nodeSelector and round-robin placement"
echo PASS
