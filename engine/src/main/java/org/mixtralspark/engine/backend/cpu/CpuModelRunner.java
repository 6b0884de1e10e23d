package org.mixtralspark.engine.backend.cpu;

import org.mixtralspark.engine.backend.ModelRunner;
import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.backend.StepOutput;

import org.mixtralspark.engine.backend.cpu.Matmul;
import org.mixtralspark.engine.backend.cpu.ThreadTeam;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.BlockCopy;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.backend.cpu.PagedKvCache;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;
import org.mixtralspark.engine.model.mixtral.Routing;
import org.mixtralspark.engine.backend.cpu.BatchForward;

/** Runs the batched forward pass on the CPU with a team of threads and a heap-resident paged KV cache. */
public final class CpuModelRunner implements ModelRunner {

    private final MixtralConfig config;
    private final ThreadTeam team;
    private final PagedKvCache cache;
    private final BatchForward forward;

    /**
     * @param kvCacheBytes the KV cache budget; it is allocated on the heap now, so the JVM needs that much headroom
     * @param matmul       the matrix products, of the engine's numeric mode ({@link CpuMath#select})
     * @param kvType       how the cache stores keys and values (F32 exact; F16 or BF16 half the bytes)
     */
    public CpuModelRunner(MixtralWeights weights, int threads, long kvCacheBytes, Matmul matmul, KvType kvType) {
        this.config = weights.config();
        int blocks = PagedKvCache.blocksForBudget(config, kvCacheBytes, BlockAllocator.DEFAULT_BLOCK_SIZE, kvType);
        this.cache = new PagedKvCache(config, blocks, BlockAllocator.DEFAULT_BLOCK_SIZE, kvType);
        this.team = new ThreadTeam(threads, "mixtral-cpu");
        this.forward = new BatchForward(weights, matmul, team, cache);
    }

    @Override
    public MixtralConfig config() {
        return config;
    }

    @Override
    public String device() {
        return "cpu";
    }

    @Override
    public BlockAllocator blocks() {
        return cache.allocator();
    }

    @Override
    public StepOutput forward(StepInput step) {
        for (BlockCopy copy : step.copies()) {
            cache.copyBlock(copy.from(), copy.to());
        }
        StepInput.Tokens t = step.tokens();
        float[] logits = forward.forward(t.ids(), t.positions(), t.tables(), t.logitRows());
        int[][] expertTokens = new int[config.layers()][];
        Routing[] routings = new Routing[config.layers()];
        for (int l = 0; l < expertTokens.length; l++) {
            routings[l] = forward.routing(l);
            expertTokens[l] = routings[l].expertCounts();
        }
        return StepOutput.of(step, logits, config.vocabSize(), expertTokens, routings);
    }

    @Override
    public void close() {
        team.close();
    }
}
