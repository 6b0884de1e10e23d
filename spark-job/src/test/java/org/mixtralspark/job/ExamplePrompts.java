package org.mixtralspark.job;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;

/**
 * Deterministic prompt tables: the committed sample {@code conf/examples/prompts.parquet} (written by {@link #main})
 * and the larger sets the benchmark and the cluster test use.
 */
public final class ExamplePrompts {

    public static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.StringType, false)
            .add("prompt", DataTypes.StringType)
            .add("max_new_tokens", DataTypes.IntegerType)
            .add("temperature", DataTypes.DoubleType);

    private static final String[] TASKS = {
        "Write a haiku about", "Explain in one sentence what is meant by", "List three facts about",
        "Translate into French: I would like to know more about", "Give a short definition of",
        "Write a product description for a lamp inspired by", "Summarise the history of",
        "Suggest a name for a cat that loves",
    };
    private static final String[] TOPICS = {
        "the sea at night", "sparse mixture-of-experts models", "Apache Spark", "the Rhine valley", "autumn leaves",
        "memory-mapped files", "a lighthouse keeper", "continuous batching",
    };

    private ExamplePrompts() {
    }

    /** {@code n} prompts with ids {@code ex-0001...}; every 7th row sets max_new_tokens, every 5th a temperature. */
    public static List<Row> rows(int n) {
        List<Row> rows = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String prompt = TASKS[i % TASKS.length] + " " + TOPICS[(i / TASKS.length) % TOPICS.length] + ".";
            Integer maxNew = i % 7 == 3 ? 16 : null;
            Double temperature = i % 5 == 4 ? 0.0 : null;
            rows.add(RowFactory.create(String.format("ex-%04d", i + 1), prompt, maxNew, temperature));
        }
        return rows;
    }

    /** The committed sample: 48 prompts, two of them deliberately bad (an empty prompt, a negative temperature). */
    public static List<Row> sample() {
        List<Row> rows = new ArrayList<>(rows(46));
        rows.add(RowFactory.create("bad-empty-prompt", "", null, null));
        rows.add(RowFactory.create("bad-temperature", "This row asks for a negative temperature.", null, -0.5));
        return rows;
    }

    public static Dataset<Row> frame(SparkSession spark, List<Row> rows) {
        return spark.createDataFrame(rows, SCHEMA);
    }

    /** Writes the sample to {@code args[0]} (default conf/examples/prompts.parquet) as one plain Parquet file. */
    public static void main(String[] args) throws java.io.IOException {
        java.nio.file.Path out = java.nio.file.Path.of(args.length > 0 ? args[0] : "conf/examples/prompts.parquet");
        java.nio.file.Path tmp = java.nio.file.Files.createTempDirectory("prompts").resolve("p");
        SparkSession spark = SparkSession.builder().master("local[1]").appName("example prompts")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            frame(spark, sample()).coalesce(1).write().parquet(tmp.toString());
        } finally {
            spark.stop();
        }
        try (var files = java.nio.file.Files.list(tmp)) {
            java.nio.file.Path part = files.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst()
                    .orElseThrow();
            java.nio.file.Files.copy(part, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
