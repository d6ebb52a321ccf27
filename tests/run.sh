#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs weir's tests and ends with one line "N passed, N failed, N skipped".
#   tests/run.sh unit|bpf|e2e|fuzz|all [filter]
# unit: every build/tests/unit/* binary (cmocka); bpf: every build/tests/bpf/* binary
# (root; attaches to scratch cgroups in scratch netns); e2e: every tests/e2e/*_test.sh.
# cmocka's own summary lines give the counts per binary; an e2e script is one test whose
# exit status says pass (0), skip (77, the automake convention) or fail (anything else).
set -u
BUILD=${BUILD:-build}
what=${1:-all}
filter=${2:-}
pass=0 fail=0 skip=0
failed=()
logdir=$BUILD/test-logs
mkdir -p "$logdir"

# Per-binary timeout: a hung test must fail, not hang CI.
T_UNIT=${T_UNIT:-120}
T_E2E=${T_E2E:-600}

run_cmocka() { # dir
	local b name log rc p f s
	for b in "$BUILD"/tests/"$1"/*; do
		[ -x "$b" ] && [ -f "$b" ] || continue
		case "$b" in *.o) continue ;; esac
		name=$(basename "$b")
		[ -n "$filter" ] && [[ $name != *$filter* ]] && continue
		log=$logdir/$1-$name.log
		printf '== %s/%s\n' "$1" "$name"
		timeout -k 5 "$T_UNIT" "$b" >"$log" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		p=${p:-0} f=${f:-0} s=${s:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1 # crashed, timed out or failed outside a test
			echo "   exit status $rc outside any test"
		fi
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
		grep -E '^\[  (FAILED|SKIPPED) \] [a-z_]|^\[  ERROR   \]|skip:|SKIP' "$log" | sed 's/^/   /' | head -20
		if [ "$f" -gt 0 ]; then
			failed+=("$1/$name")
			tail -30 "$log" | sed 's/^/   | /'
		fi
		printf '   %d passed, %d failed, %d skipped\n' "$p" "$f" "$s"
	done
}

run_e2e() {
	local t name log rc
	for t in tests/e2e/*_test.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		[ -n "$filter" ] && [[ $name != *$filter* ]] && continue
		log=$logdir/e2e-$name.log
		printf '== e2e/%s\n' "$name"
		BUILD=$BUILD timeout -k 10 "$T_E2E" bash "$t" >"$log" 2>&1
		rc=$?
		case $rc in
		0) pass=$((pass + 1)); echo "   ok" ;;
		77) skip=$((skip + 1)); echo "   skipped: $(grep -m1 '^SKIP' "$log")" ;;
		*)
			fail=$((fail + 1)); failed+=("e2e/$name")
			echo "   FAILED (exit $rc)"; tail -40 "$log" | sed 's/^/   | /'
			;;
		esac
	done
}

# Each libFuzzer target runs FUZZ_SECONDS (default 5) from its seed corpus in tests/fuzz/<name>/
# (copied, so the repo's seeds stay as committed); a crash, leak or sanitizer report fails it.
run_fuzz() {
	local b name log rc corpus
	for b in "$BUILD"/fuzz/*_fuzz; do
		[ -x "$b" ] && [ -f "$b" ] || continue
		name=$(basename "$b")
		[ -n "$filter" ] && [[ $name != *$filter* ]] && continue
		log=$logdir/fuzz-$name.log
		printf '== fuzz/%s\n' "$name"
		corpus=$(mktemp -d)
		[ -d "tests/fuzz/${name%_fuzz}" ] && cp -r "tests/fuzz/${name%_fuzz}/." "$corpus/"
		timeout -k 10 $((${FUZZ_SECONDS:-5} + 60)) "$b" -max_total_time="${FUZZ_SECONDS:-5}" \
			-rss_limit_mb=2048 -artifact_prefix="$logdir/$name-" "$corpus" >"$log" 2>&1
		rc=$?
		rm -rf "$corpus"
		if [ "$rc" -eq 0 ]; then
			pass=$((pass + 1))
			echo "   ok ($(grep -o 'Done [0-9]* runs' "$log" | tail -1))"
		else
			fail=$((fail + 1)); failed+=("fuzz/$name")
			echo "   FAILED (exit $rc)"; grep -m5 -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | sed 's/^/   | /'
		fi
	done
}

case $what in
unit) run_cmocka unit ;;
bpf) run_cmocka bpf ;;
e2e) run_e2e ;;
fuzz) run_fuzz ;;
all) run_cmocka unit; run_cmocka bpf; run_fuzz; run_e2e ;;
*) echo "usage: $0 unit|bpf|e2e|fuzz|all [filter]" >&2; exit 2 ;;
esac

[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[*]}"
echo "logs: $logdir"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ $((pass + skip)) -gt 0 ]
