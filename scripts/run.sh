#!/usr/bin/env bash
# Build and start yiping with embedded defaults: simulated Hubei data, storage under ./data,
# listening on http://127.0.0.1:8080/. Extra arguments go to `yiping serve` (see `yiping serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
. scripts/env.sh
trunk build --release
cargo build --release -p yiping-server
exec "$YIPING_BIN" serve "$@"
