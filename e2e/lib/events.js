// Events as a source sends them (one JSON object a line, NDJSON), and sending them to a server.
import assert from 'node:assert/strict';

/** An event's time to the whole second, as sources stamp them: `ms` (epoch milliseconds, now if not given) in RFC 3339, UTC. */
export function isoSeconds(ms = Date.now()) {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** One event line: `{ type, id, time, data }`, `time` now (to the millisecond) if not given. */
export function eventLine(type, id, data, time = new Date().toISOString()) {
  return JSON.stringify({ type, id, time, data });
}

/**
 * A `water.reading` of the monitoring section `section` whose class is decided by its ammonia
 * nitrogen `nh3n` (mg/L): its other indicators (pH 7.5, DO 8.0, CODMn 2.0, TP 0.05) are class Ⅱ
 * or better, so 0.3 reads Ⅱ, 1.8 Ⅴ and 2.5 劣Ⅴ.
 */
export function waterReading(id, section, nh3n, time) {
  return eventLine('water.reading', id, { section, ph: 7.5, do_mg_l: 8.0, codmn_mg_l: 2.0, nh3n_mg_l: nh3n, tp_mg_l: 0.05 }, time);
}

/** POST `lines` (event lines) to the server at `url` as NDJSON with the source's bearer `token`; asserts the answer is 200. */
export async function postEvents(url, token, lines) {
  const r = await fetch(`${url}/api/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body: lines.join('\n') + '\n',
  });
  assert.equal(r.status, 200, await r.text());
}

/** GET `url` and parse its answer as JSON. */
export async function fetchJson(url) {
  return (await fetch(url)).json();
}
