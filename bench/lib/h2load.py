#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
#
# h2load.py: runs h2load (nghttp2-client) with the arguments given after "--" and prints one JSON
# object in weir-load's shape (requests, errors_total, achieved_rps, latency_us p50/p90/p99), so
# that bench/run.sh and bench/lib/report.py treat an HTTP/2 run like any other. h2load prints
# only min/max/mean per request; the percentiles come from its per-request --log-file. A run
# that cannot start or whose output cannot be read gives requests 0 and the reason in "error".

import json
import os
import re
import subprocess
import sys
import tempfile


def percentile(sorted_vals, p):
    """Nearest-rank percentile of an ascending list (None if empty)."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return float(sorted_vals[k])


def parse(stdout, log_lines):
    """(stdout of h2load, lines of its log file) -> the result dict."""
    out = {'requests': 0, 'errors_total': 0, 'achieved_rps': 0.0, 'latency_us': {}}
    m = re.search(r'finished in ([0-9.]+)(m?s), ([0-9.]+) req/s', stdout)
    if m:
        out['achieved_rps'] = float(m.group(3))
        out['elapsed_s'] = float(m.group(1)) / (1000 if m.group(2) == 'ms' else 1)
    m = re.search(r'requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, '
                  r'(\d+) failed, (\d+) errored, (\d+) timeout', stdout)
    if not m:
        out['error'] = 'h2load printed no request summary'
        out['errors_total'] = -1
        return out
    out['requests'] = int(m.group(4))
    out['errors_total'] = int(m.group(5)) + int(m.group(6)) + int(m.group(7))
    m = re.search(r'status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx', stdout)
    if m:
        # A 404 (no route matched) or a 503 is a failed request here, as in weir-load.
        bad = int(m.group(2)) + int(m.group(3)) + int(m.group(4))
        out['requests'] = int(m.group(1))
        out['errors_total'] += bad
    lat = []
    for line in log_lines:
        f = line.split('\t')
        if len(f) >= 3 and f[1].startswith('2'):
            lat.append(int(f[2]))
    lat.sort()
    out['latency_us'] = {'p50': percentile(lat, 50), 'p90': percentile(lat, 90),
                         'p99': percentile(lat, 99), 'max': float(lat[-1]) if lat else None}
    return out


def main():
    if '--' not in sys.argv:
        print('usage: h2load.py -- H2LOAD-ARGS...', file=sys.stderr)
        return 2
    args = sys.argv[sys.argv.index('--') + 1:]
    fd, logf = tempfile.mkstemp(prefix='weir-h2load.')
    os.close(fd)
    try:
        p = subprocess.run(['h2load', '--log-file=' + logf] + args, capture_output=True,
                           text=True, timeout=120)
        with open(logf) as f:
            lines = f.read().splitlines()
        res = parse(p.stdout, lines)
        if p.returncode != 0 and 'error' not in res:
            res['error'] = f'h2load exited {p.returncode}: {p.stderr.strip()[-200:]}'
    except (OSError, subprocess.TimeoutExpired) as e:
        res = {'requests': 0, 'errors_total': -1, 'error': f'h2load: {e}'}
    finally:
        os.unlink(logf)
    print(json.dumps(res))
    return 0 if res.get('requests', 0) > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
