package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.gen.Checkpoint;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.HfCheckpoints;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code mixtral random-model}: writes a random-weight Mixtral (or converts a small HF folder) as an HF folder or a
 * GGUF file, in either expert layout, so that tests and demos need no downloaded model. GGUF files are streamed (any
 * size, e.g. {@code --preset mixtral-8x7b --layers 2} for benchmarks, in bounded memory); HF folders are assembled in
 * memory (test-sized models).
 */
@Command(name = "random-model", mixinStandardHelpOptions = true,
        description = "Write a random-weight Mixtral model (HF folder or GGUF file), or convert a small HF folder.")
final class RandomModelCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, description = "Output GGUF file (streamed: any size) or HF folder (built in memory: small models).")
    Path out;

    @Option(names = "--format", description = "gguf or hf (default ${DEFAULT-VALUE}).")
    String format = "gguf";

    @Option(names = "--type", description = "f32, f16, bf16 or q8_0 (q8_0: GGUF only) (default ${DEFAULT-VALUE}).")
    String type = "f32";

    @Option(names = "--layout", description = "GGUF experts: merged (ffn_*_exps) or split (old ffn_*.E) "
            + "(default ${DEFAULT-VALUE}).")
    String layout = "merged";

    @Option(names = "--shards", description = "HF: number of safetensors shards (default ${DEFAULT-VALUE}).")
    int shards = 1;

    @Option(names = "--seed", description = "Seed of the weights (default ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--preset", description = "tiny, demo or mixtral-8x7b (default ${DEFAULT-VALUE}); "
            + "the shape flags below override it.")
    String preset = "tiny";

    @Option(names = "--vocab") Integer vocab;
    @Option(names = "--dim") Integer dim;
    @Option(names = "--hidden") Integer hidden;
    @Option(names = "--layers") Integer layers;
    @Option(names = "--heads") Integer heads;
    @Option(names = "--kv-heads") Integer kvHeads;
    @Option(names = "--head-dim") Integer headDim;
    @Option(names = "--experts", description = "1 = a dense model.") Integer experts;
    @Option(names = "--experts-used") Integer expertsUsed;
    @Option(names = "--context") Integer context;

    @Option(names = "--from-hf", description = "Convert this HF folder instead of drawing random weights.")
    Path fromHf;

    @Option(names = "--tokenizer-from", description = "With --from-hf: a GGUF file with the same vocabulary, "
            + "whose tokenizer metadata is copied.")
    Path tokenizerFrom;

    @Override
    public Integer call() {
        GgmlType t = GgmlType.valueOf(type.toUpperCase(Locale.ROOT));
        Checkpoint ckpt;
        if (fromHf != null) {
            if (tokenizerFrom == null) {
                throw new IllegalArgumentException("--from-hf needs --tokenizer-from GGUF (the vocabulary's metadata)");
            }
            ckpt = HfCheckpoints.read(fromHf, tokenizerFrom);
        } else {
            ckpt = RandomCheckpoints.create("random-" + preset, config(), seed);
        }
        long start = System.nanoTime();
        switch (format) {
            case "gguf" -> {
                if (!layout.equals("merged") && !layout.equals("split")) {
                    throw new IllegalArgumentException("--layout " + layout + ": must be merged or split");
                }
                CheckpointWriter.writeGguf(ckpt, out, t, layout.equals("split"));
            }
            case "hf" -> {
                checkFitsInMemory(ckpt);
                CheckpointWriter.writeHf(ckpt, out, t, shards);
            }
            default -> throw new IllegalArgumentException("--format " + format + ": must be gguf or hf");
        }
        System.err.printf(Locale.ROOT, "wrote %s (%,d parameters) in %.1f s%n", out, parameters(ckpt),
                (System.nanoTime() - start) / 1e9);
        return 0;
    }

    /** The HF writer assembles each shard's tensors as float arrays; the GGUF writer streams them. */
    private static void checkFitsInMemory(Checkpoint ckpt) {
        long bytes = 4 * parameters(ckpt);
        if (bytes > Runtime.getRuntime().maxMemory() / 2) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "--format hf holds the weights in memory "
                    + "(%,d bytes as floats) and the heap is %,d bytes: write --format gguf (streamed in bounded "
                    + "memory) or a smaller model", bytes, Runtime.getRuntime().maxMemory()));
        }
    }

    private static long parameters(Checkpoint ckpt) {
        long n = 0;
        for (Checkpoint.Tensor x : ckpt.tensors().values()) {
            n += x.rowCount() * x.cols();
        }
        return n;
    }

    private MixtralConfig config() {
        MixtralConfig p = switch (preset) {
            case "tiny" -> new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 2048);
            case "demo" -> new MixtralConfig(1024, 128, 256, 2, 4, 2, 32, 8, 2, 1e6, 1e-5f, 2048);
            case "mixtral-8x7b" -> MixtralConfig.mixtral8x7b();
            default -> throw new IllegalArgumentException("--preset " + preset + ": must be tiny, demo or mixtral-8x7b");
        };
        return new MixtralConfig(
                or(vocab, p.vocabSize()), or(dim, p.dim()), or(hidden, p.hiddenDim()), or(layers, p.layers()),
                or(heads, p.heads()), or(kvHeads, p.kvHeads()),
                headDim != null ? headDim : (dim != null || heads != null)
                        ? or(dim, p.dim()) / or(heads, p.heads()) : p.headDim(),
                or(experts, p.experts()), experts != null && experts == 1 ? 1 : or(expertsUsed, p.expertsUsed()),
                p.ropeTheta(), p.rmsEps(), or(context, p.contextLength()));
    }

    private static int or(Integer v, int dflt) {
        return v == null ? dflt : v;
    }
}
