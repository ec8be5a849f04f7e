#!/usr/bin/env bash
# A three-node yiping cluster on this machine, in one command: three NATS servers in one cluster
# (JetStream; the log stream kept in 3 copies, fsync before every acknowledgement), three yiping
# nodes, each on its own NATS server (simulated Hubei data, made by the node that holds the
# clock's lease), and HAProxy in front on http://127.0.0.1:8080/ (HTTP and websockets,
# health-checked on /healthz; nodes also answer directly on :8081-8083).
#
# Files live under ./cluster (or $YIPING_CLUSTER_DIR): run it again to start on them. Ctrl-C
# stops everything. Extra arguments go to every `yiping serve` (e.g. --no-simulator).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh cluster
. scripts/env.sh
trunk build --release
cargo build --release -p yiping-server

dir="${YIPING_CLUSTER_DIR:-$PWD/cluster}"
mkdir -p "$dir"
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM
say() { printf '\033[1;34m[cluster]\033[0m %s\n' "$*"; }

routes="nats-route://127.0.0.1:6231, nats-route://127.0.0.1:6232, nats-route://127.0.0.1:6233"
for i in 1 2 3; do
  mkdir -p "$dir/nats-$i"
  cat > "$dir/nats-$i/nats.conf" <<CONF
server_name: nats-$i
listen: 127.0.0.1:422$i
log_file: "$dir/nats-$i/nats.log"
jetstream { store_dir: "$dir/nats-$i/jetstream", sync_interval: always }
cluster { name: yiping, listen: 127.0.0.1:623$i, routes: [$routes] }
CONF
  nats-server -c "$dir/nats-$i/nats.conf" &
  pids+=($!)
done

# On the first start, one data folder gets the admin, and each node starts from a copy of it
# (later users: `yiping user add … --nats nats://127.0.0.1:4221`, through the log stream).
if [ ! -f "$dir/node-1/yiping.db" ]; then
  password=$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9' | head -c 16)
  printf '%s\n' "$password" | "$YIPING_BIN" user add --name admin --role admin --data "$dir/seed" >/dev/null
  for i in 1 2 3; do
    mkdir -p "$dir/node-$i"
    cp "$dir/seed/yiping.db" "$dir/node-$i/"
  done
  say "first start: user admin, password $password (the same on every node; shown once)"
fi

for i in 1 2 3; do
  "$YIPING_BIN" serve --addr "127.0.0.1:808$i" --data "$dir/node-$i" \
    --nats "nats://127.0.0.1:422$i" --nats-replicas 3 "$@" 2>>"$dir/node-$i.log" &
  pids+=($!)
done

# HAProxy sizes its connection limit from the open-files limit (ulimit -n): raise that for
# tens of thousands of walls.
cat > "$dir/haproxy.cfg" <<CONF
defaults
  mode http
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  retries 3
  option redispatch
frontend yiping
  bind 127.0.0.1:8080
  default_backend nodes
backend nodes
  balance leastconn
  option httpchk GET /healthz
  default-server inter 500ms fall 2 rise 2
  server node-1 127.0.0.1:8081 check
  server node-2 127.0.0.1:8082 check
  server node-3 127.0.0.1:8083 check
CONF
haproxy="$(command -v haproxy || echo /usr/sbin/haproxy)"
"$haproxy" -f "$dir/haproxy.cfg" -db &
pids+=($!)
say "the wall: http://127.0.0.1:8080/ (logs in $dir); Ctrl-C stops the cluster"
# A node or NATS server killed by hand (to watch the others carry on) does not end the rest.
wait
