package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.GgmlType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The native CPU kernels (C with intrinsics, {@code engine/src/main/c}, DESIGN §5): loading, the instruction-set
 * variant, and checked entry points. The build compiles them with gcc into {@code native/linux-x86_64/} of the engine
 * jar; the first use in a JVM copies the library to a temporary file, loads it and deletes the file (the mapping
 * stays). Loading never fails the caller: when the library is missing (a build without gcc), cannot be loaded, the
 * CPU lacks AVX2/FMA/F16C, or {@code -Dmixtral.native=false}, {@link #isAvailable()} is false and
 * {@link #reasonUnavailable()} says why; either outcome is logged once.
 *
 * <p>Variants, best first: {@code avx512bf16} (the next, plus AVX512-BF16: BF16 weights times bf16 activations by
 * {@code vdpbf16ps}), {@code avx512vnni} (AVX-512 F/BW/VL + VNNI) and {@code avx2} (AVX2 + FMA + F16C). The library
 * checks the CPU's features itself and refuses a variant the CPU cannot run; {@code -Dmixtral.native.variant=avx2}
 * picks a lesser one (to compare them).
 *
 * <p>Weight types: Q8_0, Q4_0, Q4_K, Q5_K, Q6_K with activations quantised to int8 per 32 values ({@link #quantize});
 * F32, F16 and BF16 with fp32 activations (bf16 ones for BF16 on avx512bf16), copied into the same kind of buffer
 * ({@link #prepare}).
 *
 * <p>Safety: every entry point here checks all shapes, offsets and lengths before the native call and throws
 * {@link IllegalArgumentException} for anything out of bounds; the library checks the ones that guard memory again
 * and returns an error code rather than read or write outside a buffer. The kernels allocate nothing.
 */
public final class NativeKernels {

    private static final Logger LOG = LoggerFactory.getLogger(NativeKernels.class);

    /** Library file name inside {@code native/<os>-<arch>/} of the class path. */
    static final String LIBRARY = "libmixtralkernels.so";

    /** An instruction-set variant of the kernels; {@link #id} is the library's number for it. */
    public enum Variant {
        AVX2(0, "avx2"),
        AVX512VNNI(1, "avx512vnni"),
        AVX512BF16(2, "avx512bf16");

        final int id;
        final String label;

        Variant(int id, String label) {
            this.id = id;
            this.label = label;
        }

        @Override
        public String toString() {
            return label;
        }
    }

    private static final List<Variant> SUPPORTED = new ArrayList<>();
    private static final Variant VARIANT;
    private static final String REASON;

    static {
        String reason = load();
        Variant chosen = null;
        if (reason == null) {
            for (Variant v : new Variant[] {Variant.AVX512BF16, Variant.AVX512VNNI, Variant.AVX2}) {
                if (supports(v.id)) {
                    SUPPORTED.add(v);
                }
            }
            if (SUPPORTED.isEmpty()) {
                reason = "this CPU lacks AVX2, FMA or F16C";
            } else {
                chosen = SUPPORTED.get(0);
                String forced = System.getProperty("mixtral.native.variant", "").trim();
                if (!forced.isEmpty()) {
                    Variant f = null;
                    for (Variant v : Variant.values()) {
                        if (v.label.equalsIgnoreCase(forced)) {
                            f = v;
                        }
                    }
                    if (f == null || !SUPPORTED.contains(f)) {
                        LOG.warn("-Dmixtral.native.variant={}: {}; using {}", forced, f == null
                                ? "not a variant (avx2, avx512vnni, avx512bf16)" : "this CPU cannot run it", chosen);
                    } else {
                        chosen = f;
                    }
                }
            }
        }
        VARIANT = chosen;
        REASON = reason;
        if (reason == null) {
            LOG.info("native CPU kernels: {}", VARIANT);
        } else {
            LOG.info("native CPU kernels unavailable: {}", reason);
        }
    }

    private NativeKernels() {
    }

    /** Whether the library is loaded and this CPU runs one of its variants. */
    public static boolean isAvailable() {
        return VARIANT != null;
    }

    /** The variant in use (the best this CPU runs, or {@code -Dmixtral.native.variant}); null when unavailable. */
    public static Variant variant() {
        return VARIANT;
    }

    /** Every variant this CPU runs, best first; empty when unavailable. */
    public static List<Variant> supportedVariants() {
        return List.copyOf(SUPPORTED);
    }

    /** Why the native kernels are not used, for logs; null when they are available. */
    public static String reasonUnavailable() {
        return REASON;
    }

    /** Loads the library; returns null, or why it could not. */
    private static String load() {
        if ("false".equalsIgnoreCase(System.getProperty("mixtral.native", "").trim())) {
            return "disabled by -Dmixtral.native=false";
        }
        String platform = platform();
        if (platform == null) {
            return "no native kernels for " + System.getProperty("os.name") + " on " + System.getProperty("os.arch");
        }
        String dir = "/native/" + platform + "/";
        try (InputStream in = NativeKernels.class.getResourceAsStream(dir + LIBRARY)) {
            if (in == null) {
                return dir.substring(1) + LIBRARY + " is not on the class path (" + buildInfo(dir) + ")";
            }
            Path file = Files.createTempFile("mixtral-kernels-", ".so");
            try {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                System.load(file.toAbsolutePath().toString());
            } finally {
                Files.deleteIfExists(file); // the loaded library stays mapped
            }
            return null;
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            return "cannot load " + dir.substring(1) + LIBRARY + ": " + e;
        }
    }

    /** {@code linux-x86_64}, or null for a platform the kernels are not built for. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux") && (arch.equals("amd64") || arch.equals("x86_64"))) {
            return "linux-x86_64";
        }
        return null;
    }

    /** The build's note on the library (build.sh writes why it was not built), or a placeholder. */
    private static String buildInfo(String dir) {
        try (InputStream in = NativeKernels.class.getResourceAsStream(dir + "BUILD-INFO.txt")) {
            if (in == null) {
                return "no BUILD-INFO.txt either: the build did not run engine/src/main/c/build.sh";
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().findFirst().orElse("").trim();
        } catch (IOException e) {
            return "BUILD-INFO.txt unreadable: " + e;
        }
    }

    // ---- checked entry points ----

    /** Whether the kernels handle weights of this type. */
    public static boolean handles(GgmlType type) {
        return switch (type) {
            case Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, F32, F16, BF16 -> true;
            default -> false;
        };
    }

    /** Whether the type's activations are floats (F32, F16, BF16) rather than int8 blocks. */
    static boolean floatActivations(GgmlType type) {
        return type == GgmlType.F32 || type == GgmlType.F16 || type == GgmlType.BF16;
    }

    /**
     * Whether the kernels take a matrix of this type with rows of {@code cols} values: the int8 types need whole
     * blocks; the float types, whose activations the kernels read 32 at a time, a multiple of 32.
     */
    public static boolean handles(GgmlType type, int cols) {
        return handles(type) && cols > 0 && cols % (floatActivations(type) ? 32 : type.blockSize) == 0;
    }

    /** The weight types the kernels handle, for logs: "Q8_0, Q4_0, ...". */
    public static String coverage() {
        StringBuilder b = new StringBuilder();
        for (GgmlType t : GgmlType.values()) {
            if (handles(t)) {
                b.append(b.length() == 0 ? "" : ", ").append(t);
            }
        }
        return b.toString();
    }

    /**
     * Bytes of the activations of {@code tokens} rows of {@code cols} values for weights of {@code type}, as mk.h lays
     * them out: for the float types fp32 rows (which also hold the bf16 form); else int8 quants, then an fp32 scale
     * per 32 values, then an fp32 sum term per 16 values, each part 64-byte aligned.
     */
    static long activationBytes(GgmlType type, int tokens, int cols) {
        if (floatActivations(type)) {
            return (long) tokens * cols * 4;
        }
        return activationBytes(tokens, cols);
    }

    /** Bytes of the int8 activations of {@code tokens} rows of {@code cols} values (see the other overload). */
    static long activationBytes(int tokens, int cols) {
        long q = align64((long) tokens * cols);
        long d = align64((long) tokens * (cols / 32) * 4);
        return q + d + (long) tokens * (cols / 16) * 4;
    }

    private static long align64(long n) {
        return (n + 63) & ~63L;
    }

    /** A direct, 64-byte aligned buffer of at least {@code bytes} bytes, for {@link #quantize}. */
    static ByteBuffer allocateActivations(long bytes) {
        if (bytes > Integer.MAX_VALUE - 128) {
            throw new IllegalArgumentException(bytes + " bytes of activations are too many for one buffer");
        }
        // alignedSlice rounds both ends inwards to 64 bytes: 64 more than the rounded-up size leave enough
        return ByteBuffer.allocateDirect((int) align64(bytes) + 64).alignedSlice(64).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Quantises {@code x (tokens, cols)} to int8 per 32 values into {@code act}.
     *
     * @throws IllegalArgumentException when cols is not a positive multiple of 32, x is too short, or act is not a
     *                                  direct, 64-byte aligned buffer of {@link #activationBytes} bytes
     */
    static void quantize(Variant variant, float[] x, int tokens, int cols, ByteBuffer act) {
        if (tokens <= 0 || cols <= 0 || cols % 32 != 0) {
            throw new IllegalArgumentException("quantising " + tokens + " tokens of " + cols
                    + " values: need tokens > 0 and cols a positive multiple of 32");
        }
        if (x.length < (long) tokens * cols) {
            throw new IllegalArgumentException("x has " + x.length + " floats, " + tokens + " tokens of " + cols
                    + " need " + (long) tokens * cols);
        }
        checkActivations(act, GgmlType.Q8_0, tokens, cols);
        check(quantize0(variant.id, x, tokens, cols, act), "quantize");
    }

    /**
     * The activations {@code x (tokens, cols)} for weights of {@code type} into {@code act}: int8 blocks
     * ({@link #quantize}) or, for the float types, fp32 (bf16 for BF16 on avx512bf16).
     *
     * @throws IllegalArgumentException as {@link #quantize} does
     */
    static void prepare(Variant variant, GgmlType type, float[] x, int tokens, int cols, ByteBuffer act) {
        if (!floatActivations(type)) {
            quantize(variant, x, tokens, cols, act);
            return;
        }
        if (tokens <= 0 || cols <= 0 || cols % 32 != 0) {
            throw new IllegalArgumentException("activations of " + tokens + " tokens of " + cols + " values for "
                    + type + " weights: need tokens > 0 and cols a positive multiple of 32");
        }
        if (x.length < (long) tokens * cols) {
            throw new IllegalArgumentException("x has " + x.length + " floats, " + tokens + " tokens of " + cols
                    + " need " + (long) tokens * cols);
        }
        checkActivations(act, type, tokens, cols);
        check(floats0(variant.id, type.id, x, tokens, cols, act), "prepare " + type + " activations");
    }

    private static void checkActivations(ByteBuffer act, GgmlType type, int tokens, int cols) {
        if (!act.isDirect() || act.alignmentOffset(0, 64) != 0) {
            throw new IllegalArgumentException("the activation buffer must be direct and 64-byte aligned");
        }
        if (act.capacity() < activationBytes(type, tokens, cols)) {
            throw new IllegalArgumentException("activation buffer of " + act.capacity() + " bytes, " + tokens
                    + " tokens of " + cols + " for " + type + " need " + activationBytes(type, tokens, cols));
        }
    }

    /**
     * {@code out[t * outStride + r] = W[r] . x[t]} for rows {@code [row0, row1)} of a {@code (rows, cols)} matrix of
     * {@code type} stored from byte {@code offset} of {@code weights} (a direct {@link ByteBuffer} or a
     * {@code byte[]}), rows {@code rowBytes} apart, with the activations {@link #prepare}d for the type in {@code act}.
     *
     * @throws IllegalArgumentException for any shape, offset or length that does not fit
     */
    static void multiply(Variant variant, GgmlType type, Object weights, long offset, long rowBytes, int rows,
                         int cols, int row0, int row1, ByteBuffer act, int tokens, float[] out, int outStride) {
        if (!handles(type)) {
            throw new IllegalArgumentException("no native kernel for " + type + " weights");
        }
        if (!handles(type, cols)) {
            throw new IllegalArgumentException(type + " rows of " + cols + " values: not a positive multiple of "
                    + (floatActivations(type) ? 32 : type.blockSize));
        }
        if (rowBytes != type.bytesFor(cols)) {
            throw new IllegalArgumentException(type + " rows of " + cols + " values take " + type.bytesFor(cols)
                    + " bytes, not " + rowBytes);
        }
        if (rows <= 0 || row0 < 0 || row1 > rows || row0 >= row1) {
            throw new IllegalArgumentException("rows [" + row0 + ", " + row1 + ") of a matrix of " + rows);
        }
        long stored;
        if (weights instanceof ByteBuffer b) {
            if (!b.isDirect()) {
                throw new IllegalArgumentException("weights in a heap ByteBuffer: pass its array");
            }
            stored = b.capacity();
        } else if (weights instanceof byte[] a) {
            stored = a.length;
        } else {
            throw new IllegalArgumentException("weights must be a direct ByteBuffer or a byte[], not "
                    + (weights == null ? "null" : weights.getClass().getName()));
        }
        if (offset < 0 || (long) rows * rowBytes > stored - offset) {
            throw new IllegalArgumentException(rows + " rows of " + rowBytes + " bytes from offset " + offset
                    + " do not fit in the " + stored + " bytes of the weights");
        }
        if (tokens <= 0 || outStride < rows) {
            throw new IllegalArgumentException("tokens = " + tokens + ", outStride = " + outStride + " for " + rows
                    + " rows");
        }
        if (out.length < (long) (tokens - 1) * outStride + rows) {
            throw new IllegalArgumentException("out has " + out.length + " floats, " + tokens + " tokens at stride "
                    + outStride + " need " + ((long) (tokens - 1) * outStride + rows));
        }
        checkActivations(act, type, tokens, cols);
        int rc = weights instanceof ByteBuffer b
                ? multiplyDirect0(variant.id, type.id, b, offset, rowBytes, rows, cols, row0, row1, act, tokens, out,
                        outStride)
                : multiplyHeap0(variant.id, type.id, (byte[]) weights, offset, rowBytes, rows, cols, row0, row1, act,
                        tokens, out, outStride);
        check(rc, "multiply");
    }

    /** The library's error codes (jni.c) as exceptions. */
    static void check(int rc, String what) {
        switch (rc) {
            case 0 -> {
            }
            case -1 -> throw new IllegalArgumentException("native " + what + ": arguments rejected by the library");
            case -2 -> throw new IllegalArgumentException("native " + what + ": not a direct buffer");
            case -3 -> throw new IllegalStateException("native " + what
                    + ": the JVM gave a copy of the output array, which threads cannot share");
            case -4 -> throw new IllegalStateException("native " + what + ": this CPU cannot run the variant");
            default -> throw new IllegalStateException("native " + what + ": error " + rc);
        }
    }

    // ---- the library (jni.c) ----

    private static native boolean supports(int variant);

    /** Package-private for the tests that hold the library's own checks to account. */
    static native int quantize0(int variant, float[] x, int tokens, int cols, ByteBuffer act);

    static native int floats0(int variant, int type, float[] x, int tokens, int cols, ByteBuffer act);

    static native int multiplyDirect0(int variant, int type, ByteBuffer w, long offset, long rowBytes, int rows,
                                      int cols, int row0, int row1, ByteBuffer act, int tokens, float[] out,
                                      int outStride);

    static native int multiplyHeap0(int variant, int type, byte[] w, long offset, long rowBytes, int rows, int cols,
                                    int row0, int row1, ByteBuffer act, int tokens, float[] out, int outStride);
}
