package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.backend.cpu.PagedKvCache;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.oracle.Oracle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fit rule on a real model file (mini-mistral Q8_0): the sizes are the ones the engine's own load would use
 * (heap copy, total weights, the KV budget for a given heap), and a heap or container too small for them is refused
 * with a message naming every figure.
 */
class MemoryFitTest {

    private static LoadedModel model;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(Oracle.model("mini-mistral-q8_0.gguf"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static MemoryFit fit(EngineOptions o, long heap) {
        return MemoryFit.of(model.config(), model.weights(), o, heap);
    }

    @Test
    void theSizesAreTheEnginesOwn() {
        EngineOptions o = EngineOptions.defaults().withDevice("cpu");
        long heap = 8L << 30;
        MemoryFit mapped = fit(o, heap);
        assertEquals(0, mapped.heapWeightBytes());
        assertEquals(model.weights().totalBytes(), mapped.mappedWeightBytes());
        assertEquals(Engines.kvBudget(model.config(), o, heap), mapped.kvCacheBytes());
        // the automatic budget: maxBatchSize full contexts, at most a quarter of the heap
        long perPosition = PagedKvCache.bytesPerBlock(model.config(), 1, o.kvStorage());
        long full = perPosition * model.config().contextLength() * o.maxBatchSize();
        assertEquals(Math.max(perPosition * BlockAllocator.DEFAULT_BLOCK_SIZE, Math.min(full, heap / 4)),
                mapped.kvCacheBytes());

        MemoryFit heapCopy = fit(o.withWeightMemory("heap"), heap);
        assertEquals(model.weights().heapCopyBytes(), heapCopy.heapWeightBytes());
        assertEquals(model.weights().totalBytes() - model.weights().heapCopyBytes(), heapCopy.mappedWeightBytes());
    }

    @Test
    void heapWeightsAndTheKvCacheMustFitTheHeap() {
        long copy = model.weights().heapCopyBytes();
        EngineOptions heap = EngineOptions.defaults().withDevice("cpu").withWeightMemory("heap");
        long small = copy + copy / 10;
        String why = fit(heap, small).heapProblem(small, "spark.executor.memory = x");
        assertTrue(why != null && why.startsWith("the model does not fit in the executor's heap: "), why);
        assertTrue(why.contains("(" + copy + " bytes) of weights copied to the heap"), why);
        assertTrue(why.contains("(" + fit(heap, small).kvCacheBytes() + " bytes) of KV cache"), why);
        assertTrue(why.contains("(" + small + " bytes) of heap (spark.executor.memory = x)"), why);
        assertNull(fit(heap, 64L << 30).heapProblem(64L << 30, "big"));
        // auto copies only what fits, so the same heap is fine: the weights stay mapped
        MemoryFit auto = fit(heap.withWeightMemory("auto"), small);
        assertEquals(0, auto.heapWeightBytes());
        assertNull(auto.heapProblem(small, "x"));
        assertEquals(copy, fit(heap.withWeightMemory("auto"), 64L << 30).heapWeightBytes());
    }

    @Test
    void anExplicitKvBudgetLargerThanTheHeapIsRefused() {
        EngineOptions o = EngineOptions.defaults().withDevice("cpu").withKvCacheBytes(64L << 30);
        long heap = 4L << 30;
        String why = fit(o, heap).heapProblem(heap, "the driver's -Xmx");
        assertTrue(why != null && why.contains("64.0 GiB (68719476736 bytes) of KV cache"), why);
        assertTrue(why.contains("> 4.0 GiB (4294967296 bytes) of heap (the driver's -Xmx)"), why);
    }

    @Test
    void mappedWeightsMustFitTheContainersOverhead() {
        MemoryFit f = fit(EngineOptions.defaults().withDevice("cpu"), 8L << 30);
        long weights = model.weights().totalBytes();
        String why = f.containerProblem(weights - 1, "spark.executor.memoryOverhead = y");
        assertTrue(why != null && why.startsWith("the model does not fit in the executor's container: "), why);
        assertTrue(why.contains("(" + weights + " bytes) of mapped weights"), why);
        assertTrue(why.contains("(" + (weights - 1) + " bytes) beyond the heap (spark.executor.memoryOverhead = y)"),
                why);
        assertTrue(why.contains("to at least " + MemoryFit.size(weights + (512L << 20))), why);
        assertNull(f.containerProblem(weights, "y"));
    }
}
