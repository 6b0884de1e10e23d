package org.mixtralspark.engine.backend.cpu;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/**
 * The numeric mode of the CPU matrix products (DESIGN §5), chosen by the engine option ({@code --cpu-math}, {@code
 * EngineOptions.cpuMath}; {@code -Dmixtral.cpu.math=exact|fast} overrides it):
 * <ul>
 *   <li>{@code fast} (the engine's default): activations quantised to int8 per 32 values, as llama.cpp does, and the
 *       native kernels ({@link NativeMatmul}); matrices of types the library does not cover go to the exact Java
 *       kernels one by one; when the library is not available at all ({@code -Dmixtral.native=false}, no build for
 *       this platform, a CPU without AVX2), the exact Java kernels, and {@link Selection#kernels()} says why;</li>
 *   <li>{@code exact}: fp32 activations times the weights as {@link org.mixtralspark.engine.tensor.Dequantize}
 *       decodes them, in fp32 ({@link VectorMatmul}, or {@link ScalarMatmul} without the Vector API); the mode the
 *       oracle tests pin (|Δ| ≤ 1e-3 against exact float64).</li>
 * </ul>
 */
public final class CpuMath {

    private static final Logger LOG = LoggerFactory.getLogger(CpuMath.class);

    /** The system property that overrides the engine option. */
    public static final String PROPERTY = "mixtral.cpu.math";

    /** A numeric mode. */
    public enum Mode {
        EXACT,
        FAST;

        /**
         * {@code exact} or {@code fast}, any case.
         *
         * @param what names the setting in the message of a bad value (a flag, a property)
         */
        public static Mode parse(String s, String what) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException(what + " = " + s + ": must be exact or fast");
            }
        }

        /** {@code exact} or {@code fast}, any case; a bad value's message names the system property. */
        public static Mode parse(String s) {
            return parse(s, "-D" + PROPERTY);
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The products an engine runs: the mode, its {@link Matmul}, and what runs them, for the load log (e.g.
     * "native CPU kernels: avx512vnni" or "Vector API kernels (native library: disabled by -Dmixtral.native=false)").
     */
    public record Selection(Mode mode, Matmul matmul, String kernels) {
    }

    private CpuMath() {
    }

    /** The mode {@code -Dmixtral.cpu.math} asks for; null when unset. */
    public static Mode fromSystemProperty() {
        String s = System.getProperty(PROPERTY);
        return s == null || s.isBlank() ? null : Mode.parse(s);
    }

    /**
     * The mode of an engine whose option says {@code option} ("exact" or "fast"): the option, unless
     * {@code -Dmixtral.cpu.math} is set, which wins (logged).
     */
    public static Mode resolve(String option) {
        Mode asked = Mode.parse(option, "CPU math");
        Mode forced = fromSystemProperty();
        if (forced == null) {
            return asked;
        }
        if (forced != asked) {
            LOG.info("-D{}={} overrides the engine option cpu math = {}", PROPERTY, forced, asked);
        }
        return forced;
    }

    /** The fastest exact {@link Matmul} in this JVM: the Vector API kernels, or the scalar ones without it. */
    public static Matmul exact() {
        return VectorSupport.AVAILABLE ? new VectorMatmul() : new ScalarMatmul();
    }

    /** The fastest {@link Matmul} of the mode in this JVM. */
    public static Matmul matmul(Mode mode) {
        return select(mode).matmul();
    }

    /** The {@link Matmul} of the mode and what runs it (see {@link Selection}). */
    public static Selection select(Mode mode) {
        Matmul exact = exact();
        String java = VectorSupport.AVAILABLE ? "Vector API kernels"
                : "scalar kernels (Vector API: " + VectorSupport.reasonUnavailable() + ")";
        if (mode == Mode.EXACT) {
            return new Selection(mode, exact, java);
        }
        if (!NativeKernels.isAvailable()) {
            return new Selection(mode, exact, java + " (native library: " + NativeKernels.reasonUnavailable() + ")");
        }
        NativeMatmul fast = new NativeMatmul(exact);
        return new Selection(mode, fast, "native CPU kernels: " + fast.variant() + " (" + NativeKernels.coverage()
                + "; other types on the " + java + ")");
    }
}
