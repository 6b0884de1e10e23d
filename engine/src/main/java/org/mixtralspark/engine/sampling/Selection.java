package org.mixtralspark.engine.sampling;

import java.util.Arrays;

/**
 * Ordering tokens by value without boxing: argmax, the n largest (partial selection) and a lazy descending order of
 * a subset. Every ordering here is total and deterministic: larger value first, and on equal values the lower token id
 * first, so that greedy decoding and top-k give the same tokens on every machine and in every batch.
 *
 * <p>The trick: a (value, id) pair is packed into one {@code long} whose natural order is that total order, so that
 * {@link Arrays#sort(long[])} and a heap of longs can be used. Values must not be NaN (callers reject NaN first).
 */
final class Selection {

    private Selection() {
    }

    /** The index of the largest value; the lowest index wins ties. {@code values} must not be empty. */
    static int argmax(float[] values) {
        int best = 0;
        float max = values[0];
        for (int i = 1; i < values.length; i++) {
            // strictly greater: an equal value later in the array never replaces the earlier (lower) id
            if (values[i] > max) {
                max = values[i];
                best = i;
            }
        }
        return best;
    }

    /**
     * The {@code n} largest values' indices, largest first (ties: lower index first). Partial selection with a min-heap
     * of size n: O(V log n), no sort of the whole vocabulary. {@code n} is clamped to {@code values.length}.
     */
    static int[] largest(float[] values, int n) {
        int v = values.length;
        n = Math.min(n, v);
        if (n <= 0) {
            return new int[0];
        }
        // heap[0] is the smallest of the n best keys seen so far
        long[] heap = new long[n];
        for (int i = 0; i < n; i++) {
            heap[i] = key(values[i], i);
        }
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(heap, i, n);
        }
        for (int i = n; i < v; i++) {
            long k = key(values[i], i);
            if (k > heap[0]) {
                heap[0] = k;
                siftDown(heap, 0, n);
            }
        }
        Arrays.sort(heap);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = idOf(heap[n - 1 - i]);
        }
        return out;
    }

    /**
     * The ids of {@code ids[0..count)} in descending order of {@code values[id]} (ties: lower id first), produced
     * lazily: building it is O(count), each {@link #next()} O(log count). For top-p, which usually needs only the
     * head of the order, this avoids sorting every candidate.
     */
    static final class Descending {
        private final long[] heap; // min-heap of ~key, i.e. a max-heap of keys
        private int size;

        Descending(float[] values, int[] ids, int count) {
            heap = new long[count];
            for (int i = 0; i < count; i++) {
                heap[i] = ~key(values[ids[i]], ids[i]); // ~ reverses the signed order exactly
            }
            size = count;
            for (int i = size / 2 - 1; i >= 0; i--) {
                siftDown(heap, i, size);
            }
        }

        boolean hasNext() {
            return size > 0;
        }

        int next() {
            long top = heap[0];
            heap[0] = heap[--size];
            siftDown(heap, 0, size);
            return idOf(~top);
        }
    }

    /**
     * A long whose signed order is (value ascending, then id descending): the high 32 bits are the float's bits made
     * order-preserving as a signed int (negative floats have their magnitude bits flipped), the low 32 bits are
     * {@code ~id}, so that of two equal values the lower id has the larger key.
     */
    static long key(float value, int id) {
        int bits = Float.floatToIntBits(value + 0.0f); // + 0.0f turns -0.0 into +0.0: they compare equal as floats
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ordered << 32) | (~id & 0xffffffffL);
    }

    static int idOf(long key) {
        return ~(int) key;
    }

    private static void siftDown(long[] heap, int i, int n) {
        while (true) {
            int l = 2 * i + 1;
            if (l >= n) {
                return;
            }
            int smallest = l;
            int r = l + 1;
            if (r < n && heap[r] < heap[l]) {
                smallest = r;
            }
            if (heap[i] <= heap[smallest]) {
                return;
            }
            long t = heap[i];
            heap[i] = heap[smallest];
            heap[smallest] = t;
            i = smallest;
        }
    }
}
