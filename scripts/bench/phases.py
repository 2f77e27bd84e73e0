#!/usr/bin/env python3
"""Where a run's time goes, binaries side by side: each binary runs in turn, N rounds, with WASMLEAK_STATS=1, and
the median of each `wasmleak: <phase>: T ms` line is printed per binary (BENCHMARKS.md's phase figures), then the
median wall time of the whole run (BENCHMARKS.md's interleaved comparisons) and its CPU time, user + sys. PAUSE=S
waits S seconds before each run (bench.sh says why).

    [PAUSE=3] scripts/bench/phases.py N BIN[,BIN...] check fixtures/wasm/rust_patterns.wasm -- rc_cycle 100000
"""
import os
import re
import statistics
import subprocess
import sys
import time

rounds, bins, args = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3:]
pause = float(os.environ.get("PAUSE", "0"))
times = {b: {} for b in bins}
order = []
for _ in range(rounds):
    for b in bins:
        time.sleep(pause)
        start = time.monotonic()
        run = subprocess.Popen([b] + args, env=dict(os.environ, WASMLEAK_STATS="1"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        stderr = run.stderr.read()
        _, _, usage = os.wait4(run.pid, 0)
        times[b].setdefault("wall", []).append((time.monotonic() - start) * 1e3)
        times[b].setdefault("cpu (user + sys)", []).append((usage.ru_utime + usage.ru_stime) * 1e3)
        for line in stderr.splitlines():
            m = re.match(r"wasmleak: +([^:]+): ([0-9.]+) ms", line)
            if m:
                phase = m.group(1).strip()
                if phase not in order:
                    order.append(phase)
                times[b].setdefault(phase, []).append(float(m.group(2)))
print("%-44s" % "phase" + "".join("%14s" % os.path.basename(b)[:13] for b in bins))
for phase in order + ["wall", "cpu (user + sys)"]:
    print("%-44s" % phase[:44] + "".join("%14.1f" % statistics.median(times[b].get(phase, [0])) for b in bins))
