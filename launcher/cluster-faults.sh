#!/usr/bin/env bash
# A steady Poisson load on a cluster of processes on 127.0.0.1 through one fault of each kind:
# kill -9 an expert worker, SIGSTOP one past the reply deadline (then SIGCONT), kill -9 an attention
# worker, join a new expert worker, SIGTERM an expert worker. `bench serve --window` reports each
# window of the run; the fault times are logged relative to the bench's start, so they line up
# with its windows. Builds nothing: build the launcher first with ./mvnw -q package -DskipTests.
#
# Settings (environment): MODEL (a model directory; default the tiny-v2-lite fixture), RATE
# (requests/s, default 3), DURATION (seconds of arrivals, default 180), WINDOW (seconds, default 10),
# FAULT_GAP (seconds between faults, default 25; the first comes after one gap), FREEZE (seconds a
# worker stays stopped, default 5), REPLY_TIMEOUT_MS (default 2000), REDUNDANT (redundant experts,
# default 16: one replica of each of tiny-v2-lite's routed experts), HAZELCAST_PORT (default 5901),
# GRPC_PORT (default 50951), LOGS (directory for every process's output, default a new temporary one).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
em="$root/expertmesh"
model="${MODEL:-$root/testdata/models/tiny-v2-lite}"
rate="${RATE:-3}"
duration="${DURATION:-180}"
window="${WINDOW:-10}"
gap="${FAULT_GAP:-25}"
freeze="${FREEZE:-5}"
hazelcast="${HAZELCAST_PORT:-5901}"
grpc="${GRPC_PORT:-50951}"
logs="${LOGS:-$(mktemp -d -t expertmesh-faults.XXXXXX)}"
mkdir -p "$logs"
common=(--model "$model" --host 127.0.0.1 --cluster-name "expertmesh-faults-$$")
join=(--members "127.0.0.1:$hazelcast" --hazelcast-port "$((hazelcast + 1))")
pids=()
bench_start=""

cleanup() {
  for pid in "${pids[@]}"; do
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 40); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && return
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# start NAME ARGS...: runs `expertmesh ARGS...` in the background, its output in $logs/NAME.log; sets $started to its pid.
start() {
  local name="$1"
  shift
  "$em" "$@" >"$logs/$name.log" 2>&1 &
  started=$!
  pids+=("$started")
}

# await_line FILE TEXT SECONDS: waits until FILE has a line containing TEXT.
await_line() {
  for _ in $(seq 1 $(($3 * 5))); do
    grep -q "$2" "$1" 2>/dev/null && return
    sleep 0.2
  done
  echo "error: no '$2' in $1 within $3 s; its last lines:" >&2
  tail -5 "$1" >&2
  exit 1
}

# Distinct worker node ids the shard map routes to, as status prints them.
routed_workers() {
  "$em" status --coordinator "127.0.0.1:$grpc" --format json 2>/dev/null | grep -o '"workers":\[[^]]*\]' \
    | grep -o '"[0-9a-f-]\{36\}"' | sort -u | wc -l
}

await_routed() {
  for _ in $(seq 1 120); do
    [[ "$(routed_workers)" == "$1" ]] && return
    sleep 0.5
  done
  echo "error: the coordinator did not route to $1 expert workers within 60 s" >&2
  exit 1
}

fault() {
  local at
  at=$(awk -v now="$(date +%s.%N)" -v t0="$bench_start" 'BEGIN { printf "%.1f", now - t0 }')
  echo "t=+${at}s $*" | tee -a "$logs/faults.log" >&2
}

start coordinator coordinator "${common[@]}" --hazelcast-port "$hazelcast" --port "$grpc" --http-port 0 --transport fp32 \
  --redundant-experts "${REDUNDANT:-16}" --reply-timeout-ms "${REPLY_TIMEOUT_MS:-2000}"
await_line "$logs/coordinator.log" "Ctrl-C stops it" 90
experts=()
for i in 1 2 3; do
  start "expert-$i" expert-worker "${common[@]}" "${join[@]}"
  experts+=("$started")
done
attentions=()
for i in 1 2; do
  start "attention-$i" attention-worker "${common[@]}" "${join[@]}"
  attentions+=("$started")
done
for name in expert-1 expert-2 expert-3 attention-1 attention-2; do
  await_line "$logs/$name.log" "Ctrl-C stops it" 90
done
await_routed 3
echo "cluster up; every process's output is in $logs" >&2

prompts=$(awk -v r="$rate" -v d="$duration" 'BEGIN { printf "%d", r * d }')
"$em" bench serve --coordinator "127.0.0.1:$grpc" --num-prompts "$prompts" --request-rate "$rate" --seed 0 \
  --input-len 16 --input-len-range 0.5 --output-len 32 --output-len-range 0.5 --request-timeout 120 \
  --window "$window" --output "$logs/bench.json" >"$logs/bench.txt" 2>"$logs/bench.err" &
bench=$!
pids+=("$bench")
# The bench says how many requests it sends just before the first: its windows count from there.
await_line "$logs/bench.err" "requests to" 60
bench_start=$(date +%s.%N)

sleep "$gap"; fault "kill -9 expert worker 1 (pid ${experts[0]})"; kill -KILL "${experts[0]}"
sleep "$gap"; fault "SIGSTOP expert worker 2 (pid ${experts[1]}) for ${freeze}s"; kill -STOP "${experts[1]}"
sleep "$freeze"; fault "SIGCONT expert worker 2"; kill -CONT "${experts[1]}"
sleep "$gap"; fault "kill -9 attention worker 1 (pid ${attentions[0]})"; kill -KILL "${attentions[0]}"
sleep "$gap"; start expert-4 expert-worker "${common[@]}" "${join[@]}"; fault "start expert worker 4 (pid $started)"
sleep "$gap"; fault "SIGTERM expert worker 3 (pid ${experts[2]})"; kill -TERM "${experts[2]}"

wait "$bench" || true
cat "$logs/bench.err" >&2
cat "$logs/bench.txt"
echo "faults (seconds from the bench's start):" >&2
cat "$logs/faults.log" >&2
