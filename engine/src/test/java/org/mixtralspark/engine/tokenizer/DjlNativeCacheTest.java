package org.mixtralspark.engine.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where DJL's native library goes. An unusable folder is made by putting it under a regular file: permission bits
 * would not do, since these tests may run as root, for whom every folder is writable.
 */
class DjlNativeCacheTest {

    @TempDir
    Path tmp;

    @Test
    void aUsableFolderIsKept() {
        Path djl = tmp.resolve("home/.djl.ai/tokenizers");
        assertNull(DjlNativeCache.chooseEngineCacheRoot(djl, false, tmp.resolve("fallback")));
        assertTrue(Files.isDirectory(djl), "the folder is created up front");
    }

    @Test
    void anUnwritableHomeFallsBackToTheTempFolder() throws Exception {
        Path homeIsAFile = Files.writeString(tmp.resolve("home"), "not a folder");
        Path djl = homeIsAFile.resolve(".djl.ai/tokenizers");
        Path fallback = tmp.resolve("mixtral-spark-djl-test");
        assertEquals(fallback, DjlNativeCache.chooseEngineCacheRoot(djl, false, fallback));
        assertTrue(Files.isDirectory(fallback.resolve("tokenizers")));
    }

    @Test
    void anUnusableEnvironmentChoiceIsReportedNotOverridden() throws Exception {
        Path file = Files.writeString(tmp.resolve("f"), "x");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> DjlNativeCache.chooseEngineCacheRoot(file.resolve("tokenizers"), true, tmp.resolve("fb")));
        assertTrue(e.getMessage().contains("ENGINE_CACHE_DIR"), e.getMessage());
    }

    @Test
    void whenNothingIsUsableTheMessageSaysWhatToSet() throws Exception {
        Path file = Files.writeString(tmp.resolve("f"), "x");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> DjlNativeCache.chooseEngineCacheRoot(file.resolve("a"), false, file.resolve("b")));
        assertTrue(e.getMessage().contains("DJL_CACHE_DIR"), e.getMessage());
    }
}
