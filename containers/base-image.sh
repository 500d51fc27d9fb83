#!/usr/bin/env bash
# Makes the ExpertMesh base image with no image registry: a Debian bookworm minbase rootfs
# (debootstrap, from the Debian mirror), a JDK 25 runtime linked by jlink at /opt/java, java on PATH,
# and a user expertmesh (uid 10001). Writes it as containers/target/expertmesh-base.tar in
# docker-save format, the base Jib builds on (tar://, so building the ExpertMesh image needs no
# Docker), and loads it into the Docker engine as expertmesh-base:bookworm when one is reachable.
# Needs root (debootstrap, chroot). The rootfs is cached: a second run takes seconds.
# Usage: containers/base-image.sh [--rebuild]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/containers/target"
image=expertmesh-base:bookworm
jdk="${EXPERTMESH_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What ExpertMesh needs of the JDK (jdeps --print-module-deps on expertmesh.jar names java.se's modules
# and the jdk.* ones here), plus jcmd and the management agent to look into a running node, DNS for
# naming and zipfs.
modules=java.se,jdk.attach,jdk.httpserver,jdk.incubator.vector,jdk.jdi,jdk.jfr,jdk.management,jdk.net,jdk.unsupported,jdk.jcmd,jdk.management.agent,jdk.naming.dns,jdk.zipfs

fail() { echo "error: $*" >&2; exit 2; }
[[ $EUID -eq 0 ]] || fail "debootstrap and chroot need root: run containers/base-image.sh as root"
command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install debootstrap"
[[ -x "$jdk/bin/jlink" ]] || fail "no jlink in $jdk: set EXPERTMESH_JDK to a JDK 25"
case "${1:-}" in
  "") ;;
  --rebuild) rm -f "$out/bookworm-minbase.tar" "$out/expertmesh-base.tar" ;;
  *) fail "unknown argument '$1': usage: containers/base-image.sh [--rebuild]" ;;
esac

mkdir -p "$out"
work="$(mktemp -d "$out/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

minbase="$out/bookworm-minbase.tar"
if [[ ! -f "$minbase" ]]; then
  echo "debootstrap bookworm minbase from $mirror"
  debootstrap --variant=minbase bookworm "$work/minbase" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log above): is $mirror reachable?"; }
  rm -rf "$work/minbase"/var/cache/apt/archives/*.deb "$work/minbase"/var/lib/apt/lists/* "$work/minbase"/usr/share/{doc,man,info}/*
  tar -c --numeric-owner -f "$minbase.part" -C "$work/minbase" . && mv "$minbase.part" "$minbase"
  rm -rf "$work/minbase"
fi

base="$out/expertmesh-base.tar"
if [[ ! -f "$base" || "$base" -ot "$minbase" || "$base" -ot "${BASH_SOURCE[0]}" || "$base" -ot "$jdk/release" ]]; then
  rootfs="$work/rootfs"
  mkdir "$rootfs" && tar -x --numeric-owner -f "$minbase" -C "$rootfs"
  "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --output "$rootfs/opt/java" 2>&1 \
    | grep -v 'Using incubator modules' || true
  chroot "$rootfs" /usr/sbin/useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin expertmesh
  # Sorted names and one mtime: the same rootfs gives the same layer digest, so Jib and Docker reuse it.
  tar -c --numeric-owner --sort=name --mtime=@0 -f "$work/layer.tar" -C "$rootfs" .
  diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  cat >"$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","JAVA_HOME=/opt/java","LANG=C.UTF-8"],
           "Cmd":["/bin/bash"],
           "Labels":{"org.opencontainers.image.title":"expertmesh-base","org.opencontainers.image.description":"Debian bookworm minbase and a JDK 25 runtime at /opt/java"}},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"containers/base-image.sh: debootstrap bookworm minbase, jlink $modules"}]}
JSON
  echo "[{\"Config\":\"config.json\",\"RepoTags\":[\"$image\"],\"Layers\":[\"layer.tar\"]}]" >"$work/manifest.json"
  tar -c -f "$base.part" -C "$work" manifest.json config.json layer.tar && mv "$base.part" "$base"
fi
echo "base image: $base ($(du -h "$base" | cut -f1))"

if docker info >/dev/null 2>&1; then
  docker load -i "$base" | sed 's/^/docker: /'
else
  echo "no Docker engine reachable: $image not loaded (Jib builds from $base without one)"
fi
