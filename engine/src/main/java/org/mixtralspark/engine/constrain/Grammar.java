package org.mixtralspark.engine.constrain;

import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.ByteRunAutomaton;
import org.apache.lucene.util.automaton.MinimizationOperations;
import org.apache.lucene.util.automaton.Operations;
import org.apache.lucene.util.automaton.TooComplexToDeterminizeException;
import org.apache.lucene.util.automaton.UTF32ToUTF8;

/**
 * A compiled response format: a minimal deterministic automaton over the UTF-8 bytes of the text it accepts, with
 * every state live (each state reached by a valid prefix can still be completed to an accepted text). That last
 * property is what makes constrained decoding sound: a token is allowed exactly when its bytes lead from the current
 * state to some state, and the end of generation exactly when the current state accepts.
 *
 * <p>Immutable and thread-safe; independent of any tokenizer (token masks are {@link TokenMasks}).
 */
public final class Grammar {

    /** Lucene's determinisation effort bound (its unit, roughly states times transitions visited). */
    static final int WORK_LIMIT = 2_000_000;

    /** The state before any byte. */
    public static final int START = 0;

    private final ByteRunAutomaton dfa;
    private final int states;

    /** @param codePoints the language over Unicode code points (may be nondeterministic) */
    Grammar(Automaton codePoints, String what) {
        Automaton minimal;
        try {
            Automaton bytes = new UTF32ToUTF8().convert(Operations.removeDeadStates(codePoints));
            minimal = MinimizationOperations.minimize(bytes, WORK_LIMIT);
        } catch (TooComplexToDeterminizeException e) {
            throw new IllegalArgumentException(what + " is too complex to compile into an automaton (more than "
                    + WORK_LIMIT + " steps of determinisation): simplify it, e.g. lower maxLength/maxItems");
        }
        minimal = Operations.removeDeadStates(minimal);
        if (Operations.isEmpty(minimal)) {
            throw new IllegalArgumentException(what + " accepts no text at all: its constraints contradict each other"
                    + " (e.g. a pattern longer than maxLength), or a recursive $ref has no end within the "
                    + JsonSchemaCompiler.MAX_REF_DEPTH + " expansions structured output allows");
        }
        this.dfa = new ByteRunAutomaton(minimal, true, WORK_LIMIT);
        this.states = dfa.getSize();
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
