#!/usr/bin/env bash
# Compiles the engine's native CPU kernels (engine/src/main/c) into one shared library,
# OUT_DIR/libmixtralkernels.so, which the Maven build puts in the engine jar under native/linux-x86_64/
# (NativeKernels extracts and loads it). kernels.c is compiled three times, once per instruction-set variant
# (AVX2 + FMA + F16C; that plus AVX-512 F/BW/VL/VNNI; that plus AVX512-BF16; the last one links the int8 kernels of the
# second rather than carry a copy), jni.c once for baseline x86-64; the library picks a variant at run time from the
# CPU's features.
#
#   build.sh SRC_DIR OUT_DIR [GCC] [JAVA_HOME]
#
# Without gcc, on another OS or architecture, or without the JDK's JNI headers, it writes OUT_DIR/BUILD-INFO.txt
# saying so and exits 0: the build passes and the engine runs its Java kernels, logging that reason. A compile error
# fails the build. GCC (or $MIXTRAL_GCC) names the compiler, "none" skips the build; else gcc on the PATH. The JNI
# headers come from JAVA_HOME (Maven passes ${java.home}), else $JAVA_HOME, else the JDK of the javac on the PATH.
# Rebuilt only when a source is newer than the library.
set -euo pipefail

src=$1
out=$2
gcc=${3:-${MIXTRAL_GCC:-}}
jdk=${4:-}
lib="$out/libmixtralkernels.so"

mkdir -p "$out"
skip() {
    rm -f "$lib"
    echo "not built: $1" >"$out/BUILD-INFO.txt"
    echo "[native] $1: native CPU kernels not built, the engine will use its Java kernels"
    exit 0
}

if [[ "$gcc" == none ]]; then
    skip "gcc disabled by -Dmixtral.gcc=none"
fi
if [[ "$(uname -s)" != Linux || "$(uname -m)" != x86_64 ]]; then
    skip "the kernels are written for Linux on x86-64; this is $(uname -s) $(uname -m)"
fi
if [[ -z "$gcc" ]]; then
    gcc=$(command -v gcc || true)
fi
if [[ -z "$gcc" || ! -x "$(command -v "$gcc" || true)" ]]; then
    skip "gcc was not found (PATH; or set -Dmixtral.gcc=PATH)"
fi

# the JDK's include folder: java.home is the JDK itself on 11+, or its jre/ folder on 8
include=""
candidates=("$jdk" "$jdk/.." "${JAVA_HOME:-}")
if command -v javac >/dev/null; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")")
fi
for home in "${candidates[@]}"; do
    if [[ -n "$home" && -f "$home/include/jni.h" && -f "$home/include/linux/jni_md.h" ]]; then
        include=$(cd "$home/include" && pwd)
        break
    fi
done
if [[ -z "$include" ]]; then
    skip "no JNI headers (include/jni.h) under java.home '$jdk', \$JAVA_HOME or the JDK of javac"
fi

newest=$(ls -t "$src"/*.c "$src"/*.h "$0" | head -n 1)
if [[ -f "$lib" && "$lib" -nt "$newest" && -f "$out/BUILD-INFO.txt" ]] && ! grep -q '^not built' "$out/BUILD-INFO.txt"; then
    exit 0
fi

common=(-O3 -std=c11 -fPIC -fvisibility=hidden -ffp-contract=off -fno-math-errno -Wall -Wextra -Werror)
avx2=(-mavx2 -mfma -mf16c)
avx512=("${avx2[@]}" -mavx512f -mavx512bw -mavx512vl -mavx512vnni -DMK_AVX512VNNI)
bf16=("${avx512[@]}" -mavx512bf16 -DMK_AVX512BF16)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "[native] $gcc ${common[*]} -> $lib"
"$gcc" "${common[@]}" "${avx2[@]}" -c "$src/kernels.c" -o "$tmp/kernels_avx2.o"
"$gcc" "${common[@]}" "${avx512[@]}" -c "$src/kernels.c" -o "$tmp/kernels_avx512vnni.o"
"$gcc" "${common[@]}" "${bf16[@]}" -c "$src/kernels.c" -o "$tmp/kernels_avx512bf16.o"
"$gcc" "${common[@]}" -I"$include" -I"$include/linux" -c "$src/jni.c" -o "$tmp/jni.o"
"$gcc" -shared -o "$tmp/libmixtralkernels.so" "$tmp/jni.o" "$tmp/kernels_avx2.o" "$tmp/kernels_avx512vnni.o" \
    "$tmp/kernels_avx512bf16.o"
mv "$tmp/libmixtralkernels.so" "$lib"
printf 'built by: %s\nflags: %s\nvariants: avx2 (%s), avx512vnni (%s), avx512bf16 (%s)\n' \
    "$("$gcc" --version | head -n 1)" "${common[*]}" "${avx2[*]}" "${avx512[*]}" "${bf16[*]}" >"$out/BUILD-INFO.txt"
echo "[native] variants avx2, avx512vnni, avx512bf16 -> $lib"
