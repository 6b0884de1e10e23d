package org.mixtralspark.udf;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
    void requestsRoundTripThroughArrow() {
        List<GenerationRequest> in = List.of(
                new GenerationRequest("a", new int[] {1, 10, 11},
                        SamplingParams.builder().maxNewTokens(5).temperature(0.7f).topP(0.9f).topK(40).seed(42L)
                                .stopStrings(List.of("\n", "END")).build()),
                new GenerationRequest("é-ü", new int[] {1},
                        SamplingParams.builder().maxNewTokens(1).greedy().build()),
                new GenerationRequest("c", new int[] {7, 8, 9, 10, 11, 12},
                        SamplingParams.builder().maxNewTokens(300).seed(-1L).build()));
        try (ArrowRequestBatch batch = ArrowRequestBatch.of(allocator, in)) {
            assertEquals(3, batch.rowCount());
            assertEquals(ArrowRequestBatch.SCHEMA, batch.root().getSchema());
            List<GenerationRequest> out = batch.toRequests();
            for (int i = 0; i < in.size(); i++) {
                assertEquals(in.get(i).id(), out.get(i).id());
                assertArrayEquals(in.get(i).promptIds(), out.get(i).promptIds());
                assertEquals(in.get(i).params(), out.get(i).params());
            }
            assertNull(out.get(1).params().seed());
        }
    }

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
    void resultsRoundTripThroughArrow() {
        List<GenerationResult> in = List.of(
                new GenerationResult("a", new int[] {1, 2, 3}, new int[] {4, 5}, "héllo", FinishReason.STOP, List.of(),
                        null, 10, 20),
                GenerationResult.failed("b", new int[] {1}, "too long"),
                new GenerationResult("c", new int[] {1}, new int[] {6, 7, 8}, "abc", FinishReason.LENGTH, List.of(),
                        null, 1, 2));
        try (ArrowResultBatch batch = ArrowResultBatch.of(allocator, in, new long[] {12, 0, 7})) {
            assertEquals(3, batch.rowCount());
            assertEquals("a", batch.id(0));
            assertEquals("héllo", batch.generation(0));
            assertEquals("stop", batch.finishReason(0));
            assertEquals(3, batch.promptTokens(0));
            assertEquals(2, batch.completionTokens(0));
            assertNull(batch.error(0));
            assertEquals(12, batch.latencyMs(0));
            assertEquals("error", batch.finishReason(1));
            assertEquals("too long", batch.error(1));
            assertEquals("", batch.generation(1));
            assertEquals("length", batch.finishReason(2));
            assertEquals(3, batch.completionTokens(2));
        }
    }

    @Test
    void closeIsIdempotentAndAFailedWriteFreesItsMemory() {
        ArrowRequestBatch batch = ArrowRequestBatch.of(allocator, List.of(
                new GenerationRequest("x", new int[] {1}, SamplingParams.defaults())));
        batch.close();
        batch.close();
        BufferAllocator tiny = allocator.newChildAllocator("tiny", 0, 64);
        List<GenerationRequest> big = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            big.add(new GenerationRequest("r" + i, new int[200], SamplingParams.defaults()));
        }
        assertThrows(RuntimeException.class, () -> ArrowRequestBatch.of(tiny, big));
        assertEquals(0, tiny.getAllocatedMemory());
        tiny.close();
    }
}
