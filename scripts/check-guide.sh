#!/usr/bin/env bash
# Compiles and runs every Rust snippet of docs/guide.md against the current library, as
# doctests: `bash scripts/check-guide.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --lib --quiet
rustdoc --edition 2021 --test docs/guide.md \
    -L "dependency=$target/debug/deps" \
    --extern "aioloop=$target/debug/libaioloop.rlib"
