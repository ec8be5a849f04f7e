#!/usr/bin/env bash
# Fan-out beside the Node `ws` peer, in one run: yiping (end to end: POST → fsync → fold →
# /ws) and then the peer, each measured by the peer harness's load generator with the same flags.
#
#   scripts/peers-fanout.sh [CLIENTS=10000] [EVENTS_PER_S=50] [both|yiping|peer] [LOADGEN_THREADS=1]
#
# The allocator keeps memory that start-up freed, and clients reuse it, so the load generator's
# RSS per client can read 0. For memory per client, run yiping's side with
# MIMALLOC_PURGE_DELAY=0 in the environment (freed memory goes back at once: RSS follows what is
# live; it costs ingest about 20 %, so it is not the default).
#
# PEER_STAMP=due runs the peer with each delta's `time` set to the instant it was due rather than
# the instant its event loop got to it. The peer emits on the same thread that sweeps every
# client (7.6–8.6 µs of its CPU per client frame here: about 80 ms for 10,000 clients on 2 cores),
# so the deltas due during a sweep wait and are then stamped late: its stock figure leaves that
# wait out (and its emit timer's 0–5 ms). yiping's feed stamps each event before it is posted,
# from another process, as a real source would. The stock peer stays the default (its README's
# figures use it); the script patches a copy before anything runs and stops if a line it changes
# is not found.
#
# yiping sends one delta per topic per ingest request (a batch), not one per event. The feed
# (scripts/feed.py) posts EVENTS_PER_S events in FEED_POSTS bodies a second (default 10, as the
# harness's own feed): the clients get min(EVENTS_PER_S, FEED_POSTS) deltas a second, which is
# what the load generator is told to expect. FEED_POSTS=EVENTS_PER_S gives a delta per event, as
# the peer is given.
#
# Needs ../shared/peers/ws (from the project root) and a release `yiping` (YIPING_BIN, default
# target/release/yiping). Builds the load generator and installs the peer's npm packages once.
# Prints one line per run; the JSON of each run goes to $RESULTS (default /tmp/yiping-peers-ws).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
clients=${1:-10000} rate=${2:-50} which=${3:-both} threads=${4:-1}
ybin=${YIPING_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/yiping}
peers="$root/../shared/peers/ws"
[[ -d "$peers" ]] || { echo "peers-fanout: $peers is missing" >&2; exit 2; }
[[ -x "$ybin" ]] || { echo "peers-fanout: $ybin is missing: cargo build --release -p yiping-server" >&2; exit 2; }
cd "$peers"
export SCRATCH="${SCRATCH:-$PWD/scratch}" RESULTS="${RESULTS:-/tmp/yiping-peers-ws}"
mkdir -p "$RESULTS"
[[ -x "$SCRATCH/loadgen/target/release/ws-loadgen" ]] ||
  (cd loadgen && CARGO_TARGET_DIR="$SCRATCH/loadgen/target" cargo build --release --locked)
[[ -d node_modules ]] || npm ci --silent
peer=(--label "peer-c$clients-r$rate-t$threads")
case ${PEER_STAMP:-} in
  '' | stock | due) ;;
  *) echo "peers-fanout: PEER_STAMP=$PEER_STAMP: 'due' or 'stock'" >&2; exit 2 ;;
esac
if [[ ${PEER_STAMP:-} == due && $which != yiping ]]; then
  mkdir -p "$SCRATCH"
  python3 - peer-server.mjs "$SCRATCH/peer-due.mjs" <<'PY'
import sys
src = open(sys.argv[1], encoding="utf-8").read()
edits = [
  ("const t = timeOrigin + performance.now();", "const t = timeOrigin + (at ?? performance.now());"),
  ("function nowIso() {", "function nowIso(at) {"),
  ("      t.emitted++;\n      t.at = nextAt(t);",
   "      const due = start + t.at * 1000; // stamped when due, not when the loop got to it\n      t.emitted++;\n      t.at = nextAt(t);"),
  ('"time":"${nowIso()}","data":${makeData(t, t.seq)}', '"time":"${nowIso(due)}","data":${makeData(t, t.seq)}'),
]
for old, new in edits:
  if src.count(old) != 1:
      sys.exit(f"peers-fanout: the peer's source changed; cannot stamp deltas when due (looked for {old!r})")
  src = src.replace(old, new)
open(sys.argv[2], "w", encoding="utf-8").write(src)
PY
  ln -sfn "$PWD/node_modules" "$SCRATCH/node_modules"
  printf -v copy %q "$SCRATCH/peer-due.mjs"
  peer=(--label "peer-due-c$clients-r$rate-t$threads"
    --server-cmd "node $copy --port {PORT} --topics {TOPICS} --rate {RATE} --tick {TICK}")
fi
ulimit -n "$(ulimit -Hn)"
if [[ $which != peer ]]; then
  data=$(mktemp -d)
  tok=$("$ybin" token create --source feed --data "$data" | tail -1)
  ("$ybin" serve --no-simulator --addr 127.0.0.1:9201 --data "$data" >"$data/server.log" 2>&1) &
  sleep 1.5
  pid=$(pgrep -f "serve --no-simulator --addr 127.0.0.1:9201 --data $data" | head -1)
  # The map pack is made at start-up: wait for it, so the memory measured before the clients
  # connect is the settled server's, not a moment in the middle of making it.
  curl -sf -o /dev/null "http://127.0.0.1:9201/geo/layers.pack" || true
  sleep 1
  posts=${FEED_POSTS:-10}
  deltas=$(python3 -c "print(min($rate, $posts))")
  python3 "$root/scripts/feed.py" 9201 "$tok" "$rate" 45 "$posts" >/dev/null &
  feed=$!
  ./bench.sh --url ws://127.0.0.1:9201/ws --server-pid "$pid" --clients "$clients" --rate "$deltas" \
    --topics rivers --connect-timeout 60 --threads "$threads" \
    --label "yiping-c$clients-r$rate-p$posts-t$threads" || true
  kill "$feed" "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$data"
fi
if [[ $which != yiping ]]; then
  ./bench.sh --clients "$clients" --rate "$rate" --topics 1 --connect-timeout 60 --threads "$threads" \
    "${peer[@]}" || true
fi
