#!/bin/sh
# make bench-agent: the agent's own cost. A release qm-agent watches 200
# processes (20 services of 10 processes, each process holding fds, a
# listener, loopback connections and threads) at the default 1 s interval,
# reporting to a single-node release qmd. After AGENT_WARMUP seconds (10)
# it is measured for AGENT_DURATION seconds (60): CPU (utime + stime from
# /proc/PID/stat) as a share of one core, and RSS (VmRSS, VmHWM).
#
#   bench/agent.sh BIN_DIR PROGS_DIR OUT_DIR
set -eu
bin=$1
progs=$2
out=$3
warm=${AGENT_WARMUP:-10}
dur=${AGENT_DURATION:-60}
nsvc=20
per=10
mkdir -p "$out"
data=$out/agent-data
rm -rf "$data"
mkdir -p "$data/bin"

ip=127.$(( $$ % 200 + 20 )).$(( $(date +%s) % 200 + 30 )).1
pids=""
agent=0
cleanup() {
    # the agent first, so that it can hand back what it holds
    [ "$agent" != 0 ] && kill -TERM "$agent" 2>/dev/null && wait "$agent"
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

"$bin/qmd" --data-dir "$data/node" --raft-addr "$ip:7001" \
    --api-addr "tcp://$ip:7101" --http-addr off 2>"$data/qmd.log" &
pids="$!"

conf=$data/agent.ini
{
    echo "[agent]"
    echo "cluster = tcp://$ip:7101"
    echo "host_id = bench-host"
    echo "local_api = ipc://$data/agent.sock"
} > "$conf"
i=1
while [ $i -le $nsvc ]; do
    name=$(printf 'svc%02d' $i)
    cp "$progs/qm_testproc" "$data/bin/$name"
    printf '[service %s]\nmatch = exe:%s\n' "$name" "$name" >> "$conf"
    k=1
    while [ $k -le $per ]; do
        "$data/bin/$name" --fds 8 --listen 1 --connect 2 --threads 2 \
            >/dev/null 2>&1 &
        pids="$pids $!"
        k=$((k + 1))
    done
    i=$((i + 1))
done
sleep 1

"$bin/qm-agent" --config "$conf" 2>"$data/agent.log" &
agent=$!

ticks() { awk '{ print $14 + $15 }' "/proc/$agent/stat"; }
hz=$(getconf CLK_TCK)
sleep "$warm"
t0=$(ticks)
s0=$(date +%s.%N)
sleep "$dur"
t1=$(ticks)
s1=$(date +%s.%N)
rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$agent/status")
hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$agent/status")
cpu=$(awk -v a="$t0" -v b="$t1" -v s="$s0" -v e="$s1" -v hz="$hz" \
    'BEGIN { printf "%.3f", (b - a) / hz / (e - s) * 100 }')

# What the leader saw, to show the 200 processes were really watched.
# (the host sample's "procs" is every process of the host: skip it)
procs=$("$bin/qmctl" --cluster "tcp://$ip:7101" --json host get bench-host \
    2>/dev/null | awk '/"services"/ { in_svc = 1 }
        in_svc && /"name": "svc/ { ours = 1 }
        in_svc && /"name": "qm-agent"/ { ours = 0 }
        ours && /"procs":/ { gsub(/[^0-9]/, "", $2); s += $2 }
        END { print s + 0 }')

echo "qm-agent watching $((nsvc * per)) processes in $nsvc services, 1 s interval, ${dur} s:"
echo "  CPU: $cpu % of one core"
echo "  RSS: $rss KiB (peak $hwm KiB)"
echo "  processes the leader shows in the agent's services: $procs"
printf '{"processes": %d, "services": %d, "seconds": %d, "cpu_pct": %s, "rss_kib": %d, "hwm_kib": %d, "reported_procs": %d}\n' \
    $((nsvc * per)) "$nsvc" "$dur" "$cpu" "$rss" "$hwm" "$procs" \
    > "$out/agent.json"
