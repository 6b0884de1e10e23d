package org.mixtralspark.job.it;

import org.apache.spark.launcher.JavaModuleOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real Spark standalone cluster on 127.0.0.1 from Maven jars (shared/notes/spark-standalone-from-maven.md): a
 * SPARK_HOME assembled by {@code spark-job/src/it/spark-home/pom.xml}, a Master and N Workers in their own JVMs on
 * free ports, executors launched by the Workers. {@link #close()} stops every process this class started, and their
 * children (the executors), also when the test failed; a shutdown hook does the same if the test JVM is killed.
 */
final class StandaloneCluster implements AutoCloseable {

    /** C1 only and the serial collector halve the daemons' CPU on two cores (the notes' measurement). Not for
     *  executors: C1 does not compile the Vector API's intrinsics, and the engine runs there. */
    static final List<String> FAST_START = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    private final Path sparkHome;
    private final Path runDir;
    private final List<Process> processes = new ArrayList<>();
    private final Thread hook = new Thread(this::stopAll, "stop-standalone-cluster");
    private String masterUrl;
    private final List<Process> workers = new ArrayList<>();

    StandaloneCluster(Path sparkHome, Path runDir) {
        this.sparkHome = sparkHome;
        this.runDir = runDir;
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Assembles SPARK_HOME under {@code dest} unless its jars are there: {@code jars/} from Maven, {@code conf/} with
     * the project's log4j2.properties, and the launcher's scala-2.13 fallback folder (gotcha 1).
     */
    static Path assembleSparkHome(Path repoRoot, Path dest) throws Exception {
        Path jars = dest.resolve("jars");
        boolean ready = Files.isDirectory(jars);
        if (ready) {
            try (Stream<Path> s = Files.list(jars)) {
                List<String> names = s.map(p -> p.getFileName().toString()).toList();
                ready = names.contains("spark-core_2.13-" + System.getProperty("mixtral.sparkVersion", "4.1.3")
                        + ".jar") && names.stream().anyMatch(n -> n.startsWith("iceberg-spark"));
            }
        }
        if (!ready) {
            List<String> cmd = List.of(repoRoot.resolve("mvnw").toString(), "-B", "-q", "-f",
                    repoRoot.resolve("spark-job/src/it/spark-home/pom.xml").toString(),
                    "-Dspark.version=" + System.getProperty("mixtral.sparkVersion", "4.1.3"),
                    "-Diceberg.version=" + System.getProperty("mixtral.icebergVersion", "1.12.0"),
                    "dependency:copy-dependencies", "-DoutputDirectory=" + jars);
            Process p = new ProcessBuilder(cmd).directory(repoRoot.toFile()).inheritIO().start();
            if (p.waitFor() != 0) {
                throw new IllegalStateException("assembling SPARK_HOME failed: " + cmd);
            }
        }
        Files.createDirectories(dest.resolve("conf"));
        Files.createDirectories(dest.resolve("launcher/target/scala-2.13"));
        Files.copy(repoRoot.resolve("conf/log4j2.properties"), dest.resolve("conf/log4j2.properties"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return dest;
    }

    /** JVM options Spark 4.1 needs on any JVM it runs in (what spark-class would add). */
    static List<String> moduleOptions() {
        return Arrays.asList(JavaModuleOptions.defaultModuleOptions().split("\\s+"));
    }

    String masterUrl() {
        return masterUrl;
    }

    List<Process> workers() {
        return workers;
    }

    Path sparkHome() {
        return sparkHome;
    }

    void start(int workerCount, int coresPerWorker, String memoryPerWorker) throws Exception {
        Files.createDirectories(runDir);
        Path masterLog = runDir.resolve("master.log");
        processes.add(daemon(masterLog, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                "--port", "0", "--webui-port", "0"));
        String started = waitForLine(masterLog, Pattern.compile("Starting Spark master at (spark://\\S+)"),
                Duration.ofSeconds(90));
        masterUrl = started;
        waitForLine(masterLog, Pattern.compile("(I have been elected leader)"), Duration.ofSeconds(60));
        for (int i = 1; i <= workerCount; i++) {
            Path log = runDir.resolve("worker-" + i + ".log");
            Process w = daemon(log, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                    "--webui-port", "0", "--cores", Integer.toString(coresPerWorker), "--memory", memoryPerWorker,
                    "--work-dir", runDir.resolve("work-" + i).toString(), masterUrl);
            processes.add(w);
            workers.add(w);
        }
        for (int i = 1; i <= workerCount; i++) {
            waitForLine(runDir.resolve("worker-" + i + ".log"), Pattern.compile("(Successfully registered with master)"),
                    Duration.ofSeconds(90));
        }
    }

    /**
     * One more Worker, on another loopback address (e.g. 127.0.0.2): to Spark another host, which speculation needs
     * (it never runs a speculative copy on the host of the running attempt). Its executors bind to that address.
     */
    void addWorker(String host, int cores, String memory) throws Exception {
        int i = workers.size() + 1;
        Path log = runDir.resolve("worker-" + i + ".log");
        Process w = daemon(log, Map.of("SPARK_LOCAL_IP", host), "org.apache.spark.deploy.worker.Worker",
                "--host", host, "--webui-port", "0", "--cores", Integer.toString(cores), "--memory", memory,
                "--work-dir", runDir.resolve("work-" + i).toString(), masterUrl);
        processes.add(w);
        workers.add(w);
        waitForLine(log, Pattern.compile("(Successfully registered with master)"), Duration.ofSeconds(90));
    }

    private Process daemon(Path log, String mainClass, String... args) throws IOException {
        return daemon(log, Map.of(), mainClass, args);
    }

    private Process daemon(Path log, Map<String, String> env, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBin());
        cmd.add("-Xmx256m");
        cmd.addAll(FAST_START);
        cmd.addAll(moduleOptions());
        cmd.add("-Dspark.master.rest.enabled=false");
        cmd.add("-cp");
        cmd.add(sparkHome.resolve("conf") + ":" + sparkHome.resolve("jars") + "/*");
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(sparkHome.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        environment(pb.environment());
        pb.environment().putAll(env);
        return pb.start();
    }

    /** The environment every Spark JVM here gets (SPARK_HOME absolute, Scala version, loopback). */
    void environment(Map<String, String> env) {
        env.put("SPARK_HOME", sparkHome.toAbsolutePath().toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("JAVA_HOME", System.getProperty("java.home"));
    }

    /** Starts a process that this cluster will stop with the others. */
    Process track(Process p) {
        processes.add(p);
        return p;
    }

    static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static String waitForLine(Path log, Pattern p, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                Matcher m = p.matcher(Files.readString(log));
                if (m.find()) {
                    return m.group(1);
                }
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("no line matching " + p + " in " + log + " after " + timeout + ":\n"
                + tail(log, 40));
    }

    static String tail(Path file, int lines) {
        try {
            if (!Files.exists(file)) {
                return "(no " + file + ")";
            }
            List<String> all = Files.readAllLines(file);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Executor stderr files the Workers wrote, for a failure report. */
    String executorLogs(int lines) throws IOException {
        StringBuilder sb = new StringBuilder();
        if (!Files.isDirectory(runDir)) {
            return "";
        }
        try (Stream<Path> s = Files.walk(runDir)) {
            for (Path p : s.filter(f -> f.getFileName().toString().equals("stderr")).sorted().toList()) {
                sb.append("==== ").append(p).append('\n').append(tail(p, lines)).append('\n');
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // The hook is running already.
        }
    }

    /** SIGTERM to the newest processes first (drivers, then Workers, then the Master), then force, children too. */
    private synchronized void stopAll() {
        List<Process> reversed = new ArrayList<>(processes);
        java.util.Collections.reverse(reversed);
        List<ProcessHandle> all = new ArrayList<>();
        for (Process p : reversed) {
            p.descendants().forEach(all::add);
            all.add(p.toHandle());
        }
        for (Process p : reversed) {
            p.destroy();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        for (ProcessHandle h : all) {
            try {
                long left = Math.max(1, deadline - System.nanoTime());
                h.onExit().get(left, java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (Exception timeout) {
                h.destroyForcibly();
            }
        }
        for (ProcessHandle h : all) {
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
        processes.clear();
    }
}
