package org.mixtralspark.job;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.mixtralspark.engine.cli.MixtralCli;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.udf.RowSeeds;
import org.mixtralspark.udf.testing.TestSpark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The price of Spark and Arrow: the same 2 000 prompts, the same sampling and the same two threads, once through the
 * engine alone (one JVM, every request submitted at once) and once through the whole job in local[2] (read, shuffle,
 * Arrow batches, write, summary). Prints figures, asserts nothing about time. Run with
 * {@code ./mvnw -pl spark-job -am test -Dtest=JobOverheadBench -Dsurefire.failIfNoSpecifiedTests=false -Dmixtral.bench=true}.
 */
@EnabledIfSystemProperty(named = "mixtral.bench", matches = "true")
class JobOverheadBench {

    private static final int N = Integer.getInteger("mixtral.bench.prompts", 2000);
    private static final int MAX_NEW = 32;

    @Test
    void engineAloneVersusWholeJob() throws Exception {
        Path dir = Path.of("target", "bench").toAbsolutePath();
        Files.createDirectories(dir);
        Path model = dir.resolve("demo.gguf");
        if (!Files.exists(model)) {
            MixtralCli.run("random-model", "--out", model.toString(), "--preset", "demo", "--seed", "1");
        }
        SparkSession spark = TestSpark.session();
        List<Row> rows = ExamplePrompts.rows(N);
        String input = dir.resolve("prompts-" + N).toString();
        ExamplePrompts.frame(spark, rows).select("id", "prompt").write().mode("overwrite").parquet(input);

        // Alternate the two, several rounds: on a shared two-core machine one run of either varies by 2x.
        int rounds = Integer.getInteger("mixtral.bench.rounds", 3);
        List<Double> alone = new ArrayList<>();
        List<Double> whole = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            Result a = engineAlone(model, rows);
            print("engine alone, round " + round, a);
            alone.add(a.tokensPerSecond());
            JobSummary job = JobRunner.run(spark, JobOptions.parse("--input", input, "--model", model.toString(),
                    "--output", dir.resolve("out").toString(), "--mode", "overwrite", "--partitions", "2",
                    "--max-new-tokens", Integer.toString(MAX_NEW), "--temperature", "0.8", "--top-p", "0.95",
                    "--seed", "42", "--threads", "2", "--batch-size", "32", "--max-batch-size", "32"));
            Result j = new Result(job.completionTokens(), job.promptTokens(), job.wallSeconds(), job.wallSeconds());
            print("whole job, round " + round, j);
            whole.add(j.tokensPerSecond());
        }
        double a = median(alone);
        double j = median(whole);
        System.out.printf("BENCH median of %d rounds: engine alone %.1f, whole job %.1f completion tokens/s; "
                + "job / engine = %.2f%n", rounds, a, j, j / a);
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private record Result(long completion, long prompt, double wallSeconds, double generateSeconds) {
        double tokensPerSecond() {
            return completion / wallSeconds;
        }
    }

    private static void print(String what, Result r) {
        System.out.printf("BENCH %-22s %d prompts: %d prompt + %d completion tokens, wall %.1f s (generation %.1f s) "
                + "= %.1f completion tokens/s%n", what, N, r.prompt(), r.completion(), r.wallSeconds(),
                r.generateSeconds(), r.tokensPerSecond());
    }

    /** Load, tokenize, generate all at once, as the job's executor would, but with no Spark and no Arrow. */
    private static Result engineAlone(Path model, List<Row> rows) {
        long t0 = System.nanoTime();
        try (Engine engine = Engines.open(model, EngineOptions.defaults().withThreads(2).withMaxBatchSize(32))) {
            List<GenerationRequest> requests = new ArrayList<>();
            for (Row r : rows) {
                String id = r.getString(0);
                requests.add(new GenerationRequest(id, engine.tokenizer().encode(r.getString(1)),
                        SamplingParams.builder().maxNewTokens(MAX_NEW).temperature(0.8f).topP(0.95f)
                                .seed(RowSeeds.derive(42, id)).build()));
            }
            long t1 = System.nanoTime();
            long completion = 0;
            long prompt = 0;
            for (GenerationResult res : engine.generate(requests)) {
                completion += res.tokenIds().length;
                prompt += res.promptIds().length;
            }
            long t2 = System.nanoTime();
            return new Result(completion, prompt, (t2 - t0) / 1e9, (t2 - t1) / 1e9);
        }
    }
}
