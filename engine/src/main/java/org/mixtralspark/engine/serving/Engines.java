package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.kv.PagedKvCache;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.tokenizer.GgufTokenizers;
import org.mixtralspark.engine.tokenizer.HfTokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/** Opens engines. */
public final class Engines {

    private static final Logger LOG = LoggerFactory.getLogger(Engines.class);

    private Engines() {
    }

    /**
     * Loads the model at {@code model} (an HF checkpoint folder or a GGUF file) and starts an engine on the device
     * the options select.
     *
     * @throws org.mixtralspark.engine.io.ModelFormatException when the files are unusable (naming file and tensor)
     * @throws IllegalArgumentException                         when the options cannot be met (e.g. cuda without a GPU)
     */
    public static Engine open(Path model, EngineOptions options) {
        String device = selectDevice(options.device());
        LoadedModel loaded = ModelLoader.load(model);
        HfTokenizer tokenizer = null;
        try {
            tokenizer = loaded.format().equals("gguf")
                    ? GgufTokenizers.fromMetadata(loaded.metadata())
                    : HfTokenizer.load(model);
            if (tokenizer.vocabSize() > loaded.config().vocabSize()) {
                throw new IllegalArgumentException(model + ": the tokenizer has " + tokenizer.vocabSize()
                        + " tokens but the model's vocabulary is " + loaded.config().vocabSize());
            }
            long kvBytes = kvBudget(loaded.config(), options);
            ModelRunner runner = new CpuModelRunner(loaded.weights(), options.effectiveThreads(), kvBytes);
            LOG.info("loaded {} ({}, {} layers, {} experts) on {} with {} threads", loaded.name(), loaded.format(),
                    loaded.config().layers(), loaded.config().experts(), device, options.effectiveThreads());
            return new LocalEngine(loaded, tokenizer, tokenizer.chatTemplate(), runner, options);
        } catch (RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            loaded.close();
            throw e;
        }
    }

    /** The KV cache budget: the option, or enough for maxBatchSize full-context sequences within heap/4. */
    static long kvBudget(MixtralConfig c, EngineOptions options) {
        if (options.kvCacheBytes() > 0) {
            return options.kvCacheBytes();
        }
        int context = options.contextLength() == 0 ? c.contextLength()
                : Math.min(options.contextLength(), c.contextLength());
        long perPosition = PagedKvCache.bytesPerBlock(c, 1);
        long wanted = perPosition * context * options.maxBatchSize();
        return Math.max(perPosition * PagedKvCache.DEFAULT_BLOCK_SIZE, Math.min(wanted,
                Runtime.getRuntime().maxMemory() / 4));
    }

    /** "auto" takes the CPU until the CUDA backend exists; "cuda" fails with the reason. */
    static String selectDevice(String requested) {
        return switch (requested) {
            case "cpu" -> "cpu";
            case "cuda" -> throw new IllegalArgumentException(
                    "device = cuda: the CUDA backend is not part of this build yet; use --device cpu or auto");
            default -> {
                LOG.info("device = auto: using the CPU (no CUDA backend in this build)");
                yield "cpu";
            }
        };
    }
}
