package org.mixtralspark.job;

import org.apache.spark.sql.SparkSession;

import java.util.Map;

/**
 * The main class for {@code spark-submit} (and {@code bin/mixtral-spark}, which runs it in local mode). Exit codes:
 * 0 = the output is written (error rows are part of the output, counted in the summary); 1 = the job failed;
 * 2 = bad options or input schema, nothing run.
 */
public final class MixtralSparkJob {

    private MixtralSparkJob() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the job and returns its exit code. */
    public static int run(String... args) {
        JobOptions o;
        try {
            o = JobOptions.parse(args);
        } catch (JobOptions.UsageException e) {
            if (e.getMessage() != null) {
                System.err.println("mixtral-spark: error: " + e.getMessage());
            }
            if (e.usage() != null) {
                System.err.print(e.usage());
            }
            return e.getMessage() == null ? 0 : 2;
        } catch (RuntimeException e) {
            System.err.println("mixtral-spark: error: " + e.getMessage());
            return 2;
        }
        SparkSession.Builder b = SparkSession.builder().appName(o.appName());
        if (o.master() != null) {
            b.master(o.master());
        }
        for (Map.Entry<String, String> c : o.confs().entrySet()) {
            b.config(c.getKey(), c.getValue());
        }
        SparkSession spark = b.getOrCreate();
        try {
            JobSummary s = JobRunner.run(spark, o);
            System.out.println(s.toJson());
            return 0;
        } catch (JobException e) {
            System.err.println("mixtral-spark: error: " + e.getMessage());
            return e.getCause() instanceof IllegalArgumentException ? 2 : 1;
        } catch (RuntimeException e) {
            System.err.println("mixtral-spark: the job failed: " + e);
            e.printStackTrace();
            return 1;
        } finally {
            spark.stop();
        }
    }
}
