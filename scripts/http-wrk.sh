#!/usr/bin/env bash
# wrk against the hyper "Hello, World!" server on aioloop (examples/http_hello.rs, through the
# hyper feature) and the same server code on tokio's current_thread runtime
# (examples/http_hello_tokio.rs). aioloop runs twice: on epoll and on its io_uring driver (the
# default completion form), chosen with AIOLOOP_IO_DRIVER (the example is built with the
# io-uring feature; where the kernel refuses io_uring that row fails to start and says so).
# Loopback only, bounded duration; prints a markdown table for docs/benchmarks-net.md.
# wrk shares the machine's cores with the server, so on a small machine its own speed caps
# requests/s; the table also gives the server's CPU time per request (user + system, from
# /proc/PID/stat around the wrk run), which says how much each server spends whatever wrk's cap.
#
# Usage: scripts/http-wrk.sh [DURATION] [CONNECTIONS]     (defaults: 5s, 50)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-5s}
conns=${2:-50}
target=${CARGO_TARGET_DIR:-target}

if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get install -y wrk >/dev/null 2>&1 || { $sudo apt-get update >/dev/null && $sudo apt-get install -y wrk >/dev/null; }
fi

cargo build --release --features hyper,io-uring --example http_hello --example http_hello_tokio >&2

run() { # name binary port [io driver]
    local name=$1 bin=$2 port=$3 driver=${4:-epoll}
    AIOLOOP_IO_DRIVER=$driver "$target/release/examples/$bin" --serve "127.0.0.1:$port" >/dev/null &
    local pid=$!
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$port/" >/dev/null && break
        sleep 0.1
    done
    local body
    body=$(curl -sf "http://127.0.0.1:$port/")
    [ "$body" = "Hello, World!" ] || { kill "$pid"; echo "$name: bad answer '$body'" >&2; exit 1; }
    local out cpu_before cpu_after
    cpu_before=$(cpu_ticks "$pid")
    out=$(timeout 60 wrk -t1 -c"$conns" -d"$duration" --latency "http://127.0.0.1:$port/")
    cpu_after=$(cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo "$out" >&2
    local rps p50 p99
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    local requests cpu_us
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu_us=$(awk -v t="$(( cpu_after - cpu_before ))" -v hz="$(getconf CLK_TCK)" -v n="$requests" \
        'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
    echo "| $name | $rps | $p50 | $p99 | $cpu_us |"
}

cpu_ticks() { # pid -> utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat)
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

echo "| server (hyper 1, HTTP/1.1 keep-alive) | requests/s | p50 latency | p99 latency | server CPU µs per request |"
echo "|---|---|---|---|---|"
run "tokio current_thread" http_hello_tokio 18081
run "aioloop" http_hello 18080 epoll
run "aioloop io_uring" http_hello 18082 io_uring
