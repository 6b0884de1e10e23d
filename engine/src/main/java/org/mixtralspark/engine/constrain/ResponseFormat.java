package org.mixtralspark.engine.constrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.lucene.util.automaton.Automata;
import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.Operations;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What shape a request's output must have, in the vocabulary of OpenAI's and vLLM's {@code response_format}:
 * <ul>
 *   <li>{@code {"type":"json_schema","schema":{...}}}, or OpenAI's {@code {"type":"json_schema","json_schema":{"name":
 *       ..., "schema":{...}}}}: compact JSON valid under the schema ({@link JsonSchemaCompiler} lists the keywords);</li>
 *   <li>{@code {"type":"json_object"}}: any JSON object (nesting bounded);</li>
 *   <li>{@code {"type":"regex","pattern":"..."}}: text that the ECMA-262 pattern matches as a whole;</li>
 *   <li>{@code {"type":"choice","choices":["a","b"]}}: exactly one of the strings.</li>
 * </ul>
 * Parsed and compiled when built ({@link #parse}): a bad format throws {@link IllegalArgumentException} whose message
 * starts with {@code response_format} and names the field, keyword or pattern construct at fault. Compiled formats are
 * cached by their JSON text, so a batch whose rows share a schema compiles it once. Immutable, thread-safe.
 */
public final class ResponseFormat {

    public enum Type {
        JSON_SCHEMA, JSON_OBJECT, REGEX, CHOICE;

        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CACHE_SIZE = 64;
    private static final Map<String, ResponseFormat> CACHE = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ResponseFormat> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    private final Type type;
    private final String json;
    private final Grammar grammar;

    private ResponseFormat(Type type, String json, Grammar grammar) {
        this.type = type;
        this.json = json;
        this.grammar = grammar;
    }

    /**
     * The format of a {@code response_format} JSON text; {@code {"type":"text"}} (no constraint) gives null.
     *
     * @throws IllegalArgumentException if it is not valid JSON or not a supported format (the message says why)
     */
    public static ResponseFormat parse(String json) {
        if (json == null) {
            throw new IllegalArgumentException("response_format = null");
        }
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("response_format is not valid JSON: " + e.getOriginalMessage());
        }
        return of(node);
    }

    /** {@link #parse} of a parsed JSON value. */
    public static ResponseFormat of(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("response_format must be a JSON object such as {\"type\":\"json_object\"},"
                    + " not " + (node == null ? "null" : node.getNodeType()));
        }
        JsonNode t = node.get("type");
        if (t == null || !t.isTextual()) {
            throw new IllegalArgumentException("response_format needs \"type\": one of json_schema, json_object, regex,"
                    + " choice, text");
        }
        String json = JsonSchemaCompiler.compact(node);
        synchronized (CACHE) {
            ResponseFormat cached = CACHE.get(json);
            if (cached != null) {
                return cached;
            }
        }
        ResponseFormat f = compile(node, t.textValue(), json);
        if (f != null) {
            synchronized (CACHE) {
                CACHE.put(json, f);
            }
        }
        return f;
    }

    /** {@link #of} without the cache: compiles every time (for benchmarks of the compile time). */
    public static ResponseFormat compileUncached(JsonNode node) {
        ResponseFormat f = of(node); // validates, and warms the classes up
        return f == null ? null : compile(node, f.type.wireName(), f.json);
    }

    private static ResponseFormat compile(JsonNode node, String type, String json) {
        switch (type) {
            case "text" -> {
                onlyFields(node, Set.of("type"));
                return null;
            }
            case "json_object" -> {
                onlyFields(node, Set.of("type"));
                return new ResponseFormat(Type.JSON_OBJECT, json,
                        new Grammar(JsonSchemaCompiler.anyObject(Grammar.WORK_LIMIT), "response_format json_object"));
            }
            case "json_schema" -> {
                onlyFields(node, Set.of("type", "schema", "json_schema"));
                JsonNode schema = node.get("schema");
                JsonNode wrapper = node.get("json_schema");
                if (schema == null && wrapper != null) {
                    if (!wrapper.isObject()) {
                        throw new IllegalArgumentException("response_format json_schema: \"json_schema\" must be an"
                                + " object {\"name\":..., \"schema\":{...}}");
                    }
                    onlyFields(wrapper, Set.of("name", "schema", "strict", "description"));
                    schema = wrapper.get("schema");
                }
                if (schema == null || (schema.isNull())) {
                    throw new IllegalArgumentException("response_format json_schema needs \"schema\" (or"
                            + " \"json_schema\":{\"schema\":...})");
                }
                return new ResponseFormat(Type.JSON_SCHEMA, json,
                        new Grammar(JsonSchemaCompiler.compile(schema, Grammar.WORK_LIMIT), "response_format schema"));
            }
            case "regex" -> {
                onlyFields(node, Set.of("type", "pattern"));
                JsonNode p = node.get("pattern");
                if (p == null || !p.isTextual()) {
                    throw new IllegalArgumentException("response_format regex needs \"pattern\": a string");
                }
                Automaton a = EcmaRegex.compile(p.textValue(), "response_format pattern", Grammar.WORK_LIMIT);
                return new ResponseFormat(Type.REGEX, json, new Grammar(a, "response_format pattern /"
                        + p.textValue() + "/"));
            }
            case "choice" -> {
                onlyFields(node, Set.of("type", "choices"));
                JsonNode c = node.get("choices");
                if (c == null || !c.isArray() || c.isEmpty()) {
                    throw new IllegalArgumentException("response_format choice needs \"choices\": a non-empty array of"
                            + " strings");
                }
                List<Automaton> options = new ArrayList<>();
                for (JsonNode s : c) {
                    if (!s.isTextual()) {
                        throw new IllegalArgumentException("response_format choices must be strings, not " + s);
                    }
                    options.add(Automata.makeString(s.textValue()));
                }
                return new ResponseFormat(Type.CHOICE, json, new Grammar(Operations.union(options),
                        "response_format choices"));
            }
            default -> throw new IllegalArgumentException("response_format type \"" + type
                    + "\" is not supported (json_schema, json_object, regex, choice, text)");
        }
    }

    private static void onlyFields(JsonNode node, Set<String> allowed) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new IllegalArgumentException("response_format: unknown field \"" + f + "\" (allowed here: "
                        + allowed + ")");
            }
        }
    }

    public Type type() {
        return type;
    }

    /** The format as compact JSON (what a result or an output row can echo). */
    public String json() {
        return json;
    }

    public Grammar grammar() {
        return grammar;
    }

    @Override
    public String toString() {
        return json;
    }
}
