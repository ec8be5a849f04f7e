// The `yiping` command line, run on a data folder the way an operator would before or beside a
// server: tokens for sources, simulated events, imports.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverBin } from './harness.js';

/**
 * Run `yiping <args>` (the binary under test) and return its standard output; `input` goes to
 * its standard input, `env` is added to the environment (`YIPING_CONFIG` names a deployment).
 */
export function runYiping(args, { input, env } = {}) {
  return execFileSync(serverBin, args, { input, env: { ...process.env, ...env }, maxBuffer: 256 << 20 }).toString();
}

/** A new ingest token for `source` in the data folder `dataDir` (`yiping token create`). */
export function createToken(dataDir, source) {
  return runYiping(['token', 'create', '--source', source, '--data', dataDir]).trim();
}

/** `count` simulated events ending now, as NDJSON text (`yiping simulate --count <count> --seed <seed>`); `env` as for `runYiping`. */
export function simulate(count, seed, env) {
  return runYiping(['simulate', '--count', String(count), '--seed', String(seed)], { env });
}

/** Write `ndjson` to `<dataDir>/<name>` and `yiping import` it into the log in `dataDir` as sent by `source`; `env` as for `runYiping`. */
export function importEvents(dataDir, name, ndjson, source, env) {
  const file = join(dataDir, name);
  writeFileSync(file, ndjson);
  runYiping(['import', file, '--source', source, '--data', dataDir], { env });
  return file;
}
