#!/usr/bin/env bash
# `expertmesh bench decode` on the GPU machine (issue 6, requirement 5), in two steps:
#   launcher/gpu-bench.sh bundle    here: builds the launcher and packs a JRE and the classpath the benchmark loads into .gpu/
#   launcher/gpu-bench.sh [ARGS]    on the GPU machine (carry .gpu): DeepSeek-V2-Lite's shape on cuda:0 at batch 1, 8, 32
#                                   and 128, in one process, then as a local cluster; ARGS go to both runs (--layers 4 for a
#                                   quick one). The tables go to stdout, and to $OUT/bench-decode.txt when $OUT is set.
# The bundle replaces cuda/gpu-check.sh's (both use .gpu/): bundle again before running the other.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ "${1:-}" == bundle ]]; then
  export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
  ./mvnw -o -q -pl launcher -am compile org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
  jars="$root/launcher/target/gpu-jars" && rm -rf "$jars" && mkdir -p "$jars"
  classpath=""
  for entry in $(tr ':' '\n' < launcher/target/classpath.txt) $(ls -d "$root"/*/target/classes); do
    case "$entry" in
      # Never loaded by bench decode (no tokenizer, no control plane, no TLS, no tests), and a run carries 64 MiB at most.
      */ai/djl/*|*/net/java/dev/jna/*|*netty-tcnative*|*/com/hazelcast/*|*/com/hubspot/*|*/org/javassist/*|*/org/apache/commons/*) ;;
      */commons-io/*|*/commons-net/*|*/commons-codec/*|*/ch/obermuhlner/*|*/org/derive4j/*|*/org/immutables/*|*/com/google/code/gson/*) ;;
      */io/grpc/grpc-services/*|*/com/google/api/grpc/proto-google-common-protos/*) ;;
      */net/bytebuddy/*|*/org/assertj/*|*/org/junit/*|*/org/opentest4j/*|*/org/apiguardian/*|*/expertmesh-*) ;;
      */benchmarks/target/classes|*/integration-tests/target/classes) ;;
      */target/classes) module="$(basename "$(dirname "$(dirname "$entry")")")"
        "$JAVA_HOME/bin/jar" cf "$jars/$module-classes.jar" -C "$entry" .
        classpath="$classpath:$jars/$module-classes.jar" ;;
      *) classpath="$classpath:$entry" ;;
    esac
  done
  # A runtime of only the modules the benchmark uses, so that the work tree and .gpu stay under the 64 MiB a run carries.
  JRE_MODULES="${JRE_MODULES:-java.base,java.logging,java.management,java.naming,java.sql,jdk.crypto.ec,jdk.incubator.vector,jdk.management,jdk.unsupported}" \
    "${GPU_BUNDLE:-../shared/tools/gpu-bundle.sh}" "${classpath#:}"
  exit 0
fi
mkdir -p /tmp/j && tar xJf .gpu/jre.tar.xz -C /tmp/j
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
report="${OUT:-/tmp}/bench-decode.txt"
for deployment in "" --cluster; do
  /tmp/j/jre/bin/java @jvm.options -cp '.gpu/lib/*' dev.expertmesh.launcher.ExpertMesh bench decode --device cuda \
      $deployment "$@" | tee -a "$report"
done
