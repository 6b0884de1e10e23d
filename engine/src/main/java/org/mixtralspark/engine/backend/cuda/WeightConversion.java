package org.mixtralspark.engine.backend.cuda;

import org.mixtralspark.engine.tensor.BFloat16;
import org.mixtralspark.engine.tensor.WeightMatrix;

import java.nio.ByteBuffer;

/**
 * Host-side conversion of checkpoint weights to the device's storage type: each row is decoded to floats exactly as
 * the CPU backend decodes it ({@link WeightMatrix#dequantizeRow}, so F32, F16, BF16, Q8_0 and the K-quants are all
 * accepted, and the loader's RoPE row permutation is applied), then written as bf16 (round to nearest, ties to even,
 * {@link BFloat16#fromFloat}) or as fp32. BF16 checkpoints therefore arrive bit for bit.
 */
final class WeightConversion {

    private WeightConversion() {
    }

    /** Bytes one row of {@code m} takes on the device. */
    static long rowBytes(WeightMatrix m, Precision p) {
        return (long) m.cols() * p.bytes;
    }

    /**
     * Writes logical rows {@code [first, first + count)} of {@code m} to {@code out} from its position, advancing it.
     *
     * @param row scratch of at least {@code m.cols()} floats
     */
    static void rows(WeightMatrix m, int first, int count, Precision p, ByteBuffer out, float[] row) {
        int cols = m.cols();
        for (int r = first; r < first + count; r++) {
            m.dequantizeRow(r, row, 0);
            floats(row, cols, p, out);
        }
    }

    /** Writes the first {@code n} of {@code values} to {@code out} as {@code p}, advancing it. */
    static void floats(float[] values, int n, Precision p, ByteBuffer out) {
        if (p == Precision.BF16) {
            for (int i = 0; i < n; i++) {
                out.putShort(BFloat16.fromFloat(values[i]));
            }
        } else {
            for (int i = 0; i < n; i++) {
                out.putFloat(values[i]);
            }
        }
    }
}
