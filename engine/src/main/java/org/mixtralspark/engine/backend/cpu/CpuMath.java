package org.mixtralspark.engine.backend.cpu;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/**
 * The numeric mode of the CPU matrix products (DESIGN §5), chosen for now by {@code -Dmixtral.cpu.math=exact|fast}
 * (an engine option will replace the property):
 * <ul>
 *   <li>{@code exact} (the default): fp32 activations times the weights as {@link org.mixtralspark.engine.tensor.Dequantize}
 *       decodes them, in fp32 ({@link VectorMatmul}, or {@link ScalarMatmul} without the Vector API); the mode the
 *       oracle tests pin;</li>
 *   <li>{@code fast}: activations quantised to int8 per 32 values, as llama.cpp does, and the native kernels
 *       ({@link NativeMatmul}) for the quantised weight types; when the library is not available, the exact kernels,
 *       with a log line saying why.</li>
 * </ul>
 */
public final class CpuMath {

    private static final Logger LOG = LoggerFactory.getLogger(CpuMath.class);

    /** The system property that picks the mode. */
    public static final String PROPERTY = "mixtral.cpu.math";

    /** A numeric mode. */
    public enum Mode {
        EXACT,
        FAST;

        /** {@code exact} or {@code fast}, any case. */
        public static Mode parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("-D" + PROPERTY + "=" + s + ": must be exact or fast");
            }
        }
    }

    private CpuMath() {
    }

    /** The mode {@code -Dmixtral.cpu.math} asks for; exact when unset. */
    public static Mode fromSystemProperty() {
        String s = System.getProperty(PROPERTY);
        return s == null || s.isBlank() ? Mode.EXACT : Mode.parse(s);
    }

    /** The fastest {@link Matmul} of the mode in this JVM. */
    public static Matmul matmul(Mode mode) {
        Matmul exact = VectorSupport.AVAILABLE ? new VectorMatmul() : new ScalarMatmul();
        if (mode == Mode.EXACT) {
            return exact;
        }
        if (!NativeKernels.isAvailable()) {
            LOG.warn("{}=fast: native CPU kernels unavailable ({}); using the exact Java kernels", PROPERTY,
                    NativeKernels.reasonUnavailable());
            return exact;
        }
        return new NativeMatmul(exact);
    }
}
