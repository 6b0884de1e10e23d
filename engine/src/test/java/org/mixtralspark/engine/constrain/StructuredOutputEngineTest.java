package org.mixtralspark.engine.constrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineOptions;
import org.mixtralspark.engine.serving.Engines;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Constrained decoding end to end, on a random-weight model with the real 32000-piece Mistral/Mixtral SentencePiece
 * vocabulary (the oracle's mini-mistral): at temperature 1 it writes noise unless constrained. Every output that stops
 * by itself must parse and validate, checked by an independent validator (networknt json-schema-validator, draft
 * 2020-12) or {@code java.util.regex}; every output cut by max_new_tokens must be a valid prefix (its tokens' bytes
 * walked through the grammar).
 */
class StructuredOutputEngineTest {

    private static final int SCHEMAS = 240;
    private static Engine engine;

    @BeforeAll
    static void open() {
        engine = Engines.open(Oracle.model("mini-mistral-q8_0.gguf"),
                EngineOptions.defaults().withDevice("cpu").withThreads(2).withMaxBatchSize(32));
    }

    @AfterAll
    static void close() {
        if (engine != null) {
            engine.close();
        }
    }

    private static SamplingParams sampling(long seed, int maxNewTokens) {
        return SamplingParams.builder().temperature(1.0f).seed(seed).maxNewTokens(maxNewTokens).build();
    }

    @Test
    void randomSchemasGiveOnlyValidOutputsAtTemperatureOne() throws Exception {
        RandomSchemas gen = new RandomSchemas(20261207L);
        int[] prompt = engine.tokenizer().encode("Reply with JSON:");
        List<GenerationRequest> requests = new ArrayList<>();
        List<JsonNode> schemas = new ArrayList<>();
        List<ResponseFormat> formats = new ArrayList<>();
        for (int i = 0; i < SCHEMAS; i++) {
            JsonNode schema = gen.next();
            ResponseFormat f;
            try {
                f = ResponseFormat.parse("{\"type\":\"json_schema\",\"schema\":" + schema + "}");
            } catch (IllegalArgumentException e) {
                throw new AssertionError("schema " + i + " " + schema + ": " + e.getMessage(), e);
            }
            schemas.add(schema);
            formats.add(f);
            requests.add(new GenerationRequest("s" + i, prompt, sampling(i, 80), f));
        }
        List<GenerationResult> results = engine.generate(requests);
        TokenVocabulary vocab = TokenVocabulary.of(engine.tokenizer(), engine.tokenizer().vocabSize());
        int stopped = 0;
        int cut = 0;
        List<String> invalid = new ArrayList<>();
        for (int i = 0; i < SCHEMAS; i++) {
            GenerationResult r = results.get(i);
            assertTrue(r.ok(), "schema " + i + " " + schemas.get(i) + ": " + r.error());
            if (r.finishReason() == FinishReason.STOP) {
                stopped++;
                JsonNode value;
                try {
                    value = RandomSchemas.JSON.readTree(r.text());
                } catch (Exception e) {
                    invalid.add(i + ": does not parse: " + r.text());
                    continue;
                }
                JsonSchema validator = RandomSchemas.validator(schemas.get(i));
                Set<ValidationMessage> errors = validator.validate(value);
                if (!errors.isEmpty()) {
                    invalid.add(i + ": " + schemas.get(i) + " -> " + r.text() + " " + errors);
                }
            } else {
                assertEquals(FinishReason.LENGTH, r.finishReason());
                cut++;
                byte[] bytes = bytesOf(vocab, r.tokenIds());
                if (!formats.get(i).grammar().isPrefix(bytes)) {
                    invalid.add(i + ": cut output is not a valid prefix: " + r.text());
                }
            }
        }
        System.out.printf("structured output: %d schemas, %d stopped (validated), %d cut by max_new_tokens"
                + " (checked as prefixes), %d invalid%n", SCHEMAS, stopped, cut, invalid.size());
        assertTrue(invalid.isEmpty(), invalid.size() + " invalid outputs:\n" + String.join("\n", invalid));
        assertTrue(stopped >= SCHEMAS / 2, "only " + stopped + " of " + SCHEMAS + " outputs ended by themselves");
    }

    @Test
    void unconstrainedTheSameModelWritesNoise() {
        // the control: without a format, the same prompts and seeds almost never give JSON
        int[] prompt = engine.tokenizer().encode("Reply with JSON:");
        int parsed = 0;
        for (int i = 0; i < 20; i++) {
            GenerationResult r = engine.submit(new GenerationRequest("n" + i, prompt, sampling(i, 30))).join();
            try {
                JsonNode v = RandomSchemas.JSON.readTree(r.text());
                parsed += v != null && v.isObject() ? 1 : 0;
            } catch (Exception e) {
                // noise, as expected
            }
        }
        assertTrue(parsed <= 1, parsed + " of 20 unconstrained outputs were JSON objects");
    }

    @Test
    void regexChoiceAndJsonObjectFormats() throws Exception {
        int[] prompt = engine.tokenizer().encode("Answer:");
        String[] patterns = {"[A-Z]{2}-\\d{3}", "(yes|no|maybe)( really)?", "[a-z]+@[a-z]+\\.(com|org)",
            "\\d{4}-\\d{2}-\\d{2}", "é?[^\\s]{1,8}"};
        for (int p = 0; p < patterns.length; p++) {
            ResponseFormat f = ResponseFormat.parse(RandomSchemas.JSON.createObjectNode().put("type", "regex")
                    .put("pattern", patterns[p]).toString());
            for (int seed = 0; seed < 6; seed++) {
                GenerationResult r = engine.submit(new GenerationRequest("r", prompt, sampling(seed, 40), f)).join();
                if (r.finishReason() == FinishReason.STOP) {
                    assertTrue(Pattern.compile(patterns[p]).matcher(r.text()).matches(),
                            "/" + patterns[p] + "/ -> '" + r.text() + "'");
                }
            }
        }
        ResponseFormat choice = ResponseFormat.parse("{\"type\":\"choice\",\"choices\":[\"positive\",\"negative\","
                + "\"neutral\",\"n/a\"]}");
        for (int seed = 0; seed < 12; seed++) {
            GenerationResult r = engine.submit(new GenerationRequest("c", prompt, sampling(seed, 20), choice)).join();
            assertEquals(FinishReason.STOP, r.finishReason());
            assertTrue(List.of("positive", "negative", "neutral", "n/a").contains(r.text()), r.text());
        }
        ResponseFormat object = ResponseFormat.parse("{\"type\":\"json_object\"}");
        for (int seed = 0; seed < 12; seed++) {
            GenerationResult r = engine.submit(new GenerationRequest("o", prompt, sampling(seed, 60), object)).join();
            if (r.finishReason() == FinishReason.STOP) {
                assertTrue(RandomSchemas.JSON.readTree(r.text()).isObject(), r.text());
            }
        }
    }

    @Test
    void greedyWithAFormatIsDeterministicAndStopStringsAreRefused() {
        int[] prompt = engine.tokenizer().encode("Answer:");
        ResponseFormat f = ResponseFormat.parse("{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\","
                + "\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"boolean\"}},\"required\":[\"a\",\"b\"]}}");
        SamplingParams greedy = SamplingParams.builder().greedy().maxNewTokens(40).build();
        GenerationResult one = engine.submit(new GenerationRequest("g", prompt, greedy, f)).join();
        GenerationResult two = engine.submit(new GenerationRequest("g", prompt, greedy, f)).join();
        assertEquals(one.text(), two.text());
        assertTrue(one.text().startsWith("{\"a\":"), one.text());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new GenerationRequest("x", prompt, SamplingParams.builder().stopStrings(List.of("}")).build(), f));
        assertTrue(e.getMessage().contains("stop strings"), e.getMessage());
        IllegalArgumentException eos = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new GenerationRequest("x", prompt, SamplingParams.builder().ignoreEos(true).build(), f));
        assertTrue(eos.getMessage().contains("ignore_eos"), eos.getMessage());
        assertFalse(one.text().isEmpty());
    }

    /** The bytes a generation added, as the grammar saw them (the first token's leading space stripped). */
    static byte[] bytesOf(TokenVocabulary vocab, int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int k = 0; k < ids.length; k++) {
            byte[] b = k == 0 ? vocab.firstBytes(ids[k]) : vocab.bytes(ids[k]);
            if (b != null) {
                out.write(b, 0, b.length);
            }
        }
        return out.toByteArray();
    }
}
