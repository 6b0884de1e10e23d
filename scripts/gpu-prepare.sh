#!/usr/bin/env bash
# Prepares, on a machine with Java 17 and nvcc, everything scripts/gpu-check.sh needs on the GPU machine (which has
# no Java, no Maven and no network), in .gpu/ (ignored by git; carried by the device tool's `carry`):
#
#   .gpu/jre/            a jlink Java runtime (stripped)
#   .gpu/lib/*.jar       the engine jar (with the CUDA fatbins), the runtime jars the checks use, the engine's test
#                        classes, JUnit's console launcher; JCuda's natives cut down to the driver library
#   .gpu/oracle/models/  the oracle models the equivalence check compares on (from ../shared/oracle)
#   .gpu/COMMIT          the commit the jars were built from
#
# and checks that .gpu/ plus the files that travel with the working tree stay under the tool's 64 MiB.
#   scripts/gpu-prepare.sh            (MIXTRAL_ORACLE_DIR overrides ../shared/oracle)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=.gpu
oracle=${MIXTRAL_ORACLE_DIR:-../shared/oracle}
limit=$((64 * 1024 * 1024))

command -v nvcc >/dev/null || [[ -n "${MIXTRAL_NVCC:-}" ]] || { echo "gpu-prepare: nvcc is needed to build the kernels" >&2; exit 1; }
git check-ignore -q "$out/" || { echo "gpu-prepare: $out/ is not ignored by git" >&2; exit 1; }

echo "[gpu-prepare] building the engine (kernels, jar, test classes)"
./mvnw -B -q -pl engine package -DskipTests
test -f engine/target/classes/cuda/kernels.list || { echo "gpu-prepare: no fatbins in the build" >&2; exit 1; }
unzip -l engine/target/mixtral-spark-engine-*-SNAPSHOT.jar | grep -q 'cuda/gemm.fatbin' \
    || { echo "gpu-prepare: the engine jar lacks cuda/*.fatbin" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/lib" "$out/oracle/models" "$out/oracle/references"
# the oracle helper of the tests wants a references/ folder; a file in it, so that the folder travels
echo "models only: the GPU checks compare CUDA with the CPU, not with these references" >"$out/oracle/references/README"
cp engine/target/mixtral-spark-engine-*-SNAPSHOT.jar "$out/lib/"
for dep in jcuda-12 jackson-core jackson-databind jackson-annotations slf4j-api slf4j-simple; do
    cp engine/target/lib/$dep*.jar "$out/lib/"
done
# JCuda's natives: only libJCudaDriver (the driver API); NVRTC and the PTX compiler are not used
natives=$(ls engine/target/lib/jcuda-natives-*-linux-x86_64.jar)
tmp=$(mktemp -d)
(cd "$tmp" && unzip -q "$root/$natives" 'lib/libJCudaDriver-*' && strip --strip-unneeded lib/*.so \
    && jar --create --file "$root/$out/lib/$(basename "$natives")" lib)
rm -rf "$tmp"
(cd engine/target/test-classes && jar --create --file "$root/$out/lib/mixtral-spark-engine-tests.jar" org)
./mvnw -B -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 \
    -DoutputDirectory="$out/lib"

echo "[gpu-prepare] jlink runtime"
jlink --add-modules java.base,java.logging,jdk.incubator.vector,java.management,jdk.unsupported,java.naming,java.sql,java.xml \
    --strip-debug --no-man-pages --no-header-files --compress=2 --output "$out/jre" 2>/dev/null
strip --strip-unneeded "$out/jre/lib/server/libjvm.so"

for m in mini-mistral-q8_0.gguf kquant-q8_0.gguf; do
    if [[ -f "$oracle/models/$m" ]]; then
        cp "$oracle/models/$m" "$out/oracle/models/"
    else
        echo "[gpu-prepare] WARNING: $oracle/models/$m not found; the equivalence check will skip it"
    fi
done

commit=$(git rev-parse HEAD)
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
    commit="$commit+uncommitted"
fi
echo "$commit" >"$out/COMMIT"

# what travels: .gpu (carried) + tracked and untracked-not-ignored files
carried=$(du -sb "$out" | cut -f1)
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
total=$((carried + tree))
printf '[gpu-prepare] %s: %s MiB (jre %s MiB, lib %s MiB, oracle %s MiB) + working tree %s MiB = %s MiB of 64\n' \
    "$out" $((carried >> 20)) $(($(du -sb "$out/jre" | cut -f1) >> 20)) $(($(du -sb "$out/lib" | cut -f1) >> 20)) \
    $(($(du -sb "$out/oracle" | cut -f1) >> 20)) $((tree >> 20)) $((total >> 20))
if ((total >= limit)); then
    echo "gpu-prepare: over the device tool's 64 MiB" >&2
    exit 1
fi
echo "[gpu-prepare] ready: commit $commit"
