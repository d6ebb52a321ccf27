#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# VirtualService tls[] routes by SNI, TLS passed through unterminated. Three TLS file-server
# Pods (Python's threaded http.server over ssl; `openssl s_server -WWW` serves one connection
# at a time, so one slow handshake made the next of 200 curls time out), each with its own
# self-signed certificate (CN tls-a, tls-b, tls-web) and an id.txt naming it, behind the Services tls-a, tls-b and tls-web (port 443 named https). A
# VirtualService on tls-web routes:
#   sniHosts [a.example.com]  -> tls-a
#   sniHosts [*.example.org]  -> tls-a 25 %, tls-b 75 %
# A meshed client (curl -k, --resolve to tls-web's ClusterIP) proves:
#   1. SNI a.example.com: 20 of 20 answers from tls-a, with tls-a's certificate;
#   2. SNI x.example.org and y.z.example.org: 200 answers split a/b within 4 sigma of 25/75;
#   3. SNI other.example.net and no SNI (an IP URL): passthrough to tls-web's own Pod;
#   4. the bytes are the servers' own: the certificate seen is the chosen backend's.
# Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init tls
command -v openssl >/dev/null || e2e_skip "openssl is not installed"

# backend NAME: a Service NAME (443 named https -> 8443) and one Pod serving id.txt over TLS.
backend() {
	local d=$L7_TMP/$1
	mkdir -p "$d"
	printf '%s\n' "$1" >"$d/id.txt"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$1" \
		-keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1 ||
		e2e_fail "openssl req for $1"
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  selector: {app: $1}
  ports:
  - {name: https, port: 443, targetPort: 8443}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: 1
  selector:
    matchLabels: {app: $1}
  template:
    metadata:
      labels: {app: $1}
    spec:
      containers:
      - name: srv
        image: weir/test
        command: ["sh", "-c", "cd $d && exec /usr/bin/python3 -c 'import http.server as h, ssl; s = h.ThreadingHTTPServer((\\"\\", 8443), h.SimpleHTTPRequestHandler); c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(\\"cert.pem\\", \\"key.pem\\"); s.socket = c.wrap_socket(s.socket, server_side=True, do_handshake_on_connect=False); s.serve_forever()'"]
        ports:
        - containerPort: 8443
---
YAML
}
{
	backend tls-a
	backend tls-b
	backend tls-web
} >"$L7_TMP/backends.yaml"
cat >"$L7_TMP/vs.yaml" <<'YAML'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: tls-web
spec:
  hosts: [tls-web]
  tls:
  - match:
    - sniHosts: [a.example.com]
    route:
    - destination: {host: tls-a}
  - match:
    - port: 443
      sniHosts: ["*.example.org"]
    route:
    - destination: {host: tls-a}
      weight: 25
    - destination: {host: tls-b}
      weight: 75
YAML
l7_up "$L7_TMP/backends.yaml" "$L7_ISTIO/sleep.yaml"
l7_apply "$L7_TMP/vs.yaml"
VIP=$("${L7_SIMCTL[@]}" --name "$L7_SIM" status -o json |
	jq -r '[.. | objects | select(.name? == "tls-web") | .cluster_ip? // .vip? // empty][0]')
if [ -z "$VIP" ] || [ "$VIP" = null ]; then
	VIP=$(l7_exec sleep getent hosts tls-web | awk '{print $1; exit}')
fi
[ -n "$VIP" ] || e2e_fail "no ClusterIP for tls-web"

# ask HOST N: N GETs of https://HOST/id.txt resolved to tls-web's VIP, one connection each
# (each is a new TLS handshake, so each is routed anew); the bodies, one a line.
ask() {
	# shellcheck disable=SC2016 # expanded by the Pod's shell
	l7_exec sleep sh -c 'for i in $(seq "$3"); do
		curl -sk -m 5 --resolve "$1:443:$2" "https://$1/id.txt" || echo "curl-failed-$?"
	done' sh "$1" "$VIP" "$2"
}
# cert_cn HOST: the CN of the certificate the client is shown for SNI HOST.
cert_cn() {
	l7_exec sleep curl -sk -m 5 -o /dev/null -w '%{certs}' --resolve "$1:443:$VIP" \
		"https://$1/id.txt" | sed -n 's/^Subject: *CN *= *//p' | head -1
}
count() { grep -cx "$2" "$1" || true; }

e2e_log "phase 1: SNI a.example.com -> tls-a"
ask a.example.com 20 >"$L7_TMP/p1"
[ "$(count "$L7_TMP/p1" tls-a)" -eq 20 ] ||
	e2e_fail "a.example.com: want 20 x tls-a, got $(sort "$L7_TMP/p1" | uniq -c | tr '\n' ' ')"
cn=$(cert_cn a.example.com)
[ "$cn" = tls-a ] || e2e_fail "a.example.com: certificate CN '$cn', want tls-a (not terminated)"
e2e_log "ok: 20 x tls-a, certificate CN tls-a"

e2e_log "phase 2: *.example.org -> 25 % tls-a, 75 % tls-b"
N=200
{
	ask x.example.org $((N / 2))
	ask y.z.example.org $((N / 2))
} >"$L7_TMP/p2"
na=$(count "$L7_TMP/p2" tls-a)
nb=$(count "$L7_TMP/p2" tls-b)
[ $((na + nb)) -eq $N ] ||
	e2e_fail "*.example.org: answers other than tls-a/tls-b: $(sort "$L7_TMP/p2" | uniq -c | tr '\n' ' ')"
l7_binom_ok $N "$na" 0.25 || e2e_fail "*.example.org: $na of $N to tls-a, outside 4 sigma of 25 %"
e2e_log "ok: tls-a $na, tls-b $nb of $N"

e2e_log "phase 3: no matching SNI, no SNI -> the Service's own Pod"
ask other.example.net 10 >"$L7_TMP/p3"
[ "$(count "$L7_TMP/p3" tls-web)" -eq 10 ] ||
	e2e_fail "other.example.net: want 10 x tls-web, got $(sort "$L7_TMP/p3" | uniq -c | tr '\n' ' ')"
# An IP address in the URL: curl sends no SNI.
# shellcheck disable=SC2016 # expanded by the Pod's shell
l7_exec sleep sh -c 'for i in $(seq 10); do
	curl -sk -m 5 "https://$1/id.txt" || echo "curl-failed-$?"
done' sh "$VIP" >"$L7_TMP/p4"
[ "$(count "$L7_TMP/p4" tls-web)" -eq 10 ] ||
	e2e_fail "no SNI: want 10 x tls-web, got $(sort "$L7_TMP/p4" | uniq -c | tr '\n' ' ')"
cn=$(cert_cn other.example.net)
[ "$cn" = tls-web ] || e2e_fail "other.example.net: certificate CN '$cn', want tls-web"
e2e_log "ok: unmatched and missing SNI pass through to tls-web"
echo PASS
