package org.mixtralspark.engine.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.mixtralspark.engine.tokenizer.JinjaChatTemplate;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The chat-template lexer, parser and renderer ({@code tokenizer.jinja}) on any source text: a template is data
 * from the model folder. Seeds: the templates users have ({@code ChatTemplateFuzzTestInputs/}).
 */
class ChatTemplateFuzzTest {

    private static final String ORIGIN = "fuzz/tokenizer_config.json (chat_template)";
    private static final List<Map<String, String>> CONVERSATION = List.of(
            Map.of("role", "system", "content", "Be brief."), Map.of("role", "user", "content", "Hello"),
            Map.of("role", "assistant", "content", "Hi!"), Map.of("role", "user", "content", "Bye"));

    @FuzzTest
    void chatTemplate(byte[] bytes) {
        String source = new String(bytes, StandardCharsets.UTF_8);
        Declared.run(Path.of(ORIGIN), m -> m.contains(ORIGIN), () -> {
            JinjaChatTemplate t = new JinjaChatTemplate(source, "<s>", "</s>", ORIGIN);
            t.render(CONVERSATION, true);
            t.render(CONVERSATION.subList(1, 2), false);
        });
    }
}
