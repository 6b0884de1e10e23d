package org.mixtralspark.engine.fuzz;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.io.gguf.GgufFile;
import org.mixtralspark.engine.io.safetensors.SafetensorsCheckpoint;
import org.mixtralspark.engine.model.GgufConfigs;
import org.mixtralspark.engine.model.HfConfigs;
import org.mixtralspark.engine.tokenizer.GgufTokenizers;
import org.mixtralspark.engine.tokenizer.HfTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The committed seeds are what {@link FuzzSeeds} writes, and valid: a seed the readers refuse would start the
 * fuzzer past nothing.
 */
class FuzzSeedsTest {

    private static Path inputs(String relative) {
        return FuzzSeeds.INPUTS.resolve(relative);
    }

    private static List<Path> files(String relative) throws IOException {
        try (Stream<Path> s = Files.list(inputs(relative))) {
            List<Path> seeds = s.filter(f -> f.getFileName().toString().startsWith("seed-")
                    || f.getFileName().toString().startsWith("seed.")).sorted().toList();
            assertFalse(seeds.isEmpty(), "no seeds in " + relative);
            return seeds;
        }
    }

    @Test
    void ggufSeedsAreAcceptedWholeAndTheirVocabulariesConvert() throws IOException {
        for (Path f : files("GgufFuzzTestInputs/ggufFile")) {
            try (GgufFile g = GgufFile.open(f)) {
                assertTrue(GgufTokenizers.tokenizerJson(g.metadata()).contains("\"vocab\""), f.toString());
                if (g.metadata().containsKey("general.architecture")) {
                    assertEquals(4, GgufConfigs.read(g.metadata(), f).heads(), f.toString());
                }
            }
        }
    }

    @Test
    void safetensorsSeedsAreAccepted(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        for (Path f : files("SafetensorsFuzzTestInputs/safetensorsFile")) {
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(f)) {
                assertEquals(2, c.tensors().size(), f.toString());
            }
        }
        for (Path f : files("SafetensorsFuzzTestInputs/safetensorsIndex")) {
            Files.copy(f, tmp.resolve(SafetensorsCheckpoint.INDEX_FILE));
            FuzzSeeds.smallSafetensors().write(tmp.resolve(FuzzSeeds.SHARD));
            try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(tmp)) {
                assertEquals(2, c.tensors().size(), f.toString());
            }
        }
    }

    @Test
    void modelJsonSeedsAreAccepted(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        for (Path f : files("ModelJsonFuzzTestInputs/configJson")) {
            assertEquals(32, HfConfigs.read(f).heads(), f.toString());
        }
        for (Path f : files("ModelJsonFuzzTestInputs/tokenizerJson")) {
            Files.copy(f, tmp.resolve("tokenizer.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            try (HfTokenizer t = HfTokenizer.load(tmp)) {
                assertEquals(FuzzSeeds.smallTokenizerJson(), Files.readString(f), "the seed is FuzzSeeds' current one");
                assertEquals("hello", t.decode(t.encode("hello", true)));
            }
        }
        for (Path f : files("ModelJsonFuzzTestInputs/tokenizerConfigJson")) {
            Files.copy(f, tmp.resolve("tokenizer_config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            try (HfTokenizer t = HfTokenizer.load(tmp)) {
                assertTrue(t.chatTemplateSource().isPresent(), f.toString());
            }
        }
    }
}
