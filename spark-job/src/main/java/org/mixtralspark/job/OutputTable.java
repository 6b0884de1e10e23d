package org.mixtralspark.job;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Where the generations go: a Parquet folder, a catalog table ({@code saveAsTable}) or an Iceberg table (a Hadoop
 * catalog in a warehouse folder unless the session already configures one). Each write is one Spark job that
 * commits atomically: a crashed run leaves the output as it was before it, and {@code resume} finishes the rest.
 */
abstract class OutputTable {

    final SparkSession spark;
    final String name;

    OutputTable(SparkSession spark, String name) {
        this.spark = spark;
        this.name = name;
    }

    static OutputTable of(SparkSession spark, JobOptions o) {
        return switch (o.outputFormat()) {
            case "parquet" -> new ParquetOutput(spark, o.output());
            case "table" -> new CatalogOutput(spark, o.output());
            case "iceberg" -> IcebergOutput.of(spark, o);
            default -> throw new IllegalArgumentException(o.outputFormat());
        };
    }

    /** Whether the output already holds rows (or, for a table, exists). */
    abstract boolean exists();

    /** The output's rows; only when {@link #exists()}. */
    abstract Dataset<Row> read();

    /** Writes {@code rows}: {@code append} adds to an existing output, otherwise creates or replaces it. */
    abstract void write(Dataset<Row> rows, String mode);

    /** Where the summary goes by default. */
    abstract String defaultSummaryPath();

    /** A readable name for logs. */
    abstract String describe();

    void writeText(String path, String text) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (p.getParent() != null) {
                fs.mkdirs(p.getParent());
            }
            try (var out = fs.create(p, true)) {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + path + ": " + e.getMessage(), e);
        }
    }

    static final class ParquetOutput extends OutputTable {
        ParquetOutput(SparkSession spark, String path) {
            super(spark, path);
        }

        @Override
        boolean exists() {
            try {
                Path p = new Path(name);
                FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
                if (!fs.exists(p)) {
                    return false;
                }
                if (!fs.getFileStatus(p).isDirectory()) {
                    return true;
                }
                for (FileStatus s : fs.listStatus(p)) {
                    String n = s.getPath().getName();
                    if (!n.startsWith("_") && !n.startsWith(".")) {
                        return true;
                    }
                }
                return false;
            } catch (IOException e) {
                throw new UncheckedIOException("could not look at " + name + ": " + e.getMessage(), e);
            }
        }

        boolean pathExists() {
            try {
                Path p = new Path(name);
                return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        Dataset<Row> read() {
            return spark.read().parquet(name);
        }

        @Override
        void write(Dataset<Row> rows, String mode) {
            SaveMode m = switch (mode) {
                case "overwrite" -> SaveMode.Overwrite;
                case "append", "resume" -> SaveMode.Append;
                default -> SaveMode.ErrorIfExists;
            };
            rows.write().mode(m).parquet(name);
        }

        @Override
        String defaultSummaryPath() {
            String base = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
            return base + ".summary.json";
        }

        @Override
        String describe() {
            return "Parquet " + name;
        }
    }

    static final class CatalogOutput extends OutputTable {
        CatalogOutput(SparkSession spark, String table) {
            super(spark, table);
        }

        @Override
        boolean exists() {
            return spark.catalog().tableExists(name);
        }

        @Override
        Dataset<Row> read() {
            return spark.table(name);
        }

        @Override
        void write(Dataset<Row> rows, String mode) {
            SaveMode m = switch (mode) {
                case "overwrite" -> SaveMode.Overwrite;
                case "append", "resume" -> SaveMode.Append;
                default -> SaveMode.ErrorIfExists;
            };
            rows.write().mode(m).format("parquet").saveAsTable(name);
        }

        @Override
        String defaultSummaryPath() {
            String warehouse = spark.conf().get("spark.sql.warehouse.dir");
            return warehouse.replaceAll("/+$", "") + "/" + name + ".summary.json";
        }

        @Override
        String describe() {
            return "table " + name;
        }
    }

    static final class IcebergOutput extends OutputTable {
        private IcebergOutput(SparkSession spark, String qualified) {
            super(spark, qualified);
        }

        /**
         * Qualifies the table name with the catalog ({@code catalog.namespace.table}; namespace {@code default} when
         * the name has none) and configures a Hadoop Iceberg catalog under that name unless the session has one.
         */
        static IcebergOutput of(SparkSession spark, JobOptions o) {
            String catalog = o.icebergCatalog();
            String[] parts = o.output().split("\\.");
            String qualified;
            if (parts.length >= 3) {
                catalog = parts[0];
                qualified = o.output();
            } else if (parts.length == 2) {
                qualified = catalog + "." + o.output();
            } else {
                qualified = catalog + ".default." + o.output();
            }
            String key = "spark.sql.catalog." + catalog;
            if (!spark.conf().contains(key)) {
                String warehouse = o.icebergWarehouse() != null ? o.icebergWarehouse()
                        : spark.conf().get("spark.sql.warehouse.dir").replaceAll("/+$", "") + "/iceberg";
                spark.conf().set(key, "org.apache.iceberg.spark.SparkCatalog");
                spark.conf().set(key + ".type", "hadoop");
                spark.conf().set(key + ".warehouse", warehouse);
            }
            try {
                Class.forName("org.apache.iceberg.spark.SparkCatalog", false,
                        Thread.currentThread().getContextClassLoader());
            } catch (ClassNotFoundException e) {
                throw new JobException("--output-format iceberg needs the Iceberg runtime on the class path: add "
                        + "--packages org.apache.iceberg:iceberg-spark-runtime-4.1_2.13:<version> (or --jars) to "
                        + "spark-submit");
            }
            return new IcebergOutput(spark, qualified);
        }

        @Override
        boolean exists() {
            return spark.catalog().tableExists(name);
        }

        @Override
        Dataset<Row> read() {
            return spark.table(name);
        }

        @Override
        void write(Dataset<Row> rows, String mode) {
            try {
                boolean exists = exists();
                switch (mode) {
                    case "overwrite" -> rows.writeTo(name).using("iceberg").createOrReplace();
                    case "append", "resume" -> {
                        if (exists) {
                            rows.writeTo(name).append();
                        } else {
                            rows.writeTo(name).using("iceberg").create();
                        }
                    }
                    default -> rows.writeTo(name).using("iceberg").create();
                }
            } catch (Exception e) {
                if (e instanceof RuntimeException r) {
                    throw r;
                }
                throw new JobException("writing Iceberg table " + name + " failed: " + e.getMessage(), e);
            }
        }

        @Override
        String defaultSummaryPath() {
            String warehouse = spark.conf().get("spark.sql.catalog." + name.split("\\.")[0] + ".warehouse",
                    spark.conf().get("spark.sql.warehouse.dir"));
            return warehouse.replaceAll("/+$", "") + "/" + name + ".summary.json";
        }

        @Override
        String describe() {
            return "Iceberg table " + name;
        }
    }
}
