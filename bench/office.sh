#!/usr/bin/env bash
# Macro strip on a 1 MB docm and a 1 MB xls: mugai's disarm (criterion)
# next to oletools' olevba analysing the same files, in one sitting.
#
#   bench/office.sh            (needs: pip install oletools)
#
# The criterion bench writes its inputs to target/bench-files/; olevba is
# timed in-process (VBA_Parser + analyze_macros, no interpreter start-up)
# and as the command line a gateway script would call.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v olevba >/dev/null || { echo "olevba missing: pip install oletools" >&2; exit 1; }
cargo bench -p mugai-core --bench disarm -- --noplot 2>&1 | grep -E '^disarm/|time:|thrpt:'
dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/bench-files
python3 - "$dir" <<'PY'
import sys, os, time, subprocess
from oletools.olevba import VBA_Parser
d = sys.argv[1]
for name in ["docm_1mb.docm", "xls_1mb.xls"]:
    path = os.path.join(d, name)
    size = os.path.getsize(path)
    runs, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 5:
        vp = VBA_Parser(path)
        vp.analyze_macros()
        vp.close()
        runs += 1
    per = (time.perf_counter() - t0) / runs
    print(f"olevba in-process {name}: {per*1000:.2f} ms/file, {1/per:.1f} files/s, {size/per/1e6:.1f} MB/s")
    t0 = time.perf_counter()
    for _ in range(5):
        subprocess.run(["olevba", "-a", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    per = (time.perf_counter() - t0) / 5
    print(f"olevba command   {name}: {per*1000:.2f} ms/file, {1/per:.1f} files/s")
PY
