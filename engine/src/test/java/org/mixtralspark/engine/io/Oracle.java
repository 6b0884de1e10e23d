package org.mixtralspark.engine.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The shared test oracle ({@code ../shared/oracle}, README there). Surefire passes its folder as the system property
 * {@code mixtral.oracle.dir}; where the folder is missing, tests that need it are skipped, saying so.
 */
public final class Oracle {

    private Oracle() {
    }

    /** The oracle folder; skips the calling test when it is absent. */
    public static Path dir() {
        String prop = System.getProperty("mixtral.oracle.dir");
        Assumptions.assumeTrue(prop != null, "system property mixtral.oracle.dir is not set: oracle tests skipped");
        Path dir = Path.of(prop).normalize();
        Assumptions.assumeTrue(Files.isDirectory(dir.resolve("models")),
                "oracle folder " + dir + " (mixtral.oracle.dir) has no models/: oracle tests skipped");
        return dir;
    }

    public static Path models() {
        return dir().resolve("models");
    }

    /** Stems of the GGUF files shipped in {@code models/} that have a {@code references/dequant/<stem>.json}. */
    public static List<String> shippedGgufStems() {
        Path models = models();
        List<String> stems = new ArrayList<>();
        try (Stream<Path> files = Files.list(models)) {
            files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".gguf"))
                    .map(n -> n.substring(0, n.length() - ".gguf".length()))
                    .filter(stem -> Files.isRegularFile(dir().resolve("references/dequant/" + stem + ".json")))
                    .sorted()
                    .forEach(stems::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Assumptions.assumeFalse(stems.isEmpty(), "no GGUF with a dequant reference in " + models);
        return stems;
    }

    /** {@code references/dequant/<stem>.json}. */
    public static JsonNode dequantReference(String stem) {
        return json(dir().resolve("references/dequant/" + stem + ".json"));
    }

    public static JsonNode json(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
