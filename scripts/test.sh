#!/usr/bin/env bash
# Run every check and test of yiping: formatting, lints (native and wasm), the Rust tests, the
# release build of the app and server, and the end-to-end tests in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh test
. scripts/env.sh

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }
t0=$SECONDS
step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy (native, all targets)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo clippy (wasm32: app and map engine)"
cargo clippy -p yiping-app -p yiping-maps -p yiping-widgets --target wasm32-unknown-unknown --locked -- -D warnings
step "cargo test"
cargo test --workspace --locked
step "trunk build --release (the wall app)"
trunk build --release
step "cargo build --release (the yiping binary, embedding the app)"
cargo build --release --locked -p yiping-server
step "end-to-end tests in Chromium"
(cd e2e && npm test)
step "all checks passed in $((SECONDS - t0)) s"
