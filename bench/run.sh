#!/bin/sh
# make bench: measure a fresh local 3-node cluster of release builds with
# the shipped defaults (data on disk, LMDB fsync on), and print one table.
#
#   bench/run.sh BIN_DIR OUT_DIR
#
# The matrix: modes acquire, reserve-commit, queue, read and stale-read at
# 1, 16, 64 and 256 requests in flight (BENCH_DURATION seconds each, 5 by
# default, after 1 s of warm-up); 5 failover trials (kill -9 of the leader
# under load: time until a write that started after the kill succeeds);
# the longest stall while snapshots are taken (1 in flight for 15 s, so a
# snapshot falls inside); and each node's RSS holding 10,000 pools, 10,000
# clients and 100,000 open reservations, with its peak (VmHWM) since it last
# started. Figures go to OUT_DIR/results.json.
set -eu
bin=$1
out=$2
dur=${BENCH_DURATION:-5}
qmd=$bin/qmd
qmctl=$bin/qmctl
qmbench=$bin/qm-bench
mkdir -p "$out"
data=$out/data
rm -rf "$data"
mkdir -p "$data"
lines=$out/matrix.jsonl
: > "$lines"

# A loopback address of our own, so a running `make run` is not disturbed.
ip=127.$(( $$ % 200 + 20 )).$(( $(date +%s) % 200 + 20 )).1
urls="tcp://$ip:7101,tcp://$ip:7102,tcp://$ip:7103"
pids="0 0 0"

pid_of() { echo "$pids" | cut -d' ' -f"$1"; }
set_pid() {
    pids=$(echo "$pids" | awk -v i="$1" -v p="$2" '{ $i = p; print }')
}

start_node() {
    i=$1
    shift
    "$qmd" --id "$i" --data-dir "$data/node$i" --raft-addr "$ip:700$i" \
        --api-addr "tcp://$ip:710$i" --http-addr off "$@" \
        2>>"$data/node$i.log" &
    set_pid "$i" $!
}

stop_all() {
    for p in $pids; do [ "$p" != 0 ] && kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do [ "$p" != 0 ] && wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT INT TERM

status() { "$qmctl" --cluster "$urls" --timeout 2 --json status 2>/dev/null; }
leader_id() {
    # the leader every member agrees on (retry through an election)
    i=0
    while :; do
        l=$(status | sed -n 's/^ *"leader": \([0-9]*\).*/\1/p' | head -1)
        [ -n "$l" ] && [ "$l" != 0 ] && { echo "$l"; return; }
        i=$((i + 1))
        [ $i -gt 50 ] && { echo "bench: no leader" >&2; exit 1; }
        sleep 0.2
    done
}

wait_voters() {
    i=0
    until [ "$(status | grep -c '"membership": "voter"')" = 3 ] &&
        [ "$(status | grep -c '"reachable": true')" = 3 ]; do
        i=$((i + 1))
        [ $i -gt 150 ] && { echo "bench: the cluster did not form" >&2; exit 1; }
        sleep 0.2
    done
}

echo "bench: 3 nodes on $ip, data in $data"
start_node 1
sleep 0.5
start_node 2 --join "tcp://$ip:7101"
start_node 3 --join "tcp://$ip:7101"
wait_voters

# ---- the matrix ----
for mode in acquire reserve-commit queue read stale-read; do
    for n in 1 16 64 256; do
        c=$n
        [ "$c" -gt 16 ] && c=16
        "$qmbench" --cluster "$urls" --mode "$mode" --inflight "$n" \
            --connections "$c" --duration "$dur" --warmup 1 --json \
            >>"$lines" || echo "bench: $mode at $n had errors" >&2
        tail -n 1 "$lines" | sed 's/^/  /'
    done
done

# ---- snapshot stalls: 1 in flight across a snapshot ----
snap0=$(status | sed -n 's/^ *"applied_index": \([0-9]*\).*/\1/p' | head -1)
"$qmbench" --cluster "$urls" --mode acquire --inflight 1 --duration 15 \
    --warmup 0 --json >"$out/snapshot.json" || true
stall=$(sed -n 's/.*"max_ms": \([0-9.]*\).*/\1/p' "$out/snapshot.json")
echo "  longest write at 1 in flight across snapshots: $stall ms"

# ---- failover trials ----
failovers=""
for t in 1 2 3 4 5; do
    l=$(leader_id)
    tl=$out/failover$t.timeline
    "$qmbench" --cluster "$urls" --mode acquire --inflight 1 --duration 5 \
        --warmup 0 --timeline "$tl" >/dev/null 2>&1 &
    bp=$!
    sleep 1.5
    kill -9 "$(pid_of "$l")"
    # Stamped after the kill: a write that started later cannot have been
    # served by the old leader (this can add a few ms to the figure).
    kill_ms=$(date +%s%3N)
    wait "$(pid_of "$l")" 2>/dev/null || true
    wait "$bp" || true
    ms=$(awk -v k="$kill_ms" '$1 > k && $3 == "OK" { print $2 - k; exit }' "$tl")
    echo "  failover $t: leader $l killed at $kill_ms, writes succeeded again after ${ms:-?} ms"
    failovers="$failovers${failovers:+, }${ms:-null}"
    start_node "$l"
    wait_voters
    sleep 1
done

# ---- memory with 10k pools, 10k clients, 100k open reservations ----
"$qmbench" --cluster "$urls" --mode populate --pools 10000 --clients 10000 \
    --reservations 100000
sleep 2
rss=""
anon=""
peak=""
for i in 1 2 3; do
    st=/proc/$(pid_of "$i")/status
    kb=$(awk '$1 == "VmRSS:" { print $2 }' "$st")
    rss="$rss${rss:+, }$kb"
    # the heap and stacks; the rest is LMDB's file mapped (page cache)
    kb=$(awk '$1 == "RssAnon:" { print $2 }' "$st")
    anon="$anon${anon:+, }$kb"
    # since the node's last start: the failover trials restart some
    kb=$(awk '$1 == "VmHWM:" { print $2 }' "$st")
    peak="$peak${peak:+, }$kb"
done
echo "  RSS (KiB) of nodes 1-3 holding the population: $rss (anonymous $anon; peak $peak)"

# ---- table and JSON ----
machine="$(nproc) CPUs, $(uname -r), $(df -T "$data" | awk 'NR==2 {print $2}') on $(df "$data" | awk 'NR==2 {print $1}')"
{
    echo "{\"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"machine\": \"$machine\","
    echo " \"matrix\": ["
    sed '$!s/$/,/' "$lines"
    echo " ],"
    echo " \"snapshot_max_ms\": ${stall:-null}, \"failover_ms\": [$failovers],"
    echo " \"rss_kib\": [$rss], \"rss_anon_kib\": [$anon], \"rss_peak_kib\": [$peak]}"
} >"$out/results.json"

echo
echo "quartermaster bench, $(date -u +%Y-%m-%d), $machine"
printf '%-15s %8s %10s %8s %8s %8s %8s %8s %6s %6s\n' mode inflight ops/s \
    p50_ms p90_ms p99_ms p99.9_ms max_ms denied errors
sed -e 's/"\([a-z0-9_]*\)":/\1:/g' -e 's/[{}",]/ /g' "$lines" | awk '{
    for (i = 1; i < NF; i++) v[$i] = $(i + 1)
    printf "%-15s %8s %10.0f %8.3f %8.3f %8.3f %8.3f %8.3f %6s %6s\n",
        v["mode:"], v["inflight:"], v["ops_per_sec:"], v["p50_ms:"],
        v["p90_ms:"], v["p99_ms:"], v["p999_ms:"], v["max_ms:"],
        v["denied:"], v["errors:"]
}'
echo "failover (ms, 5 trials): $failovers"
echo "longest write across snapshots (ms): $stall"
echo "RSS (KiB) with 10k pools, 10k clients, 100k reservations: $rss"
echo "  of which anonymous (KiB; the rest maps LMDB's file): $anon"
echo "peak RSS (KiB) of each node since its last start: $peak"
echo "figures in $out/results.json"
