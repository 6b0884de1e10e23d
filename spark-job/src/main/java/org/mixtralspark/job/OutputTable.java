package org.mixtralspark.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Where the generations go: a Parquet folder, a catalog table ({@code saveAsTable}) or an Iceberg table (a Hadoop
 * catalog in a warehouse folder unless the session already configures one).
 * <p>
 * Exactly once under process faults: a run first takes the output's {@link OutputLock} (a second run on the same
 * output fails), then removes what a killed run left (staging folders, Hadoop's {@code _temporary}) instead of letting
 * a committer merge it, and publishes only what a whole Spark write committed. How each format publishes is in its
 * class; the README's "Exactly once" section says what is promised where.
 */
abstract class OutputTable {

    private static final Logger LOG = LoggerFactory.getLogger(OutputTable.class);

    /** Where a run's hidden working files live (a leading underscore: Spark and Hadoop readers skip the folder). */
    static final String WORK = "_mixtral";

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

    /** The output's rows, published ones only; only when {@link #exists()}. */
    abstract Dataset<Row> read();

    /** The lock file that keeps two runs off this output. */
    abstract Path lockPath();

    /** Takes this output's lock for run {@code runId}; throws {@link JobException} if another run holds it. */
    OutputLock lock(String runId, boolean breakLock) {
        return OutputLock.acquire(hadoopConf(), lockPath(), runId, describe(), breakLock);
    }

    /** Called, lock still held, when the run ends: undoes what a run that published nothing made. */
    void discardIfUnpublished() {
    }

    /** Removes what killed runs left behind; called with the lock held, so no live run owns any of it. */
    abstract void removeLeftovers();

    /**
     * Writes {@code rows}: {@code append} and {@code resume} add to an existing output, the other modes create or
     * replace it. Publishes only if {@code lock} is still held once the rows are written.
     */
    abstract void write(Dataset<Row> rows, String mode, OutputLock lock);

    /** Where the summary goes by default. */
    abstract String defaultSummaryPath();

    /** A readable name for logs. */
    abstract String describe();

    Configuration hadoopConf() {
        return spark.sparkContext().hadoopConfiguration();
    }

    /** Deletes {@code p} (recursively) if it is there; says whether it was. */
    boolean deleteIfPresent(Path p) {
        try {
            FileSystem fs = p.getFileSystem(hadoopConf());
            if (!fs.exists(p)) {
                return false;
            }
            LOG.warn("removing {} left by a run that did not finish (never merged into the output)", p);
            fs.delete(p, true);
            return true;
        } catch (IOException e) {
            throw new JobException("cannot remove the leftover " + p + ": " + e.getMessage(), e);
        }
    }

    /** The lock of a table: {@code <folder>/_mixtral/<table>.lock}, in a folder every run on the table shares. */
    Path tableLockPath(String folder) {
        return new Path(folder.replaceAll("/+$", "") + "/" + WORK + "/" + name.replaceAll("[^A-Za-z0-9._-]", "_")
                + ".lock");
    }

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

    /**
     * A Parquet folder. Each run writes into its own hidden {@code <output>/_mixtral/staging/<run-id>/} (Spark's
     * committer and its {@code _temporary} stay in there), and only after that write committed is the folder
     * published, by one rename, as {@code <output>/run_id=<run-id>/}: a reader (or a resume) sees all of a run or
     * none of it. The folder name is a Hive-style partition, the one sub-folder layout every Parquet reader takes
     * (Spark, pyarrow, DuckDB, Trino): readers see a {@code run_id} column naming the run that wrote each row.
     * {@code overwrite} first moves the older entries aside into the hidden {@code _mixtral/replaced/}, so a reader
     * never sees old and new rows together (between the renames it sees fewer).
     */
    static final class ParquetOutput extends OutputTable {
        static final String RUN_PARTITION = "run_id=";
        /** Part files an earlier version of the job wrote straight into the folder are moved here, once. */
        static final String LEGACY = RUN_PARTITION + "legacy";

        private boolean createdRoot;

        ParquetOutput(SparkSession spark, String path) {
            super(spark, path);
        }

        private Path root() {
            return new Path(name);
        }

        private FileSystem fs() {
            try {
                return root().getFileSystem(hadoopConf());
            } catch (IOException e) {
                throw new JobException("--output " + name + ": " + e.getMessage(), e);
            }
        }

        @Override
        boolean exists() {
            try {
                Path p = root();
                FileSystem fs = fs();
                if (!fs.exists(p)) {
                    return false;
                }
                if (!fs.getFileStatus(p).isDirectory()) {
                    return true;
                }
                return !published(fs).isEmpty();
            } catch (IOException e) {
                throw new UncheckedIOException("could not look at " + name + ": " + e.getMessage(), e);
            }
        }

        /** The entries readers see: not hidden (a leading {@code _} or {@code .}), as Spark and Hadoop list them. */
        private java.util.List<FileStatus> published(FileSystem fs) throws IOException {
            java.util.List<FileStatus> visible = new java.util.ArrayList<>();
            for (FileStatus s : fs.listStatus(root())) {
                String n = s.getPath().getName();
                if (!n.startsWith("_") && !n.startsWith(".")) {
                    visible.add(s);
                }
            }
            return visible;
        }

        /** A plain file at the output path: no folder can be made there. */
        boolean isFile() {
            try {
                FileSystem fs = fs();
                return fs.exists(root()) && !fs.getFileStatus(root()).isDirectory();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        Path lockPath() {
            return new Path(root(), WORK + "/lock");
        }

        @Override
        OutputLock lock(String runId, boolean breakLock) {
            if (isFile()) {
                throw new JobException("--output " + name + " is a file, not a folder: choose a folder path");
            }
            try {
                createdRoot = !fs().exists(root());
                if (!fs().mkdirs(new Path(root(), WORK))) {
                    throw new IOException("mkdirs failed");
                }
            } catch (IOException e) {
                throw new JobException("--output " + name + ": cannot create the folder (" + e.getMessage() + ")", e);
            }
            return super.lock(runId, breakLock);
        }

        /** A run that failed before publishing leaves no trace of a folder it created (lock file included). */
        @Override
        void discardIfUnpublished() {
            try {
                FileSystem fs = fs();
                if (createdRoot && fs.exists(root()) && published(fs).isEmpty()) {
                    fs.delete(root(), true);
                }
            } catch (IOException e) {
                LOG.warn("could not remove the unused output folder {}: {}", name, e.getMessage());
            }
        }

        @Override
        void removeLeftovers() {
            deleteIfPresent(new Path(root(), WORK + "/staging"));
            deleteIfPresent(new Path(root(), WORK + "/replaced"));
            // Written in place by an earlier version of the job, or by a plain Spark write that died.
            deleteIfPresent(new Path(root(), "_temporary"));
            moveLegacyFiles();
        }

        /**
         * Files of an earlier version of the job lie in the folder itself; beside partition folders Spark would refuse
         * to read them ("conflicting directory structures"), so they move into {@code run_id=legacy/}. Under the lock;
         * if this is killed half-way, the next run moves the rest.
         */
        private void moveLegacyFiles() {
            try {
                FileSystem fs = fs();
                if (!fs.exists(root())) {
                    return;
                }
                Path legacy = new Path(root(), LEGACY);
                for (FileStatus s : published(fs)) {
                    if (s.isFile()) {
                        fs.mkdirs(legacy);
                        rename(fs, s.getPath(), new Path(legacy, s.getPath().getName()));
                    }
                }
            } catch (IOException e) {
                throw new JobException("--output " + name + ": moving the files of an earlier run into " + LEGACY
                        + " failed: " + e.getMessage(), e);
            }
        }

        @Override
        Dataset<Row> read() {
            return spark.read().parquet(name);
        }

        @Override
        void write(Dataset<Row> rows, String mode, OutputLock lock) {
            Path staged = new Path(root(), WORK + "/staging/" + lock.runId());
            rows.write().mode(SaveMode.ErrorIfExists).parquet(staged.toString());
            lock.checkHeld();
            try {
                FileSystem fs = fs();
                if (mode.equals("overwrite")) {
                    Path aside = new Path(root(), WORK + "/replaced/" + lock.runId());
                    fs.mkdirs(aside);
                    for (FileStatus s : published(fs)) {
                        rename(fs, s.getPath(), new Path(aside, s.getPath().getName()));
                    }
                }
                rename(fs, staged, new Path(root(), RUN_PARTITION + lock.runId()));
                if (mode.equals("overwrite")) {
                    fs.delete(new Path(root(), WORK + "/replaced"), true);
                }
            } catch (IOException e) {
                throw new JobException("publishing the run " + lock.runId() + " in " + name + " failed: "
                        + e.getMessage(), e);
            }
        }

        private static void rename(FileSystem fs, Path from, Path to) throws IOException {
            if (!fs.rename(from, to)) {
                throw new IOException("rename " + from + " -> " + to + " failed");
            }
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
        Path lockPath() {
            return tableLockPath(spark.conf().get("spark.sql.warehouse.dir"));
        }

        /**
         * Spark's committer writes in the table's folder: a killed run leaves {@code _temporary} there, whose committed
         * task folders the next job commit would merge (rows twice). A killed first run leaves a folder without a
         * table, which saveAsTable refuses. Both are removed here.
         */
        @Override
        void removeLeftovers() {
            Path location = location();
            if (location == null) {
                return;
            }
            deleteIfPresent(new Path(location, "_temporary"));
            if (!exists()) {
                try {
                    FileSystem fs = location.getFileSystem(hadoopConf());
                    if (fs.exists(location) && java.util.Arrays.stream(fs.listStatus(location)).allMatch(
                            s -> s.getPath().getName().startsWith("_") || s.getPath().getName().startsWith("."))) {
                        deleteIfPresent(location);
                    }
                } catch (IOException e) {
                    throw new JobException("cannot look at " + location + ": " + e.getMessage(), e);
                }
            }
        }

        /** The table's folder: from the catalog when the table exists, else where saveAsTable will put it. */
        private Path location() {
            try {
                var id = spark.sessionState().sqlParser().parseTableIdentifier(name);
                var catalog = spark.sessionState().catalog();
                java.net.URI uri = catalog.tableExists(id) ? catalog.getTableMetadata(id).location()
                        : catalog.defaultTablePath(id);
                return new Path(uri);
            } catch (Exception e) {
                LOG.warn("cannot find the folder of table {} ({}); leftovers of killed runs are not checked", name,
                        e.getMessage());
                return null;
            }
        }

        /**
         * Spark's own committer (FileOutputCommitter v1): part files appear in the table folder one rename each at job
         * commit, so a run killed while committing leaves some of its files, each whole; {@code resume} then writes
         * exactly the rest, but {@code append} would not know. The README says so.
         */
        @Override
        void write(Dataset<Row> rows, String mode, OutputLock lock) {
            SaveMode m = switch (mode) {
                case "overwrite" -> SaveMode.Overwrite;
                case "append", "resume" -> SaveMode.Append;
                default -> SaveMode.ErrorIfExists;
            };
            lock.checkHeld();
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

        /** In the catalog's warehouse when it is a folder we know, else in Spark's warehouse folder. */
        @Override
        Path lockPath() {
            String warehouse = spark.conf().get("spark.sql.catalog." + name.split("\\.")[0] + ".warehouse",
                    spark.conf().get("spark.sql.warehouse.dir"));
            return tableLockPath(warehouse);
        }

        /** An Iceberg commit is atomic: a killed run's data files are never part of a snapshot. Nothing to remove. */
        @Override
        void removeLeftovers() {
        }

        @Override
        void write(Dataset<Row> rows, String mode, OutputLock lock) {
            lock.checkHeld();
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
