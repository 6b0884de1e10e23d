package org.mixtralspark.engine.constrain;

import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.ByteRunAutomaton;
import org.apache.lucene.util.automaton.Operations;
import org.apache.lucene.util.automaton.Transition;
import org.apache.lucene.util.automaton.TooComplexToDeterminizeException;
import org.apache.lucene.util.automaton.UTF32ToUTF8;

/**
 * A compiled response format: a deterministic automaton over the UTF-8 bytes of the text it accepts, with
 * every state live (each state reached by a valid prefix can still be completed to an accepted text). That last
 * property is what makes constrained decoding sound: a token is allowed exactly when its bytes lead from the current
 * state to some state, and the end of generation exactly when the current state accepts.
 *
 * <p>Immutable and thread-safe; independent of any tokenizer (token masks are {@link TokenMasks}).
 */
public final class Grammar {

    /** Lucene's determinisation effort bound (its unit, roughly states times transitions visited). */
    static final int WORK_LIMIT = 2_000_000;

    /** Well-formed UTF-8 (the Unicode Standard's table 3-7), any number of characters. */
    private static final Automaton WELL_FORMED_UTF8 = wellFormedUtf8();

    /** The state before any byte. */
    public static final int START = 0;

    private final ByteRunAutomaton dfa;
    private final int states;

    /** @param codePoints the language over Unicode code points (may be nondeterministic) */
    Grammar(Automaton codePoints, String what) {
        Automaton bytes;
        try {
            // determinise over code points (a few hundred states for typical schemas), then spell each code point in
            // UTF-8: the conversion keeps the automaton deterministic. Not minimised: Hopcroft over Lucene's
            // code-point alphabet cost more than the rest of the compilation, and a non-minimal automaton is only a
            // few more states whose masks are cached lazily anyway.
            Automaton det = Operations.determinize(codePoints, WORK_LIMIT);
            bytes = new UTF32ToUTF8().convert(det);
            // Lucene's conversion also accepts some ill-formed sequences (overlong forms such as E0 88 94); a model
            // that emitted those would write bytes no decoder turns into the schema's characters
            bytes = Operations.removeDeadStates(wellFormed(bytes));
        } catch (TooComplexToDeterminizeException e) {
            throw new IllegalArgumentException(what + " is too complex to compile into an automaton (more than "
                    + WORK_LIMIT + " steps of determinisation): simplify it, e.g. lower maxLength/maxItems");
        }
        if (Operations.isEmpty(bytes)) {
            throw new IllegalArgumentException(what + " accepts no text at all: its constraints contradict each other"
                    + " (e.g. a pattern longer than maxLength), or a recursive $ref has no end within the "
                    + JsonSchemaCompiler.MAX_REF_DEPTH + " expansions structured output allows");
        }
        this.dfa = new ByteRunAutomaton(bytes, true, WORK_LIMIT);
        this.states = dfa.getSize();
    }

    /**
     * The product of a deterministic byte automaton with {@link #WELL_FORMED_UTF8}, keeping its well-formed texts.
     * Lucene's {@code Operations.intersection} gives the same language; this walk of the reachable pairs only is
     * several times faster on schema automata (the validator has 8 states and at most 9 transitions each).
     */
    static Automaton wellFormed(Automaton bytes) {
        Automaton utf8 = WELL_FORMED_UTF8;
        Transition[][] u = utf8.getSortedTransitions();
        Automaton out = new Automaton();
        java.util.HashMap<Long, Integer> ids = new java.util.HashMap<>();
        java.util.ArrayList<long[]> pairs = new java.util.ArrayList<>();
        ids.put(0L, out.createState());
        pairs.add(new long[] {0, 0});
        Transition t = new Transition();
        for (int i = 0; i < pairs.size(); i++) {
            int s = (int) pairs.get(i)[0];
            int v = (int) pairs.get(i)[1];
            out.setAccept(i, bytes.isAccept(s) && utf8.isAccept(v));
            int count = bytes.initTransition(s, t);
            for (int k = 0; k < count; k++) {
                bytes.getNextTransition(t);
                for (Transition w : u[v]) {
                    int min = Math.max(t.min, w.min);
                    int max = Math.min(t.max, w.max);
                    if (min > max) {
                        continue;
                    }
                    long key = ((long) t.dest << 3) | w.dest;
                    Integer id = ids.get(key);
                    if (id == null) {
                        id = out.createState();
                        ids.put(key, id);
                        pairs.add(new long[] {t.dest, w.dest});
                    }
                    out.addTransition(i, id, min, max);
                }
            }
        }
        out.finishState();
        return out;
    }

    private static Automaton wellFormedUtf8() {
        Automaton a = new Automaton();
        int start = a.createState();
        a.setAccept(start, true);
        int tail1 = a.createState(); // one continuation byte left
        int tail2 = a.createState(); // two
        int tail3 = a.createState(); // three
        int e0 = a.createState();
        int ed = a.createState();
        int f0 = a.createState();
        int f4 = a.createState();
        a.addTransition(start, start, 0x00, 0x7F);
        a.addTransition(start, tail1, 0xC2, 0xDF);
        a.addTransition(start, e0, 0xE0, 0xE0);
        a.addTransition(start, tail2, 0xE1, 0xEC);
        a.addTransition(start, ed, 0xED, 0xED);
        a.addTransition(start, tail2, 0xEE, 0xEF);
        a.addTransition(start, f0, 0xF0, 0xF0);
        a.addTransition(start, tail3, 0xF1, 0xF3);
        a.addTransition(start, f4, 0xF4, 0xF4);
        a.addTransition(tail1, start, 0x80, 0xBF);
        a.addTransition(tail2, tail1, 0x80, 0xBF);
        a.addTransition(tail3, tail2, 0x80, 0xBF);
        a.addTransition(e0, tail1, 0xA0, 0xBF);
        a.addTransition(ed, tail1, 0x80, 0x9F);
        a.addTransition(f0, tail2, 0x90, 0xBF);
        a.addTransition(f4, tail2, 0x80, 0x8F);
        a.finishState();
        return a;
    }

    /** The state after byte {@code b} (0..255) from {@code state}, or -1 when no accepted text continues so. */
    public int step(int state, int b) {
        return dfa.step(state, b & 0xff);
    }

    /** The state after {@code bytes[from, to)}, or -1. */
    public int walk(int state, byte[] bytes, int from, int to) {
        for (int i = from; i < to && state >= 0; i++) {
            state = dfa.step(state, bytes[i] & 0xff);
        }
        return state;
    }

    public boolean accepts(int state) {
        return state >= 0 && dfa.isAccept(state);
    }

    /** Whether the whole of {@code bytes} is an accepted text. */
    public boolean matches(byte[] bytes) {
        return accepts(walk(START, bytes, 0, bytes.length));
    }

    /** Whether {@code bytes} can be continued into an accepted text (itself included). */
    public boolean isPrefix(byte[] bytes) {
        return walk(START, bytes, 0, bytes.length) >= 0;
    }

    /** States of the automaton (a bound on the token masks that can be cached for it). */
    public int states() {
        return states;
    }
}
