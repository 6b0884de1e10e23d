package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.mixtralspark.engine.serving.GenerationRequest;

import java.util.ArrayList;
import java.util.List;

/**
 * Requests for the engine as one Arrow record batch: a row per request holding every field of the request (its id,
 * prompt token ids and each sampling parameter; the columns are {@link RequestColumns}), so that the other side
 * rebuilds the request from the batch alone. Owns its vectors; close it (idempotent).
 */
public final class ArrowRequestBatch implements AutoCloseable {

    public static final Schema SCHEMA = RequestColumns.SCHEMA;

    private final VectorSchemaRoot root;
    private boolean closed;

    private ArrowRequestBatch(VectorSchemaRoot root) {
        this.root = root;
    }

    /** Writes {@code requests} into a new batch allocated from {@code allocator}. */
    public static ArrowRequestBatch of(BufferAllocator allocator, List<GenerationRequest> requests) {
        VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
        try {
            root.allocateNew();
            for (int i = 0; i < requests.size(); i++) {
                ArrowColumn.writeRow(RequestColumns.ALL, root, i, requests.get(i));
            }
            root.setRowCount(requests.size());
            return new ArrowRequestBatch(root);
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    /** Reads the requests back (the engine's side of the exchange), from the batch alone. */
    public List<GenerationRequest> toRequests() {
        int n = root.getRowCount();
        List<GenerationRequest> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            RequestColumns.Parts parts = new RequestColumns.Parts();
            ArrowColumn.readRow(RequestColumns.ALL, root, i, parts);
            out.add(parts.build());
        }
        return out;
    }

    public int rowCount() {
        return root.getRowCount();
    }

    /** The underlying vectors (owned by this batch). */
    public VectorSchemaRoot root() {
        return root;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            root.close();
        }
    }
}
