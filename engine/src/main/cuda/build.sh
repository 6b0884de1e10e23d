#!/usr/bin/env bash
# Compiles the engine's CUDA kernels (engine/src/main/cuda/*.cu) into one fatbin per file, for sm_80 and sm_90
# machine code plus compute_90 PTX (which a newer GPU's driver compiles at load), into OUT_DIR, which the Maven
# build makes a resource folder of the engine jar (cuda/*.fatbin, cuda/kernels.list, cuda/BUILD-INFO.txt).
#
#   build.sh SRC_DIR OUT_DIR REPORT_DIR [NVCC]
#
# Without nvcc it writes BUILD-INFO.txt saying so and exits 0: the build passes and the CUDA backend reports
# itself unavailable with that reason. A compile error fails the build. NVCC (or $MIXTRAL_NVCC) names the
# compiler; else nvcc on the PATH, $CUDA_HOME/bin/nvcc or /usr/local/cuda/bin/nvcc. Files are rebuilt only when a
# source (.cu or .cuh) is newer than the fatbin. The ptxas resource report (registers, shared memory, spills) of
# each file goes to REPORT_DIR.
set -euo pipefail

src=$1
out=$2
report=$3
nvcc=${4:-${MIXTRAL_NVCC:-}}

mkdir -p "$out" "$report"
if [[ "$nvcc" == none ]]; then
    rm -f "$out"/*.fatbin "$out"/kernels.list
    echo "not built: nvcc disabled by -Dmixtral.nvcc=none" >"$out/BUILD-INFO.txt"
    echo "[cuda] nvcc disabled (-Dmixtral.nvcc=none): CUDA kernels not built"
    exit 0
fi
if [[ -z "$nvcc" || ! -x "$nvcc" ]]; then
    nvcc=$(command -v nvcc || true)
fi
for candidate in "${CUDA_HOME:-/nonexistent}/bin/nvcc" /usr/local/cuda/bin/nvcc; do
    if [[ -z "$nvcc" && -x "$candidate" ]]; then
        nvcc=$candidate
    fi
done

if [[ -z "$nvcc" ]]; then
    rm -f "$out"/*.fatbin "$out"/kernels.list
    echo "not built: nvcc was not found (PATH, \$CUDA_HOME/bin, /usr/local/cuda/bin; or set -Dmixtral.nvcc=PATH)" \
        >"$out/BUILD-INFO.txt"
    echo "[cuda] WARNING: nvcc not found; CUDA kernels not built, the CUDA backend will report itself unavailable"
    exit 0
fi

arch_flags=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
            -gencode arch=compute_90,code=compute_90)
flags=(-O3 -std=c++17 --fatbin -Xptxas -v "${arch_flags[@]}")
version=$("$nvcc" --version | tail -n 2 | tr '\n' ' ')

pids=()
names=()
for cu in "$src"/*.cu; do
    name=$(basename "$cu" .cu)
    names+=("$name")
    fatbin="$out/$name.fatbin"
    newest=$(ls -t "$cu" "$src"/*.cuh "$0" 2>/dev/null | head -n 1)
    if [[ -f "$fatbin" && "$fatbin" -nt "$newest" ]]; then
        continue
    fi
    echo "[cuda] $nvcc ${flags[*]} $name.cu"
    ("$nvcc" "${flags[@]}" -o "$fatbin.tmp" "$cu" >"$report/ptxas-$name.txt" 2>&1 \
        && mv "$fatbin.tmp" "$fatbin") || { cat "$report/ptxas-$name.txt"; rm -f "$fatbin.tmp"; exit 1; } &
    pids+=($!)
done
status=0
for pid in "${pids[@]+"${pids[@]}"}"; do
    wait "$pid" || status=1
done
if [[ $status -ne 0 ]]; then
    echo "[cuda] ERROR: kernel compilation failed" >&2
    exit 1
fi
printf '%s\n' "${names[@]}" >"$out/kernels.list"
printf 'built by: %s\nflags: %s\n' "$version" "${flags[*]}" >"$out/BUILD-INFO.txt"
echo "[cuda] kernels: ${names[*]} -> $out"
