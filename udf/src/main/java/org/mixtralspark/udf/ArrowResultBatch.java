package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.mixtralspark.engine.serving.GenerationResult;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The engine's results as one Arrow record batch, row i answering row i of the {@link ArrowRequestBatch}. Owns its
 * vectors; close it (idempotent).
 *
 * <pre>
 *   id                utf8    not null
 *   generation        utf8    not null   ("" for an error)
 *   finish_reason     utf8    not null   stop | length | error
 *   prompt_tokens     int32   not null
 *   completion_tokens int32   not null
 *   cached_prompt_tokens int32 not null  prompt tokens taken from the engine's prefix cache
 *   error             utf8    null unless finish_reason = error
 *   latency_ms        int64   not null   submit to completion, queueing included
 * </pre>
 */
public final class ArrowResultBatch implements AutoCloseable {

    public static final Schema SCHEMA = new Schema(List.of(
            Field.notNullable("id", ArrowType.Utf8.INSTANCE),
            Field.notNullable("generation", ArrowType.Utf8.INSTANCE),
            Field.notNullable("finish_reason", ArrowType.Utf8.INSTANCE),
            Field.notNullable("prompt_tokens", new ArrowType.Int(32, true)),
            Field.notNullable("completion_tokens", new ArrowType.Int(32, true)),
            Field.notNullable("cached_prompt_tokens", new ArrowType.Int(32, true)),
            Field.nullable("error", ArrowType.Utf8.INSTANCE),
            Field.notNullable("latency_ms", new ArrowType.Int(64, true))));

    private final VectorSchemaRoot root;
    private final VarCharVector id;
    private final VarCharVector generation;
    private final VarCharVector finishReason;
    private final IntVector promptTokens;
    private final IntVector completionTokens;
    private final IntVector cachedPromptTokens;
    private final VarCharVector error;
    private final BigIntVector latencyMs;
    private boolean closed;

    private ArrowResultBatch(VectorSchemaRoot root) {
        this.root = root;
        this.id = (VarCharVector) root.getVector("id");
        this.generation = (VarCharVector) root.getVector("generation");
        this.finishReason = (VarCharVector) root.getVector("finish_reason");
        this.promptTokens = (IntVector) root.getVector("prompt_tokens");
        this.completionTokens = (IntVector) root.getVector("completion_tokens");
        this.cachedPromptTokens = (IntVector) root.getVector("cached_prompt_tokens");
        this.error = (VarCharVector) root.getVector("error");
        this.latencyMs = (BigIntVector) root.getVector("latency_ms");
    }

    /** Writes results (and each one's latency in ms, same order) into a new batch from {@code allocator}. */
    public static ArrowResultBatch of(BufferAllocator allocator, List<GenerationResult> results, long[] latencyMs) {
        VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
        try {
            root.allocateNew();
            ArrowResultBatch b = new ArrowResultBatch(root);
            for (int i = 0; i < results.size(); i++) {
                GenerationResult r = results.get(i);
                b.id.setSafe(i, utf8(r.id()));
                b.generation.setSafe(i, utf8(r.text() == null ? "" : r.text()));
                b.finishReason.setSafe(i, utf8(r.finishReason().wireName()));
                b.promptTokens.setSafe(i, r.promptIds().length);
                b.completionTokens.setSafe(i, r.tokenIds().length);
                b.cachedPromptTokens.setSafe(i, r.cachedPromptTokens());
                if (r.error() == null) {
                    b.error.setNull(i);
                } else {
                    b.error.setSafe(i, utf8(r.error()));
                }
                b.latencyMs.setSafe(i, latencyMs[i]);
            }
            root.setRowCount(results.size());
            return b;
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    public int rowCount() {
        return root.getRowCount();
    }

    public String id(int i) {
        return string(id, i);
    }

    public String generation(int i) {
        return string(generation, i);
    }

    public String finishReason(int i) {
        return string(finishReason, i);
    }

    public int promptTokens(int i) {
        return promptTokens.get(i);
    }

    public int completionTokens(int i) {
        return completionTokens.get(i);
    }

    public int cachedPromptTokens(int i) {
        return cachedPromptTokens.get(i);
    }

    public String error(int i) {
        return error.isNull(i) ? null : string(error, i);
    }

    public long latencyMs(int i) {
        return latencyMs.get(i);
    }

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

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String string(VarCharVector v, int i) {
        return new String(v.get(i), StandardCharsets.UTF_8);
    }
}
