#!/usr/bin/env bash
# h2load against the hyper HTTP/2 "Hello, World!" server on aioloop (examples/http2_server.rs,
# through the hyper feature) and the same server code on tokio's current_thread runtime
# (examples/h2_hello_tokio.rs). Loopback only, bounded; plain-text HTTP/2 with prior knowledge.
# Installs h2load (Debian's nghttp2-client) when it is missing. Prints a markdown table for
# docs/benchmarks-net.md. The two servers are measured in alternating rounds. Besides
# requests/s it reports the server's CPU time (user + system, from /proc) per 1,000 requests,
# which other load on the machine disturbs less than throughput does.
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

cpu_ms() { # pid -> CPU time (user + system) used so far, in ms
    awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"
}

run() { # name binary port -> prints "requests/s cpu-ms-per-1000-requests"
    local name=$1 bin=$2 port=$3
    "$target/release/examples/$bin" --serve "127.0.0.1:$port" >/dev/null &
    local pid=$!
    for _ in $(seq 50); do
        h2load -n 1 -c 1 "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
        sleep 0.1
    done
    local out before after
    before=$(cpu_ms "$pid")
    out=$(timeout 120 h2load -n "$requests" -c "$clients" -m "$streams" "http://127.0.0.1:$port/")
    after=$(cpu_ms "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo "$out" | grep -E "^finished in|^requests:|^status codes:" | sed "s/^/$name: /" >&2
    echo "$out" | grep -q "$requests succeeded" || { echo "$name: not every request succeeded" >&2; exit 1; }
    local rps
    rps=$(echo "$out" | awk '/^finished in/ {print $4}')
    echo "$rps $(awk -v a="$after" -v b="$before" -v n="$requests" 'BEGIN {printf "%.1f", (a - b) * 1000 / n}')"
}

tokio=()
aioloop=()
for round in $(seq "$rounds"); do
    tokio+=("$(run "tokio current_thread (round $round)" h2_hello_tokio 18083)")
    aioloop+=("$(run "aioloop (round $round)" http2_server 18082)")
done

median() { # column values... -> the median of that column
    local col=$1
    shift
    printf '%s\n' "$@" | awk -v c="$col" '{print $c}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
column() { # column values... -> the column's values, space separated
    local col=$1
    shift
    printf '%s\n' "$@" | awk -v c="$col" '{printf "%s ", $c}'
}
t=$(median 1 "${tokio[@]}")
a=$(median 1 "${aioloop[@]}")
tc=$(median 2 "${tokio[@]}")
ac=$(median 2 "${aioloop[@]}")
echo "| server (hyper 1, HTTP/2, h2load -n $requests -c $clients -m $streams) | requests/s (median of $rounds) | server CPU ms per 1,000 requests (median) | rounds (requests/s) |"
echo "|---|---|---|---|"
echo "| tokio current_thread | $t | $tc | $(column 1 "${tokio[@]}")|"
echo "| aioloop | $a | $ac | $(column 1 "${aioloop[@]}")|"
awk -v a="$a" -v t="$t" -v ac="$ac" -v tc="$tc" \
    'BEGIN {printf "\nRatio aioloop/tokio: %.2fx in requests/s, %.2fx in CPU per request (tokio/aioloop)\n", a / t, tc / ac}'
