package org.mixtralspark.engine.constrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JSON Schema subset, keyword by keyword: texts the grammar must accept and texts it must refuse; and, over many
 * random schemas, random texts of each grammar validated by networknt's validator (an implementation no one here
 * wrote), without a model in the loop.
 */
class JsonSchemaGrammarTest {

    private static Grammar schema(String schema) {
        return ResponseFormat.parse("{\"type\":\"json_schema\",\"schema\":" + schema + "}").grammar();
    }

    private static void check(String schema, List<String> accepted, List<String> refused) {
        Grammar g;
        try {
            g = schema(schema);
        } catch (IllegalArgumentException e) {
            throw new AssertionError(schema + ": " + e.getMessage(), e);
        }
        for (String a : accepted) {
            assertTrue(GrammarWalks.accepts(g, a), schema + " should accept " + a);
        }
        for (String r : refused) {
            assertFalse(GrammarWalks.accepts(g, r), schema + " should refuse " + r);
        }
    }

    @Test
    void propertiesComeInSchemaOrderRequiredOnesAlwaysOptionalOnesMayBeLeftOut() {
        check("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"boolean\"},"
                        + "\"c\":{\"type\":\"null\"}},\"required\":[\"b\"]}",
                List.of("{\"b\":true}", "{\"a\":1,\"b\":false}", "{\"b\":true,\"c\":null}", "{\"a\":-3,\"b\":true,\"c\":null}"),
                List.of("{}", "{\"a\":1}", "{\"b\":true,\"a\":1}", "{\"c\":null,\"b\":true}", "{\"b\":true,}",
                        "{,\"b\":true}", "{\"b\": true}", "{\"b\":true,\"d\":1}", "{\"b\":true,\"b\":true}"));
        // all optional: the empty object, and any ordered subset
        check("{\"type\":\"object\",\"properties\":{\"x\":{\"const\":1},\"y\":{\"const\":2}}}",
                List.of("{}", "{\"x\":1}", "{\"y\":2}", "{\"x\":1,\"y\":2}"), List.of("{\"y\":2,\"x\":1}", "{,}"));
        // a required name without a schema comes last, with any value
        check("{\"type\":\"object\",\"properties\":{\"x\":{\"const\":1}},\"required\":[\"z\"]}",
                List.of("{\"z\":[1,{\"q\":null}]}", "{\"x\":1,\"z\":\"s\"}"), List.of("{\"x\":1}", "{}"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}|\"ab\";\"abc\";\"é\\\"\"|\"a\";\"abcd\";ab",
        "{\"type\":\"string\",\"pattern\":\"^[a-c]+x$\"}|\"abx\";\"cx\"|\"x\";\"abxx\";\"ABX\"",
        "{\"type\":\"string\"}|\"\";\"a\\\\b\\n\";\"\u00e9\u4e2d\uD83D\uDE00\"|\"a\u0001b\";\"\\u0041\";x",
        "{\"type\":\"integer\",\"minimum\":-5,\"maximum\":12}|-5;0;9;12|-6;13;05;-0;1.0;+3",
        "{\"type\":\"integer\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":100}|1;99|0;100;-1",
        "{\"type\":\"integer\",\"minimum\":98}|98;99;100;12345|97;0;-98",
        "{\"type\":\"number\"}|0;-1.5;3e10;2.25E-3|.5;1.;01;--1;1e",
        "{\"type\":\"boolean\"}|true;false|True;1",
        "{\"type\":\"number\",\"minimum\":0,\"maximum\":1}|0;1;0.5;0.999;0.0001|1.5;-0.1;1.0;1e0;2",
        "{\"type\":\"number\",\"exclusiveMinimum\":-2,\"maximum\":0.5}|-1;0;-1.25;-0.75|-2;-2.5;1;0.5;-1.0",
        "{\"type\":[\"string\",\"null\"],\"maxLength\":1}|null;\"a\";\"\"|\"ab\";0",
        "{\"enum\":[\"red\",1,null,{\"k\":[true]}]}|\"red\";1;null;{\"k\":[true]}|\"blue\";2;{\"k\":[]}",
        "{\"const\":\"only\"}|\"only\"|\"other\";only",
        "{\"type\":\"string\",\"enum\":[\"a\",1,\"bb\"],\"maxLength\":1}|\"a\"|1;\"bb\"",
        "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":3}|[1];[1,2,3]|[];[1,2,3,4];[1,];[\"a\"]",
        "{\"type\":\"array\",\"items\":{\"type\":\"boolean\"},\"minItems\":2}|[true,false];[true,true,true,false]|[true];[]",
        "{\"type\":\"array\"}|[];[1,\"a\",[null],{}]|[,];{}",
        "{\"type\":\"object\",\"additionalProperties\":false}|{}|{\"a\":1}",
        "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}|{};{\"a\":1,\"b\":2}|{\"a\":\"x\"}",
        "{\"type\":\"object\"}|{};{\"a\":{\"b\":[1]}}|[];null",
        "{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\",\"maxLength\":1}]}|3;\"x\"|\"xy\";true",
        "{\"oneOf\":[{\"type\":\"integer\",\"maximum\":5},{\"type\":\"integer\",\"minimum\":3}]}|1;2;6;9|3;4;5",
        "{\"$defs\":{\"p\":{\"type\":\"integer\",\"minimum\":1}},\"type\":\"object\",\"properties\":{\"n\":{\"$ref\":\"#/$defs/p\"}},\"required\":[\"n\"]}|{\"n\":1}|{\"n\":0}",
        "{\"definitions\":{\"p\":{\"const\":true}},\"$ref\":\"#/definitions/p\"}|true|false",
        "{\"title\":\"t\",\"description\":\"d\",\"type\":\"null\",\"default\":null,\"examples\":[null]}|null|0",
        "true|1;{\"a\":[]};\"s\"|tru",
    })
    void eachKeyword(String schema, String accepted, String refused) {
        check(schema, List.of(accepted.split(";")), List.of(refused.split(";")));
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"date", "time", "date-time", "uuid", "email", "ipv4"})
    void formatsGenerateOnlyValuesTheValidatorAccepts(String format) throws Exception {
        JsonNode schema = RandomSchemas.JSON.readTree("{\"type\":\"string\",\"format\":\"" + format + "\"}");
        Grammar g = ResponseFormat.parse("{\"type\":\"json_schema\",\"schema\":" + schema + "}").grammar();
        JsonSchema validator = RandomSchemas.validator(schema);
        SplittableRandom rnd = new SplittableRandom(format.hashCode());
        int texts = 0;
        for (int i = 0; i < 300; i++) {
            String text = GrammarWalks.sample(g, rnd, 0.5, 200);
            if (text != null) {
                texts++;
                assertTrue(validator.validate(RandomSchemas.JSON.readTree(text)).isEmpty(), format + ": " + text);
            }
        }
        assertTrue(texts >= 100, texts + " texts");
        // the validator does assert formats: a value it rejects, which the grammar refuses too
        String bad = switch (format) {
            case "date" -> "\"2023-02-30\"";
            case "time" -> "\"25:00:00Z\"";
            case "date-time" -> "\"2023-02-30T10:00:00Z\"";
            case "uuid" -> "\"1234\"";
            case "email" -> "\"no-at-sign\"";
            default -> "\"256.1.1.1\"";
        };
        assertFalse(validator.validate(RandomSchemas.JSON.readTree(bad)).isEmpty(), bad);
        assertFalse(GrammarWalks.accepts(g, bad), bad);
    }

    @Test
    void recursionEndsAtTheBoundWithTheBaseCase() {
        Grammar g = schema("{\"$defs\":{\"t\":{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"array\","
                + "\"items\":{\"$ref\":\"#/$defs/t\"}}},\"additionalProperties\":false}},\"$ref\":\"#/$defs/t\"}");
        String nested = "{}";
        for (int depth = 1; depth <= JsonSchemaCompiler.MAX_REF_DEPTH + 1; depth++) {
            boolean withinBound = depth < JsonSchemaCompiler.MAX_REF_DEPTH;
            nested = "{\"k\":[" + nested + "]}";
            assertEquals(withinBound, GrammarWalks.accepts(g, nested), nested);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> schema("{\"$defs\":{\"l\":"
                + "{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#/$defs/l\"}},\"required\":[\"next\"]}},"
                + "\"$ref\":\"#/$defs/l\"}"));
        assertTrue(e.getMessage().contains("accepts no text"), e.getMessage());
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
        "{\"type\":\"array\",\"uniqueItems\":true}|'uniqueItems'",
        "{\"type\":\"string\",\"format\":\"uri\"}|the format \"uri\" is not supported",
        "{\"allOf\":[{\"type\":\"string\"}]}|'allOf'",
        "{\"type\":\"object\",\"patternProperties\":{}}|'patternProperties'",
        "{\"type\":\"strng\"}|unknown type 'strng'",
        "{\"type\":\"string\",\"maxLength\":-1}|#/maxLength",
        "{\"type\":\"string\",\"minLength\":3,\"maxLength\":2}|below minLength",
        "{\"type\":\"string\",\"pattern\":\"a(?!b)\"}|lookaround",
        "{\"type\":\"string\",\"pattern\":\"\\\\bword\"}|word boundary",
        "{\"$ref\":\"https://example.com/s.json\"}|only local references",
        "{\"$ref\":\"#/$defs/missing\"}|points to nothing",
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"additionalProperties\":false,\"required\":[\"b\"]}|'b' is not in 'properties'",
        "{\"type\":\"array\",\"items\":[{\"type\":\"string\"}]}|tuple form",
        "{\"anyOf\":[{\"type\":\"string\"}],\"type\":\"string\"}|together with",
        "{\"type\":\"string\",\"pattern\":\"^x{3}$\",\"maxLength\":2}|accepts no text",
        "{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"string\",\"contains\":{}}}}|#/properties/p",
    })
    void unsupportedOrContradictorySchemasAreClearErrors(String schema, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> schema(schema));
        assertTrue(e.getMessage().startsWith("response_format"), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void responseFormatEnvelopes() {
        String schema = "{\"type\":\"integer\",\"minimum\":1,\"maximum\":3}";
        Grammar plain = ResponseFormat.parse("{\"type\":\"json_schema\",\"schema\":" + schema + "}").grammar();
        Grammar openAi = ResponseFormat.parse("{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"n\",\"strict\":true,"
                + "\"schema\":" + schema + "}}").grammar();
        for (String s : List.of("1", "3", "0", "4", "12")) {
            assertEquals(GrammarWalks.accepts(plain, s), GrammarWalks.accepts(openAi, s), s);
        }
        assertNull(ResponseFormat.parse("{\"type\":\"text\"}"));
        assertEquals(ResponseFormat.Type.JSON_OBJECT, ResponseFormat.parse("{\"type\":\"json_object\"}").type());
        assertTrue(ResponseFormat.parse("{ \"type\" : \"json_object\" }")
                == ResponseFormat.parse("{\"type\":\"json_object\"}"), "the same format twice compiles once");
        for (String bad : List.of("[1]", "{}", "{\"type\":\"xml\"}", "{\"type\":\"regex\"}", "{\"type\":\"choice\","
                + "\"choices\":[]}", "{\"type\":\"json_object\",\"schema\":{}}", "{\"type\":\"choice\",\"choices\":[1]}",
                "not json", "{\"type\":\"json_schema\"}")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ResponseFormat.parse(bad),
                    bad);
            assertTrue(e.getMessage().startsWith("response_format"), e.getMessage());
        }
    }

    @Test
    void randomTextsOfRandomSchemasValidate() throws Exception {
        RandomSchemas gen = new RandomSchemas(11);
        SplittableRandom rnd = new SplittableRandom(5);
        int texts = 0;
        List<String> invalid = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            JsonNode schema = gen.next();
            Grammar g = ResponseFormat.parse("{\"type\":\"json_schema\",\"schema\":" + schema + "}").grammar();
            JsonSchema validator = RandomSchemas.validator(schema);
            for (int k = 0; k < 5; k++) {
                String text = GrammarWalks.sample(g, rnd, 0.5, 2000);
                if (text == null) {
                    continue;
                }
                texts++;
                JsonNode value = RandomSchemas.JSON.readTree(text);
                if (!validator.validate(value).isEmpty()) {
                    invalid.add(schema + " -> " + text + " " + validator.validate(value));
                }
            }
        }
        assertTrue(texts > 1000, "only " + texts + " texts sampled");
        assertTrue(invalid.isEmpty(), String.join("\n", invalid));
    }
}
