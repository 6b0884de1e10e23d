package org.mixtralspark.engine.constrain;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ECMA-262 patterns through the rewriting into Lucene's syntax, checked against {@code java.util.regex} (which agrees
 * with ECMA on this subset): every random text of the grammar matches the pattern in Java, and on candidate strings
 * (texts of the grammar, mutated) the grammar and Java agree both ways.
 */
class EcmaRegexTest {

    private static Grammar regex(String pattern) {
        return ResponseFormat.parse(RandomSchemas.JSON.createObjectNode().put("type", "regex").put("pattern", pattern)
                .toString()).grammar();
    }

    @ParameterizedTest
    @ValueSource(strings = {"[A-Z]{2}-\\d{3}", "(yes|no)( really)?", "a*b+c?", "x{2,}y{0,1}z{3}", "[^a-c]{1,3}",
        "\\w+@\\w+\\.(com|org)", "(?:ab|cd)*e", "(?<year>\\d{4})-(?<month>0[1-9]|1[0-2])", "[\\d.,]+", "\\s?\\S{2}",
        "caf\u00e9|\u4e2d\u6587", "[+\\-*/]\\(\\)\\[\\]\\{\\}", "\\x41\\u0042\\t", ".{0,3}!", "a|b|", "[\\w-]{1,4}",
        "^start$", "(a|b)*?c", "\\$\\^\\.\\|\\?", "[\\u00e0-\\u00ff]{2}"})
    void grammarAndJavaRegexAgree(String pattern) {
        Grammar g = regex(pattern);
        Pattern java = Pattern.compile(pattern);
        SplittableRandom rnd = new SplittableRandom(pattern.hashCode());
        List<String> candidates = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            String text = GrammarWalks.sample(g, rnd, 0.3, 400);
            if (text == null) {
                continue;
            }
            assertTrue(java.matcher(text).matches(), "/" + pattern + "/ generated '" + text + "'");
            candidates.add(text);
            candidates.add(mutate(text, rnd));
        }
        assertTrue(candidates.size() >= 40, "only " + candidates.size() + " texts");
        for (String c : candidates) {
            // '.' also leaves out U+0085, which Java's '.' leaves out too: the two agree on every candidate
            assertEquals(java.matcher(c).matches(), GrammarWalks.accepts(g, c), "/" + pattern + "/ on '" + c + "'");
        }
    }

    private static String mutate(String s, SplittableRandom rnd) {
        String alphabet = "aAbz09-_.@ \t\n\u00e9\u4e2d{}()[]";
        StringBuilder b = new StringBuilder(s);
        int op = rnd.nextInt(3);
        int at = s.isEmpty() ? 0 : rnd.nextInt(s.length());
        char c = alphabet.charAt(rnd.nextInt(alphabet.length()));
        if (op == 0 || s.isEmpty()) {
            b.insert(at, c);
        } else if (op == 1 && !Character.isSurrogate(s.charAt(at))) {
            b.setCharAt(at, c);
        } else if (!Character.isSurrogate(s.charAt(at))) {
            b.deleteCharAt(at);
        }
        return b.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"(?=a)b", "(?!a)b", "(?<=a)b", "(?<!a)b", "(a)\\1", "\\bword", "a^b", "a$b", "\\p{L}",
        "(?i)abc", "\\k<x>", "a{2,1}", "[b-a]", "[]", "(ab", "ab)", "*a", "a**", "\\cA", "\\q", "a{"})
    void unsupportedConstructsAreNamedErrors(String pattern) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> regex(pattern));
        assertTrue(e.getMessage().startsWith("response_format pattern /" + pattern + "/"), e.getMessage());
    }

    @Test
    void choiceIsExactlyTheListedStrings() {
        Grammar g = ResponseFormat.parse("{\"type\":\"choice\",\"choices\":[\"a\",\"ab\",\"\u00e9t\u00e9\",\"\"]}")
                .grammar();
        for (String yes : List.of("a", "ab", "\u00e9t\u00e9", "")) {
            assertTrue(GrammarWalks.accepts(g, yes), yes);
        }
        for (String no : List.of("b", "abc", "A", " a", "ete")) {
            assertTrue(!GrammarWalks.accepts(g, no), no);
        }
    }
}
