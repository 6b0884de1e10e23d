package org.mixtralspark.engine.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.mixtralspark.engine.io.TensorInfo;
import org.mixtralspark.engine.io.gguf.GgufFile;
import org.mixtralspark.engine.model.GgufConfigs;
import org.mixtralspark.engine.tokenizer.GgufTokenizers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The GGUF reader (header, metadata, tensor infos, on a mapped file), what reads its metadata (the model config and
 * the vocabulary -> tokenizer.json conversion), and the conversion on vocabularies built directly. Seeds:
 * {@code GgufFuzzTestInputs/} (written by {@link FuzzSeeds}); JAZZER_FUZZ=1 fuzzes one method at a time.
 */
class GgufFuzzTest {

    /** Key names in messages: every vocabulary error names its {@code tokenizer.*} key. */
    private static boolean namesATokenizerKey(String message) {
        return message.contains("tokenizer.ggml.") || message.contains("tokenizer.chat_template");
    }

    @FuzzTest
    void ggufFile(byte[] bytes) {
        Path file = Declared.write("m.gguf", bytes);
        Declared.run(file, Declared.startsWith(file), () -> {
            try (GgufFile g = GgufFile.open(file)) {
                for (TensorInfo t : g.tensors().values()) {
                    g.bytes(t, 0, t.byteSize()); // every accepted tensor lies inside the file
                }
                Declared.run(file, Declared.startsWith(file), () -> GgufConfigs.read(g.metadata(), file));
                Declared.run(file, GgufFuzzTest::namesATokenizerKey, () -> GgufTokenizers.tokenizerJson(g.metadata()));
            }
        });
    }

    /**
     * The GGUF-vocabulary conversion on metadata the GGUF reader could give (its value classes: String, Long,
     * Float, Double, Boolean and lists of them), biased towards the tokenizer keys with plausible types.
     */
    @FuzzTest
    void ggufVocabulary(FuzzedDataProvider data) {
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", data.pickValue(new String[] {"llama", "gpt2", "bert", ""}));
        md.put("tokenizer.ggml.tokens", strings(data, data.consumeInt(0, 48)));
        String[] optional = {"tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix",
                "tokenizer.ggml.pre"};
        for (String key : optional) {
            if (data.consumeBoolean()) {
                md.put(key, value(data, key, 0));
            }
        }
        Declared.run(Path.of("(metadata)"), GgufFuzzTest::namesATokenizerKey,
                () -> GgufTokenizers.tokenizerJson(md));
    }

    private static List<Object> strings(FuzzedDataProvider data, int n) {
        List<Object> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(data.consumeString(12));
        }
        return out;
    }

    /** A value for {@code key}: usually of the type the key has in real files, sometimes any other. */
    private static Object value(FuzzedDataProvider data, String key, int depth) {
        int kind = data.consumeInt(0, 7);
        boolean plausible = data.consumeBoolean();
        if (plausible) {
            if (key.endsWith("_id")) {
                return (long) data.consumeInt(-2, 60);
            }
            if (key.endsWith("scores")) {
                List<Object> s = new ArrayList<>();
                for (int i = data.consumeInt(0, 48); i > 0; i--) {
                    s.add(data.consumeFloat());
                }
                return s;
            }
            if (key.endsWith("token_type")) {
                List<Object> s = new ArrayList<>();
                for (int i = data.consumeInt(0, 48); i > 0; i--) {
                    s.add((long) data.consumeInt(-1, 7));
                }
                return s;
            }
            if (key.endsWith("merges")) {
                return strings(data, data.consumeInt(0, 48));
            }
            if (key.contains("add_")) {
                return data.consumeBoolean();
            }
        }
        switch (kind) {
            case 0:
                return data.consumeString(12);
            case 1:
                return data.consumeLong();
            case 2:
                return data.consumeFloat();
            case 3:
                return data.consumeDouble();
            case 4:
                return data.consumeBoolean();
            default:
                List<Object> list = new ArrayList<>();
                for (int i = data.consumeInt(0, 8); i > 0 && depth < 2; i--) {
                    list.add(value(data, key, depth + 1));
                }
                return list;
        }
    }
}
