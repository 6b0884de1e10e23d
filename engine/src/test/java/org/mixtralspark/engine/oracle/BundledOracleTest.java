package org.mixtralspark.engine.oracle;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The oracle subset bundled with the tests (src/test/resources/oracle, PROVENANCE.md there) is what it says it is:
 * every file listed with its sha256, the model files with the sha256 of the oracle's own manifest, nothing else, and,
 * where ../shared/oracle is present, the same bytes as there.
 */
class BundledOracleTest {

    @BeforeEach
    void bundleNotLeftOut() {
        Assumptions.assumeFalse(System.getProperty("mixtral.oracle.bundle", "true").equals("false"),
                "oracle: the bundle is left out (-Dmixtral.oracle.bundle=false)");
    }

    /** The repository carries the bundle: keep it small (PROVENANCE.md says why each file is there). */
    private static final long MAX_BYTES = 30_000_000;

    @Test
    void everyBundledFileHasItsListedSha256AndNothingElseIsThere() throws Exception {
        Path bundle = Oracle.bundleDir();
        assertNotNull(bundle, Oracle.BUNDLE_LIST + " is not on the test class path");
        Map<String, String> listed = Oracle.bundledFiles();
        assertFalse(listed.isEmpty());
        long bytes = 0;
        for (Map.Entry<String, String> e : listed.entrySet()) {
            Path f = bundle.resolve(e.getKey());
            assertTrue(Files.isRegularFile(f), "listed but missing: " + e.getKey());
            assertEquals(e.getValue(), sha256(f), e.getKey());
            bytes += Files.size(f);
        }
        assertTrue(bytes <= MAX_BYTES, "the bundle holds " + bytes + " bytes, more than " + MAX_BYTES);

        Set<String> present = new TreeSet<>();
        try (Stream<Path> files = Files.walk(bundle)) {
            files.filter(Files::isRegularFile).map(p -> bundle.relativize(p).toString().replace('\\', '/'))
                    .forEach(present::add);
        }
        present.removeAll(Set.of("BUNDLED.sha256", "PROVENANCE.md", ".gitattributes"));
        assertEquals(new TreeSet<>(listed.keySet()), present, "files in the bundle = files BUNDLED.sha256 lists");
    }

    @Test
    void bundledModelFilesAreTheOnesTheOracleManifestNames() {
        Map<String, String> manifest = Oracle.readSums(Oracle.bundleDir().resolve("models/MANIFEST.sha256"), "models/");
        List<String> models = new ArrayList<>();
        Oracle.bundledFiles().forEach((path, sha) -> {
            if (path.startsWith("models/") && !path.startsWith("models/MANIFEST.")) {
                assertEquals(manifest.get(path), sha, path + " against the oracle's models/MANIFEST.sha256");
                models.add(path);
            }
        });
        // one file of each format family: GGUF Q8_0, GGUF K-quant, HF safetensors
        assertTrue(models.contains("models/mini-mistral-q8_0.gguf"), models.toString());
        assertTrue(models.contains("models/kquant-q4_k_m.gguf"), models.toString());
        assertTrue(models.contains("models/kquant-hf-bf16/model.safetensors"), models.toString());
    }

    @Test
    void bundledFilesAreByteIdenticalToTheSharedOracle() throws IOException {
        Path shared = Oracle.sharedDir();
        Assumptions.assumeTrue(shared != null, "oracle: no ../shared/oracle to compare the bundle with");
        List<String> differ = new ArrayList<>();
        for (String path : Oracle.bundledFiles().keySet()) {
            Path theirs = shared.resolve(path);
            assertTrue(Files.isRegularFile(theirs), "bundled but not in " + shared + ": " + path);
            if (Files.mismatch(Oracle.bundleDir().resolve(path), theirs) != -1) {
                differ.add(path);
            }
        }
        assertEquals(List.of(), differ, "bundled files that differ from " + shared);
    }

    @Test
    void aFileNeitherPlaceHasSkipsAndAPartialFolderIsNotAModel() {
        assertFalse(Oracle.has("models/no-such-model.gguf"));
        try {
            Oracle.file("models/no-such-model.gguf");
            throw new AssertionError("a missing oracle file must abort the test");
        } catch (org.opentest4j.TestAbortedException expected) {
            assertTrue(expected.getMessage().contains("models/no-such-model.gguf"), expected.getMessage());
        }
        if (Oracle.sharedDir() == null) {
            // the bundle has mini-mistral-hf's tokenizer but not its weights
            assertTrue(Oracle.has("models/mini-mistral-hf/tokenizer.json"));
            assertFalse(Oracle.has("models/mini-mistral-hf"), "a partly bundled folder is not a model");
            assertTrue(Oracle.has("models/kquant-hf-bf16"), "a wholly bundled folder is");
        }
    }

    private static String sha256(Path f) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(f)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
