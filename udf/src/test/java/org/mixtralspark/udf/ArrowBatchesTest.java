package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.sampling.TokenLogprob;
import org.mixtralspark.engine.constrain.ResponseFormat;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArrowBatchesTest {

    private BufferAllocator allocator;

    @BeforeEach
    void open() {
        allocator = new RootAllocator(16 << 20);
    }

    @AfterEach
    void leakCheck() {
        // Every test is a leak check: all buffers returned, no child allocator left open.
        assertEquals(0, allocator.getAllocatedMemory(), "Arrow memory still allocated");
        assertEquals(0, allocator.getChildAllocators().size(), "child allocators left open");
        allocator.close();
    }

    @Test
    void theRequestBatchHasAColumnForEveryFieldOfARequest() {
        // A field added to GenerationRequest or SamplingParams without a column would be silently dropped on the hop.
        Set<String> columns = ArrowRequestBatch.SCHEMA.getFields().stream().map(Field::getName)
                .collect(Collectors.toSet());
        List<String> expected = new ArrayList<>();
        for (RecordComponent c : GenerationRequest.class.getRecordComponents()) {
            if (!c.getName().equals("params")) {
                expected.add(snake(c.getName()));
            }
        }
        for (RecordComponent c : SamplingParams.class.getRecordComponents()) {
            // the output table and vLLM call the stop strings "stop"
            expected.add(c.getName().equals("stopStrings") ? "stop" : snake(c.getName()));
        }
        assertEquals(Set.copyOf(expected), columns);
        assertEquals(expected.size(), ArrowRequestBatch.SCHEMA.getFields().size(), "no column twice");
    }

    private static String snake(String camel) {
        return camel.replaceAll("([A-Z])", "_$1").toLowerCase(java.util.Locale.ROOT);
    }

    @Test
    void randomRequestsAreIdenticalAfterTheHop() {
        Random rnd = new Random(20261207);
        List<GenerationRequest> in = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            in.add(randomRequest(rnd, i));
        }
        // the edges: every default, and every list empty
        in.add(new GenerationRequest("defaults", new int[] {1}, SamplingParams.defaults()));
        in.add(new GenerationRequest("", new int[] {0}, SamplingParams.builder().stopStrings(List.of())
                .stopTokenIds().seed(null).build()));
        try (ArrowRequestBatch batch = ArrowRequestBatch.of(allocator, in)) {
            assertEquals(in.size(), batch.rowCount());
            assertEquals(ArrowRequestBatch.SCHEMA, batch.root().getSchema());
            List<GenerationRequest> out = batch.toRequests();
            assertEquals(in.size(), out.size());
            for (int i = 0; i < in.size(); i++) {
                GenerationRequest a = in.get(i);
                GenerationRequest b = out.get(i);
                assertEquals(a.id(), b.id());
                assertArrayEquals(a.promptIds(), b.promptIds(), a.id());
                // SamplingParams.equals compares every field (floats bit for bit, lists and arrays by content)
                assertEquals(a.params(), b.params(), a.id());
                assertArrayEquals(a.params().stopTokenIds(), b.params().stopTokenIds(), a.id());
                assertEquals(a.params().seed(), b.params().seed(), a.id());
                assertEquals(a.params().ignoreEos(), b.params().ignoreEos(), a.id());
                assertEquals(a.responseFormat() == null ? null : a.responseFormat().json(),
                        b.responseFormat() == null ? null : b.responseFormat().json(), a.id());
                assertEquals(a.promptLogprobs(), b.promptLogprobs(), a.id());
                assertEquals(a.labels() == null, b.labels() == null, a.id());
                if (a.labels() != null) {
                    assertEquals(a.labels().texts(), b.labels().texts(), a.id());
                    assertEquals(a.labels().normalize(), b.labels().normalize(), a.id());
                    for (int k = 0; k < a.labels().size(); k++) {
                        assertArrayEquals(a.labels().idsOf(k), b.labels().idsOf(k), a.id() + " label " + k);
                    }
                }
            }
            assertNull(out.get(in.size() - 1).params().seed());
            assertTrue(out.get(in.size() - 1).params().stopStrings().isEmpty());
        }
    }

    /** Every field drawn from its whole valid range, with nulls, empty lists and non-ASCII text. */
    private static GenerationRequest randomRequest(Random rnd, int i) {
        int[] prompt = new int[1 + rnd.nextInt(40)];
        for (int k = 0; k < prompt.length; k++) {
            prompt[k] = rnd.nextInt(32000);
        }
        List<String> stop = new ArrayList<>();
        for (int k = rnd.nextInt(4); k > 0; k--) {
            stop.add(List.of("\n", "END", "é→ü", "</s>", "  ", "\u0000x").get(rnd.nextInt(6)));
        }
        int[] stopIds = new int[rnd.nextInt(3)];
        for (int k = 0; k < stopIds.length; k++) {
            stopIds[k] = rnd.nextInt(32000);
        }
        SamplingParams p = SamplingParams.builder()
                .maxNewTokens(1 + rnd.nextInt(4096))
                .temperature(rnd.nextBoolean() ? 0f : rnd.nextFloat() * 2)
                .topK(rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(100))
                .topP(rnd.nextBoolean() ? 1f : Math.max(Float.MIN_VALUE, rnd.nextFloat()))
                .minP(rnd.nextBoolean() ? 0f : rnd.nextFloat())
                .repetitionPenalty(rnd.nextBoolean() ? 1f : 0.01f + rnd.nextFloat() * 3)
                .presencePenalty(rnd.nextFloat() * 4 - 2)
                .frequencyPenalty(rnd.nextFloat() * 4 - 2)
                .seed(rnd.nextInt(3) == 0 ? null : rnd.nextLong())
                .stopStrings(stop)
                .stopTokenIds(stopIds)
                .ignoreEos(rnd.nextBoolean())
                .logprobs(rnd.nextInt(SamplingParams.MAX_LOGPROBS + 1))
                .n(rnd.nextBoolean() ? 1 : 1 + rnd.nextInt(SamplingParams.MAX_N))
                .build();
        // a response format cannot go with stop strings or ignore_eos (the request refuses them)
        ResponseFormat format = stop.isEmpty() && !p.ignoreEos() && rnd.nextBoolean()
                ? ResponseFormat.parse(FORMATS.get(rnd.nextInt(FORMATS.size()))) : null;
        // prompt log-probabilities and labels go with one sample only (the request refuses them with n > 1)
        GenerationRequest r = new GenerationRequest("row-" + i + (i % 7 == 0 ? "-ü字" : ""), prompt, p, format)
                .withPromptLogprobs(p.n() > 1 ? -1 : rnd.nextInt(SamplingParams.MAX_LOGPROBS + 2) - 1);
        if (format == null && p.n() == 1 && rnd.nextInt(3) == 0) {
            // labels as given (any text, even a bad list: the engine judges it) with their ids
            List<String> texts = new ArrayList<>();
            List<int[]> ids = new ArrayList<>();
            for (int k = rnd.nextInt(4); k > 0; k--) {
                texts.add(List.of("oui", "non", "peut-être", "", "字\"\n").get(rnd.nextInt(5)));
                int[] l = new int[rnd.nextInt(4)];
                for (int j = 0; j < l.length; j++) {
                    l[j] = rnd.nextInt(32000);
                }
                ids.add(l);
            }
            r = r.withLabels(new org.mixtralspark.engine.serving.LabelScoring(texts, ids, rnd.nextBoolean()));
        }
        return r;
    }

    private static final List<String> FORMATS = List.of(
            "{\"type\":\"json_object\"}",
            "{\"type\":\"choice\",\"choices\":[\"oui\",\"non\",\"peut-être\"]}",
            "{\"type\":\"regex\",\"pattern\":\"[0-9]{4}-[0-9]{2}\"}",
            "{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\",\"properties\":{\"label\":"
                    + "{\"enum\":[\"a\",\"b\"]},\"score\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":5}},"
                    + "\"required\":[\"label\"],\"additionalProperties\":false}}");

    @Test
    void manyRequestsGrowTheVectors() {
        List<GenerationRequest> in = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            int[] ids = new int[1 + i % 37];
            java.util.Arrays.fill(ids, i);
            in.add(new GenerationRequest("row-" + i, ids, SamplingParams.defaults()));
        }
        try (ArrowRequestBatch batch = ArrowRequestBatch.of(allocator, in)) {
            List<GenerationRequest> out = batch.toRequests();
            assertEquals(1000, out.size());
            assertArrayEquals(in.get(999).promptIds(), out.get(999).promptIds());
        }
    }

    @Test
    void resultsAreReadThroughSparksColumnVectors() {
        List<GenerationResult> in = List.of(
                new GenerationResult("a", new int[] {1, 2, 3}, new int[] {4, 5}, "héllo", FinishReason.STOP, List.of(),
                        null, 10, 20),
                GenerationResult.failed("b", new int[] {1}, "too long"),
                new GenerationResult("c", new int[] {1}, new int[] {6, 7, 8}, "abc", FinishReason.LENGTH, List.of(),
                        null, 1, 2));
        try (ArrowResultBatch batch = ArrowResultBatch.of(allocator, in, new long[] {12, 0, 7})) {
            assertEquals(3, batch.rowCount());
            assertEquals(3, batch.columnar().numRows());
            assertEquals(ArrowResultBatch.SCHEMA.getFields().size(), batch.columnar().numCols());
            InternalRow a = batch.row(0);
            assertEquals("a", a.getUTF8String(ResultColumns.ID).toString());
            assertEquals("héllo", a.getUTF8String(ResultColumns.GENERATION).toString());
            assertEquals("stop", a.getUTF8String(ResultColumns.FINISH_REASON).toString());
            assertEquals(3, a.getInt(ResultColumns.PROMPT_TOKENS));
            assertEquals(2, a.getInt(ResultColumns.COMPLETION_TOKENS));
            assertTrue(a.isNullAt(ResultColumns.ERROR));
            assertEquals(12, a.getLong(ResultColumns.LATENCY_MS));
            InternalRow b = batch.row(1);
            assertEquals("error", b.getUTF8String(ResultColumns.FINISH_REASON).toString());
            assertFalse(b.isNullAt(ResultColumns.ERROR));
            assertEquals("too long", b.getUTF8String(ResultColumns.ERROR).toString());
            assertEquals("", b.getUTF8String(ResultColumns.GENERATION).toString());
            InternalRow c = batch.row(2);
            assertEquals("length", c.getUTF8String(ResultColumns.FINISH_REASON).toString());
            assertEquals(3, c.getInt(ResultColumns.COMPLETION_TOKENS));
            assertEquals(7, c.getLong(ResultColumns.LATENCY_MS));
        }
    }

    @Test
    void closeIsIdempotentAndAFailedWriteFreesItsMemory() {
        ArrowRequestBatch batch = ArrowRequestBatch.of(allocator, List.of(
                new GenerationRequest("x", new int[] {1}, SamplingParams.defaults())));
        batch.close();
        batch.close();
        ArrowResultBatch results = ArrowResultBatch.of(allocator, List.of(
                GenerationResult.failed("x", new int[] {1}, "no")), new long[] {0});
        assertTrue(allocator.getAllocatedMemory() > 0);
        results.close();
        results.close();
        assertEquals(0, allocator.getAllocatedMemory());
        try (BufferAllocator tiny = allocator.newChildAllocator("tiny", 0, 64)) {
            List<GenerationRequest> big = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                big.add(new GenerationRequest("r" + i, new int[200], SamplingParams.defaults()));
            }
            assertThrows(RuntimeException.class, () -> ArrowRequestBatch.of(tiny, big));
            assertEquals(0, tiny.getAllocatedMemory());
            List<GenerationResult> many = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                many.add(GenerationResult.failed("r" + i, new int[] {1}, "x".repeat(50)));
            }
            assertThrows(RuntimeException.class, () -> ArrowResultBatch.of(tiny, many, new long[100]));
            assertEquals(0, tiny.getAllocatedMemory());
        }
    }

    @Test
    void samplesAndLogprobsAreReadThroughSparksColumnVectorsNullsAmongThem() {
        TokenLogprob first = new TokenLogprob(7, -0.25f, List.of(new TokenLogprob.Alternative(7, -0.25f),
                new TokenLogprob.Alternative(9, -1.5f)));
        TokenLogprob second = new TokenLogprob(3, -2.125f, List.of(new TokenLogprob.Alternative(4, -0.5f)));
        GenerationResult a0 = new GenerationResult("a", new int[] {1}, new int[] {7, 3}, "x y", FinishReason.LENGTH,
                List.of(first, second), null, 1, 1);
        GenerationResult a1 = new GenerationResult("a", new int[] {1}, new int[] {5}, "z", FinishReason.STOP,
                List.of(new TokenLogprob(5, -0.75f, List.of())), null, 1, 1);
        GenerationResult c0 = new GenerationResult("c", new int[] {1}, new int[] {2}, "é", FinishReason.STOP,
                List.of(new TokenLogprob(2, -3f, List.of(new TokenLogprob.Alternative(2, -3f)))), null, 1, 1);
        List<List<GenerationResult>> in = List.of(List.of(a0, a1), List.of(GenerationResult.failed("b", new int[] {1},
                "no")), List.of(c0));
        try (ArrowResultBatch batch = ArrowResultBatch.ofSamples(allocator, in, new long[] {1, 2, 3},
                id -> "piece" + id)) {
            InternalRow a = batch.row(0);
            ArrayData samples = a.getArray(ResultColumns.SAMPLES);
            assertEquals(2, samples.numElements());
            assertEquals("z", samples.getStruct(1, 3).getUTF8String(0).toString());
            assertEquals("stop", samples.getStruct(1, 3).getUTF8String(1).toString());
            assertEquals(1, samples.getStruct(1, 3).getInt(2));
            assertEquals("x y", a.getUTF8String(ResultColumns.GENERATION).toString(), "the row is sample 0");
            ArrayData lp = a.getArray(ResultColumns.LOGPROBS);
            assertEquals(2, lp.numElements(), "sample 0's tokens only");
            InternalRow t1 = lp.getStruct(1, 4);
            assertEquals("piece3", t1.getUTF8String(0).toString());
            assertEquals(3, t1.getInt(1));
            assertEquals(-2.125, t1.getDouble(2));
            assertEquals(4, t1.getArray(3).getStruct(0, 3).getInt(1));
            assertEquals(2, lp.getStruct(0, 4).getArray(3).numElements());

            InternalRow b = batch.row(1);
            assertTrue(b.isNullAt(ResultColumns.LOGPROBS), "no log-probabilities: null");
            assertEquals(1, b.getArray(ResultColumns.SAMPLES).numElements());
            assertEquals("error", b.getArray(ResultColumns.SAMPLES).getStruct(0, 3).getUTF8String(1).toString());

            InternalRow c = batch.row(2);
            assertEquals("é", c.getArray(ResultColumns.SAMPLES).getStruct(0, 3).getUTF8String(0).toString());
            InternalRow ct = c.getArray(ResultColumns.LOGPROBS).getStruct(0, 4);
            assertEquals(-3.0, ct.getDouble(2));
            assertEquals("piece2", ct.getArray(3).getStruct(0, 3).getUTF8String(0).toString());
        }
    }
}
