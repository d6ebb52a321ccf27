#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# gRPC through the agent: the python3-grpcio client (tests/e2e/grpcsvc.py) in a meshed Pod
# calls two server Pods behind a `grpc` Service port with a DestinationRule and VirtualService:
#   unary: 40 Echo calls on one channel (one HTTP/2 connection) all OK, spread over both
#     server Pods (the agent balances per request), counted by the servers' own Stats;
#   bidirectional streaming: Chat calls of 20 messages, each echoed before the next is sent
#     (a proxy that buffered the stream would stall it), all OK;
#   fault: `x-fault: abort` gets the VirtualService's grpcStatus UNAVAILABLE abort: the client
#     sees UNAVAILABLE, no server sees the call, the agent counts grpc_response_status 14 with FI;
#   quiet: calls 2.5 s apart on one channel: the idle connection gives its HTTP/2 state back
#     between them (weir_proxy_http2_quiet_total) and every next call still succeeds;
# The client Pod runs with IPv6 disabled (an IPv4-only Pod): with IPv6 on, gRPC core connects
# an AF_INET6 socket to the v4-mapped VIP (::ffff:198.19.x.y, seen with strace), and weir does
# not hook connect6 yet, so such a client bypasses the mesh (the README's known fail-open gap;
# the connect6 work of the dual-stack issue adds its test).
# Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init grpc
/usr/bin/python3 -c 'import grpc' 2>/dev/null || e2e_skip "python3-grpcio is not installed"
l7_up "$L7_ISTIO/grpc-echo.yaml" "$L7_ISTIO/sleep.yaml"
l7_apply "$L7_ISTIO/grpc-echo-rules.yaml"
mapfile -t SRV < <(l7_pods grpc-echo)
[ ${#SRV[@]} -eq 2 ] || e2e_fail "want 2 grpc-echo Pods, have: ${SRV[*]}"
l7_exec sleep sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
	net.ipv6.conf.lo.disable_ipv6=1 || e2e_fail "cannot disable IPv6 in the client Pod"
# The native resolver reads the Pod's /etc/hosts (c-ares would not).
export GRPC_DNS_RESOLVER=native
TARGET=grpc-echo:50051

client() { l7_exec sleep /usr/bin/python3 "$E2E_DIR/grpcsvc.py" client --target "$TARGET" "$@"; }
# calls FIELD: the sum of FIELD over both servers' Stats.
calls() {
	local p n=0 v
	for p in "${SRV[@]}"; do
		v=$(l7_exec "$p" /usr/bin/python3 "$E2E_DIR/grpcsvc.py" stats \
			--target 127.0.0.1:50051 | jq ".$1") || e2e_fail "Stats of $p"
		n=$((n + v))
	done
	echo $n
}
grpc_total() { # CODE [FLAG]
	l7_metrics | l7_metric istio_requests_total reporter=source \
		destination_service_name=grpc-echo grpc_response_status="$1" ${2:+response_flags=$2}
}

e2e_log "unary: 40 Echo calls on one channel"
e0=$(calls echo)
ok0=$(grpc_total 0)
client --calls 40 --timeout 5 >"$L7_TMP/unary.json" || e2e_fail "unary calls failed: $(jq -s -c \
	'map(select(.code != "OK"))' "$L7_TMP/unary.json")"
jq -e -s 'length == 40 and all(.code == "OK" and .messages == 1)' "$L7_TMP/unary.json" >/dev/null ||
	e2e_fail "unary: not 40 OK answers"
servers=$(jq -s -c 'map(.server) | group_by(.) | map({(.[0]): length}) | add' "$L7_TMP/unary.json")
jq -e --arg a "${SRV[0]}" --arg b "${SRV[1]}" 'keys == ([$a, $b] | sort)' <<<"$servers" >/dev/null ||
	e2e_fail "unary: 40 calls on one connection did not reach both Pods: $servers"
[ $(($(calls echo) - e0)) -eq 40 ] || e2e_fail "unary: the servers counted $(($(calls echo) - e0)) Echo calls, want 40"
e2e_log "ok: 40 OK, per server $servers"

e2e_log "bidirectional: 3 Chat calls of 20 messages"
c0=$(calls chat)
client --calls 3 --stream 20 --timeout 10 >"$L7_TMP/chat.json" ||
	e2e_fail "chat failed: $(cat "$L7_TMP/chat.json")"
jq -e -s 'length == 3 and all(.code == "OK" and .messages == 20)' "$L7_TMP/chat.json" >/dev/null ||
	e2e_fail "chat: not 3 calls of 20 echoed messages: $(cat "$L7_TMP/chat.json")"
[ $(($(calls chat) - c0)) -eq 3 ] || e2e_fail "chat: servers counted $(($(calls chat) - c0)) Chat calls, want 3"
l7_wait 10 'test "$(grpc_total 0)" -ge $((ok0 + 43))' ||
	e2e_fail "istio_requests_total grpc-echo grpc_response_status=0 +$(($(grpc_total 0) - ok0)), want +43"
e2e_log "ok: 3 streams of 20 messages, 43 OK calls counted"

e2e_log "fault: grpcStatus UNAVAILABLE for x-fault: abort"
a0=$(calls calls)
f0=$(grpc_total 14 FI)
if client --calls 5 --header x-fault=abort >"$L7_TMP/abort.json"; then
	e2e_fail "abort: the client saw every call succeed: $(cat "$L7_TMP/abort.json")"
fi
jq -e -s 'length == 5 and all(.code == "UNAVAILABLE" and .code_num == 14)' "$L7_TMP/abort.json" \
	>/dev/null || e2e_fail "abort: want 5 x UNAVAILABLE: $(cat "$L7_TMP/abort.json")"
[ "$(calls calls)" -eq "$a0" ] || e2e_fail "abort: an aborted call reached a server"
l7_wait 10 'test "$(grpc_total 14 FI)" -ge $((f0 + 5))' ||
	e2e_fail "abort: istio_requests_total grpc_response_status=14 FI +$(($(grpc_total 14 FI) - f0)), want +5"
client --calls 3 >"$L7_TMP/after.json" || e2e_fail "calls without the header failed after the aborts"
e2e_log "ok: 5 x UNAVAILABLE (FI), no server reached; other calls OK"

e2e_log "quiet: calls 2.5 s apart on one channel"
q0=$(l7_metrics | l7_metric weir_proxy_http2_quiet_total)
client --calls 3 --pause 2.5 --timeout 5 >"$L7_TMP/quiet.json" ||
	e2e_fail "calls after an idle connection went quiet failed: $(cat "$L7_TMP/quiet.json")"
jq -e -s 'length == 3 and all(.code == "OK")' "$L7_TMP/quiet.json" >/dev/null ||
	e2e_fail "quiet: not 3 OK calls: $(cat "$L7_TMP/quiet.json")"
q=$(($(l7_metrics | l7_metric weir_proxy_http2_quiet_total) - q0))
# The one connection went quiet between the calls (twice), and woke for the next call.
[ "$q" -ge 2 ] || e2e_fail "weir_proxy_http2_quiet_total +$q, want >= 2"
e2e_log "ok: 3 calls OK on a connection that went quiet $q times in between"

echo PASS
