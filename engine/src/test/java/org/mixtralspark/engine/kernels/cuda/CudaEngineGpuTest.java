package org.mixtralspark.engine.kernels.cuda;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.io.GgmlType;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.gen.CheckpointWriter;
import org.mixtralspark.engine.model.gen.RandomCheckpoints;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The whole engine (scheduler, sampling, stops) on --device cuda in the F32 mode gives the CPU engine's greedy
 * tokens for concurrent requests (skipped without a GPU).
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
        List<int[]> cpu = generate(model, "cpu");
        String before = System.getProperty("mixtral.cuda.precision");
        System.setProperty("mixtral.cuda.precision", "f32");
        try {
            List<int[]> gpu = generate(model, "cuda");
            assertEquals(cpu.size(), gpu.size());
            for (int i = 0; i < cpu.size(); i++) {
                assertArrayEquals(cpu.get(i), gpu.get(i), "request " + i);
            }
        } finally {
            if (before == null) {
                System.clearProperty("mixtral.cuda.precision");
            } else {
                System.setProperty("mixtral.cuda.precision", before);
            }
        }
    }

    private static List<int[]> generate(Path model, String device) {
        try (Engine e = Engines.open(model, EngineOptions.defaults().withDevice(device).withThreads(2)
                .withMaxBatchSize(4))) {
            assertEquals(device.equals("cpu") ? "cpu" : "cuda:0", e.model().device());
            List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                int[] prompt = e.tokenizer().encode("request " + i + " about the garden" + " and more".repeat(i));
                futures.add(e.submit(new GenerationRequest("r" + i, prompt,
                        SamplingParams.builder().greedy().maxNewTokens(16).ignoreEos(true).build())));
            }
            List<int[]> out = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : futures) {
                out.add(f.join().tokenIds());
            }
            return out;
        }
    }
}
