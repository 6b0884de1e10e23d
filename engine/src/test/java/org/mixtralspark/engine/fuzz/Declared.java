package org.mixtralspark.engine.fuzz;

import org.mixtralspark.engine.io.ModelFormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Predicate;

/**
 * The property every fuzz target checks: reading a hostile input ends normally or with one of our declared
 * exceptions, and that exception says where the problem is. Anything else (another exception, an Error such as
 * OutOfMemoryError or StackOverflowError, a message that names neither the file nor the key) is thrown on as an
 * {@link AssertionError}, which Jazzer reports as a finding and JUnit as a failure.
 */
final class Declared {

    /** One folder per fuzzing JVM: each input is written to the same few file names in it. */
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("mixtral-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        DIR.toFile().deleteOnExit();
    }

    private Declared() {
    }

    /** {@code bytes} written to {@code name} in the fuzzing folder (a sub-folder when the name has a slash). */
    static Path write(String name, byte[] bytes) {
        Path file = DIR.resolve(name);
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        file.toFile().deleteOnExit();
        return file;
    }

    static Path folder(String name) {
        Path dir = DIR.resolve(name);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        dir.toFile().deleteOnExit();
        return dir;
    }

    /**
     * Runs {@code read}; a {@link ModelFormatException} must start with {@code file} (or satisfy
     * {@code namesTheProblem}, when another file may be at fault: a shard the index names), an
     * {@link IllegalArgumentException} must satisfy {@code namesTheProblem}.
     */
    static void run(Path file, Predicate<String> namesTheProblem, Runnable read) {
        try {
            read.run();
        } catch (ModelFormatException e) {
            if (e.getMessage() == null || !(e.getMessage().startsWith(file + ": ") || namesTheProblem.test(e.getMessage()))) {
                throw new AssertionError("a ModelFormatException that does not start with the file " + file, e);
            }
        } catch (IllegalArgumentException e) {
            if (e.getMessage() == null || !namesTheProblem.test(e.getMessage())) {
                throw new AssertionError("an IllegalArgumentException that names neither the file nor the key", e);
            }
        } catch (RuntimeException e) {
            throw new AssertionError("an undeclared exception: " + e, e);
        } catch (StackOverflowError | OutOfMemoryError e) {
            throw new AssertionError("an Error: " + e, e);
        }
    }

    /** For errors about a file: the message starts with it. */
    static Predicate<String> startsWith(Path file) {
        return m -> m.startsWith(file + ": ") || m.startsWith(file.toString());
    }
}
