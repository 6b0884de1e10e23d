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

    /** Writes results (and each one's latency in ms, same order) into a new batch from {@code allocator}. */
    public static ArrowResultBatch of(BufferAllocator allocator, List<GenerationResult> results, long[] latencyMs) {
        if (latencyMs.length != results.size()) {
            throw new IllegalArgumentException(results.size() + " results but " + latencyMs.length + " latencies");
        }
        VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
        try {
            root.allocateNew();
            for (int i = 0; i < results.size(); i++) {
                ArrowColumn.writeRow(ResultColumns.ALL, root, i,
                        new ResultColumns.Answered(results.get(i), latencyMs[i]));
            }
            root.setRowCount(results.size());
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
