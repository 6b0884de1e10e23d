package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mixtralspark.engine.tokenizer.jinja.TemplateException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Published chat templates (Mixtral-Instruct 2023 and 2024, Mistral-Instruct v0.1-v0.3 with tool calls, Llama 2
 * and 3, ChatML, Zephyr, and one exercising the Jinja features templates use) rendered byte for byte as Python's
 * jinja2 renders them with transformers' settings. The expected texts and errors in
 * {@code chat-templates/expected.json} are written by {@code engine/src/test/python/render_templates.py}.
 */
class ChatTemplateConformanceTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static Map<String, Object> resource(String name) {
        try (InputStream in = ChatTemplateConformanceTest.class.getResourceAsStream("/chat-templates/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource chat-templates/" + name);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = JSON.readValue(in, Map.class);
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(String name) {
        try (InputStream in = ChatTemplateConformanceTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static Stream<Arguments> cases() {
        List<Map<String, Object>> cases = (List<Map<String, Object>>) resource("expected.json").get("cases");
        return cases.stream().map(c -> Arguments.of(c.get("template") + " / " + c.get("conversation")
                + (Boolean.TRUE.equals(c.get("add_generation_prompt")) ? " / generation prompt" : ""), c));
    }

    @SuppressWarnings("unchecked")
    static JinjaChatTemplate template(String name) {
        Map<String, Object> spec = (Map<String, Object>) resource("templates.json").get(name);
        return new JinjaChatTemplate(text((String) spec.get("file")), (String) spec.get("bos_token"),
                (String) spec.get("eos_token"), "chat-templates/" + spec.get("file"));
    }

    @SuppressWarnings("unchecked")
    static String render(Map<String, Object> c) {
        String conversation = (String) c.get("conversation");
        boolean tools = Boolean.TRUE.equals(c.get("tools"));
        List<Map<String, Object>> messages;
        List<Map<String, Object>> toolList = null;
        if (tools) {
            Map<String, Object> file = resource("tool-conversations.json");
            messages = (List<Map<String, Object>>) ((Map<String, Object>) file.get("conversations")).get(conversation);
            toolList = (List<Map<String, Object>>) file.get("tools");
        } else {
            messages = (List<Map<String, Object>>) resource("conversations.json").get(conversation);
        }
        return template((String) c.get("template")).render(messages, toolList,
                Boolean.TRUE.equals(c.get("add_generation_prompt")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rendersAsJinja2Does(String name, Map<String, Object> c) {
        if (c.containsKey("text")) {
            assertEquals(c.get("text"), render(c));
        } else {
            TemplateException e = assertThrows(TemplateException.class, () -> render(c));
            assertEquals(TemplateException.Kind.RAISED, e.kind(), e.getMessage());
            assertEquals(c.get("error"), e.detail());
            assertTrue(e.getMessage().startsWith(c.get("error") + " (raised by the chat template chat-templates/"),
                    e.getMessage());
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyTemplateAndConversationShapeIsCovered() {
        List<Map<String, Object>> cases = (List<Map<String, Object>>) resource("expected.json").get("cases");
        Set<String> templates = new LinkedHashSet<>();
        int raised = 0;
        int tools = 0;
        for (Map<String, Object> c : cases) {
            templates.add((String) c.get("template"));
            raised += c.containsKey("error") ? 1 : 0;
            tools += Boolean.TRUE.equals(c.get("tools")) && c.containsKey("text") ? 1 : 0;
        }
        assertEquals(resource("templates.json").keySet(), templates);
        assertTrue(raised >= 10, "raise_exception paths covered: " + raised);
        assertTrue(tools >= 2, "tool-call renders covered: " + tools);
    }

    /**
     * The rendered prompt, tokenized end to end with the mini-mistral oracle tokenizer (Mistral's vocabulary): the
     * ids are those of jinja2's rendering, with exactly as many BOS ids as the text has {@code <s>}, the first id
     * BOS for templates that open with it, and no space token before it.
     */
    @Test
    @SuppressWarnings("unchecked")
    void renderedPromptsTokenizeToTheIdsOfJinja2sRendering() {
        List<Map<String, Object>> cases = (List<Map<String, Object>>) resource("expected.json").get("cases");
        int checked = 0;
        try (HfTokenizer tokenizer = HfTokenizer.load(TokenizerOracle.miniMistralHf())) {
            int bos = tokenizer.encode("", true)[0];
            for (Map<String, Object> c : cases) {
                String expected = (String) c.get("text");
                if (expected == null || !expected.startsWith("<s>")) {
                    continue;
                }
                int[] want = tokenizer.encode(expected, false);
                int[] got = tokenizer.encode(render(c), false);
                String label = c.get("template") + " / " + c.get("conversation");
                assertEquals(java.util.Arrays.toString(want), java.util.Arrays.toString(got), label);
                assertEquals(bos, got[0], label + ": the prompt starts with BOS, not a space token");
                int bosCount = (int) java.util.Arrays.stream(got).filter(i -> i == bos).count();
                assertEquals(expected.split("<s>", -1).length - 1, bosCount, label);
                checked++;
            }
        }
        assertTrue(checked >= 60, "prompts tokenized: " + checked);
    }

    @SuppressWarnings("unchecked")
    static Stream<Arguments> probes() {
        List<Map<String, Object>> probes = (List<Map<String, Object>>) resource("expected.json").get("probes");
        return probes.stream().map(p -> Arguments.of(p.get("expression"), p));
    }

    /** One expression per line of {@code expressions.txt}, rendered alone: operators, literals, filters, methods. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("probes")
    @SuppressWarnings("unchecked")
    void expressionsEvaluateAsJinja2Does(String expression, Map<String, Object> probe) {
        Map<String, Object> variables = (Map<String, Object>) resource("expected.json").get("probe_variables");
        org.mixtralspark.engine.tokenizer.jinja.JinjaTemplate t = org.mixtralspark.engine.tokenizer.jinja.JinjaTemplate
                .parse("{{ " + expression + " }}", "expressions.txt",
                        org.mixtralspark.engine.tokenizer.jinja.JinjaLimits.DEFAULT);
        if (probe.containsKey("text")) {
            assertEquals(probe.get("text"), t.render(variables));
        } else {
            assertThrows(TemplateException.class, () -> t.render(variables), (String) probe.get("error"));
        }
    }

    @Test
    void mixtral2024RendersNoStraySpaceOrNewlineAroundTheTurns() {
        List<Map<String, String>> chat = new ArrayList<>(List.of(
                Map.of("role", "system", "content", "S"),
                Map.of("role", "user", "content", "U1"),
                Map.of("role", "assistant", "content", "A1"),
                Map.of("role", "user", "content", "U2")));
        assertEquals("<s> [INST] S\n\nU1 [/INST] A1</s> [INST] U2 [/INST]",
                template("mixtral-instruct-2024").render(chat, true));
    }
}
