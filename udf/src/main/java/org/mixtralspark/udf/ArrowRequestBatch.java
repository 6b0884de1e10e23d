package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.GenerationRequest;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Requests for the engine as one Arrow record batch: a row per request with its id, prompt token ids and sampling
 * parameters. Owns its vectors; close it (idempotent).
 *
 * <pre>
 *   id             utf8          not null
 *   prompt_ids     list&lt;int32&gt;   not null   (BOS included when the row wants it)
 *   max_new_tokens int32         not null
 *   temperature    float32       not null
 *   top_p          float32       not null
 *   top_k          int32         not null
 *   seed           int64         null = random
 *   stop           list&lt;utf8&gt;    not null   (may be empty)
 * </pre>
 */
public final class ArrowRequestBatch implements AutoCloseable {

    public static final Schema SCHEMA = new Schema(List.of(
            Field.notNullable("id", ArrowType.Utf8.INSTANCE),
            listOf("prompt_ids", new ArrowType.Int(32, true)),
            Field.notNullable("max_new_tokens", new ArrowType.Int(32, true)),
            Field.notNullable("temperature", new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)),
            Field.notNullable("top_p", new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)),
            Field.notNullable("top_k", new ArrowType.Int(32, true)),
            Field.nullable("seed", new ArrowType.Int(64, true)),
            listOf("stop", ArrowType.Utf8.INSTANCE)));

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
            VarCharVector id = (VarCharVector) root.getVector("id");
            ListVector promptIds = (ListVector) root.getVector("prompt_ids");
            IntVector maxNew = (IntVector) root.getVector("max_new_tokens");
            Float4Vector temperature = (Float4Vector) root.getVector("temperature");
            Float4Vector topP = (Float4Vector) root.getVector("top_p");
            IntVector topK = (IntVector) root.getVector("top_k");
            BigIntVector seed = (BigIntVector) root.getVector("seed");
            ListVector stop = (ListVector) root.getVector("stop");
            IntVector promptData = (IntVector) promptIds.getDataVector();
            VarCharVector stopData = (VarCharVector) stop.getDataVector();
            for (int i = 0; i < requests.size(); i++) {
                GenerationRequest r = requests.get(i);
                SamplingParams p = r.params();
                id.setSafe(i, r.id().getBytes(StandardCharsets.UTF_8));
                int[] ids = r.promptIds();
                int start = promptIds.startNewValue(i);
                for (int k = 0; k < ids.length; k++) {
                    promptData.setSafe(start + k, ids[k]);
                }
                promptIds.endValue(i, ids.length);
                maxNew.setSafe(i, p.maxNewTokens());
                temperature.setSafe(i, p.temperature());
                topP.setSafe(i, p.topP());
                topK.setSafe(i, p.topK());
                if (p.seed() == null) {
                    seed.setNull(i);
                } else {
                    seed.setSafe(i, p.seed());
                }
                int s0 = stop.startNewValue(i);
                List<String> strings = p.stopStrings();
                for (int k = 0; k < strings.size(); k++) {
                    stopData.setSafe(s0 + k, strings.get(k).getBytes(StandardCharsets.UTF_8));
                }
                stop.endValue(i, strings.size());
            }
            root.setRowCount(requests.size());
            return new ArrowRequestBatch(root);
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    /** Reads the requests back (the engine's side of the exchange). */
    public List<GenerationRequest> toRequests() {
        VarCharVector id = (VarCharVector) root.getVector("id");
        ListVector promptIds = (ListVector) root.getVector("prompt_ids");
        IntVector maxNew = (IntVector) root.getVector("max_new_tokens");
        Float4Vector temperature = (Float4Vector) root.getVector("temperature");
        Float4Vector topP = (Float4Vector) root.getVector("top_p");
        IntVector topK = (IntVector) root.getVector("top_k");
        BigIntVector seed = (BigIntVector) root.getVector("seed");
        ListVector stop = (ListVector) root.getVector("stop");
        IntVector promptData = (IntVector) promptIds.getDataVector();
        VarCharVector stopData = (VarCharVector) stop.getDataVector();
        int n = root.getRowCount();
        List<GenerationRequest> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int a = promptIds.getElementStartIndex(i);
            int b = promptIds.getElementEndIndex(i);
            int[] ids = new int[b - a];
            for (int k = a; k < b; k++) {
                ids[k - a] = promptData.get(k);
            }
            List<String> strings = new ArrayList<>();
            for (int k = stop.getElementStartIndex(i); k < stop.getElementEndIndex(i); k++) {
                strings.add(new String(stopData.get(k), StandardCharsets.UTF_8));
            }
            SamplingParams p = SamplingParams.builder()
                    .maxNewTokens(maxNew.get(i))
                    .temperature(temperature.get(i))
                    .topP(topP.get(i))
                    .topK(topK.get(i))
                    .seed(seed.isNull(i) ? null : seed.get(i))
                    .stopStrings(strings)
                    .build();
            out.add(new GenerationRequest(new String(id.get(i), StandardCharsets.UTF_8), ids, p));
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

    private static Field listOf(String name, ArrowType element) {
        return new Field(name, FieldType.notNullable(ArrowType.List.INSTANCE),
                List.of(Field.notNullable("item", element)));
    }
}
