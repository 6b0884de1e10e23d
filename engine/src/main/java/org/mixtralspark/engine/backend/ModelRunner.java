package org.mixtralspark.engine.backend;

import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.model.MixtralConfig;

/**
 * The backend under the engine (vLLM's executor/worker): owns the weights on its device and a paged KV cache, and
 * runs one forward step of a batch. Called only from the engine's step thread. Implementations: backend.cpu's
 * {@code CpuModelRunner}; backend.cuda's {@code CudaModelRunner} where the kernels and a device are present.
 */
public interface ModelRunner extends AutoCloseable {

    MixtralConfig config();

    /** "cpu" or "cuda:N". */
    String device();

    /** The blocks of this runner's KV cache; the scheduler reserves them for sequences before each step. */
    BlockAllocator blocks();

    /**
     * Runs one step: first makes the step's block copies ({@link StepInput#copies}), then computes every token of
     * {@code step}, writes their keys and values into the KV cache, and returns
     * the next-token logits of the sequences that want them. A sequence's result depends only on its own tokens, not
     * on what else is in the step (batch invariance).
     */
    StepOutput forward(StepInput step);

    /** Releases the device memory. */
    @Override
    void close();
}
