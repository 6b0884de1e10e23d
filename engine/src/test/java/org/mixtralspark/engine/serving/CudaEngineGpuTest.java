package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.backend.ModelRunner;
import org.mixtralspark.engine.backend.cpu.CpuMath;
import org.mixtralspark.engine.kv.KvType;
import org.mixtralspark.engine.backend.cpu.CpuModelRunner;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.backend.cuda.GpuAssumptions;
import org.mixtralspark.engine.backend.cuda.CudaModelRunner;
import org.mixtralspark.engine.backend.cuda.CudaOptions;
import org.mixtralspark.engine.backend.cuda.Precision;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.ModelLoader;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.tokenizer.StreamingDecoder;
import org.mixtralspark.engine.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The engine (scheduler, continuous batching, pre-emption, sampling) on the CUDA backend in its F32 mode gives the
 * CPU backend's tokens for concurrent greedy and seeded requests (skipped without a GPU). A token-id tokenizer
 * stands in for the real one, so the test needs no tokenizer library on the GPU machine.
 */
class CudaEngineGpuTest {

    @TempDir
    static Path tmp;

    @BeforeEach
    void requireCuda() {
        GpuAssumptions.requireCuda();
    }

    @Test
    void cudaEngineGeneratesWhatTheCpuEngineGenerates() {
        Path model = tmp.resolve("tiny.gguf");
        MixtralConfig c = new MixtralConfig(512, 64, 128, 2, 4, 2, 16, 8, 2, 1e6, 1e-5f, 512);
        CheckpointWriter.writeGguf(RandomCheckpoints.create("tiny", c, 3), model, GgmlType.BF16, false);
        EngineOptions options = EngineOptions.defaults().withThreads(2).withMaxBatchSize(4);
        // a small KV cache on both: some requests wait, some are pre-empted and recomputed
        long kv = 24L * 16 * 2 * 2 * c.kvDim() * 4;
        List<int[]> cpu = generate(model, options, m -> new CpuModelRunner(m.weights(), 2, kv, CpuMath.exact(), KvType.F32));
        List<int[]> gpu = generate(model, options, m -> CudaModelRunner.load(m.weights(), "tiny",
                CudaOptions.defaults(0, 4, 512, kv).withPrecision(Precision.F32)));
        for (int i = 0; i < cpu.size(); i++) {
            assertArrayEquals(cpu.get(i), gpu.get(i), "request " + i);
        }
    }

    private static List<int[]> generate(Path model, EngineOptions options, Function<LoadedModel, ModelRunner> runner) {
        LoadedModel m = ModelLoader.load(model);
        ModelRunner r = runner.apply(m);
        try (Engine e = new LocalEngine(m, new IdTokenizer(m.config().vocabSize()), (msgs, gen) -> "", r, options)) {
            SplittableRandom rnd = new SplittableRandom(1);
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int[] prompt = new int[3 + 17 * i];
                for (int j = 0; j < prompt.length; j++) {
                    prompt[j] = 3 + rnd.nextInt(500);
                }
                SamplingParams.Builder p = SamplingParams.builder().maxNewTokens(20).ignoreEos(true);
                p = i % 2 == 0 ? p.greedy() : p.temperature(0.8f).topP(0.9f).seed(7L + i);
                futures.add(e.submit(new GenerationRequest("r" + i, prompt, p.build())));
            }
            List<int[]> out = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : futures) {
                GenerationResult g = f.join();
                assertEquals(null, g.error(), "request " + g.id());
                out.add(g.tokenIds());
            }
            return out;
        }
    }

    /** Token ids as text ("<id> "), for an engine test that needs no tokenizer library. */
    private record IdTokenizer(int vocab) implements Tokenizer {
        @Override
        public int[] encode(String text, boolean addBos) {
            throw new UnsupportedOperationException("the test submits token ids");
        }

        @Override
        public String decode(int[] ids) {
            StringBuilder b = new StringBuilder();
            for (int id : ids) {
                b.append(id).append(' ');
            }
            return b.toString();
        }

        @Override
        public StreamingDecoder streamingDecoder() {
            return new StreamingDecoder() {
                @Override
                public String push(int tokenId) {
                    return tokenId + " ";
                }

                @Override
                public String flush() {
                    return "";
                }
            };
        }

        @Override
        public int vocabSize() {
            return vocab;
        }

        @Override
        public int bosId() {
            return 1;
        }

        @Override
        public int eosId() {
            return 2;
        }

        @Override
        public boolean addBosByDefault() {
            return true;
        }

        @Override
        public String piece(int id) {
            return Integer.toString(id);
        }

        @Override
        public void close() {
        }
    }
}
