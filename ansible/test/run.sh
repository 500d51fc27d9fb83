#!/usr/bin/env bash
# A real run of the playbooks on this machine: four hosts are containers with systemd as PID 1 (a Debian
# rootfs made by debootstrap, never pulled from a registry), each in its own network namespace on a private
# bridge (10.213.0.0/24). It deploys the cluster with site.yml, generates through the coordinator's HTTP API,
# checks that a second site.yml changes nothing, then runs rolling-restart.yml while two clients send
# requests, and counts the failed ones; then kills the attention worker for systemd to restart. What the
# jar has decides the rest: TLS and the cluster secret with `expertmesh certs`, an API key with
# --api-key-file; the units wait on its `expertmesh health`. Needs root, Docker
# (docker.io), debootstrap, ansible and the jar (./mvnw -q -B -o package -DskipTests). Exit 0 only when
# every step passed and no request failed; 77 (skipped, with the reason) where something it needs is missing.
#
# EXPERTMESH_ANSIBLE_CACHE (default /var/tmp/expertmesh-ansible) keeps the host image's rootfs tarball
# between runs; KEEP=1 leaves the cluster running (and prints how to tear it down).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ansible_dir="$(dirname "$here")"
root="$(dirname "$ansible_dir")"
# EXPERTMESH_JAR: another build to deploy (the playbooks copy it instead of launcher/target's).
jar="${EXPERTMESH_JAR:-$root/launcher/target/expertmesh.jar}"
java_home="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
cache="${EXPERTMESH_ANSIBLE_CACHE:-/var/tmp/expertmesh-ansible}"
image=expertmesh-ansible-host:bookworm
lan=emansible-lan
coordinator_url=http://10.213.0.1:8000
hosts=(em-coordinator em-attention-1 em-expert-1 em-expert-2)
declare -A address=([em-coordinator]=10.213.0.1 [em-attention-1]=10.213.0.2 [em-expert-1]=10.213.0.3 [em-expert-2]=10.213.0.4)

skip() { echo "SKIP: $*" >&2; exit 77; }
[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, a Docker engine)"
for tool in dockerd docker debootstrap ansible-playbook ip nsenter curl; do
  command -v "$tool" >/dev/null || skip "$tool is missing (apt-get install docker.io debootstrap ansible iproute2 curl)"
done
[[ -f "$jar" ]] || skip "$jar is not built: ./mvnw -q -B -o package -DskipTests"
"$java_home/bin/java" -version 2>&1 | grep -q '"25' || skip "JAVA_HOME=$java_home is not a JDK 25"

work="$(mktemp -d /tmp/expertmesh-ansible.XXXXXX)"
export DOCKER_HOST="unix://$work/docker.sock"
started=$SECONDS
log() { printf '[%4d s] %s\n' $((SECONDS - started)) "$*"; }

teardown() {
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "KEEP=1: the cluster runs on; tear it down with: DOCKER_HOST=$DOCKER_HOST docker rm -f ${hosts[*]};" \
      "kill \$(cat $work/dockerd.pid); umount $work/exec/netns/default; ip netns del $lan"
    return
  fi
  [[ -f "$work/load.stop" ]] || touch "$work/load.stop"
  docker rm -f "${hosts[@]}" >/dev/null 2>&1 || true
  if [[ -f "$work/dockerd.pid" ]]; then
    kill "$(cat "$work/dockerd.pid")" 2>/dev/null || true
    while [[ -f "$work/dockerd.pid" ]] && kill -0 "$(cat "$work/dockerd.pid")" 2>/dev/null; do sleep 0.2; done
  fi
  umount "$work/exec/netns/default" 2>/dev/null || true
  ip netns del "$lan" 2>/dev/null || true
  rm -rf "$work"
}
trap teardown EXIT

log "starting a Docker engine under $work (no bridge, no iptables)"
dockerd --data-root "$work/root" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" -H "$DOCKER_HOST" \
  --bridge=none --iptables=false --ip-masq=false >"$work/dockerd.log" 2>&1 &
for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
docker info >/dev/null 2>&1 || { cat "$work/dockerd.log" >&2; echo "the Docker engine did not start" >&2; exit 1; }

rootfs_tar="$cache/host-rootfs.tar"
if [[ ! -f "$rootfs_tar" ]]; then
  log "making the hosts' rootfs with debootstrap (Debian bookworm, systemd, python3), once: $rootfs_tar"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,python3,procps,curl,iproute2 bookworm \
    "$work/rootfs" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # What a container has no use for, or must not touch: devices, consoles, kernel modules, the host's mounts.
  chroot "$work/rootfs" systemctl mask systemd-udevd.service systemd-udevd-kernel.socket systemd-udevd-control.socket \
    getty@tty1.service console-getty.service systemd-firstboot.service systemd-modules-load.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-fs-fuse-connections.mount systemd-remount-fs.service >/dev/null 2>&1
  : >"$work/rootfs/etc/machine-id"
  tar -c --numeric-owner -C "$work/rootfs" -f "$rootfs_tar.part" . && mv "$rootfs_tar.part" "$rootfs_tar"
  rm -rf "$work/rootfs"
fi
docker import --change 'CMD ["/lib/systemd/systemd"]' --change 'ENV container=docker' "$rootfs_tar" "$image" >/dev/null

log "bundling a JDK 25 runtime (jlink of $java_home) for the jdk role's tarball"
# Every module but the development tools (jlink cannot copy itself from a JDK without jmods).
modules="$("$java_home/bin/java" --list-modules | sed 's/@.*//' \
  | grep -v -E '^jdk\.(jcmd|jconsole|javadoc|jshell|jdeps|jlink|jpackage|compiler|internal\.(jvmstat|ed|le|opt))$' | paste -sd,)"
"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --output "$work/jdk/jdk-25" 2>/dev/null
tar -czf "$work/jdk-25.tar.gz" -C "$work/jdk" jdk-25

log "starting the hosts: systemd as PID 1, each in its own network namespace on bridge $lan"
ip netns add "$lan"
ip -n "$lan" link set lo up
ip -n "$lan" link add br0 type bridge
ip -n "$lan" addr add 10.213.0.254/24 dev br0
ip -n "$lan" link set br0 up
i=0
for host in "${hosts[@]}"; do
  # A private cgroup namespace keeps each container's systemd in its own cgroups; no --privileged needed.
  docker run -d --name "$host" --hostname "$host" --network none --cgroupns private --cap-add SYS_ADMIN \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined --tmpfs /run --tmpfs /run/lock \
    --stop-signal SIGRTMIN+3 "$image" >/dev/null
  pid="$(docker inspect -f '{{.State.Pid}}' "$host")"
  i=$((i + 1))
  ip -n "$lan" link add "veth$i" type veth peer name eth0 netns "$pid"
  ip -n "$lan" link set "veth$i" master br0 up
  nsenter -t "$pid" -n ip addr add "${address[$host]}/24" dev eth0
  nsenter -t "$pid" -n ip link set eth0 up
done
for host in "${hosts[@]}"; do
  for _ in $(seq 100); do
    state="$(docker exec "$host" systemctl is-system-running 2>/dev/null || true)"
    [[ "$state" == running || "$state" == degraded ]] && break
    sleep 0.2
  done
  log "$host: systemd $state"
done

extra=(-e "expertmesh_jdk_tarball=$work/jdk-25.tar.gz" -e "expertmesh_jar_src=$jar" -e "@$here/vars.yml")
expertmesh() { "$java_home/bin/java" "@$root/jvm.options" -jar "$jar" "$@" 2>/dev/null; }
commands="$(expertmesh --help)"
# The units wait on `expertmesh health ROLE --config FILE` (expertmesh_health_command).
grep -q '^  health ' <<<"$commands" || { echo "$jar has no 'expertmesh health': rebuild it" >&2; exit 1; }
if grep -q '^  certs ' <<<"$commands"; then
  log "this jar has 'expertmesh certs': TLS between the nodes and a cluster secret"
  expertmesh certs --out "$work/security" --hosts "$(printf '%s\n' "${address[@]}" | paste -sd,)" >/dev/null
  extra+=(-e "expertmesh_security_src=$work/security")
fi
auth=()
if grep -q -- '--api-key-file' <<<"$(expertmesh coordinator --help)"; then
  log "this jar has --api-key-file: the coordinator's APIs take an API key"
  head -c 24 /dev/urandom | base64 >"$work/api-keys"
  auth=(-H "Authorization: Bearer $(cat "$work/api-keys")")
  extra+=(-e "expertmesh_api_keys_src=$work/api-keys")
fi
playbook() { ANSIBLE_CONFIG="$ansible_dir/ansible.cfg" ansible-playbook -i "$here/inventory.yml" "${extra[@]}" "$@"; }

log "site.yml"
site_started=$SECONDS
playbook "$ansible_dir/site.yml" | tee "$work/site.log" | grep -E '^(PLAY|TASK|changed|fatal|failed)|RECAP|ok=' || true
grep -q 'failed=[1-9]\|unreachable=[1-9]' "$work/site.log" && { echo "site.yml failed" >&2; exit 1; }
grep -q 'PLAY RECAP' "$work/site.log" || { echo "site.yml did not finish" >&2; exit 1; }
log "site.yml took $((SECONDS - site_started)) s"
for host in "${hosts[@]}"; do
  log "$host: $(docker exec "$host" sh -c 'systemctl show "expertmesh-*" -p Id,ActiveState,SubState,MainPID | paste -sd" "')"
done

# complete OUTPUT [CURL_WRITE_OUT]: a greedy 8-token completion through the coordinator's HTTP API.
complete() {
  local write_out="${2:-}"
  ip netns exec "$lan" curl -sS --max-time 60 -o "$1" -w "${write_out:-%{http_code\}}" "$coordinator_url/v1/completions" \
    -H 'Content-Type: application/json' "${auth[@]}" \
    -d '{"model": "tiny-v2", "prompt": [1, 2, 3, 4, 5], "max_tokens": 8, "temperature": 0, "ignore_eos": true}'
}
code="$(complete "$work/completion.json")"
log "POST /v1/completions through the coordinator: HTTP $code $(cat "$work/completion.json")"
[[ "$code" == 200 ]] && grep -q '"completion_tokens":8' "$work/completion.json" || exit 1
if [[ ${#auth[@]} -gt 0 ]]; then
  code="$(ip netns exec "$lan" curl -sS --max-time 10 -o "$work/refused.json" -w '%{http_code}' "$coordinator_url/v1/completions" \
    -H 'Content-Type: application/json' -d '{"model": "tiny-v2", "prompt": [1, 2, 3], "max_tokens": 1}')"
  log "the same without the API key: HTTP $code $(cat "$work/refused.json")"
  [[ "$code" == 401 ]] || exit 1
fi

log "site.yml again: nothing may change"
playbook "$ansible_dir/site.yml" >"$work/site-again.log"
grep 'ok=' "$work/site-again.log"
if grep -q 'changed=[1-9]\|failed=[1-9]' "$work/site-again.log"; then echo "the second site.yml changed something" >&2; exit 1; fi

log "rolling-restart.yml while two clients send requests"
load() {
  while [[ ! -f "$work/load.stop" ]]; do
    printf '%s %s\n' "$(date +%s.%N)" "$(complete /dev/null '%{http_code} %{time_total}' || true)" >>"$work/load-$1.txt"
  done
}
restart_epoch="$(date +%s.%N)"
load 1 & load1=$!
load 2 & load2=$!
sleep 3
restart_started=$SECONDS
playbook "$ansible_dir/rolling-restart.yml" | tee "$work/rolling.log" | grep -E '^(TASK|fatal)|restarted in|ok=' || true
restart_took=$((SECONDS - restart_started))
sleep 3
touch "$work/load.stop"
wait "$load1" "$load2"

sent="$(cat "$work"/load-*.txt | wc -l)"
failed="$(awk '$2 != 200' "$work"/load-*.txt | wc -l)"
log "rolling restart: $restart_took s; requests sent $sent, failed $failed ($(awk '$2 != 200 {print $2}' "$work"/load-*.txt | sort | uniq -c | paste -sd' '))"
log "request latency during it: $(awk '$2 == 200 {n++; t += $3; if ($3 > m) {m = $3; at = $1}}
  END {printf "mean %.3f s, max %.3f s (sent at %s UTC)", t / n, m, strftime("%H:%M:%S", at, 1)}' "$work"/load-*.txt)"
log "the coordinator meanwhile:"
docker exec em-coordinator journalctl -u expertmesh-coordinator -o short-precise --no-pager --since "@${restart_epoch%.*}" \
  | grep -E 'shard map epoch|Serving shard map|node (joined|left)|fenced|Recovered|no expert workers' | sed 's/^/    /'
for host in em-expert-1 em-expert-2; do
  log "$host: $(docker exec "$host" journalctl -u expertmesh-expert-worker --no-pager -o cat | grep -E 'drained in|stops after' | paste -sd' ')"
done
grep -q 'failed=[1-9]\|unreachable=[1-9]' "$work/rolling.log" && { echo "rolling-restart.yml failed" >&2; exit 1; }
grep -q 'PLAY RECAP' "$work/rolling.log" || { echo "rolling-restart.yml did not finish" >&2; exit 1; }
[[ "$sent" -gt 0 && "$failed" -eq 0 ]] || { echo "requests failed during the rolling restart" >&2; exit 1; }
log "kill -9 of the attention worker: systemd starts it again (Restart=on-failure), and the cluster serves"
killed=$SECONDS
docker exec em-attention-1 systemctl kill -s KILL expertmesh-attention-worker
until [[ "$(docker exec em-attention-1 systemctl show expertmesh-attention-worker -p NRestarts,ActiveState | paste -sd' ')" \
         == "NRestarts=1 ActiveState=active" ]]; do
  (( SECONDS - killed < 180 )) || { echo "systemd did not restart the attention worker" >&2; exit 1; }
  sleep 1
done
until [[ "$(complete /dev/null)" == 200 ]]; do
  (( SECONDS - killed < 180 )) || { echo "no completion after the attention worker came back" >&2; exit 1; }
  sleep 1
done
log "attention worker restarted by systemd and serving; a completion succeeded $((SECONDS - killed)) s after the kill"
log "passed"
