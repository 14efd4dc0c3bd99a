#!/usr/bin/env bash
# Builds every fuzz target on the pinned stable toolchain and runs each for
# SECONDS (default 15) on the seeds from samples/. Crashes land in
# fuzz/artifacts/<target>/ and fail the run.
#
#   fuzz/run.sh              all targets, 15 s each
#   SECONDS_PER_TARGET=1800 fuzz/run.sh pdf zip
set -euo pipefail
cd "$(dirname "$0")"
secs=${SECONDS_PER_TARGET:-15}
# cargo-fuzz passes -Z flags; RUSTC_BOOTSTRAP lets the pinned stable rustc take them.
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
# seed.sh decodes the corpus with a mugai binary: the one given, or a fresh release build.
if [ -z "${MUGAI:-}" ]; then
  (cd .. && cargo build --release -p mugai --quiet)
fi
./seed.sh
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
cargo fuzz build -O -s none
for t in "${targets[@]}"; do
  echo "== $t (${secs}s)"
  cargo fuzz run -O -s none "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 2>&1 \
    | grep -E '^(#[0-9]+ +DONE|==[0-9]+== ERROR|SUMMARY|thread .* panicked|Done [0-9]+ runs)' || true
  if [ -n "$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) 2>/dev/null)" ]; then
    echo "fuzz target $t found a failure: see fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
