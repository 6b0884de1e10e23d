package org.mixtralspark.engine.tokenizer;

import ai.djl.util.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Makes sure DJL's HuggingFace tokenizers can extract their native library before the first tokenizer is built.
 *
 * <p>DJL ships {@code libtokenizers} inside its jar and copies it, on first use in a JVM, into
 * {@code ai.djl.util.Utils.getEngineCacheDir("tokenizers")}: {@code $ENGINE_CACHE_DIR}, else {@code $DJL_CACHE_DIR},
 * else {@code ~/.djl.ai} (each an environment variable or a system property). On a Spark executor the home folder is
 * often missing or read-only, and DJL then fails with an extraction error that says nothing about why. So when that
 * folder cannot be created or written, the system property {@code ENGINE_CACHE_DIR} is pointed at
 * {@code ${java.io.tmpdir}/mixtral-spark-djl-${user.name}} and a warning says so. An explicit
 * {@code ENGINE_CACHE_DIR} <em>environment variable</em> wins over any system property in DJL, so it is left alone.
 *
 * <p>Also sets {@code OPT_OUT_TRACKING=true} (as a system property, unless the environment or a property already
 * decides): DJL otherwise probes the EC2 metadata service and sends a telemetry request when a tokenizer is created,
 * which a batch job on a cluster has no business doing.
 */
final class DjlNativeCache {

    private static final Logger LOG = LoggerFactory.getLogger(DjlNativeCache.class);
    static final String ENGINE_CACHE_DIR = "ENGINE_CACHE_DIR";

    private static boolean prepared;

    private DjlNativeCache() {
    }

    /** Idempotent; call before the first {@code HuggingFaceTokenizer.newInstance} in this JVM. */
    static synchronized void prepare() {
        if (prepared) {
            return;
        }
        if (System.getenv("OPT_OUT_TRACKING") == null && System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
        Path djlChoice = Utils.getEngineCacheDir("tokenizers");
        Path fallbackRoot = Path.of(System.getProperty("java.io.tmpdir"),
                "mixtral-spark-djl-" + System.getProperty("user.name", "user"));
        boolean envPinned = System.getenv(ENGINE_CACHE_DIR) != null;
        Path chosenRoot = chooseEngineCacheRoot(djlChoice, envPinned, fallbackRoot);
        if (chosenRoot != null) {
            System.setProperty(ENGINE_CACHE_DIR, chosenRoot.toString());
            LOG.warn("DJL tokenizers cache folder {} cannot be created or written; extracting the native library "
                    + "under {} instead (set DJL_CACHE_DIR or ENGINE_CACHE_DIR to choose)", djlChoice, chosenRoot);
        }
        prepared = true;
    }

    /**
     * The engine cache root to set as {@code ENGINE_CACHE_DIR}, or null to keep DJL's own choice.
     *
     * @param djlChoice    where DJL would extract: {@code <engine cache root>/tokenizers}
     * @param envPinned    whether {@code ENGINE_CACHE_DIR} is set in the environment (then it cannot be overridden)
     * @param fallbackRoot the root to use instead
     * @throws IllegalStateException when neither place is usable, naming both and the variables that fix it
     */
    static Path chooseEngineCacheRoot(Path djlChoice, boolean envPinned, Path fallbackRoot) {
        if (usable(djlChoice)) {
            return null;
        }
        if (envPinned) {
            throw new IllegalStateException("DJL tokenizers cache folder " + djlChoice
                    + " (from the ENGINE_CACHE_DIR environment variable) cannot be created or written");
        }
        if (!usable(fallbackRoot.resolve("tokenizers"))) {
            throw new IllegalStateException("neither " + djlChoice + " nor " + fallbackRoot.resolve("tokenizers")
                    + " can be created or written for DJL's tokenizers native library;"
                    + " set DJL_CACHE_DIR or ENGINE_CACHE_DIR to a writable folder");
        }
        return fallbackRoot;
    }

    /** Whether the folder exists (creating it if needed) and can be written. */
    private static boolean usable(Path dir) {
        try {
            Files.createDirectories(dir);
            return Files.isDirectory(dir) && Files.isWritable(dir);
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            return false;
        }
    }
}
