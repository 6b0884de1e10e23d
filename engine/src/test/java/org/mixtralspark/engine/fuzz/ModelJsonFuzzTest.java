package org.mixtralspark.engine.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.mixtralspark.engine.model.HfConfigs;
import org.mixtralspark.engine.tokenizer.HfTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The JSON files of an HF model folder as the loader reads them: {@code config.json} into the model config,
 * {@code tokenizer.json} into the tokenizer (through the Rust tokenizers library), {@code tokenizer_config.json}
 * with its chat template (parsed, then rendered for one conversation). Seeds: {@code ModelJsonFuzzTestInputs/}.
 */
class ModelJsonFuzzTest {

    private static final List<Map<String, String>> CONVERSATION = List.of(
            Map.of("role", "user", "content", "Hello"), Map.of("role", "assistant", "content", "Hi!"),
            Map.of("role", "user", "content", "Bye"));

    @FuzzTest
    void configJson(byte[] bytes) {
        Path file = Declared.write("config/config.json", bytes);
        Declared.run(file, Declared.startsWith(file), () -> HfConfigs.read(file));
    }

    @FuzzTest
    void tokenizerJson(byte[] bytes) {
        Path file = Declared.write("tok/tokenizer.json", bytes);
        Declared.run(file, Declared.startsWith(file), () -> {
            try (HfTokenizer t = HfTokenizer.load(file.getParent())) {
                // what a definition cannot do at encode time is that request's error, not the file's
                Declared.run(file, m -> m.startsWith("the tokenizer cannot encode this text: "),
                        () -> t.decode(t.encode("Hello world \u00e9\u4e16", true)));
            }
        });
    }

    @FuzzTest
    void tokenizerConfigJson(byte[] bytes) throws Exception {
        Path dir = Declared.folder("tokcfg");
        Path tokenizerJson = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerJson)) {
            Files.writeString(tokenizerJson, FuzzSeeds.smallTokenizerJson());
        }
        Path file = Declared.write("tokcfg/tokenizer_config.json", bytes);
        // Template errors name their origin, "<tokenizer_config.json> (chat_template)".
        Declared.run(file, m -> m.startsWith(file.toString()) || m.contains(file + " (chat_template)"), () -> {
            try (HfTokenizer t = HfTokenizer.load(dir)) {
                t.chatTemplate().render(CONVERSATION, true);
            }
        });
    }
}
