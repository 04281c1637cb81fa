#!/usr/bin/env bash
# h2load against the hyper HTTP/2 "Hello, World!" server on aioloop (examples/http2_server.rs,
# through the hyper feature) and the same server code on tokio's current_thread runtime
# (examples/h2_hello_tokio.rs). Loopback only, bounded; plain-text HTTP/2 with prior knowledge.
# Installs h2load (Debian's nghttp2-client) when it is missing. Prints a markdown table for
# docs/benchmarks-net.md. The two servers are measured in alternating rounds.
#
# Usage: scripts/http2-h2load.sh [REQUESTS] [CLIENTS] [STREAMS] [ROUNDS]
#        (defaults: 200000 requests, 10 clients, 10 concurrent streams each, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."

requests=${1:-200000}
clients=${2:-10}
streams=${3:-10}
rounds=${4:-3}
target=${CARGO_TARGET_DIR:-target}

if ! command -v h2load >/dev/null; then
    echo "installing h2load (nghttp2-client)" >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get install -y nghttp2-client >/dev/null 2>&1 ||
        { $sudo apt-get update >/dev/null && $sudo apt-get install -y nghttp2-client >/dev/null; }
fi

cargo build --release --features hyper --example http2_server --example h2_hello_tokio >&2

run() { # name binary port -> prints requests/s
    local name=$1 bin=$2 port=$3
    "$target/release/examples/$bin" --serve "127.0.0.1:$port" >/dev/null &
    local pid=$!
    for _ in $(seq 50); do
        h2load -n 1 -c 1 "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
        sleep 0.1
    done
    local out
    out=$(timeout 120 h2load -n "$requests" -c "$clients" -m "$streams" "http://127.0.0.1:$port/")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo "$out" | grep -E "^finished in|^requests:|^status codes:" | sed "s/^/$name: /" >&2
    echo "$out" | grep -q "$requests succeeded" || { echo "$name: not every request succeeded" >&2; exit 1; }
    echo "$out" | awk '/^finished in/ {print $4}'
}

tokio=()
aioloop=()
for round in $(seq "$rounds"); do
    tokio+=("$(run "tokio current_thread (round $round)" h2_hello_tokio 18083)")
    aioloop+=("$(run "aioloop (round $round)" http2_server 18082)")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t=$(median "${tokio[@]}")
a=$(median "${aioloop[@]}")
echo "| server (hyper 1, HTTP/2, h2load -n $requests -c $clients -m $streams) | requests/s (median of $rounds) | rounds |"
echo "|---|---|---|"
echo "| tokio current_thread | $t | ${tokio[*]} |"
echo "| aioloop | $a | ${aioloop[*]} |"
awk -v a="$a" -v t="$t" 'BEGIN {printf "\nRatio aioloop/tokio: %.2fx\n", a / t}'
