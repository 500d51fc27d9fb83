#!/usr/bin/env bash
# The gpu-tagged tests (the GPU engine against the CPU engine on testdata's fixtures), in two steps:
#   cuda/gpu-check.sh bundle   here: builds the cuda module's tests and packs a JRE and the classpath into .gpu/
#   cuda/gpu-check.sh          on the GPU machine (carry .gpu): runs them; exit status 0 when all passed
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ "${1:-}" == bundle ]]; then
  export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
  ./mvnw -o -q -pl cuda -am test-compile org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test
  # Each module's class directories as a jar named after the module (gpu-bundle.sh would name them all target-*.jar).
  jars="$root/cuda/target/gpu-jars" && rm -rf "$jars" && mkdir -p "$jars"
  classpath=""
  for entry in $(tr ':' '\n' < cuda/target/classpath.txt) "$root/cuda/target/classes" "$root/cuda/target/test-classes"; do
    case "$entry" in
      # Tokenizer natives (DJL, JNA) and AssertJ's proxies (byte-buddy) go unused: a run carries 64 MiB at most.
      */ai/djl/*|*/net/java/dev/jna/*|*/net/bytebuddy/*) ;;
      */target/*classes) module="$(basename "$(dirname "$(dirname "$entry")")")"
        "$JAVA_HOME/bin/jar" cf "$jars/$module-$(basename "$entry").jar" -C "$entry" .
        classpath="$classpath:$jars/$module-$(basename "$entry").jar" ;;
      *) classpath="$classpath:$entry" ;;
    esac
  done
  "${GPU_BUNDLE:-../shared/tools/gpu-bundle.sh}" "${classpath#:}"
  exit 0
fi
mkdir -p /tmp/j && tar xJf .gpu/jre.tar.xz -C /tmp/j
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec /tmp/j/jre/bin/java @jvm.options -Dexpertmesh.testdata="$root/testdata" -cp '.gpu/lib/*' dev.expertmesh.cuda.GpuTests
