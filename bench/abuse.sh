#!/usr/bin/env bash
# Load and abuse (bench/abuse.py) against mugai in-line and spool, each a
# fresh process relaying to Postfix's smtp-sink, read_timeout_secs = 10
# (Postfix's setting under stress). Needs tests/install-peers.sh. Usage:
#   bench/abuse.sh [scenario ...]      (default: all; see bench/abuse.py)
# $MUGAI: another build to measure (a baseline); by default this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
work=/var/tmp/mugai-abuse
sink_port=32025 mugai_port=32027
rm -rf "$work" && mkdir -p "$work"
if [ -z "${MUGAI:-}" ]; then
  cargo build --release --quiet -p mugai
  mugai=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/mugai
else
  mugai=$MUGAI
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

smtp-sink -u postfix 127.0.0.1:$sink_port 1024 &
pids+=($!)
wait_port $sink_port

for mode in inline spool; do
  rm -rf "$work/store"
  cat > "$work/mugai.toml" <<TOML
store = "$work/store"
[[listener]]
name = "bench"
mode = "$mode"
listen = "127.0.0.1:$mugai_port"
direction = "inbound"
recipient_domains = ["example.lg.jp"]
next_hop = "127.0.0.1:$sink_port"
max_connections = 2000
max_connections_per_ip = 2000
read_timeout_secs = 10
TOML
  MUGAI_LOG=warn "$mugai" serve --config "$work/mugai.toml" >/dev/null 2>"$work/mugai-$mode.log" &
  pid=$!
  pids+=($pid)
  wait_port $mugai_port
  echo "== $mode"
  python3 bench/abuse.py $mugai_port $pid "$@"
  kill $pid
  wait $pid 2>/dev/null || true
done
