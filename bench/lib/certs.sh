#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# certs.sh DIR: one throw-away mesh PKI for a benchmark run: an ECDSA P-256 CA and three leaf
# certificates (node, server, client) with DNS SANs that the HAProxy baselines verify. Each leaf
# is written as HAProxy wants it (certificate then key in one .pem). The caller deletes DIR.
set -euo pipefail
d=$1
mkdir -p "$d"
cd "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
	-days 2 -subj /CN=weir-bench-ca 2>/dev/null
for leaf in node server client; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$leaf.key" \
		-out "$leaf.csr" -subj "/CN=weir-bench-$leaf" 2>/dev/null
	printf 'subjectAltName=DNS:weir-bench-%s\n' "$leaf" >"$leaf.ext"
	openssl x509 -req -in "$leaf.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile "$leaf.ext" -out "$leaf.crt" 2>/dev/null
	cat "$leaf.crt" "$leaf.key" >"$leaf.pem"
done
chmod 644 ./*.pem
