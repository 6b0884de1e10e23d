package org.mixtralspark.job;

import org.apache.spark.sql.SparkSession;

import java.util.Map;

/**
 * The main class for {@code spark-submit} (and {@code bin/mixtral-spark}, which runs it in local mode). Exit codes:
 * 0 = the output is written (error rows are part of the output, counted in the summary); 1 = the job failed;
 * 2 = bad options or input schema, nothing run.
 */
public final class MixtralSparkJob {

    /** System property that adds the stack trace to a failure's one error line. */
    static final String DEBUG = "mixtral.debug";

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
        String error = null;
        int code = 0;
        Throwable trace = null;
        SparkSession spark = null;
        try {
            SparkSession.Builder b = SparkSession.builder().appName(o.appName());
            if (o.master() != null) {
                b.master(o.master());
            }
            for (Map.Entry<String, String> c : o.confs().entrySet()) {
                b.config(c.getKey(), c.getValue());
            }
            spark = b.getOrCreate();
            JobSummary s = JobRunner.run(spark, o);
            System.out.println(s.toJson());
        } catch (JobException e) {
            error = e.getMessage();
            code = e.getCause() instanceof IllegalArgumentException ? 2 : 1;
            trace = e;
        } catch (RuntimeException | Error e) {
            error = "the job failed: " + oneLine(e) + (Boolean.getBoolean(DEBUG) ? ""
                    : " (the stack trace: run with -D" + DEBUG + "=true, e.g. in spark.driver.extraJavaOptions)");
            code = 1;
            trace = e;
        } finally {
            if (spark != null) {
                spark.stop();
            }
        }
        if (error != null) {
            // The trace only on request; the one error line comes last, after Spark's own shutdown logging.
            if (Boolean.getBoolean(DEBUG)) {
                trace.printStackTrace();
            }
            System.err.println("mixtral-spark: error: " + error);
        }
        return code;
    }

    /** The exception and its causes' messages on one line (Spark's can span many). */
    private static String oneLine(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null && sb.length() < 2000; t = t.getCause() == t ? null : t.getCause()) {
            if (sb.length() > 0) {
                sb.append(": caused by ");
            }
            String m = t.getMessage();
            sb.append(t.getClass().getSimpleName()).append(m == null ? "" : " " + m.lines().findFirst().orElse(""));
        }
        return sb.toString();
    }
}
