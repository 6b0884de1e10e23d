package org.mixtralspark.job;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.mixtralspark.engine.cli.MixtralCli;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.tokenizer.Tokenizer;
import org.mixtralspark.udf.ExecutorEngines;
import org.mixtralspark.udf.testing.TestSpark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Prefix caching through the whole job (issue 10): a table whose rows share a long head and differ in a short tail
 * (default 256 rows, a 1 024-token head, 64-token tails, 32 new tokens, greedy), shuffled, run by the job in local[2]
 * on the demo model with {@code --prefix-cache off} and then {@code on}, each on a fresh engine, after an untimed
 * warm-up run of each on 16 rows. Prints, for each,
 * the prompt tokens computed (prompt tokens less those from the cache), rows/s and completion tokens/s, and the
 * ratios; asserts nothing about time. Run with
 * {@code ./mvnw -pl spark-job -am test -Dtest=JobPrefixCacheBench -Dsurefire.failIfNoSpecifiedTests=false
 * -Dmixtral.bench=true} (sizes: {@code -Dmixtral.bench.rows=256 -Dmixtral.bench.headTokens=1024
 * -Dmixtral.bench.tailTokens=64 -Dmixtral.bench.newTokens=32}).
 */
@EnabledIfSystemProperty(named = "mixtral.bench", matches = "true")
class JobPrefixCacheBench {

    private static final int ROWS = Integer.getInteger("mixtral.bench.rows", 256);
    private static final int HEAD = Integer.getInteger("mixtral.bench.headTokens", 1024);
    private static final int TAIL = Integer.getInteger("mixtral.bench.tailTokens", 64);
    private static final int NEW = Integer.getInteger("mixtral.bench.newTokens", 32);
    private static final String[] WORDS = {
        "the", "garden", "rule", "answer", "model", "token", "river", "stone", "light", "question", "careful", "short",
        "every", "expert", "block", "cache", "window", "number", "after", "before", "always", "never", "green",
    };

    @Test
    void jobWithPrefixCacheOnVersusOff() throws Exception {
        Path dir = Path.of("target", "bench").toAbsolutePath();
        Files.createDirectories(dir);
        Path model = dir.resolve("demo.gguf");
        if (!Files.exists(model)) {
            MixtralCli.run("random-model", "--out", model.toString(), "--preset", "demo", "--seed", "1");
        }
        SparkSession spark = TestSpark.session();
        List<Row> rows = new ArrayList<>();
        try (Engine e = Engines.open(model, EngineOptions.defaults().withThreads(1).withMaxBatchSize(1))) {
            Tokenizer tok = e.tokenizer();
            Random rnd = new Random(42);
            String head = words(tok, rnd, HEAD, "");
            for (int i = 0; i < ROWS; i++) {
                rows.add(RowFactory.create(String.format("row-%04d", i), words(tok, rnd, HEAD + TAIL, head)));
            }
        }
        Collections.shuffle(rows, new Random(7));
        String input = dir.resolve("shared-head-" + ROWS + "-" + HEAD + "-" + TAIL).toString();
        StructType schema = new StructType().add("id", DataTypes.StringType, false).add("prompt", DataTypes.StringType);
        spark.createDataFrame(rows, schema).repartition(2).write().mode("overwrite").parquet(input);

        // untimed: the first job of the JVM pays Spark's and the JIT's warm-up (measured: ~20 s of planning alone)
        String warm = dir.resolve("shared-head-warmup").toString();
        spark.createDataFrame(rows.subList(0, Math.min(16, rows.size())), schema).write().mode("overwrite").parquet(warm);
        run(spark, warm, model, dir, "off");
        run(spark, warm, model, dir, "on");

        System.out.printf("BENCH job prefix cache: %d rows, head %d + tail %d tokens, %d new tokens, load %s%n", ROWS,
                HEAD, TAIL, NEW, loadAverage());
        JobSummary off = run(spark, input, model, dir, "off");
        JobSummary on = run(spark, input, model, dir, "on");
        long computedOn = on.promptTokens() - on.cachedPromptTokens();
        long computedOff = off.promptTokens() - off.cachedPromptTokens();
        System.out.printf("BENCH on / off: prompt tokens computed %.1fx fewer, rows/s %.2fx, completion tokens/s %.2fx; "
                + "load %s%n", (double) computedOff / computedOn, rowsPerSecond(on) / rowsPerSecond(off),
                on.tokensPerSecond() / off.tokensPerSecond(), loadAverage());
    }

    private static JobSummary run(SparkSession spark, String input, Path model, Path dir, String cache) {
        ExecutorEngines.closeAll(); // a fresh engine: nothing cached from an earlier run
        JobSummary s = JobRunner.run(spark, JobOptions.parse("--input", input, "--model", model.toString(),
                "--output", dir.resolve("out-prefix-" + cache).toString(), "--mode", "overwrite", "--partitions", "2",
                "--max-new-tokens", Integer.toString(NEW), "--threads", "2", "--batch-size", "32",
                "--max-batch-size", "32", "--prefix-cache", cache));
        ExecutorEngines.closeAll();
        System.out.printf("BENCH prefix cache %-3s: %d rows (%d errors), %d prompt tokens, %d from the cache, %d "
                + "computed, %d completion tokens, wall %.1f s = %.2f rows/s, %.1f completion tokens/s%n", cache,
                s.rows(), s.errors(), s.promptTokens(), s.cachedPromptTokens(),
                s.promptTokens() - s.cachedPromptTokens(), s.completionTokens(), s.wallSeconds(), rowsPerSecond(s),
                s.tokensPerSecond());
        return s;
    }

    private static double rowsPerSecond(JobSummary s) {
        return s.rows() / s.wallSeconds();
    }

    /** {@code start} followed by random words until the text is {@code tokens} tokens long (BOS included), or one more. */
    private static String words(Tokenizer tok, Random rnd, int tokens, String start) {
        StringBuilder b = new StringBuilder(start);
        while (tok.encode(b.toString()).length < tokens) {
            b.append(b.length() == 0 ? "" : " ").append(WORDS[rnd.nextInt(WORDS.length)]);
        }
        return b.toString();
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (Exception e) {
            return "unknown";
        }
    }
}
