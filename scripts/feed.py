#!/usr/bin/env python3
"""Feed a running yiping server with river.patrol events at a fixed rate, stamped with the moment
they are posted, so that ws-loadgen's latency (receive - the delta's `time`) is post -> delivery.

  feed.py PORT TOKEN RATE SECONDS [POSTS]

RATE events/s in POSTS POSTs a second (default 10; one NDJSON body each). This is the peer
harness's `yiping-feed.py` (../shared/peers/ws) with POSTS added: yiping sends one delta per topic
per body, so POSTS = RATE gives a delta per event, as the peer is given. Prints a JSON summary at the end:
posted, accepted, non-200 answers, ack p50/p99 ms. The durable commit (fsync) is inside the ack,
so what the load generator sees includes ingest, the log, the fold and the fan-out.
"""
import datetime as dt
import http.client
import json
import sys
import time

port, token, rate, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
posts = float(sys.argv[5]) if len(sys.argv) > 5 else 10.0
per_post = max(1, round(rate / posts))
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
acks, bad, posted, accepted, n = [], 0, 0, 0, 0
t0 = time.monotonic()
k = 0
while time.monotonic() - t0 < seconds:
    due = t0 + k / posts
    k += 1
    wait = due - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lines = []
    for _ in range(per_post):
        n += 1
        lines.append(json.dumps({
            "type": "river.patrol", "id": f"feed-{int(t0 * 1e6)}-{n}", "time": now,
            "data": {"patrol": f"feed-{n}", "chief": f"C{n % 50}", "chief_name": "测试河长", "level": "county",
                     "river": "汉江", "lon": 114.2199, "lat": 30.5797, "minutes": 45}}, ensure_ascii=False))
    body = ("\n".join(lines) + "\n").encode()
    s = time.monotonic()
    try:
        conn.request("POST", "/api/v1/events", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
        r = conn.getresponse()
        text = r.read()
    except Exception:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        bad += 1
        continue
    acks.append((time.monotonic() - s) * 1e3)
    posted += per_post
    if r.status == 200:
        accepted += text.count(b'"accepted"')
    else:
        bad += 1
acks.sort()
pct = lambda p: round(acks[min(len(acks) - 1, int(p * len(acks)))], 1) if acks else None
print(json.dumps({"posted": posted, "accepted_mentions": accepted, "non_200": bad, "per_post": per_post,
                  "ack_p50_ms": pct(0.5), "ack_p99_ms": pct(0.99), "seconds": round(time.monotonic() - t0, 1)}))
