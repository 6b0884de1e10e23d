package org.mixtralspark.engine.constrain;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/** Random texts of a grammar: random walks over its live bytes, ending (when allowed) with some probability. */
final class GrammarWalks {

    private GrammarWalks() {
    }

    /** A random accepted text, or null when a walk ran past {@code maxBytes} without ending. */
    static String sample(Grammar g, SplittableRandom rnd, double stopProbability, int maxBytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int state = Grammar.START;
        int[] live = new int[256];
        while (out.size() <= maxBytes) {
            int n = 0;
            for (int b = 0; b < 256; b++) {
                if (g.step(state, b) >= 0) {
                    live[n++] = b;
                }
            }
            if (g.accepts(state) && (n == 0 || rnd.nextDouble() < stopProbability)) {
                return out.toString(StandardCharsets.UTF_8);
            }
            // prefer ASCII bytes when there are some, so that texts stay short and readable
            int b = live[rnd.nextInt(n)];
            if (b >= 0x80 && rnd.nextInt(4) > 0) {
                for (int k = 0; k < n; k++) {
                    if (live[k] < 0x80) {
                        b = live[rnd.nextInt(k + 1)];
                        break;
                    }
                }
            }
            out.write(b);
            state = g.step(state, b);
        }
        return null;
    }

    static boolean accepts(Grammar g, String text) {
        return g.matches(text.getBytes(StandardCharsets.UTF_8));
    }
}
