// The `yiping` command line, run on a data folder the way an operator would before or beside a
// server: tokens for sources, simulated events, imports.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverBin } from './harness.js';

/** Run `yiping <args>` (the binary under test) and return its standard output; `input` goes to its standard input. */
export function runYiping(args, { input } = {}) {
  return execFileSync(serverBin, args, { input, maxBuffer: 256 << 20 }).toString();
}

/** A new ingest token for `source` in the data folder `dataDir` (`yiping token create`). */
export function createToken(dataDir, source) {
  return runYiping(['token', 'create', '--source', source, '--data', dataDir]).trim();
}

/** `count` simulated events ending now, as NDJSON text (`yiping simulate --count <count> --seed <seed>`). */
export function simulate(count, seed) {
  return runYiping(['simulate', '--count', String(count), '--seed', String(seed)]);
}

/** Write `ndjson` to `<dataDir>/<name>` and `yiping import` it into the log in `dataDir` as sent by `source`. */
export function importEvents(dataDir, name, ndjson, source) {
  const file = join(dataDir, name);
  writeFileSync(file, ndjson);
  runYiping(['import', file, '--source', source, '--data', dataDir]);
  return file;
}
