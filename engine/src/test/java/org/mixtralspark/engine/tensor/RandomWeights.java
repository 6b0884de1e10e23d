package org.mixtralspark.engine.tensor;

import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.tensor.Float16;
import org.mixtralspark.engine.tensor.GgmlType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Valid random weight rows of every supported type, for kernel tests and benchmarks. Plain types and Q8_0 encode
 * N(0, 1) floats (Q8_0 through {@link Quantize#rowQ8_0}); Q4_0 and the K-quants get random bytes for their quants,
 * 6-bit scales and high bits, and f16 super-block scales drawn from a sane range, so every value is finite and of
 * order one.
 */
public final class RandomWeights {

    private RandomWeights() {
    }

    /** {@code rows x cols} weights of {@code type}; a direct buffer when {@code direct} (as a mapped file would be). */
    public static ByteBuffer matrix(GgmlType type, int rows, int cols, long seed, boolean direct) {
        long bytes = (long) rows * type.bytesFor(cols);
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(rows + "x" + cols + " " + type + " is over 2 GiB");
        }
        ByteBuffer b = (direct ? ByteBuffer.allocateDirect((int) bytes) : ByteBuffer.allocate((int) bytes))
                .order(ByteOrder.LITTLE_ENDIAN);
        SplittableRandom rnd = new SplittableRandom(seed);
        int rowBytes = (int) type.bytesFor(cols);
        float[] values = new float[cols];
        for (int r = 0; r < rows; r++) {
            int p = r * rowBytes;
            switch (type) {
                case F32 -> {
                    for (int i = 0; i < cols; i++) {
                        b.putFloat(p + 4 * i, (float) rnd.nextGaussian());
                    }
                }
                case F16 -> {
                    for (int i = 0; i < cols; i++) {
                        b.putShort(p + 2 * i, Float16.fromFloat((float) rnd.nextGaussian()));
                    }
                }
                case BF16 -> {
                    for (int i = 0; i < cols; i++) {
                        b.putShort(p + 2 * i, BFloat16.fromFloat((float) rnd.nextGaussian()));
                    }
                }
                case Q8_0 -> {
                    for (int i = 0; i < cols; i++) {
                        values[i] = (float) rnd.nextGaussian();
                    }
                    Quantize.rowQ8_0(values, 0, cols, b, p);
                }
                default -> {
                    // Q4_0, Q4_K, Q5_K, Q6_K: random bytes everywhere, then sane f16 scales over them.
                    for (int i = 0; i < rowBytes; i++) {
                        b.put(p + i, (byte) rnd.nextInt(256));
                    }
                    for (int blk = p; blk < p + rowBytes; blk += type.typeSize) {
                        switch (type) {
                            case Q4_0 -> b.putShort(blk, half(rnd, 0.05f, 0.3f));
                            case Q4_K, Q5_K -> {
                                b.putShort(blk, half(rnd, 0.002f, 0.01f));      // d: times 6-bit scales up to 63
                                b.putShort(blk + 2, half(rnd, 0.002f, 0.01f));  // dmin
                            }
                            case Q6_K -> b.putShort(blk + 208, half(rnd, 0.0005f, 0.002f)); // times int8 scales
                            default -> throw new IllegalArgumentException("no random blocks for " + type);
                        }
                    }
                }
            }
        }
        return b;
    }

    /** {@code n} N(0, 1) floats. */
    public static float[] gaussian(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    /** A positive half, uniform in [lo, hi), with a random sign. */
    private static short half(SplittableRandom rnd, float lo, float hi) {
        float v = lo + (hi - lo) * (float) rnd.nextDouble();
        return Float16.fromFloat(rnd.nextBoolean() ? v : -v);
    }
}
