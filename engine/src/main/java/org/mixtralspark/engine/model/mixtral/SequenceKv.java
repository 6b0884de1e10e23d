package org.mixtralspark.engine.model.mixtral;

import org.mixtralspark.engine.model.MixtralConfig;

import java.util.Arrays;

/**
 * The KV cache of one sequence: for each layer, the RoPE'd keys and the values of every position so far,
 * {@code (pos, kvDim)} row-major. Grows in chunks as the sequence grows, up to a fixed maximum.
 */
public final class SequenceKv {

    private static final int GROWTH = 64;

    private final int layers;
    private final int kvDim;
    private final int maxPositions;
    private float[][] keys;   // (layer, capacity * kvDim)
    private float[][] values; // (layer, capacity * kvDim)
    private int capacity;

    public SequenceKv(MixtralConfig c, int maxPositions) {
        this.layers = c.layers();
        this.kvDim = c.kvDim();
        this.maxPositions = maxPositions;
        this.keys = new float[layers][0];
        this.values = new float[layers][0];
    }

    /** Makes room for positions {@code [0, positions)}. */
    public void ensureCapacity(int positions) {
        if (positions > maxPositions) {
            throw new IllegalStateException("sequence of " + positions + " positions exceeds the cache limit "
                    + maxPositions);
        }
        if (positions <= capacity) {
            return;
        }
        int next = Math.min(maxPositions, Math.max(positions, Math.max(capacity * 2, GROWTH)));
        for (int l = 0; l < layers; l++) {
            keys[l] = Arrays.copyOf(keys[l], next * kvDim);
            values[l] = Arrays.copyOf(values[l], next * kvDim);
        }
        capacity = next;
    }

    public float[] keys(int layer) {
        return keys[layer];
    }

    public float[] values(int layer) {
        return values[layer];
    }

    /** Bytes held. */
    public long bytes() {
        return 2L * layers * capacity * kvDim * Float.BYTES;
    }
}
