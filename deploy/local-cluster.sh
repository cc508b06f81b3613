#!/bin/sh
# Start a local 3-node quartermaster cluster on loopback and show it working.
#
#   deploy/local-cluster.sh [BIN_DIR]      (make run calls it)
#
# Node 1 uses the default addresses (raft 127.0.0.1:7001, API
# tcp://127.0.0.1:7101, HTTP 127.0.0.1:7201), so a plain `qmctl status` in
# another terminal reaches it; nodes 2 and 3 use 7002/7102/7202 and
# 7003/7103/7203 and join through node 1. State lives under $QM_RUN_DIR
# (default ./run-data); running the script again restarts the same cluster.
# A qm-agent watches the three nodes as this host's services and serves its
# local API on ipc://$QM_RUN_DIR/agent.sock. Ctrl-C stops everything
# cleanly.
set -eu
bin=${1:-build/release/bin}
dir=${QM_RUN_DIR:-./run-data}
qmd=$bin/qmd
qmctl=$bin/qmctl
agent=$bin/qm-agent
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pids=""
agent_pid=0

stop() {
    trap - INT TERM
    echo
    echo "== stopping the agent and the cluster"
    if [ "$agent_pid" != 0 ]; then
        kill -TERM "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    echo "== stopped; state kept in $dir (remove it to start afresh)"
    exit 0
}
trap stop INT TERM

start_node() {
    id=$1
    shift
    "$qmd" --id "$id" --data-dir "$dir/node$id" \
        --raft-addr "127.0.0.1:700$id" --api-addr "tcp://127.0.0.1:710$id" \
        --http-addr "127.0.0.1:720$id" "$@" 2>>"$dir/node$id.log" &
    pids="$pids $!"
    echo "== node $id started (pid $!, log $dir/node$id.log)"
}

wait_for() {
    # wait_for DESCRIPTION COMMAND...: retry for up to 20 s
    what=$1
    shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "== gave up waiting for $what; see the logs in $dir" >&2
            stop
        fi
        sleep 0.2
    done
}

voters3() {
    [ "$("$qmctl" --timeout 2 status 2>/dev/null | grep -c ' voter ')" = 3 ]
}

start_node 1
wait_for "node 1" "$qmctl" --timeout 1 status
start_node 2 --join tcp://127.0.0.1:7101
start_node 3 --join tcp://127.0.0.1:7101
wait_for "three voters" voters3

echo
echo "== qmctl status"
"$qmctl" status
echo
echo "== qmctl pool create demo --capacity 10 --refill 2 --cost 0.002"
"$qmctl" pool create demo --capacity 10 --refill 2 --cost 0.002 || true
for n in 4 4 4; do
    echo "== qmctl acquire demo $n"
    "$qmctl" acquire demo "$n" || true
done
echo "== qmctl pool get demo"
"$qmctl" pool get demo

# The host agent: the three nodes are this host's services.
set -- $pids
{
    echo "[agent]"
    echo "cluster = tcp://127.0.0.1:7101,tcp://127.0.0.1:7102,tcp://127.0.0.1:7103"
    echo "host_id = local"
    echo "labels = role=demo"
    echo "local_api = ipc://$dir/agent.sock"
    echo "[service qmd1]"
    echo "match = pid:$1"
    echo "[service qmd2]"
    echo "match = pid:$2"
    echo "[service qmd3]"
    echo "match = pid:$3"
    echo "[credit demo]"
    echo "batch = 5"
} > "$dir/agent.ini"
"$agent" --config "$dir/agent.ini" 2>>"$dir/agent.log" &
agent_pid=$!
echo
echo "== qm-agent started (pid $agent_pid, log $dir/agent.log)"
wait_for "the agent's first report" "$qmctl" --timeout 1 host get local
sleep 2
echo "== qmctl host list"
"$qmctl" host list || true
echo "== qmctl --cluster ipc://$dir/agent.sock acquire demo 1 (the agent's local API)"
"$qmctl" --cluster "ipc://$dir/agent.sock" acquire demo 1 || true
echo
echo "The cluster and the agent are running. In another terminal try:"
echo "  $qmctl status"
echo "  $qmctl top"
echo "  $qmctl alloc set local/qmd2 --nice 5     # the agent applies it"
echo "  $qmctl --cluster ipc://$dir/agent.sock acquire demo 1"
echo "  curl -s http://127.0.0.1:7201/metrics"
echo "Press Ctrl-C to stop them."
for p in $pids; do wait "$p" || true; done
