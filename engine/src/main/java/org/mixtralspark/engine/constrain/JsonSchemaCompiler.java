package org.mixtralspark.engine.constrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.Operations;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A JSON Schema (the subset below) as the regular language of the compact JSON texts it accepts, with properties in
 * schema order. Regular because nesting is bounded: values of unconstrained type nest at most {@link #ANY_DEPTH}
 * levels, and a {@code $ref} is expanded at most {@link #MAX_REF_DEPTH} times inside itself (beyond that its branch
 * is dropped, so a recursive tree ends with its base case).
 *
 * <p>Keywords: {@code type} (one or a list), {@code properties}, {@code required}, {@code additionalProperties}
 * ({@code false}; {@code true}, absent or a schema where properties are given generate no extra property; a schema
 * alone gives a map), {@code enum}, {@code const}, {@code items}, {@code minItems}, {@code maxItems},
 * {@code minLength}, {@code maxLength}, {@code pattern} (ECMA-262, {@link EcmaRegex}), {@code minimum},
 * {@code maximum}, {@code exclusiveMinimum}, {@code exclusiveMaximum} (integers, and numbers: see {@link #number}),
 * {@code format} ({@link StringFormats}), {@code anyOf}, {@code oneOf}
 * (each branch minus the others' languages), local {@code $ref} with {@code $defs}/{@code definitions}. Annotations
 * ({@code title}, {@code description}, ...) are ignored. Any other keyword is an error that names it and where it is:
 * generating while ignoring an assertion would produce invalid output.
 *
 * <p>An object's required properties always appear; optional ones may be left out; both in the order of
 * {@code properties}. A required name missing from {@code properties} comes after them, with any value.
 */
final class JsonSchemaCompiler {

    /** Nesting levels of a value whose schema does not constrain its type ({@code {}}, {@code json_object}). */
    static final int ANY_DEPTH = 4;
    /** Expansions of one {@code $ref} inside itself. */
    static final int MAX_REF_DEPTH = 3;

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "$schema", "$id", "$comment",
            "default", "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "$anchor");
    private static final Set<String> ASSERTIONS = Set.of("type", "properties", "required", "additionalProperties",
            "enum", "const", "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum",
            "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf", "$ref", "format");
    private static final List<String> TYPES = List.of("object", "array", "string", "integer", "number", "boolean",
            "null");

    private final Nfa nfa = new Nfa();
    private final JsonNode root;
    private final int workLimit;
    private final Map<String, Integer> refDepth = new HashMap<>();
    /** String content languages by (pattern, minLength, maxLength): an array's copies of one item share them. */
    private final Map<String, Automaton> contents = new HashMap<>();

    private JsonSchemaCompiler(JsonNode root, int workLimit) {
        this.root = root;
        this.workLimit = workLimit;
    }

    /** The language of {@code schema} over code points (nondeterministic). */
    static Automaton compile(JsonNode schema, int workLimit) {
        JsonSchemaCompiler c = new JsonSchemaCompiler(schema, workLimit);
        return c.nfa.toAutomaton(c.value(schema, "#"));
    }

    /** Any JSON object, values nested at most {@link #ANY_DEPTH} levels (the {@code json_object} format). */
    static Automaton anyObject(int workLimit) {
        Nfa nfa = new Nfa();
        return nfa.toAutomaton(JsonLanguage.anyObject(nfa, () -> JsonLanguage.anyValue(nfa, ANY_DEPTH - 1, workLimit)));
    }

    private Nfa.Frag value(JsonNode schema, String path) {
        if (schema.isBoolean()) {
            return schema.booleanValue() ? JsonLanguage.anyValue(nfa, ANY_DEPTH, workLimit) : nfa.nothing();
        }
        if (!schema.isObject()) {
            throw error(path, "a schema must be an object or a boolean, not " + schema.getNodeType());
        }
        Set<String> assertions = new LinkedHashSet<>();
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (ASSERTIONS.contains(k)) {
                assertions.add(k);
            } else if (!ANNOTATIONS.contains(k)) {
                throw error(path, "the keyword '" + k + "' is not supported in structured output (supported: "
                        + String.join(", ", new java.util.TreeSet<>(ASSERTIONS)) + ")");
            }
        }
        if (assertions.contains("$ref")) {
            requireAlone(schema, path, "$ref", assertions);
            return ref(schema.get("$ref"), path);
        }
        for (String combinator : List.of("anyOf", "oneOf")) {
            if (assertions.contains(combinator)) {
                requireAlone(schema, path, combinator, assertions);
                return combinator.equals("anyOf") ? anyOf(schema.get(combinator), path + "/anyOf")
                        : oneOf(schema.get(combinator), path + "/oneOf");
            }
        }
        if (assertions.contains("enum") || assertions.contains("const")) {
            return literals(schema, path, assertions);
        }
        List<Nfa.Frag> alternatives = new ArrayList<>();
        for (String type : types(schema, path, assertions)) {
            alternatives.add(switch (type) {
                case "null" -> nfa.literal("null");
                case "boolean" -> nfa.union(List.of(nfa.literal("true"), nfa.literal("false")));
                case "integer" -> integer(schema, path);
                case "number" -> number(schema, path);
                case "string" -> string(schema, path);
                case "array" -> array(schema, path);
                case "object" -> object(schema, path);
                default -> throw new IllegalStateException(type);
            });
        }
        return alternatives.size() == 1 ? alternatives.get(0) : nfa.union(alternatives);
    }

    private void requireAlone(JsonNode schema, String path, String keyword, Set<String> assertions) {
        if (assertions.size() > 1) {
            Set<String> others = new LinkedHashSet<>(assertions);
            others.remove(keyword);
            throw error(path, "'" + keyword + "' together with " + others + " is not supported: move those keywords"
                    + " into the " + (keyword.equals("$ref") ? "referenced schema" : "branches"));
        }
    }

    /** The types the schema allows: its {@code type}, or the one its keywords imply, or every type. */
    private List<String> types(JsonNode schema, String path, Set<String> assertions) {
        JsonNode t = schema.get("type");
        if (t == null) {
            // JSON Schema applies a keyword only to its type and lets other types through; generating the implied
            // type is one valid choice (an object for `properties`, ...), and without a hint any value
            if (assertions.stream().anyMatch(k -> k.equals("properties") || k.equals("required")
                    || k.equals("additionalProperties"))) {
                return List.of("object");
            }
            if (assertions.stream().anyMatch(k -> k.equals("items") || k.endsWith("Items"))) {
                return List.of("array");
            }
            if (assertions.stream().anyMatch(k -> k.endsWith("Length") || k.equals("pattern") || k.equals("format"))) {
                return List.of("string");
            }
            if (assertions.stream().anyMatch(k -> k.contains("imum"))) {
                return List.of("integer");
            }
            return List.of("object", "array", "string", "number", "boolean", "null");
        }
        List<String> types = new ArrayList<>();
        if (t.isTextual()) {
            types.add(t.textValue());
        } else if (t.isArray() && t.size() > 0) {
            t.forEach(x -> types.add(x.isTextual() ? x.textValue() : x.toString()));
        } else {
            throw error(path + "/type", "must be a type name or a non-empty list of them, not " + t);
        }
        for (String name : types) {
            if (!TYPES.contains(name)) {
                throw error(path + "/type", "unknown type '" + name + "' (one of " + TYPES + ")");
            }
        }
        if (types.contains("number") && types.contains("integer")) {
            types.remove("integer"); // every integer is a number
        }
        return types;
    }

    private Nfa.Frag ref(JsonNode ref, String path) {
        if (!ref.isTextual() || !ref.textValue().startsWith("#")) {
            throw error(path + "/$ref", "only local references ('#', '#/$defs/name') are supported, not " + ref);
        }
        String pointer = ref.textValue().substring(1);
        JsonNode target;
        try {
            target = root.at(java.net.URLDecoder.decode(pointer, java.nio.charset.StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw error(path + "/$ref", "'" + ref.textValue() + "' is not a JSON pointer: " + e.getMessage());
        }
        if (target.isMissingNode()) {
            throw error(path + "/$ref", "'" + ref.textValue() + "' points to nothing in the schema");
        }
        int depth = refDepth.merge(ref.textValue(), 1, Integer::sum);
        try {
            // beyond the bound the branch has no strings: a recursive schema ends with its non-recursive alternatives
            return depth > MAX_REF_DEPTH ? nfa.nothing() : value(target, ref.textValue());
        } finally {
            refDepth.merge(ref.textValue(), -1, Integer::sum);
        }
    }

    private List<JsonNode> branches(JsonNode list, String path) {
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw error(path, "must be a non-empty array of schemas");
        }
        List<JsonNode> out = new ArrayList<>();
        list.forEach(out::add);
        return out;
    }

    private Nfa.Frag anyOf(JsonNode list, String path) {
        List<Nfa.Frag> alternatives = new ArrayList<>();
        List<JsonNode> branches = branches(list, path);
        for (int i = 0; i < branches.size(); i++) {
            alternatives.add(value(branches.get(i), path + "/" + i));
        }
        return nfa.union(alternatives);
    }

    /**
     * Exactly one branch: each branch's language minus the union of the others', so that no generated text is in two
     * of them. (A text two branches accept by meaning but not by spelling, e.g. 1.0 as an integer, is not caught;
     * branches of different types or with {@code additionalProperties: false} are exact.)
     */
    private Nfa.Frag oneOf(JsonNode list, String path) {
        List<JsonNode> branches = branches(list, path);
        List<Automaton> languages = new ArrayList<>();
        for (int i = 0; i < branches.size(); i++) {
            languages.add(determinize(nfa.toAutomaton(value(branches.get(i), path + "/" + i)), path));
        }
        List<Nfa.Frag> alternatives = new ArrayList<>();
        for (int i = 0; i < languages.size(); i++) {
            List<Automaton> others = new ArrayList<>(languages);
            others.remove(i);
            Automaton only = languages.get(i);
            if (!others.isEmpty()) {
                only = Operations.minus(only, determinize(Operations.union(others), path), workLimit);
            }
            alternatives.add(nfa.embed(only, Nfa.RangeEncoder.RAW));
        }
        return nfa.union(alternatives);
    }

    /** {@code enum} / {@code const}: the listed values, less those the schema's other keywords reject. */
    private Nfa.Frag literals(JsonNode schema, String path, Set<String> assertions) {
        List<JsonNode> values = new ArrayList<>();
        if (assertions.contains("const")) {
            values.add(schema.get("const"));
        }
        if (assertions.contains("enum")) {
            JsonNode e = schema.get("enum");
            if (!e.isArray() || e.isEmpty()) {
                throw error(path + "/enum", "must be a non-empty array");
            }
            if (assertions.contains("const")) {
                throw error(path, "'enum' together with 'const' is not supported: keep one");
            }
            e.forEach(values::add);
        }
        Automaton rest = null;
        if (assertions.size() > 1) {
            ObjectNode others = ((ObjectNode) schema).deepCopy();
            others.remove(List.of("enum", "const"));
            rest = determinize(nfa.toAutomaton(value(others, path)), path);
        }
        List<Nfa.Frag> alternatives = new ArrayList<>();
        for (JsonNode v : values) {
            String text = compact(v);
            if (rest == null || Operations.run(rest, text)) {
                alternatives.add(nfa.literal(text));
            }
        }
        return alternatives.isEmpty() ? nfa.nothing() : nfa.union(alternatives);
    }

    private Nfa.Frag integer(JsonNode schema, String path) {
        BigDecimal min = bound(schema, "minimum", path);
        BigDecimal max = bound(schema, "maximum", path);
        BigDecimal exclusiveMin = bound(schema, "exclusiveMinimum", path);
        BigDecimal exclusiveMax = bound(schema, "exclusiveMaximum", path);
        Long lo = null;
        Long hi = null;
        if (min != null) {
            lo = clamp(min.setScale(0, RoundingMode.CEILING));
        }
        if (exclusiveMin != null) {
            long l = clamp(exclusiveMin.setScale(0, RoundingMode.FLOOR).add(BigDecimal.ONE));
            lo = lo == null ? l : Math.max(lo, l);
        }
        if (max != null) {
            hi = clamp(max.setScale(0, RoundingMode.FLOOR));
        }
        if (exclusiveMax != null) {
            long h = clamp(exclusiveMax.setScale(0, RoundingMode.CEILING).subtract(BigDecimal.ONE));
            hi = hi == null ? h : Math.min(hi, h);
        }
        return JsonLanguage.integer(nfa, lo, hi);
    }

    private static long clamp(BigDecimal v) {
        BigDecimal limit = BigDecimal.valueOf(JsonLanguage.MAX_INTEGER);
        return v.max(limit.negate()).min(limit).longValueExact();
    }

    private BigDecimal bound(JsonNode schema, String keyword, String path) {
        JsonNode b = schema.get(keyword);
        if (b == null) {
            return null;
        }
        if (!b.isNumber()) {
            throw error(path + "/" + keyword, "must be a number, not " + b);
        }
        return b.decimalValue();
    }

    /**
     * A number; with bounds, the integers within them (as {@link #integer}) and the decimals {@code i.f} whose whole
     * interval (i, i+1) lies within them, for non-negative i and for {@code -i.f}. The fraction ends in a non-zero
     * digit, so a decimal is never equal to a bound. No exponent when bounded. A subset (e.g. for [0, 0.5] only 0), but
     * every number in it is within the bounds, whatever they are.
     */
    private Nfa.Frag number(JsonNode schema, String path) {
        BigDecimal min = bound(schema, "minimum", path);
        BigDecimal max = bound(schema, "maximum", path);
        BigDecimal exclusiveMin = bound(schema, "exclusiveMinimum", path);
        BigDecimal exclusiveMax = bound(schema, "exclusiveMaximum", path);
        if (min == null && max == null && exclusiveMin == null && exclusiveMax == null) {
            return JsonLanguage.number(nfa);
        }
        // v in (i, i+1) is within the bounds when lo <= i and i + 1 <= hi, strict bounds or not
        BigDecimal lo = min == null ? exclusiveMin : exclusiveMin == null ? min : min.max(exclusiveMin);
        BigDecimal hi = max == null ? exclusiveMax : exclusiveMax == null ? max : max.min(exclusiveMax);
        long limit = JsonLanguage.MAX_INTEGER;
        long nonNegativeFrom = lo == null ? 0 : Math.max(0, clamp(lo.setScale(0, RoundingMode.CEILING)));
        long nonNegativeTo = hi == null ? limit : clamp(hi.setScale(0, RoundingMode.FLOOR)) - 1;
        // -i.f in (-(i+1), -i): within when -(i+1) >= lo and -i <= hi
        long negativeFrom = hi == null ? 0 : Math.max(0, clamp(hi.negate().setScale(0, RoundingMode.CEILING)));
        long negativeTo = lo == null ? limit : clamp(lo.negate().setScale(0, RoundingMode.FLOOR)) - 1;
        List<Nfa.Frag> parts = new ArrayList<>();
        parts.add(integer(schema, path));
        if (nonNegativeFrom <= nonNegativeTo) {
            parts.add(nfa.concat(JsonLanguage.integer(nfa, nonNegativeFrom, nonNegativeTo), fraction()));
        }
        if (negativeFrom <= negativeTo) {
            parts.add(nfa.concat(nfa.literal("-"), JsonLanguage.integer(nfa, negativeFrom, negativeTo), fraction()));
        }
        return nfa.union(parts);
    }

    /** {@code .} and 1 to 16 digits, the last one not 0. */
    private Nfa.Frag fraction() {
        return nfa.concat(nfa.literal("."), nfa.repeat(() -> nfa.range('0', '9'), 0, 15, null), nfa.range('1', '9'));
    }

    private Nfa.Frag string(JsonNode schema, String path) {
        int minLength = count(schema, "minLength", path, 0);
        int maxLength = count(schema, "maxLength", path, -1);
        if (maxLength >= 0 && maxLength < minLength) {
            throw error(path, "maxLength " + maxLength + " is below minLength " + minLength);
        }
        JsonNode p = schema.get("pattern");
        if (p != null && !p.isTextual()) {
            throw error(path + "/pattern", "must be a string, not " + p);
        }
        JsonNode f = schema.get("format");
        String format = null;
        if (f != null) {
            format = f.isTextual() ? StringFormats.PATTERNS.get(f.textValue()) : null;
            if (format == null) {
                throw error(path + "/format", "the format " + f + " is not supported in structured output (supported: "
                        + new java.util.TreeSet<>(StringFormats.PATTERNS.keySet()) + ")");
            }
        }
        String key = (p == null ? "" : "/" + p.textValue()) + "|" + format + "|" + minLength + "|" + maxLength;
        Automaton content = contents.get(key);
        if (content == null) {
            Automaton pattern = p == null ? null
                    : EcmaRegex.compile(p.textValue(), "response_format schema at " + path + "/pattern", workLimit);
            if (format != null) {
                Automaton formatted = EcmaRegex.compile(format, "format " + f, workLimit);
                pattern = pattern == null ? formatted : Operations.intersection(pattern, formatted);
            }
            content = JsonLanguage.stringContent(pattern, minLength, maxLength, workLimit);
            contents.put(key, content);
        }
        return JsonLanguage.string(nfa, content);
    }

    private Nfa.Frag array(JsonNode schema, String path) {
        int minItems = count(schema, "minItems", path, 0);
        int maxItems = count(schema, "maxItems", path, -1);
        if (maxItems >= 0 && maxItems < minItems) {
            throw error(path, "maxItems " + maxItems + " is below minItems " + minItems);
        }
        JsonNode items = schema.get("items");
        if (items != null && items.isArray()) {
            throw error(path + "/items", "the tuple form (an array of schemas) is not supported: give one schema");
        }
        return JsonLanguage.array(nfa, () -> items == null ? JsonLanguage.anyValue(nfa, ANY_DEPTH - 1, workLimit)
                : value(items, path + "/items"), minItems, maxItems);
    }

    private Nfa.Frag object(JsonNode schema, String path) {
        JsonNode props = schema.get("properties");
        JsonNode additional = schema.get("additionalProperties");
        if (props != null && !props.isObject()) {
            throw error(path + "/properties", "must be an object of schemas");
        }
        if (additional != null && !additional.isBoolean() && !additional.isObject()) {
            throw error(path + "/additionalProperties", "must be a boolean or a schema");
        }
        boolean closed = additional != null && additional.isBoolean() && !additional.booleanValue();
        Set<String> required = new LinkedHashSet<>();
        JsonNode req = schema.get("required");
        if (req != null) {
            if (!req.isArray()) {
                throw error(path + "/required", "must be an array of property names");
            }
            for (JsonNode r : req) {
                if (!r.isTextual()) {
                    throw error(path + "/required", "must hold property names (strings), not " + r);
                }
                required.add(r.textValue());
            }
        }
        if ((props == null || props.isEmpty()) && required.isEmpty()) {
            if (closed) {
                return nfa.literal("{}");
            }
            if (additional != null && additional.isObject()) {
                return JsonLanguage.anyObject(nfa, () -> value(additional, path + "/additionalProperties"));
            }
            return JsonLanguage.anyObject(nfa, () -> JsonLanguage.anyValue(nfa, ANY_DEPTH - 1, workLimit));
        }
        List<String> names = new ArrayList<>();
        List<JsonNode> schemas = new ArrayList<>();
        if (props != null) {
            props.fields().forEachRemaining(e -> {
                names.add(e.getKey());
                schemas.add(e.getValue());
            });
        }
        for (String r : required) {
            if (!names.contains(r)) {
                if (closed) {
                    throw error(path, "the required property '" + r + "' is not in 'properties' and"
                            + " additionalProperties is false: no object satisfies this schema");
                }
                names.add(r);
                schemas.add(additional != null && additional.isObject() ? additional : JSON.createObjectNode());
            }
        }
        // enter[i][c]: the state before property i, c = 1 when a property was written already (a comma comes first)
        int n = names.size();
        Nfa.Frag close = nfa.literal("}");
        int[] fresh = new int[n + 1];
        int[] started = new int[n + 1];
        fresh[n] = close.start();
        started[n] = close.start();
        for (int i = n - 1; i >= 0; i--) {
            String name = names.get(i);
            Nfa.Frag member = nfa.concat(nfa.literal(compact(JSON.getNodeFactory().textNode(name)) + ":"),
                    value(schemas.get(i), path + "/properties/" + name));
            nfa.epsilon(member.end(), started[i + 1]);
            Nfa.Frag comma = nfa.literal(",");
            nfa.epsilon(comma.end(), member.start());
            boolean optional = !required.contains(name);
            fresh[i] = nfa.newState();
            nfa.epsilon(fresh[i], member.start());
            started[i] = nfa.newState();
            nfa.epsilon(started[i], comma.start());
            if (optional) {
                nfa.epsilon(fresh[i], fresh[i + 1]);
                nfa.epsilon(started[i], started[i + 1]);
            }
        }
        Nfa.Frag open = nfa.literal("{");
        nfa.epsilon(open.end(), fresh[0]);
        return new Nfa.Frag(open.start(), close.end());
    }

    private int count(JsonNode schema, String keyword, String path, int absent) {
        JsonNode v = schema.get(keyword);
        if (v == null) {
            return absent;
        }
        if (!v.canConvertToExactIntegral() || v.asLong() < 0 || v.asLong() > 100_000) {
            throw error(path + "/" + keyword, "must be an integer in [0, 100000], not " + v);
        }
        return v.asInt();
    }

    private Automaton determinize(Automaton a, String path) {
        try {
            return Operations.determinize(Operations.removeDeadStates(a), workLimit);
        } catch (RuntimeException e) {
            throw error(path, "too complex to compile (" + e.getClass().getSimpleName() + ")");
        }
    }

    static String compact(JsonNode v) {
        try {
            return JSON.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static IllegalArgumentException error(String path, String message) {
        return new IllegalArgumentException("response_format schema at " + path + ": " + message);
    }
}
