package org.mixtralspark.engine.backend;

import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.model.MixtralConfig;

/**
 * The backend under the engine (vLLM's executor/worker): owns the weights on its device and a paged KV cache, and
 * runs one forward step of a batch. Called only from the engine's step thread. Implementations:
 * {@link CpuModelRunner}; a CUDA one where the kernels and a device are present.
 */
public interface ModelRunner extends AutoCloseable {

    MixtralConfig config();

    /** "cpu" or "cuda:N". */
    String device();

    /** The blocks of this runner's KV cache; the scheduler reserves them for sequences before each step. */
    BlockAllocator blocks();

    /**
     * Runs one step over a batch of tokens from any number of sequences.
     *
     * @param tokens    token ids, (T)
     * @param positions each token's position in its sequence, (T); a sequence's tokens are consecutive and in order,
     *                  and the cache holds every earlier position of it
     * @param tables    each token's sequence block table, (T), already reserved up to its position
     * @param logitRows indices of the tokens whose next-token logits are wanted
     * @return logits, (logitRows.length, vocab) row-major
     */
    float[] forward(int[] tokens, int[] positions, BlockTable[] tables, int[] logitRows);

    /** Releases the device memory. */
    @Override
    void close();
}
