#!/usr/bin/env bash
# Relay throughput against Postfix's own load tools, in one sitting:
#   smtp-source → smtp-sink                      (the ceiling)
#   smtp-source → Postfix (plain relay) → smtp-sink
#   smtp-source → mugai serve (in-line) → smtp-sink
#   smtp-source → mugai serve (spool)   → smtp-sink   (until the spool is empty)
# for 10 KB and 1 MB messages. Prints msgs/s and the ratios mugai / Postfix.
# Needs root (Postfix) and tests/install-peers.sh. Usage:
#   bench/relay.sh [MSGS_10K] [MSGS_1M] [SESSIONS]
# MSGS_1M=0 skips the 1 MB case. STORE=pg puts mugai's quarantine and audit
# log in a PostgreSQL cluster of the bench's own (fsync on), the spool in a
# local directory as always.
set -euo pipefail
cd "$(dirname "$0")/.."
msgs_small=${1:-2000}
msgs_large=${2:-200}
sessions=${3:-20}
work=/var/tmp/mugai-bench
sink_port=31025 postfix_port=31026 mugai_port=31027 spool_port=31028
rm -rf "$work" && mkdir -p "$work" && chmod 755 "$work"

# $MUGAI: another build to measure (a baseline); by default this tree's.
if [ -z "${MUGAI:-}" ]; then
  cargo build --release --quiet -p mugai
  mugai=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/mugai
else
  mugai=$MUGAI
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  postfix -c "$work/pf/conf" stop >/dev/null 2>&1 || true
  if declare -F pg_stop >/dev/null; then pg_stop; fi
}
trap cleanup EXIT

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

# The sink accepts everything and keeps nothing.
smtp-sink -u postfix 127.0.0.1:$sink_port 256 &
pids+=($!)
wait_port $sink_port

# Postfix as a plain relay to the sink (the recipe of tests/src/peers.rs).
conf=$work/pf/conf
mkdir -p "$conf" "$work/pf/spool" "$work/pf/data"
chown postfix:postfix "$work/pf/data"
: > "$conf/main.cf"
cp /usr/share/postfix/master.cf.dist "$conf/master.cf"
cp /etc/postfix/dynamicmaps.cf "$conf/" 2>/dev/null || true
postconf -c "$conf" -e "compatibility_level = 3.6" "queue_directory = $work/pf/spool" \
  "data_directory = $work/pf/data" "myhostname = relay.localhost" "mydomain = localhost" \
  "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" "mynetworks = 127.0.0.0/8" \
  "mydestination =" "local_recipient_maps =" "relay_domains = example.lg.jp" \
  "smtpd_relay_restrictions = permit_mynetworks, reject" "relayhost = [127.0.0.1]:$sink_port" \
  "smtp_tls_security_level = none" "smtpd_tls_security_level = none" "biff = no" \
  "alias_maps =" "alias_database =" "maillog_file = $work/pf/maillog" \
  "default_destination_concurrency_limit = 20" "smtp_destination_concurrency_limit = 20" \
  "message_size_limit = 52428800" "readme_directory = no" "html_directory = no"
postconf -c "$conf" -M# smtp/inet
postconf -c "$conf" -Me "127.0.0.1:$postfix_port/inet = 127.0.0.1:$postfix_port inet n - n - - smtpd"
postconf -c "$conf" -F '*/*/chroot = n'
postconf -c "$conf" -Me 'postlog/unix-dgram = postlog unix-dgram n - n - 1 postlogd'
postfix -c "$conf" check
postfix -c "$conf" start >/dev/null 2>&1
wait_port $postfix_port

# The store: a directory, or PostgreSQL on a Unix socket in $work/pg.
store="store = \"$work/mugai-store\""
if [ "${STORE:-}" = pg ]; then
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir -p "$work/pg" && chown postgres "$work/pg"
  runuser -u postgres -- "$bin/initdb" -D "$work/pg/data" -A trust -U postgres -E UTF8 --locale=C >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$work/pg'" start >/dev/null
  pg_stop() { runuser -u postgres -- "$bin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true; }
  store=$(printf '[store]\npostgres = "postgresql:///postgres?host=%s&user=postgres"\nlocal = "%s"' "$work/pg" "$work/mugai-store")
fi

# mugai in-line and spool, relaying to the sink.
cat > "$work/mugai.toml" <<TOML
$store
[[listener]]
name = "inbound"
listen = "127.0.0.1:$mugai_port"
direction = "inbound"
recipient_domains = ["example.lg.jp"]
next_hop = "127.0.0.1:$sink_port"
max_connections = 200
max_connections_per_ip = 200
[[listener]]
name = "spool"
mode = "spool"
listen = "127.0.0.1:$spool_port"
direction = "inbound"
recipient_domains = ["example.lg.jp"]
next_hop = "127.0.0.1:$sink_port"
max_connections = 200
max_connections_per_ip = 200
TOML
MUGAI_LOG=warn "$mugai" serve --config "$work/mugai.toml" >/dev/null 2>"$work/mugai.log" &
pids+=($!)
wait_port $mugai_port

queue_empty() { postqueue -c "$conf" -p 2>/dev/null | grep -q "Mail queue is empty"; }
spool_empty() { ! compgen -G "$work/mugai-store/spool/*.msg" >/dev/null && ! compgen -G "$work/mugai-store/spool/*.eml" >/dev/null; }

# Seconds to push $2 messages of $3 bytes through port $1, until delivered.
run() {
  local port=$1 msgs=$2 size=$3 start end
  start=$(date +%s.%N)
  smtp-source -s "$sessions" -m "$msgs" -l "$size" -f bench@example.com \
    -t user@example.lg.jp "127.0.0.1:$port"
  # Postfix answers 250 once queued; it is done when its queue is.
  if [ "$port" = "$postfix_port" ]; then until queue_empty; do sleep 0.05; done; fi
  if [ "$port" = "$spool_port" ]; then until spool_empty; do sleep 0.05; done; fi
  end=$(date +%s.%N)
  python3 -c "print(f'{$msgs / ($end - $start):.1f}')"
}

printf '%-8s %-6s %10s %10s %10s %10s %10s %10s\n' size msgs "direct/s" "postfix/s" "inline/s" "spool/s" "inline/pf" "spool/pf"
for case in "10240 $msgs_small" "1048576 $msgs_large"; do
  set -- $case
  [ "$2" -gt 0 ] || continue
  run $sink_port "$2" "$1" >/dev/null   # warm up
  direct=$(run $sink_port "$2" "$1")
  postfix=$(run $postfix_port "$2" "$1")
  inline=$(run $mugai_port "$2" "$1")
  spool=$(run $spool_port "$2" "$1")
  ratio=$(python3 -c "print(f'{$inline / $postfix:.2f}')")
  spool_ratio=$(python3 -c "print(f'{$spool / $postfix:.2f}')")
  printf '%-8s %-6s %10s %10s %10s %10s %10s %10s\n' "$1" "$2" "$direct" "$postfix" "$inline" "$spool" "${ratio}x" "${spool_ratio}x"
done
MUGAI_LOG=error "$mugai" audit verify --config "$work/mugai.toml"
