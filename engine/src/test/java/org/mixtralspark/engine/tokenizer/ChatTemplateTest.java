package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.tokenizer.jinja.TemplateException;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Jinja chat templates rendered by the sandboxed interpreter, against transformers' output in the oracle. */
class ChatTemplateTest {

    private static final List<Map<String, String>> ONE_TURN = List.of(
            Map.of("role", "user", "content", "Which planet in our solar system has the most moons?"));

    @Test
    void defaultTemplateIsTheOneInMiniMistralsTokenizerConfig() throws Exception {
        String config = Files.readString(TokenizerOracle.miniMistralHf().resolve("tokenizer_config.json"));
        assertEquals(HfTokenizerConfig.parse(config).chatTemplate(), ChatTemplates.MIXTRAL_INSTRUCT_SOURCE);
    }

    @Test
    void oneUserTurnRendersAsMixtralInstruct() {
        assertEquals("<s>[INST] Which planet in our solar system has the most moons? [/INST]",
                ChatTemplates.MIXTRAL_INSTRUCT.render(ONE_TURN, true));
    }

    @Test
    void renderedChatEncodesToTheOracleChatIds() {
        // prompts.json chat_20 = hf/mini-mistral-hf.json hf_chat_template_ids: render, then encode without adding BOS.
        JsonNode hf = Oracle.json("references/hf/mini-mistral-hf.json");
        int[] expected = null;
        for (JsonNode p : hf.get("prompts")) {
            if (p.has("hf_chat_template_ids")) {
                expected = TokenizerOracle.ints(p.get("hf_chat_template_ids"));
            }
        }
        int[] chat20 = TokenizerOracle.prompts("mini-mistral").stream()
                .filter(p -> p.name().equals("chat_20")).findFirst().orElseThrow().ids();
        assertEquals(java.util.Arrays.toString(chat20), java.util.Arrays.toString(expected));
        try (HfTokenizer tokenizer = HfTokenizer.load(TokenizerOracle.miniMistralHf())) {
            String text = tokenizer.chatTemplate().render(ONE_TURN, true);
            assertEquals(java.util.Arrays.toString(expected), java.util.Arrays.toString(tokenizer.encode(text, false)));
        }
    }

    @Test
    void multiTurnClosesAssistantTurnsWithEos() {
        List<Map<String, String>> chat = List.of(
                Map.of("role", "user", "content", "Hi"),
                Map.of("role", "assistant", "content", "Hello!"),
                Map.of("role", "user", "content", "Name a moon."));
        assertEquals("<s>[INST] Hi [/INST]Hello!</s>[INST] Name a moon. [/INST]",
                ChatTemplates.MIXTRAL_INSTRUCT.render(chat, true));
    }

    @Test
    void nonAlternatingRolesRaiseTheTemplatesOwnMessage() {
        List<Map<String, String>> chat = List.of(
                Map.of("role", "user", "content", "a"),
                Map.of("role", "user", "content", "b"));
        TemplateException e = assertThrows(TemplateException.class,
                () -> ChatTemplates.MIXTRAL_INSTRUCT.render(chat, true));
        assertEquals(TemplateException.Kind.RAISED, e.kind());
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.detail());
        // The template's own words lead; then which template said them.
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/... (raised by the chat"
                + " template (built-in Mixtral-Instruct template), line 1)", e.getMessage());

        List<Map<String, String>> system = List.of(Map.of("role", "system", "content", "be brief"));
        TemplateException s = assertThrows(TemplateException.class,
                () -> ChatTemplates.MIXTRAL_INSTRUCT.render(system, true));
        // A lone system message is at index 0 where a user is expected: the alternation check fires first.
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", s.detail());

        List<Map<String, String>> tool = List.of(
                Map.of("role", "user", "content", "a"),
                Map.of("role", "tool", "content", "b"));
        TemplateException t = assertThrows(TemplateException.class,
                () -> ChatTemplates.MIXTRAL_INSTRUCT.render(tool, true));
        assertEquals("Only user and assistant roles are supported!", t.detail());
    }

    @Test
    void aFailedRenderDoesNotLeakIntoTheNextOne() {
        List<Map<String, String>> bad = List.of(Map.of("role", "assistant", "content", "x"));
        assertThrows(IllegalArgumentException.class, () -> ChatTemplates.MIXTRAL_INSTRUCT.render(bad, true));
        assertEquals("<s>[INST] Hi [/INST]",
                ChatTemplates.MIXTRAL_INSTRUCT.render(List.of(Map.of("role", "user", "content", "Hi")), true));
    }

    @Test
    void concurrentRendersKeepTheirOwnOutcome() throws Exception {
        // Each render has its own interpreter state: a raise on one thread must not reach a render on another.
        List<Map<String, String>> good = List.of(Map.of("role", "user", "content", "Hi"));
        List<Map<String, String>> bad = List.of(Map.of("role", "assistant", "content", "x"));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<String>> results = new java.util.ArrayList<>();
            for (int i = 0; i < 200; i++) {
                boolean fails = i % 2 == 1;
                results.add(pool.submit(() -> {
                    try {
                        return ChatTemplates.MIXTRAL_INSTRUCT.render(fails ? bad : good, true);
                    } catch (TemplateException e) {
                        return "raised: " + e.detail();
                    }
                }));
            }
            for (int i = 0; i < results.size(); i++) {
                assertEquals(i % 2 == 1 ? "raised: Conversation roles must alternate user/assistant/user/assistant/..."
                        : "<s>[INST] Hi [/INST]", results.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void addGenerationPromptAndSpecialTokensReachTheTemplate() {
        // A ChatML-style template, as many models ship: it uses add_generation_prompt and trims blocks.
        String chatMl = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                + "{% endfor %}\n{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}{{ eos_token }}";
        JinjaChatTemplate t = new JinjaChatTemplate(chatMl, "<s>", "<|end|>");
        List<Map<String, String>> chat = List.of(Map.of("role", "user", "content", "Hi"));
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<|end|>", t.render(chat, true));
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|end|>", t.render(chat, false));
    }

    @Test
    void forModelPrefersTheModelsTemplate() {
        assertSame(ChatTemplates.MIXTRAL_INSTRUCT, ChatTemplates.forModel(null, "<s>", "</s>"));
        assertSame(ChatTemplates.MIXTRAL_INSTRUCT, ChatTemplates.forModel("  ", null, null));
        JinjaChatTemplate otherTokens = ChatTemplates.forModel(null, "<BOS>", "<EOS>");
        assertEquals("<BOS>[INST] Hi [/INST]",
                otherTokens.render(List.of(Map.of("role", "user", "content", "Hi")), false));
        JinjaChatTemplate own = ChatTemplates.forModel("{{ bos_token }}{{ messages[0]['content'] }}", "<s>", "</s>");
        assertEquals("<s>Hi", own.render(List.of(Map.of("role", "user", "content", "Hi")), false));
    }

    @Test
    void fromTokenizerConfigReadsTheTemplateOrFallsBack() throws Exception {
        ChatTemplate fallback = (messages, gen) -> "fallback";
        String mini = Files.readString(TokenizerOracle.miniMistralHf().resolve("tokenizer_config.json"));
        assertEquals("<s>[INST] Which planet in our solar system has the most moons? [/INST]",
                ChatTemplates.fromTokenizerConfig(mini, fallback).render(ONE_TURN, true));
        String kquant = Files.readString(TokenizerOracle.kquantHf().resolve("tokenizer_config.json"));
        assertSame(fallback, ChatTemplates.fromTokenizerConfig(kquant, fallback));
        String named = "{\"bos_token\": {\"content\": \"<B>\"}, \"chat_template\": [{\"name\": \"tool_use\","
                + " \"template\": \"tools\"}, {\"name\": \"default\", \"template\": \"{{ bos_token }}!\"}]}";
        assertEquals("<B>!", ChatTemplates.fromTokenizerConfig(named, fallback).render(List.of(), false));
    }

    @Test
    void aTemplateThatDoesNotParseIsRefusedWhenBuilt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new JinjaChatTemplate("{% for m in messages %}{{ m['content'] }}", "<s>", "</s>"));
        assertTrue(e.getMessage().contains("does not parse"), e.getMessage());
    }

    @Test
    void aModelFoldersHostileTemplateFailsItsLoadOrItsRequestNamingTheFile(@org.junit.jupiter.api.io.TempDir
                                                                             java.nio.file.Path dir) throws Exception {
        java.nio.file.Path folder = dir.resolve("evil-model");
        Files.createDirectories(folder);
        Files.copy(TokenizerOracle.miniMistralHf().resolve("tokenizer.json"), folder.resolve("tokenizer.json"));
        java.nio.file.Path config = folder.resolve("tokenizer_config.json");

        // Does not parse (an include of a file): the load fails, naming tokenizer_config.json.
        Files.writeString(config, "{\"chat_template\": \"{% include '/etc/passwd' %}\"}");
        IllegalArgumentException load = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(folder));
        assertTrue(load.getMessage().contains(config + " (chat_template), line 1 does not parse: 'include' is not"
                + " allowed"), load.getMessage());

        // Parses, but loops without end: the load succeeds; each request fails with the limit, and the next works.
        Files.writeString(config, "{\"chat_template\": \"{% if messages|length > 1 %}{% for i in range(99999) %}"
                + "{% for j in range(99999) %}{% endfor %}{% endfor %}{% endif %}{{ bos_token }}ok\"}");
        try (HfTokenizer tokenizer = HfTokenizer.load(folder)) {
            List<Map<String, String>> two = List.of(Map.of("role", "user", "content", "a"),
                    Map.of("role", "assistant", "content", "b"));
            TemplateException e = assertThrows(TemplateException.class, () -> tokenizer.chatTemplate().render(two, true));
            assertEquals(TemplateException.Kind.LIMIT, e.kind());
            assertTrue(e.getMessage().startsWith("chat template " + config + " (chat_template), line 1 exceeded a"
                    + " limit: more than 1000000 evaluation steps"), e.getMessage());
            assertEquals("<s>ok", tokenizer.chatTemplate().render(ONE_TURN, true));
        }
    }
}
