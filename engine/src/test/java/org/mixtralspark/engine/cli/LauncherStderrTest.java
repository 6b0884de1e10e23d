package org.mixtralspark.engine.cli;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The launchers' stderr filter (bin/mixtral, bin/mixtral-spark), run as users run them: each script is copied into a
 * scratch tree beside the empty jar and class-path files it looks for, with {@code JAVA_HOME} pointing at a stand-in
 * {@code java} that writes to stderr what the test asks for. The filter must drop only the JDK's incubator warning:
 * a message holding a NUL byte is shown as it is (grep without --text prints "Binary file (standard input) matches"
 * instead), and a redirected log gets each line while the job still runs (grep without --line-buffered holds lines
 * in a 4 KiB buffer until the process ends).
 */
class LauncherStderrTest {

    private static final Path REPO = Path.of("").toAbsolutePath().getParent();

    /** The stand-in java: mode "nul" writes an error with a NUL byte and exits 2; "slow" writes a line, waits. */
    private static final String FAKE_JAVA = """
            #!/usr/bin/env bash
            printf 'WARNING: Using incubator modules: jdk.incubator.vector\\n' >&2
            if [[ "$FAKE_JAVA_MODE" == nul ]]; then
              printf 'mixtral: error: /models/a\\0b.gguf: not a GGUF file (magic)\\n' >&2
              exit 2
            fi
            printf 'first line of the job log\\n' >&2
            for ((i = 0; i < 1200; i++)); do [[ -f "$FAKE_JAVA_GO" ]] && break; sleep 0.05; done
            printf 'last line of the job log\\n' >&2
            exit 0
            """;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "mixtral-spark"})
    void aMessageWithANulByteIsShownAndTheExitCodeKept(String launcher) throws Exception {
        ProcessBuilder pb = launcher(launcher);
        pb.environment().put("FAKE_JAVA_MODE", "nul");
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        // read to the end: EOF comes once the filter, which holds the pipe too, has written everything
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String text = new String(err, StandardCharsets.ISO_8859_1);
        assertEquals(2, p.exitValue(), text);
        assertTrue(text.contains("mixtral: error: /models/a\0b.gguf: not a GGUF file (magic)\n"), text);
        assertFalse(text.toLowerCase(java.util.Locale.ROOT).contains("binary file"), text);
        assertFalse(text.contains("incubator"), "the JDK's warning is the one line filtered: " + text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "mixtral-spark"})
    void aRedirectedLogGetsEachLineWhileTheJobRuns(String launcher) throws Exception {
        Path log = tmp.resolve("job.log");
        Path go = tmp.resolve("go");
        ProcessBuilder pb = launcher(launcher);
        pb.environment().put("FAKE_JAVA_MODE", "slow");
        pb.environment().put("FAKE_JAVA_GO", go.toString());
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectError(log.toFile());
        Process p = pb.start();
        try {
            // The stand-in java waits (up to a minute) for the go file: whatever the log holds before then was
            // written while the job ran. No timing is measured; 30 s only bounds a failing run.
            boolean seen = false;
            for (int i = 0; i < 600 && !seen; i++) {
                seen = Files.readString(log, StandardCharsets.ISO_8859_1).contains("first line of the job log\n");
                if (!seen) {
                    Thread.sleep(50);
                }
            }
            assertTrue(p.isAlive(), "the stand-in java was still waiting");
            assertTrue(seen, "the first line reached the log while the job ran: "
                    + Files.readString(log, StandardCharsets.ISO_8859_1));
            Files.createFile(go);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }

    /** The launcher copied into a scratch tree with the files it checks for, its java the stand-in. */
    private ProcessBuilder launcher(String name) throws IOException {
        Path root = tmp.resolve("repo");
        Files.createDirectories(root.resolve("bin"));
        Path script = root.resolve("bin").resolve(name);
        Files.copy(REPO.resolve("bin").resolve(name), script);
        executable(script);
        Files.createDirectories(root.resolve("engine/target/lib"));
        Files.createFile(root.resolve("engine/target/mixtral-spark-engine-0.jar"));
        Files.createDirectories(root.resolve("spark-job/target"));
        Files.createFile(root.resolve("spark-job/target/mixtral-spark-job-0.jar"));
        Files.writeString(root.resolve("spark-job/target/local-classpath.txt"), "none");
        Files.createDirectories(root.resolve("conf"));
        Files.writeString(root.resolve("conf/spark-defaults.conf"), "spark.driver.extraJavaOptions -Dx=y\n");
        Path javaHome = tmp.resolve("jdk");
        Files.createDirectories(javaHome.resolve("bin"));
        Path java = javaHome.resolve("bin/java");
        Files.writeString(java, FAKE_JAVA);
        executable(java);
        // mixtral-spark's demo path (no arguments) would make a model: give it a job's flags instead
        ProcessBuilder pb = new ProcessBuilder(List.of(script.toString(), "--input", "in", "--output", "out"));
        pb.environment().put("JAVA_HOME", javaHome.toString());
        return pb;
    }

    private static void executable(Path file) throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
