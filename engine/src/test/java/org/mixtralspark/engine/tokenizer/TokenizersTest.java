package org.mixtralspark.engine.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mixtralspark.engine.io.ModelFormatException;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokenizers.load on each form a model's tokenizer comes in. */
class TokenizersTest {

    @TempDir
    Path tmp;

    @Test
    void loadsAnHfFolderATokenizerJsonAndAGguf() {
        TokenizerOracle.Prompt shortPrompt = TokenizerOracle.prompts("mini-mistral").get(1);
        Path folder = TokenizerOracle.miniMistralHf();
        for (Path path : new Path[] {folder, folder.resolve("tokenizer.json"), TokenizerOracle.miniMistralGguf()}) {
            try (HfTokenizer t = Tokenizers.load(path)) {
                assertArrayEquals(shortPrompt.ids(), t.encode(shortPrompt.text()), path.toString());
                assertEquals(ChatTemplates.MIXTRAL_INSTRUCT_SOURCE, t.chatTemplateSource().orElseThrow(),
                        path + ": the chat template comes along");
            }
        }
    }

    @Test
    void aTokenizerJsonWithoutItsConfigStillKnowsBos() throws Exception {
        Path alone = Files.copy(TokenizerOracle.kquantHf().resolve("tokenizer.json"), tmp.resolve("tokenizer.json"));
        try (HfTokenizer t = Tokenizers.load(alone)) {
            assertEquals(1, t.encode("the")[0]);
            assertTrue(t.chatTemplateSource().isEmpty());
        }
    }

    @Test
    void aFolderWithoutTokenizerJsonIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(tmp));
        assertTrue(e.getMessage().contains(tmp + " has no tokenizer.json"), e.getMessage());
    }

    @Test
    void aGgufWithoutATokenizerNamesFileAndKey() throws Exception {
        Path gguf = Files.write(tmp.resolve("no-tokenizer.gguf"), ggufWithOneString("general.architecture", "llama"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizers.load(gguf));
        assertTrue(e.getMessage().contains(gguf.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
    }

    @Test
    void aJsonFileThatIsNoTokenizerIsNamed() throws Exception {
        Path json = Files.writeString(tmp.resolve("tokenizer.json"), "{\"not\": \"a tokenizer\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(json));
        assertTrue(e.getMessage().startsWith(json.toString()), e.getMessage());
    }

    /** A GGUF v3 file with no tensors and one STRING metadata entry. */
    private static byte[] ggufWithOneString(String key, String value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(3).putLong(0).putLong(1);
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        b.putLong(k.length).put(k).putInt(8).putLong(v.length).put(v);
        while (b.position() % 32 != 0) {
            b.put((byte) 0);
        }
        out.write(b.array(), 0, b.position());
        return out.toByteArray();
    }
}
