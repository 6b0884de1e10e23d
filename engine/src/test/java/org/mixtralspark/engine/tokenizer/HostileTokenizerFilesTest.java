package org.mixtralspark.engine.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.io.ModelFormatException;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * tokenizer.json and tokenizer_config.json as a hostile model folder could have them: every problem is an exception
 * naming the file (and the key where there is one), on one line; none is an OutOfMemoryError or an index error.
 */
class HostileTokenizerFilesTest {

    @TempDir
    Path tmp;

    private static final String TINY = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2},"
            + " \"merges\": []}, \"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true,"
            + " \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false}]}";

    @Test
    void theBaseTokenizerLoads() throws Exception {
        Files.writeString(tmp.resolve("tokenizer.json"), TINY);
        try (HfTokenizer t = HfTokenizer.load(tmp)) {
            assertTrue(t.vocabSize() == 3);
        }
    }

    @Test
    void aTokenizerFileThatNeverEndsIsRefusedAtItsSizeLimit() throws Exception {
        // The OutOfMemoryError: the whole file was read, however long.
        Path link = Files.createSymbolicLink(tmp.resolve("tokenizer.json"), Path.of("/dev/zero"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizers.load(tmp));
        assertTrue(e.getMessage().startsWith(link + ": tokenizer.json is larger than the limit of 67108864 bytes"),
                e.getMessage());
    }

    @Test
    void aTokenizerConfigThatNeverEndsIsRefusedAtItsSizeLimit() throws Exception {
        Files.writeString(tmp.resolve("tokenizer.json"), TINY);
        Path link = Files.createSymbolicLink(tmp.resolve("tokenizer_config.json"), Path.of("/dev/zero"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizers.load(tmp));
        assertTrue(e.getMessage().startsWith(link + ": tokenizer_config.json is larger than the limit"), e.getMessage());
    }

    @Test
    void invalidJsonInTheConfigIsOneLineNamingTheFile() throws Exception {
        Files.writeString(tmp.resolve("tokenizer.json"), TINY);
        Path config = Files.writeString(tmp.resolve("tokenizer_config.json"), "{\n  \"add_bos_token\": tru\n}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(tmp));
        assertTrue(e.getMessage().startsWith(config + ": tokenizer_config.json is not valid JSON"), e.getMessage());
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void textThatIsNotUtf8IsRefusedNamingTheFile() throws Exception {
        Path file = Files.write(tmp.resolve("tokenizer.json"), new byte[] {'{', (byte) 0xC3, '}'});
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizers.load(tmp));
        assertTrue(e.getMessage().startsWith(file + ": tokenizer.json is not valid UTF-8"), e.getMessage());
    }

    @Test
    void anUnknownTokenOutsideTheVocabularyIsRefusedAtLoad() throws Exception {
        // Found by the fuzzer: tokenizers loads it, then every text with an unknown character fails to encode.
        Path file = Files.writeString(tmp.resolve("tokenizer.json"),
                TINY.replace("\"type\": \"BPE\",", "\"type\": \"BPE\", \"unk_token\": \"<unk2>\","));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(tmp));
        assertTrue(e.getMessage().startsWith(file + ": model.unk_token = \"<unk2>\" is not in the vocabulary"),
                e.getMessage());
    }

    @Test
    void aPostProcessorTemplateThatPanicsTheRustLibraryIsNeverRun() throws Exception {
        // Found by the fuzzer: "single" naming sequence B made tokenizers 0.21.4 panic inside encode, which aborted
        // the JVM (this test's JVM, if it came back). Ids do not depend on the post-processor; BOS is ours.
        Files.writeString(tmp.resolve("tokenizer.json"), TINY.replace("\"added_tokens\"",
                "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\":"
                        + " {\"id\": \"<unk>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"B\", \"type_id\": 0}}],"
                        + " \"pair\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"special_tokens\":"
                        + " {\"<unk>\": {\"id\": \"<unk>\", \"ids\": [0], \"tokens\": [\"<unk>\"]}}},"
                        + " \"added_tokens\""));
        try (HfTokenizer t = HfTokenizer.load(tmp)) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {1, 2, 1}, t.encode("aba", false));
        }
    }

    @Test
    void aStripDecoderThatWouldPanicOnShortTokensIsRefusedAtLoad() throws Exception {
        // Found by the fuzzer: Strip with stop = 8 panicked inside decode (index len - i - 1 underflowing).
        Path file = Files.writeString(tmp.resolve("tokenizer.json"), TINY.replace("\"added_tokens\"",
                "\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Fuse\"}, {\"type\": \"Strip\","
                        + " \"content\": \" \", \"start\": 1, \"stop\": 8}]}, \"added_tokens\""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(tmp));
        assertTrue(e.getMessage().startsWith(file + ": decoder Strip with stop = 8"), e.getMessage());
    }

    @Test
    void aHugeTokenIdIsRefusedBeforeSizingTheVocabularyByIt() throws Exception {
        // The pieces array is sized by the largest id: 2^31 - 1 would have asked for 16 GB.
        Path file = Files.writeString(tmp.resolve("tokenizer.json"), TINY.replace("\"b\": 2", "\"b\": 2147483647"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(tmp));
        assertTrue(e.getMessage().startsWith(file + ": model.vocab has the token id 2147483647"), e.getMessage());
        Files.writeString(file, TINY.replace("{\"id\": 0,", "{\"id\": -1,"));
        e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(tmp));
        assertTrue(e.getMessage().contains("(added_tokens)"), e.getMessage());
    }
}
