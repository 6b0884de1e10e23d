package org.mixtralspark.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopStringMatcherTest {

    @Test
    void withoutStopStringsTextPassesThrough() {
        StopStringMatcher m = new StopStringMatcher(List.of());
        assertEquals("Hello", m.push("Hello"));
        assertEquals(" world", m.push(" world"));
        assertEquals("", m.flush());
        assertFalse(m.stopped());
    }

    @Test
    void aStopStringSpanningTwoPushesIsCaught() {
        StopStringMatcher m = new StopStringMatcher(List.of("\n\n"));
        assertEquals("Hello", m.push("Hello\n"));
        assertEquals("\n", m.held());
        assertEquals("", m.push("\nWorld"));
        assertTrue(m.stopped());
        assertEquals("", m.flush(), "text after the stop string is dropped");
    }

    @Test
    void aStopStringInsideOnePushCutsBeforeIt() {
        StopStringMatcher m = new StopStringMatcher(List.of("###"));
        assertEquals("answer: 4 ", m.push("answer: 4 ### more"));
        assertTrue(m.stopped());
        assertEquals("", m.push("ignored"), "nothing is emitted after a stop");
    }

    @Test
    void aHeldPrefixIsReleasedWhenItTurnsOutNotToBeAStop() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        assertEquals("ab ", m.push("ab ST"));
        assertEquals("ST", m.held());
        assertEquals("START", m.push("ART"));
        assertEquals("", m.held());
        assertEquals(" ", m.push(" STO"), "a new prefix is held again");
        assertEquals("STO", m.flush(), "at the end, held text that never became a stop is released");
        assertFalse(m.stopped());
    }

    @Test
    void theLongestPossibleStartIsHeldNotJustTheFirst() {
        // "aaab" with stop "aab": after "aa" + "a" the suffix "aa" may still start the stop
        StopStringMatcher m = new StopStringMatcher(List.of("aab"));
        assertEquals("", m.push("aa"));
        assertEquals("a", m.push("a"));
        assertEquals("", m.push("b"));
        assertTrue(m.stopped());
    }

    @Test
    void overlappingStopsCutAtTheOneCompletedFirst() {
        StopStringMatcher m = new StopStringMatcher(List.of("bcd", "abc"));
        assertEquals("x", m.push("xab"));
        assertEquals("", m.push("cd"), "\"abc\" is complete before \"bcd\", although \"bcd\" is listed first");

        m = new StopStringMatcher(List.of("bcd", "abcX"));
        assertEquals("", m.push("ab"));
        assertEquals("a", m.push("cd"), "held \"ab\" for abcX, then bcd completed inside it");

        m = new StopStringMatcher(List.of("abc", "ab"));
        assertEquals("", m.push("abc"), "a stop that is a prefix of another stops at the same place");
    }

    @Test
    void theResultDoesNotDependOnHowTheTextIsSplit() {
        // "bc" is complete at the third character, before "abcd" is: the cut is at "bc", in one piece or in many
        List<String> stops = List.of("abcd", "bc");
        StopStringMatcher whole = new StopStringMatcher(stops);
        assertEquals("a", whole.push("abcd"));
        StopStringMatcher pieces = new StopStringMatcher(stops);
        assertEquals("", pieces.push("ab"));
        assertEquals("a", pieces.push("cd"));
        assertTrue(whole.stopped() && pieces.stopped());
    }

    @Test
    void emittedTextIsTheTextBeforeTheFirstStopForRandomSplits() {
        Random random = new Random(41);
        for (int trial = 0; trial < 2000; trial++) {
            String text = randomString(random, 1 + random.nextInt(40));
            List<String> stops = new ArrayList<>();
            for (int i = random.nextInt(4); i >= 0; i--) {
                stops.add(randomString(random, 1 + random.nextInt(4)));
            }
            StopStringMatcher m = new StopStringMatcher(stops);
            StringBuilder emitted = new StringBuilder();
            int at = 0;
            while (at < text.length() && !m.stopped()) {
                int end = Math.min(text.length(), at + random.nextInt(5)); // pieces of 0..4 chars
                emitted.append(m.push(text.substring(at, end)));
                at = end;
                for (String s : stops) {
                    assertFalse(emitted.toString().contains(s), "emitted text contains stop " + s);
                }
            }
            emitted.append(m.flush());
            int cut = cutOneCharacterAtATime(text, stops);
            assertEquals(cut < 0 ? text : text.substring(0, cut), emitted.toString(), "text " + text + ", stops " + stops);
            assertEquals(cut >= 0, m.stopped());
            assertEquals(cut, StopStringMatcher.indexOfFirstStop(text, stops));
        }
    }

    /** The definition, independently: read one character at a time, cut at the first stop string the text ends with. */
    private static int cutOneCharacterAtATime(String text, List<String> stops) {
        for (int k = 1; k <= text.length(); k++) {
            String prefix = text.substring(0, k);
            int longest = 0;
            for (String s : stops) {
                if (prefix.endsWith(s)) {
                    longest = Math.max(longest, s.length());
                }
            }
            if (longest > 0) {
                return k - longest;
            }
        }
        return -1;
    }

    private static String randomString(Random random, int length) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < length; i++) {
            b.append("abc".charAt(random.nextInt(3)));
        }
        return b.toString();
    }

    @Test
    void indexOfFirstStopCutsAtTheFirstCompletedStop() {
        assertEquals(-1, StopStringMatcher.indexOfFirstStop("hello", List.of()));
        assertEquals(-1, StopStringMatcher.indexOfFirstStop("hello", List.of("x", "hex")));
        assertEquals(2, StopStringMatcher.indexOfFirstStop("hello", List.of("lo", "ll")));
        assertEquals(0, StopStringMatcher.indexOfFirstStop("hello", List.of("o", "hello")), "same end: the longer");
        assertEquals(1, StopStringMatcher.indexOfFirstStop("abcd", List.of("abcd", "bc")));
        assertThrows(IllegalArgumentException.class, () -> StopStringMatcher.indexOfFirstStop("x", List.of("")));
        assertThrows(IllegalArgumentException.class, () -> new StopStringMatcher(List.of("a", "")));
    }
}
