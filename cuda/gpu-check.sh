#!/usr/bin/env bash
# Issue 6's GPU check, in two steps:
#   cuda/gpu-check.sh bundle    here: builds, then packs a JRE and the classes the check loads into .gpu/ (offline: it needs
#                               maven-dependency-plugin 3.9.0's dependencies in ~/.m2, commons-beanutils 1.9.4 among them,
#                               which one run of its build-classpath goal without -o fetches)
#   cuda/gpu-check.sh [ARGS]    on the GPU machine (carry .gpu): the gpu-tagged tests (the GPU engine against the CPU engine
#                               on testdata's fixtures), then `expertmesh bench decode` on DeepSeek-V2-Lite's shape on cuda:0
#                               at batch 1, 8, 32 and 128 with --cluster (one process and a local cluster, their steps in turns,
#                               so both deployments' weights are on the device at once: about 62 GB at 27 layers), and the device-resident
#                               loop's greedy decode steps (DeviceLoopDecode, 27 layers) at the same batches; ARGS go to the bench run
#                               (--layers 4 for a quick one). Output goes to stdout and to $OUT/gpu-check.txt when $OUT is set.
#                               Exit status 0 when every test passed and every benchmark ran.
# What only a GPU verifies: the .cu kernels themselves. The emulated GPU runs C stand-ins written from each
# kernel's definition, so it checks the Java side (buffers, offsets, scales, launch arguments); here the same
# gpu-tagged tests run the real kernels, among them quantized_linear.cu's (QuantizedLinearTest: INT8, INT4 in
# groups of 64 and 128, FP8 128x128 blocks, row slices inside a block, batches 1, 3 and 11; DeviceStagesTest:
# the engine with INT8, INT4 (g64, g128) and FP8 experts, through the grouped moe_linear_int8/_int4/_fp8,
# against the CPU engine with the same quantized experts; DeviceResidentLoopTest: the device-resident loop's
# embed, route_topk, moe_align, the grouped products (bf16 and quantized) and argmax against the host loop
# and core's Router, decode steps captured as CUDA graphs against plain launches; the one-download step, with
# experts of every format, and the graph launches are counted on the emulated driver only).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ "${1:-}" == bundle ]]; then
  export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
  ./mvnw -o -q -pl launcher,cuda -am test-compile org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath \
      -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test
  jars="$root/cuda/target/gpu-jars" && rm -rf "$jars" && mkdir -p "$jars"
  classpath=""
  entries="$(cat cuda/target/classpath.txt launcher/target/classpath.txt | tr ':' '\n' | sort -u)"
  for entry in $entries $(ls -d "$root"/*/target/classes) "$root/core/target/test-classes" "$root/cuda/target/test-classes"; do
    case "$entry" in
      # Never loaded by the check (no tokenizer, no control plane, no TLS), and a run carries 64 MiB at most.
      */ai/djl/*|*/net/java/dev/jna/*|*netty-tcnative*|*/com/hazelcast/*|*/com/hubspot/*|*/org/javassist/*|*/org/apache/commons/*) ;;
      */commons-io/*|*/commons-net/*|*/commons-codec/*|*/ch/obermuhlner/*|*/org/derive4j/*|*/org/immutables/*|*/com/google/code/gson/*) ;;
      */io/grpc/grpc-services/*|*/com/google/api/grpc/proto-google-common-protos/*|*/net/bytebuddy/*|*/expertmesh-*) ;;
      */benchmarks/target/classes|*/integration-tests/target/classes) ;;
      # The launcher's container tests (test scope, 21 MiB) and its certs command (Bouncy Castle, 9 MiB): the
      # work tree and .gpu travel in 64 MiB.
      */org/testcontainers/*|*/com/github/docker-java/*|*/org/rnorth/*|*/org/bouncycastle/*) ;;
      */target/classes|*/target/test-classes) module="$(basename "$(dirname "$(dirname "$entry")")")"
        "$JAVA_HOME/bin/jar" cf "$jars/$module-$(basename "$entry").jar" -C "$entry" .
        classpath="$classpath:$jars/$module-$(basename "$entry").jar" ;;
      *) classpath="$classpath:$entry" ;;
    esac
  done
  JRE_MODULES="${JRE_MODULES:-java.base,java.logging,java.management,java.naming,java.sql,jdk.crypto.ec,jdk.incubator.vector,jdk.management,jdk.unsupported,jdk.zipfs}" \
    "${GPU_BUNDLE:-../shared/tools/gpu-bundle.sh}" "${classpath#:}"
  exit 0
fi
mkdir -p /tmp/j && tar xJf .gpu/jre.tar.xz -C /tmp/j
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
java=(/tmp/j/jre/bin/java @jvm.options -Dexpertmesh.testdata="$root/testdata" -cp '.gpu/lib/*')
report="${OUT:-/tmp}/gpu-check.txt"
status=0
"${java[@]}" dev.expertmesh.cuda.GpuTests 2>&1 | tee -a "$report" || status=1
"${java[@]}" dev.expertmesh.cuda.stage.DeviceLoopDecode 27 16 128 1 8 32 128 2>&1 | tee -a "$report" || status=1
"${java[@]}" dev.expertmesh.launcher.ExpertMesh bench decode --device cuda --cluster "$@" 2>&1 | tee -a "$report" || status=1
exit "$status"
