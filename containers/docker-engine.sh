#!/usr/bin/env bash
# A Docker engine of its own under DIR, for CI and the container test on a machine without one:
# no default bridge, no iptables and no NAT (containers use --network host, none, or a network made
# with docker network create, which this machine routes to directly), its socket at DIR/docker.sock. It can never pull: its proxy for registries is a closed local port, so an image
# that is not loaded fails at once instead of reaching out. Needs root and Debian's docker.io.
# Usage: containers/docker-engine.sh start DIR   (then: export DOCKER_HOST=unix://DIR/docker.sock)
#        containers/docker-engine.sh stop DIR
set -euo pipefail
fail() { echo "error: $*" >&2; exit 2; }
[[ $# -eq 2 && ( $1 == start || $1 == stop ) ]] || fail "usage: $0 start|stop DIR"
dir="$(mkdir -p "$2" && cd "$2" && pwd)"

case "$1" in
start)
  [[ $EUID -eq 0 ]] || fail "dockerd needs root"
  command -v dockerd >/dev/null || fail "dockerd is missing: apt-get install docker.io"
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
    dockerd --data-root "$dir/root" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" -H "unix://$dir/docker.sock" \
      --bridge=none --iptables=false --ip-masq=false >"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 60); do
    DOCKER_HOST="unix://$dir/docker.sock" docker info >/dev/null 2>&1 && exit 0
    kill -0 $! 2>/dev/null || break
    sleep 0.5
  done
  tail -5 "$dir/dockerd.log" >&2
  fail "dockerd did not start (log above, all of it in $dir/dockerd.log)"
  ;;
stop)
  if [[ -f "$dir/dockerd.pid" ]]; then
    pid="$(cat "$dir/dockerd.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  # dockerd leaves the mount of its default network namespace behind.
  umount "$dir/exec/netns/default" 2>/dev/null || true
  ;;
esac
