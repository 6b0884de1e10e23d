#!/usr/bin/env bash
# The GPU check of issue 5, run on the GPU machine from the repository root with .gpu/ carried (scripts/gpu-prepare.sh
# fills it here; scripts/README-gpu.md gives the device-tool call). Builds nothing; needs only the NVIDIA driver.
#
#   1. GPU tests (JUnit): the matrix-product, routing and grouping kernels against float64 references; CUDA vs CPU on
#      the mini-mistral oracle model (bf16 and F32 modes); the whole engine on CUDA (F32) against the CPU engine.
#      With -Dmixtral.cuda.sync=true, so that a faulting kernel is named.
#   2. Equivalence: CUDA vs CPU on the carried oracle models and two generated ones (odd widths; dense), both modes:
#      -> $OUT/equivalence.json
#   3. Benchmark: Mixtral 8x7B shape, random bf16 weights generated on the device: copy bandwidth, TTFT, prefill,
#      decode at concurrency 1, 8, 64, 256, memory, roofline fraction -> $OUT/bench.json
#
#   scripts/gpu-check.sh [tests] [equivalence] [bench]      (default: all three, in this order)
#
# Everything is also logged to $OUT/check.log; the JUnit report goes to $OUT/junit/. Each stage has its own time
# limit (180 + 150 + 240 s at most; typically a few minutes in all), so one that hangs does not take the others'
# time; the benchmark rewrites bench.json after each measurement. Exit status: 0 when all stages passed.
set -uo pipefail
cd "$(dirname "$0")/.."
G=${GPU_DIR:-.gpu}
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT/junit"
LOG="$OUT/check.log"
exec > >(tee -a "$LOG") 2>&1

[[ -x "$G/jre/bin/java" ]] || { echo "gpu-check: $G/jre is missing: run scripts/gpu-prepare.sh and carry $G"; exit 2; }
commit=$(cat "$G/COMMIT")
# the driver's libraries, where the CUDA image mounts them
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:/usr/local/nvidia/lib:/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
JAVA=("$G/jre/bin/java" --add-modules=jdk.incubator.vector -XX:+UseParallelGC -Xss4m -Xmx32g
      -Dmixtral.oracle.dir="$G/oracle" -Dmixtral.gpu.required=true -Djava.io.tmpdir=/tmp -cp "$G/lib/*")

echo "== gpu-check of $commit on $(hostname), $(date -u +%FT%TZ)"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,clocks.sm,clocks.mem --format=csv || true
ldconfig -p 2>/dev/null | grep -m 3 libcuda || echo "(libcuda not in the ldconfig cache)"
"$G/jre/bin/java" -version 2>&1 | head -n 1
status=0
stages=" ${*:-tests equivalence bench} "

if [[ $stages == *" tests "* ]]; then
echo "== 1. GPU tests"
timeout 180 "${JAVA[@]}" -Dmixtral.cuda.sync=true org.junit.platform.console.ConsoleLauncher execute \
    --disable-banner --disable-ansi-colors --details=tree --reports-dir "$OUT/junit" \
    --select-class org.mixtralspark.engine.backend.cuda.KernelImagesTest \
    --select-class org.mixtralspark.engine.backend.cuda.GemmGpuTest \
    --select-class org.mixtralspark.engine.backend.cuda.CudaEquivalenceGpuTest \
    --select-class org.mixtralspark.engine.serving.CudaEngineGpuTest || status=1
rm -f "$OUT/junit/TEST-junit-vintage.xml" "$OUT/junit/TEST-junit-platform-suite.xml"
fi

if [[ $stages == *" equivalence "* ]]; then
echo "== 2. equivalence"
timeout 150 "${JAVA[@]}" -Dmixtral.cuda.sync=false org.mixtralspark.engine.backend.cuda.GpuCheck equivalence \
    --oracle "$G/oracle" --out "$OUT/equivalence.json" --commit "$commit" || status=1
fi

if [[ $stages == *" bench "* ]]; then
echo "== 3. benchmark"
timeout 240 "${JAVA[@]}" -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
    org.mixtralspark.engine.backend.cuda.GpuCheck bench --out "$OUT/bench.json" --commit "$commit" \
    --seconds 150 || status=1
fi

echo "== done: status $status; files in $OUT:"
ls -la "$OUT" "$OUT/junit"
exit $status
