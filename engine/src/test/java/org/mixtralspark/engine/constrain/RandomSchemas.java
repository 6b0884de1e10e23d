package org.mixtralspark.engine.constrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A seeded generator of random JSON Schemas over every keyword structured output supports, for the end-to-end test.
 * Strings and arrays are mostly short, so that a random model's output usually ends before max_new_tokens; a few are
 * unbounded, so that outputs cut by the length limit are exercised too.
 */
final class RandomSchemas {

    static final ObjectMapper JSON = new ObjectMapper();

    /** networknt's validator for draft 2020-12, with {@code format} asserted (it is only an annotation by default). */
    static com.networknt.schema.JsonSchema validator(JsonNode schema) {
        return com.networknt.schema.JsonSchemaFactory.getInstance(com.networknt.schema.SpecVersion.VersionFlag.V202012)
                .getSchema(schema, com.networknt.schema.SchemaValidatorsConfig.builder().formatAssertionsEnabled(true)
                        .build());
    }
    private static final String[] PATTERNS = {"^[a-z]{1,6}$", "^\\d{3}-\\d{4}$", "^(red|green|blue)$", "^[A-Z][a-z]*$",
        "^x+y?$", "^[^\"\\\\]{0,5}$", "^(ab|cd){1,3}$", "^\\w{2,4}$", "^[0-9a-f]{4}$", "^\\s?[+-]?\\d{1,3}(\\.\\d{1,2})?$"};
    private static final String[] WORDS = {"alpha", "beta", "gamma", "delta", "id", "name", "x", "tags", "score",
        "ok", "émoji", "quote\"d", "a b"};

    private final SplittableRandom rnd;
    private ObjectNode defs;

    RandomSchemas(long seed) {
        rnd = new SplittableRandom(seed);
    }

    JsonNode next() {
        defs = null;
        if (rnd.nextInt(20) == 0) {
            return recursiveTree();
        }
        ObjectNode root = rnd.nextInt(4) == 0 ? (ObjectNode) schema(0) : object(0);
        if (defs != null) {
            root.set("$defs", defs);
        }
        return root;
    }

    /** A tree whose nodes refer to their own definition: the nesting bound ends it. */
    private JsonNode recursiveTree() {
        try {
            return JSON.readTree("{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":"
                    + "\"integer\",\"minimum\":0,\"maximum\":9},\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":"
                    + "\"#/$defs/node\"},\"maxItems\":2}},\"required\":[\"v\"],\"additionalProperties\":false}},"
                    + "\"$ref\":\"#/$defs/node\"}");
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode schema(int depth) {
        int kind = rnd.nextInt(depth >= 2 ? 9 : 14);
        return switch (kind) {
            case 0, 1 -> string();
            case 2 -> integer();
            case 3 -> number();
            case 4 -> JSON.createObjectNode().put("type", "boolean");
            case 5 -> rnd.nextBoolean() ? JSON.createObjectNode().put("type", "null") : nullable(depth);
            case 6 -> enumeration();
            case 7 -> constant();
            case 8 -> integer();
            case 9, 10 -> object(depth + 1);
            case 11 -> array(depth + 1);
            case 12 -> rnd.nextBoolean() ? anyOf(depth + 1) : oneOf(depth + 1);
            default -> ref(depth + 1);
        };
    }

    private ObjectNode string() {
        ObjectNode s = JSON.createObjectNode().put("type", "string");
        int r = rnd.nextInt(10);
        if (r < 4) {
            s.put("pattern", PATTERNS[rnd.nextInt(PATTERNS.length)]);
        }
        if (r >= 4 && r < 9) { // not with a pattern: a length can contradict it
            int min = rnd.nextInt(3);
            s.put("minLength", min);
            s.put("maxLength", min + rnd.nextInt(8));
        }
        if (r == 9 && rnd.nextBoolean()) {
            s.put("maxLength", 3);
        } else if (r == 9) {
            String[] formats = {"date", "time", "date-time", "uuid", "email", "ipv4"};
            s.put("format", formats[rnd.nextInt(formats.length)]);
        }
        return s;
    }

    private ObjectNode integer() {
        ObjectNode s = JSON.createObjectNode().put("type", "integer");
        int r = rnd.nextInt(5);
        long lo = rnd.nextLong(-2000, 2000);
        if (r == 0 || r == 1) {
            s.put("minimum", lo);
        }
        if (r == 1 || r == 2) {
            s.put("maximum", lo + rnd.nextLong(0, 500));
        }
        if (r == 3) {
            s.put("exclusiveMinimum", lo);
            s.put("exclusiveMaximum", lo + 2 + rnd.nextLong(0, 50));
        }
        return s;
    }

    private ObjectNode number() {
        ObjectNode s = JSON.createObjectNode().put("type", "number");
        int r = rnd.nextInt(4);
        if (r == 1) {
            s.put("minimum", rnd.nextInt(-5, 5));
            s.put("maximum", rnd.nextInt(5, 100) + 0.5);
        } else if (r == 2) {
            s.put("exclusiveMinimum", rnd.nextInt(-50, 0) - 0.25);
            s.put("exclusiveMaximum", rnd.nextInt(1, 3));
        } else if (r == 3) {
            s.put("minimum", 0);
            s.put("maximum", 1);
        }
        return s;
    }

    private ObjectNode nullable(int depth) {
        ObjectNode s = string();
        ArrayNode types = JSON.createArrayNode().add("string").add("null");
        s.set("type", types);
        return s;
    }

    private ObjectNode enumeration() {
        ArrayNode values = JSON.createArrayNode();
        int n = 1 + rnd.nextInt(4);
        for (int i = 0; i < n; i++) {
            switch (rnd.nextInt(5)) {
                case 0 -> values.add(rnd.nextInt(100));
                case 1 -> values.add(rnd.nextBoolean());
                case 2 -> values.addNull();
                case 3 -> values.add(JSON.createObjectNode().put("k", WORDS[rnd.nextInt(WORDS.length)]));
                default -> values.add(WORDS[rnd.nextInt(WORDS.length)]);
            }
        }
        ObjectNode s = JSON.createObjectNode();
        s.set("enum", values);
        return s;
    }

    private ObjectNode constant() {
        ObjectNode s = JSON.createObjectNode();
        s.put("const", WORDS[rnd.nextInt(WORDS.length)]);
        return s;
    }

    private ObjectNode object(int depth) {
        ObjectNode s = JSON.createObjectNode().put("type", "object");
        ObjectNode props = JSON.createObjectNode();
        List<String> names = new ArrayList<>(List.of(WORDS));
        Collections.shuffle(names, new java.util.Random(rnd.nextLong()));
        int n = 1 + rnd.nextInt(4);
        ArrayNode required = JSON.createArrayNode();
        for (int i = 0; i < n; i++) {
            props.set(names.get(i), schema(depth));
            if (rnd.nextInt(3) > 0) {
                required.add(names.get(i));
            }
        }
        s.set("properties", props);
        s.set("required", required);
        if (rnd.nextBoolean()) {
            s.put("additionalProperties", false);
        }
        return s;
    }

    private ObjectNode array(int depth) {
        ObjectNode s = JSON.createObjectNode().put("type", "array");
        s.set("items", schema(depth));
        int min = rnd.nextInt(3);
        s.put("minItems", min);
        s.put("maxItems", min + rnd.nextInt(3));
        return s;
    }

    private ObjectNode anyOf(int depth) {
        ArrayNode branches = JSON.createArrayNode();
        int n = 2 + rnd.nextInt(2);
        for (int i = 0; i < n; i++) {
            branches.add(schema(depth));
        }
        ObjectNode s = JSON.createObjectNode();
        s.set("anyOf", branches);
        return s;
    }

    /** Branches of different types: "exactly one" is then a matter of type, which the grammar gets exactly right. */
    private ObjectNode oneOf(int depth) {
        ArrayNode branches = JSON.createArrayNode();
        branches.add(string());
        branches.add(integer());
        if (rnd.nextBoolean()) {
            ObjectNode o = object(depth);
            o.put("additionalProperties", false);
            branches.add(o);
        }
        ObjectNode s = JSON.createObjectNode();
        s.set("oneOf", branches);
        return s;
    }

    private ObjectNode ref(int depth) {
        if (defs == null) {
            defs = JSON.createObjectNode();
        }
        String name = "d" + defs.size();
        defs.putNull(name); // reserved before the recursion below can add definitions of its own
        defs.set(name, depth < 2 ? schema(depth) : string());
        return JSON.createObjectNode().put("$ref", "#/$defs/" + name);
    }
}
