package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.tensor.WeightMatrix;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * What the vector kernels derive once from a matrix's stored values and reuse on every product: kept here, beside
 * the kernels, not in the tensor view ({@link WeightMatrix}). Looked up once per product (on the calling thread,
 * before the rows are split over the team) and handed down to the decoders; weakly keyed, so a closed model's tables
 * go with its matrices. Matrices compare by identity.
 */
final class MatrixTables {

    /** Slack after the last scale of {@link #q8Scales}, so that a vector load of 16 or 32 halves stays inside. */
    static final int Q8_SCALE_SLACK = 32;

    private static final Map<WeightMatrix, MatrixTables> TABLES = Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * Q8_0: the 2-byte scale of each 34-byte block, stored row by stored row (one short per block, {@code cols / 32}
     * per row), plus {@link #Q8_SCALE_SLACK} zeros; else null. A one-token product is bound by decoding, not by
     * memory, and a scalar half-to-float per block cost a third of its time; from this table the scales of a run are
     * converted 16 at a time. 2 bytes per 32 weights (6 % of the Q8_0 bytes) on the heap, gathered on the first
     * product (so a matrix the vector kernels never multiply, the token embedding or one on a GPU, costs nothing).
     */
    final short[] q8Scales;
    /**
     * F16: whether no stored half is an infinity or a NaN (exponent 31), so that the decoder may skip its per-run
     * check; true for the other types.
     */
    final boolean halvesFinite;

    private MatrixTables(WeightMatrix w) {
        this.q8Scales = w.type() == GgmlType.Q8_0 ? gatherQ8Scales(w.data(), w.rows(), w.cols()) : null;
        this.halvesFinite = w.type() != GgmlType.F16 || halvesFinite(w.data(), w.byteSize());
    }

    /** The tables of {@code w}, made on the first call (one thread makes them; the others wait for it). */
    static MatrixTables of(WeightMatrix w) {
        return TABLES.computeIfAbsent(w, MatrixTables::new);
    }

    private static short[] gatherQ8Scales(ByteBuffer data, int rows, int cols) {
        long blocks = (long) rows * (cols / 32);
        if (blocks + Q8_SCALE_SLACK > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("Q8_0 matrix of " + blocks + " blocks is too large for one scale table");
        }
        short[] scales = new short[(int) blocks + Q8_SCALE_SLACK];
        for (int b = 0; b < blocks; b++) {
            scales[b] = data.getShort(34 * b);
        }
        return scales;
    }

    /** Reads the whole matrix, 4 halves per 8-byte word: {@code (h & 0x7C00) + 0x0400} reaches bit 15 only for exponent 31. */
    private static boolean halvesFinite(ByteBuffer data, long n) {
        boolean finite = true;
        long i = 0;
        for (; i + 8 <= n && finite; i += 8) {
            long v = data.getLong((int) i);
            finite = ((v & 0x7C00_7C00_7C00_7C00L) + 0x0400_0400_0400_0400L & 0x8000_8000_8000_8000L) == 0;
        }
        for (; i + 2 <= n && finite; i += 2) {
            finite = (data.getShort((int) i) & 0x7C00) != 0x7C00;
        }
        return finite;
    }
}
