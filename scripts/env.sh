# Sourced by the scripts: the environment every build and test step shares.
# npm's wasm-opt (binaryen 132) must come first on PATH: Trunk runs the first it finds.
export PATH="$PWD/e2e/node_modules/.bin:$HOME/.cargo/bin:$HOME/.cache/yiping-tools/bin:$PATH"
# Trunk's background update check cannot reach its server here; skip it.
export TRUNK_SKIP_VERSION_CHECK=true
# Where cargo puts its output (honours CARGO_TARGET_DIR, as cargo and Trunk do).
YIPING_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export YIPING_BIN="$YIPING_TARGET_DIR/release/yiping"
