package org.mixtralspark.engine.io;

/**
 * The values of a row-major tensor, produced one row (the last dimension) at a time when a writer needs them, so
 * that a tensor never has to sit in memory whole: a writer asks for each row once, encodes it and forgets it.
 *
 * <p>Contract: {@link #row} may be called from several threads at once, for different rows, in any order; the values
 * of a row must not depend on which rows were asked for before (a random source seeds each row from its index).
 */
@FunctionalInterface
public interface RowSource {

    /**
     * Writes row {@code row} into {@code out[0 .. out.length)}.
     *
     * @param row index in {@code [0, rows)}, rows being the product of all dimensions but the last
     * @param out as long as the last dimension; its previous contents are garbage
     */
    void row(long row, float[] out);

    /** The rows of a row-major array with {@code cols} values per row (the array is read, not copied). */
    static RowSource of(float[] data, int cols) {
        return (row, out) -> System.arraycopy(data, Math.toIntExact(row * cols), out, 0, cols);
    }
}
