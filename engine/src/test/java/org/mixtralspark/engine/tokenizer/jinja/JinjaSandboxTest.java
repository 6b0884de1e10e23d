package org.mixtralspark.engine.tokenizer.jinja;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile chat templates: the published jinjava sandbox bypasses (CVE-2025-59340: reaching the interpreter, its
 * config and Jackson's ObjectMapper through {@code ____int3rpr3t3r____} and deserialising into arbitrary classes;
 * CVE-2026-25526: the same objects reached through a {@code for} loop's target), Java class loading, file reads
 * and writes, Python-style sandbox escapes, includes of files and class-path resources, and the resource-exhaustion
 * shapes (huge and nested loops, exponential string growth, deep nesting, macro recursion). Each attack must fail
 * with a clear error that names the template's origin, write nothing and leak nothing, and the JVM goes on.
 */
class JinjaSandboxTest {

    private static final String ORIGIN = "/models/evil/tokenizer_config.json (chat_template)";

    @TempDir
    Path dir;

    /**
     * The default limits with a long deadline, so that on a loaded machine the step budget, not the clock, is what
     * stops the loops below (the deadline has a test of its own).
     */
    private static final JinjaLimits LIMITS = JinjaLimits.DEFAULT.withDeadline(Duration.ofSeconds(120));

    private static JinjaTemplate parse(String source) {
        return JinjaTemplate.parse(source, ORIGIN, LIMITS);
    }

    private static Map<String, Object> vars() {
        Map<String, Object> v = new HashMap<>();
        v.put("messages", List.of(Map.of("role", "user", "content", "hi")));
        v.put("bos_token", "<s>");
        v.put("eos_token", "</s>");
        v.put("add_generation_prompt", true);
        return v;
    }

    private static TemplateException renderFails(String source) {
        JinjaTemplate t = parse(source);
        TemplateException e = assertThrows(TemplateException.class, () -> t.render(vars()), source);
        assertTrue(e.getMessage().contains(ORIGIN), e.getMessage());
        return e;
    }

    private static TemplateException limitHit(String source, String limitWords) {
        TemplateException e = renderFails(source);
        assertEquals(TemplateException.Kind.LIMIT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains("exceeded a limit: ") && e.getMessage().contains(limitWords),
                e.getMessage());
        return e;
    }

    // ---- CVE-2025-59340 and CVE-2026-25526 techniques -------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {
        "{{ ____int3rpr3t3r____.config }}",
        "{{ ____int3rpr3t3r____.getConfig().getObjectMapper() }}",
        "{% set om = ____int3rpr3t3r____.config.objectMapper %}"
            + "{{ om.readValue('\"file:///etc/passwd\"', om.getTypeFactory().constructFromCanonical('java.net.URL'))"
            + ".openStream().readAllBytes() }}",
        "{% for c in ____int3rpr3t3r____.config %}{{ c }}{% endfor %}",
        "{% for m in ____int3rpr3t3r____.context.getClass().getMethods() %}{{ m }}{% endfor %}",
        "{{ ____int3rpr3t3r____.context.get('____int3rpr3t3r____') }}",
        "{{ messages.getClass().forName('java.lang.Runtime').getRuntime().exec('id') }}",
        "{{ ''.getClass().forName('java.lang.System').getProperty('user.home') }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ raise_exception.__globals__['os'].popen('id').read() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}",
        "{{ messages[0].__class__.__base__.__subclasses__() }}",
        "{{ messages.append({'role': 'system', 'content': 'pwned'}) }}",
        "{{ messages[0].update({'content': 'pwned'}) }}",
        "{{ range.__self__ }}{{ namespace.__call__.__globals__ }}"})
    void bypassTechniquesReachNothing(String attack) {
        JinjaTemplate t = parse(attack);
        Map<String, Object> v = vars();
        try {
            String out = t.render(v);
            // The template may render (an undefined name prints as nothing), but never a Java object's text.
            assertFalse(out.contains("java") || out.contains("class") || out.contains("@") || out.contains("root:")
                    || out.contains("jinja"), out);
        } catch (TemplateException e) {
            assertTrue(e.getMessage().contains(ORIGIN), e.getMessage());
            assertTrue(e.kind() == TemplateException.Kind.RENDER, e.getMessage());
            assertTrue(e.getMessage().contains("is undefined") || e.getMessage().contains("is unsafe")
                    || e.getMessage().contains("has no attribute"), e.getMessage());
        }
        assertEquals(List.of(Map.of("role", "user", "content", "hi")), v.get("messages"), "messages unchanged");
    }

    @Test
    void theInterpreterIsNotInScope() {
        TemplateException e = renderFails("{{ ____int3rpr3t3r____.config.objectMapper }}");
        assertEquals("chat template " + ORIGIN + ", line 1 failed: '____int3rpr3t3r____' is undefined",
                e.getMessage());
        assertEquals("", parse("{{ ____int3rpr3t3r____ }}{{ self }}{{ config }}{{ context }}{{ request }}"
                + "{{ ''.__class__ }}{{ messages.getClass }}").render(vars()));
    }

    @Test
    void noFileIsWrittenOrRead() throws Exception {
        Path target = dir.resolve("pwned.txt");
        String p = target.toString().replace("\\", "/");
        String[] attacks = {
            "{% set om = ____int3rpr3t3r____.config.objectMapper %}{{ om.writeValue(om.readValue('\"" + p
                + "\"', om.getTypeFactory().constructFromCanonical('java.io.File')), 'x') }}",
            "{{ messages.getClass().forName('java.nio.file.Files').write('" + p + "', 'x'.getBytes()) }}",
            "{% for f in ____int3rpr3t3r____.config.objectMapper.getTypeFactory() %}{{ f }}{% endfor %}",
        };
        for (String attack : attacks) {
            renderFails(attack);
        }
        assertFalse(Files.exists(target), "a template wrote " + target);
        Files.writeString(dir.resolve("secret.txt"), "TOP-SECRET");
        assertTrue(parse("{{ '" + dir.resolve("secret.txt").toString().replace("\\", "/") + "' }}").render(vars())
                .endsWith("secret.txt"), "a path is only ever a string");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{% include '/etc/passwd' %}",
        "{% include 'META-INF/MANIFEST.MF' %}",
        "{% include 'org/mixtralspark/engine/tokenizer/jinja/JinjaTemplate.class' ignore missing %}",
        "{% import 'macros.jinja' as m %}{{ m.x() }}",
        "{% from 'macros.jinja' import x %}",
        "{% extends 'base.html' %}",
        "{% block content %}{% endblock %}"})
    void includesImportsAndResourcesAreRefusedAtLoad(String attack) {
        TemplateException e = assertThrows(TemplateException.class, () -> parse(attack));
        assertEquals(TemplateException.Kind.SYNTAX, e.kind());
        assertTrue(e.getMessage().startsWith("chat template " + ORIGIN + ", line 1 does not parse: '"), e.getMessage());
        assertTrue(e.getMessage().contains("is not allowed: a chat template cannot load other templates, files or"
                + " resources"), e.getMessage());
    }

    @Test
    void onlyPlainValuesGoIn() {
        JinjaTemplate t = parse("{{ messages[0].content is string }} {{ messages[0].content }}");
        Map<String, Object> v = vars();
        v.put("messages", List.of(Map.of("role", "user", "content", new StringBuilder("sb"))));
        assertEquals("True sb", t.render(v), "a CharSequence is copied as a string");
        v.put("messages", List.of(Map.of("role", "user", "content", dir.toFile())));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(v));
        assertEquals("messages[0].content: a File is not a template value (strings, numbers, booleans, null,"
                + " lists and maps only)", e.getMessage());
    }

    // ---- resource exhaustion --------------------------------------------------------------------------------

    @Test
    void hugeAndNestedLoopsStopAtTheStepBudget() {
        limitHit("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                "more than 1000000 evaluation steps");
        limitHit("{% for i in range(1000000000) %}x{% endfor %}", "a list of 1000000000 items");
        limitHit("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
                + "{% if c == -1 %}never{% endif %}{% endfor %}{% endfor %}{% endfor %}", "evaluation steps");
    }

    @Test
    void aSlowRenderStopsAtItsDeadline() {
        JinjaLimits quick = JinjaLimits.DEFAULT.withMaxSteps(Long.MAX_VALUE).withDeadline(Duration.ofMillis(200));
        JinjaTemplate t = JinjaTemplate.parse(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", ORIGIN, quick);
        TemplateException e = assertThrows(TemplateException.class, () -> t.render(vars()));
        assertEquals(TemplateException.Kind.LIMIT, e.kind());
        assertTrue(e.getMessage().contains("deadline of 200 ms"), e.getMessage());
    }

    @Test
    void stringsAndListsAreMeasuredBeforeTheyAreBuilt() {
        limitHit("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
                + "{% endfor %}{{ ns.s|length }}", "more than the limit of 8388608");
        limitHit("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
                + "{% endfor %}", "characters, more than the limit");
        limitHit("{{ 'a' * 100000000000000 }}", "a string of 2147483648 characters");
        limitHit("{{ ('ab' * 4000000) * 4000000 }}", "characters, more than the limit");
        limitHit("{{ [1, 2, 3] * 1000000000 }}", "items, more than the limit of 100000");
        limitHit("{{ ('wxyz' * 300000)|replace('wxyz', 'y' * 32) }}", "a string of 9600000 characters");
        limitHit("{% set ns = namespace(l=[0]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                "items, more than the limit");
    }

    @Test
    void multiplyingHelpersAreMeasuredToo() {
        limitHit("{{ {'a': [[[1]]]}|tojson(indent='x' * 4000000) }}", "characters, more than the limit");
        limitHit("{{ ('\\n' * 4000000).splitlines()|length }}", "items, more than the limit of 100000");
        limitHit("{{ 'x'|center(10000000000) }}", "a string of 10000000000 characters");
        limitHit("{{ [1]|batch(1000000000, 0)|list }}", "items, more than the limit");
        assertEquals("3", parse("{{ 'one two  three'|wordcount }}").render(vars()));
    }

    @Test
    void theOutputIsBounded() {
        limitHit("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
                "the rendered text would be longer than 8388608 characters");
    }

    @Test
    void deepNestingIsRefusedAtParseWithoutRecursingIntoIt() {
        String[] deep = {
            "{{ " + "(".repeat(100_000) + "1" + ")".repeat(100_000) + " }}",
            "{{ " + "[".repeat(100_000) + "]".repeat(100_000) + " }}",
            "{{ " + "not ".repeat(50_000) + "x }}",
            "{{ " + "- ".repeat(100_000) + "1 }}",
            "{% if true %}".repeat(10_000) + "{% endif %}".repeat(10_000),
            "{{ " + "1 if x else ".repeat(20_000) + "2 }}",
            "{{ f" + "(".repeat(100_000) + ")".repeat(100_000) + " }}",
            "{{ x" + "[0]".repeat(100) + "|trim".repeat(1000) + " }}{{ " + "{'a': ".repeat(10_000) + "1"
                + "}".repeat(10_000) + " }}"};
        for (String source : deep) {
            TemplateException e = assertThrows(TemplateException.class, () -> parse(source));
            assertEquals(TemplateException.Kind.LIMIT, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("nested more than 64 deep"), e.getMessage());
            assertTrue(e.getMessage().startsWith("chat template " + ORIGIN), e.getMessage());
        }
    }

    @Test
    void macroRecursionStopsAtTheDepthLimit() {
        limitHit("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "evaluation nested more than 400 deep");
        limitHit("{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(0) }}",
                "nested more than");
        // Exponential fan-out stays shallow, so the step budget stops it instead.
        limitHit("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
                "evaluation steps");
    }

    @Test
    void deeplyNestedAndCyclicValuesAreBounded() {
        limitHit("{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor %}"
                + "{{ ns.x }}", "a value nested more than 64 deep");
        limitHit("{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor %}"
                + "{{ ns.x|tojson }}", "a value nested more than 64 deep");
        limitHit("{% set ns = namespace(x=[], y=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}"
                + "{% set ns.y = [ns.y] %}{% endfor %}{{ ns.x == ns.y }}", "a value nested more than 64 deep");
        limitHit("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}", "a value nested more than 64 deep");
        List<Object> deep = new ArrayList<>();
        List<Object> cur = deep;
        for (int i = 0; i < 10_000; i++) {
            List<Object> next = new ArrayList<>();
            cur.add(next);
            cur = next;
        }
        Map<String, Object> v = vars();
        v.put("messages", List.of(Map.of("role", "user", "content", deep)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("x").render(v));
        assertTrue(e.getMessage().contains("nested more than 64 deep"), e.getMessage());
    }

    @Test
    void longMessagesAreSlicedAndMeasuredWithoutBeingSplitIntoCharacters() {
        Map<String, Object> v = vars();
        String content = "é".repeat(1_000_000) + "🙂 the end";
        v.put("messages", List.of(Map.of("role", "user", "content", content)));
        assertEquals("🙂 the end|1000009|é|d", parse("{{ messages[0].content[-9:] }}|{{ messages[0].content|length }}|"
                + "{{ messages[0].content|first }}|{{ messages[0].content|last }}").render(v));
    }

    @Test
    void digitsOfOtherScriptsAreNotPartOfANumberLiteral() {
        // Found by fuzzing: "1.0" followed by NKo digit two (U+07C2) reached Double.parseDouble as one literal and
        // escaped as a NumberFormatException. jinja2's literals are ASCII digits; the rest is a syntax error.
        TemplateException e = assertThrows(TemplateException.class, () -> parse("{{ 1.0\u07c2 }}"));
        assertEquals(TemplateException.Kind.SYNTAX, e.kind());
        assertTrue(e.getMessage().contains(ORIGIN), e.getMessage());
        assertEquals("1.5", parse("{{ 1.5 }}").render(vars()));
    }

    @Test
    void aNumberArgumentThatIsNotANumberIsARenderError() {
        // Found by fuzzing: indent(width=undefined) reached a cast to Long (ClassCastException).
        TemplateException e = assertThrows(TemplateException.class, () -> parse("{{ 'a'|indent(nope) }}").render(vars()));
        assertEquals(TemplateException.Kind.RENDER, e.kind());
        assertTrue(e.getMessage().contains("expected an integer"), e.getMessage());
    }

    @Test
    void aHugeTemplateIsRefusedBeforeItIsLexed() {
        TemplateException e = assertThrows(TemplateException.class, () -> parse("x".repeat((256 << 10) + 1)));
        assertEquals(TemplateException.Kind.LIMIT, e.kind());
        assertTrue(e.getMessage().contains("more than the limit of 262144"), e.getMessage());
    }

    /**
     * The deepest evaluation the limits allow, on a thread with an eighth of the render thread's stack: it ends in
     * the depth limit, not a StackOverflowError, so the render thread has a margin of 8x.
     */
    @Test
    void theDeepestAllowedRenderFitsInAnEighthOfTheRenderStack() throws Exception {
        // A macro recursing through nested parentheses (each level a nesting step) until the evaluation-depth limit.
        String nested = "(".repeat(28) + "f(n + 1)" + ")".repeat(28);     // 2 nesting levels each, near the 64
        String deepest = "{% macro f(n) %}{% for i in [1] %}{% if true %}{{ " + nested + " ~ '' }}{% endif %}"
                + "{% endfor %}{% endmacro %}{{ f(0) }}";
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                List<Node.Stmt> body = Parser.parse(deepest, JinjaLimits.DEFAULT);
                new Renderer(JinjaLimits.DEFAULT, vars()).render(body);
            } catch (Throwable e) {
                thrown.set(e);
            }
        }, "small-stack", JinjaTemplate.RENDER_STACK_BYTES / 8);
        t.start();
        t.join();
        assertTrue(thrown.get() instanceof JinjaError, String.valueOf(thrown.get()));
        assertTrue(thrown.get().getMessage().contains("evaluation nested more than 400 deep"),
                thrown.get().getMessage());
    }

    @Test
    void afterEveryAttackTheNextRenderWorks() {
        hugeAndNestedLoopsStopAtTheStepBudget();
        stringsAndListsAreMeasuredBeforeTheyAreBuilt();
        macroRecursionStopsAtTheDepthLimit();
        assertEquals("<s>hi", parse("{{ bos_token }}{{ messages[0].content }}").render(vars()));
    }

    @Test
    void raiseExceptionIsTheTemplatesOwnMessage() {
        TemplateException e = renderFails("{% if messages|length < 2 %}{{ raise_exception('need two') }}{% endif %}");
        assertEquals(TemplateException.Kind.RAISED, e.kind());
        assertEquals("need two", e.detail());
        assertEquals("need two (raised by the chat template " + ORIGIN + ", line 1)", e.getMessage());
    }
}
