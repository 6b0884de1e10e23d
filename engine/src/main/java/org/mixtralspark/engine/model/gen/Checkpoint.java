package org.mixtralspark.engine.model.gen;

import org.mixtralspark.engine.model.MixtralConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model held in memory in HF layout (tensor names and q/k row order of transformers' Mixtral checkpoints), with
 * its vocabulary as GGUF tokenizer metadata ({@code tokenizer.*} keys). What {@link CheckpointWriter} writes as an
 * HF folder or a GGUF file. Test-sized models only: every tensor is a float array.
 *
 * @param name      display name ({@code general.name})
 * @param config    hyper-parameters
 * @param tensors   HF name to tensor, in writing order
 * @param tokenizer GGUF {@code tokenizer.*} metadata (values as the GGUF reader returns them)
 */
public record Checkpoint(String name, MixtralConfig config, LinkedHashMap<String, Tensor> tensors,
                         Map<String, Object> tokenizer) {

    /** A row-major tensor. */
    public record Tensor(long[] shape, float[] data) {
    }
}
