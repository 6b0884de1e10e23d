package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.mixtralspark.engine.serving.GenerationResult;

import java.util.List;
import java.util.function.IntFunction;

/**
 * The engine's results as one Arrow record batch (columns: {@link ResultColumns}), row i answering row i of the
 * {@link ArrowRequestBatch}. Spark reads it as it reads any Arrow data, through its own
 * {@link ArrowColumnVector}s in a {@link ColumnarBatch}: {@link #row(int)} is a view of the vectors, not a copy, so
 * the same batch could be handed to pinned host buffers for a GPU. Owns its vectors; close it (idempotent); a row
 * must not be used after that.
 */
public final class ArrowResultBatch implements AutoCloseable {

    public static final Schema SCHEMA = ResultColumns.SCHEMA;

    private final VectorSchemaRoot root;
    private final ColumnarBatch columnar;
    private boolean closed;

    private ArrowResultBatch(VectorSchemaRoot root) {
        this.root = root;
        ColumnVector[] columns = new ColumnVector[root.getFieldVectors().size()];
        for (int c = 0; c < columns.length; c++) {
            columns[c] = new ArrowColumnVector(root.getVector(c));
        }
        this.columnar = new ColumnarBatch(columns, root.getRowCount());
    }

    /**
     * Writes results of one sample each (and each one's latency in ms, same order) into a new batch from
     * {@code allocator}; log-probabilities' tokens are written without their text.
     */
    public static ArrowResultBatch of(BufferAllocator allocator, List<GenerationResult> results, long[] latencyMs) {
        return ofSamples(allocator, results.stream().map(List::of).toList(), latencyMs, id -> null);
    }

    /**
     * Writes each request's samples (sample 0 first; the row's columns are sample 0's, the samples column holds all)
     * and latency in ms, same order, into a new batch from {@code allocator}.
     *
     * @param piece the vocabulary piece of a token id, the text of each log-probability's token
     */
    public static ArrowResultBatch ofSamples(BufferAllocator allocator, List<List<GenerationResult>> samples,
                                             long[] latencyMs, IntFunction<String> piece) {
        if (latencyMs.length != samples.size()) {
            throw new IllegalArgumentException(samples.size() + " results but " + latencyMs.length + " latencies");
        }
        VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
        try {
            root.allocateNew();
            for (int i = 0; i < samples.size(); i++) {
                ArrowColumn.writeRow(ResultColumns.ALL, root, i,
                        new ResultColumns.Answered(samples.get(i), latencyMs[i], piece));
            }
            root.setRowCount(samples.size());
            return new ArrowResultBatch(root);
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    public int rowCount() {
        return columnar.numRows();
    }

    /**
     * Row {@code i} as Spark sees it: an {@link InternalRow} reading the Arrow vectors in place (column indexes in
     * {@link ResultColumns}). Reused by the batch: read it before asking for another row.
     */
    public InternalRow row(int i) {
        return columnar.getRow(i);
    }

    /** The batch as Spark's columnar batch (owned by this object). */
    public ColumnarBatch columnar() {
        return columnar;
    }

    public VectorSchemaRoot root() {
        return root;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            // the column vectors close the Arrow vectors they wrap; closing the root after them finds them empty
            columnar.close();
            root.close();
        }
    }
}
