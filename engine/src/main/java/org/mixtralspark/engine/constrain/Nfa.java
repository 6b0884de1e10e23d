package org.mixtralspark.engine.constrain;

import org.apache.lucene.util.automaton.Automaton;
import org.apache.lucene.util.automaton.Transition;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * A growing nondeterministic automaton over Unicode code points, with epsilon edges, that the grammar compilers
 * build fragment by fragment (Thompson's construction). Why not Lucene's {@code Operations.concatenate/union} alone:
 * those copy their operands, so a JSON object whose property list is built from shared continuations, or an array
 * whose item is reached both after {@code [} and after {@code ,}, would be copied once per path (exponential in the
 * nesting). Here a fragment is a pair of states in one graph and can be entered from several places; {@link
 * #toAutomaton} removes the epsilons and hands a Lucene automaton to determinise.
 *
 * <p>A fragment is used once unless a comment says it is shared on purpose. Not thread-safe; one per compilation.
 */
final class Nfa {

    /** Past this many states a schema is refused as too large (it would take too long to determinise). */
    static final int MAX_STATES = 400_000;

    /** The largest code point; surrogates are excluded from every range by {@link #edge}. */
    static final int MAX_CODE_POINT = Character.MAX_CODE_POINT;

    /** A piece of the graph: every path of it goes from {@code start} to {@code end}. */
    record Frag(int start, int end) {
    }

    private int[][] edges = new int[64][]; // state -> (min, max, dest) triples, then unused slots
    private int[] edgeCount = new int[64];
    private int[][] eps = new int[64][];
    private int[] epsCount = new int[64];
    private int states;

    int newState() {
        if (states == MAX_STATES) {
            throw new IllegalArgumentException("the grammar needs more than " + MAX_STATES
                    + " automaton states: lower maxLength/maxItems or the nesting of the schema");
        }
        if (states == edges.length) {
            int n = states * 2;
            edges = Arrays.copyOf(edges, n);
            edgeCount = Arrays.copyOf(edgeCount, n);
            eps = Arrays.copyOf(eps, n);
            epsCount = Arrays.copyOf(epsCount, n);
        }
        return states++;
    }

    int size() {
        return states;
    }

    /** An edge for the code points [min, max], surrogates (never valid in UTF-8 text) left out. */
    void edge(int from, int min, int max, int to) {
        if (min > max) {
            return;
        }
        if (min < Character.MIN_SURROGATE && max > Character.MAX_SURROGATE) {
            rawEdge(from, min, Character.MIN_SURROGATE - 1, to);
            rawEdge(from, Character.MAX_SURROGATE + 1, max, to);
        } else if (min >= Character.MIN_SURROGATE && max <= Character.MAX_SURROGATE) {
            return;
        } else if (min >= Character.MIN_SURROGATE && min <= Character.MAX_SURROGATE) {
            rawEdge(from, Character.MAX_SURROGATE + 1, max, to);
        } else if (max >= Character.MIN_SURROGATE && max <= Character.MAX_SURROGATE) {
            rawEdge(from, min, Character.MIN_SURROGATE - 1, to);
        } else {
            rawEdge(from, min, max, to);
        }
    }

    private void rawEdge(int from, int min, int max, int to) {
        int[] e = edges[from];
        int n = edgeCount[from];
        if (e == null) {
            e = edges[from] = new int[6];
        } else if (n * 3 == e.length) {
            e = edges[from] = Arrays.copyOf(e, e.length * 2);
        }
        e[n * 3] = min;
        e[n * 3 + 1] = max;
        e[n * 3 + 2] = to;
        edgeCount[from] = n + 1;
    }

    void epsilon(int from, int to) {
        int[] e = eps[from];
        int n = epsCount[from];
        if (e == null) {
            e = eps[from] = new int[2];
        } else if (n == e.length) {
            e = eps[from] = Arrays.copyOf(e, n * 2);
        }
        e[n] = to;
        epsCount[from] = n + 1;
    }

    // ---- fragments ----

    /** The empty string. */
    Frag empty() {
        int s = newState();
        return new Frag(s, s);
    }

    /** No string at all: a start with no way to its end (dead paths are removed when determinised). */
    Frag nothing() {
        return new Frag(newState(), newState());
    }

    Frag range(int min, int max) {
        int s = newState();
        int e = newState();
        edge(s, min, max, e);
        return new Frag(s, e);
    }

    Frag literal(String text) {
        int s = newState();
        int cur = s;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            int next = newState();
            edge(cur, cp, cp, next);
            cur = next;
        }
        return new Frag(s, cur);
    }

    Frag concat(Frag... parts) {
        return concat(Arrays.asList(parts));
    }

    Frag concat(List<Frag> parts) {
        if (parts.isEmpty()) {
            return empty();
        }
        for (int i = 0; i + 1 < parts.size(); i++) {
            epsilon(parts.get(i).end(), parts.get(i + 1).start());
        }
        return new Frag(parts.get(0).start(), parts.get(parts.size() - 1).end());
    }

    Frag union(List<Frag> alternatives) {
        int s = newState();
        int e = newState();
        for (Frag f : alternatives) {
            epsilon(s, f.start());
            epsilon(f.end(), e);
        }
        return new Frag(s, e);
    }

    Frag optional(Frag f) {
        int s = newState();
        int e = newState();
        epsilon(s, f.start());
        epsilon(f.end(), e);
        epsilon(s, e);
        return new Frag(s, e);
    }

    /**
     * {@code min} to {@code max} repetitions of what {@code make} builds ({@code max < 0}: unbounded), each pair
     * separated by {@code separator} (null: none). {@code make} is called once per copy needed: {@code max} times when
     * bounded, {@code min + 1} times when not (the last copy is entered again by a loop).
     */
    Frag repeat(Supplier<Frag> make, int min, int max, String separator) {
        int start = newState();
        int end = newState();
        int cur = start; // after `count` items
        int mandatory = max >= 0 ? max : min;
        for (int count = 0; count < mandatory; count++) {
            if (count >= min) {
                epsilon(cur, end);
            }
            cur = concat(separated(cur, count, separator), make.get()).end();
        }
        epsilon(cur, end);
        if (max < 0) {
            // the loop: one shared copy, entered first from here, then again after each separator
            Frag item = make.get();
            epsilon(separated(cur, min, separator).end(), item.start());
            epsilon(item.end(), end);
            Frag again = separator == null ? empty() : literal(separator);
            epsilon(item.end(), again.start());
            epsilon(again.end(), item.start());
        }
        return new Frag(start, end);
    }

    /** From {@code cur}, the separator that precedes item number {@code count} (none before the first). */
    private Frag separated(int cur, int count, String separator) {
        if (count == 0 || separator == null) {
            return new Frag(cur, cur);
        }
        Frag sep = literal(separator);
        epsilon(cur, sep.start());
        return new Frag(cur, sep.end());
    }

    /**
     * Copies a Lucene code-point automaton into this graph, each transition's range passed through {@code encode}
     * (which may add a path of several edges, e.g. a JSON escape), and returns it as a fragment.
     */
    Frag embed(Automaton a, RangeEncoder encode) {
        int n = a.getNumStates();
        int[] map = new int[n];
        for (int i = 0; i < n; i++) {
            map[i] = newState();
        }
        int end = newState();
        Transition t = new Transition();
        for (int i = 0; i < n; i++) {
            if (a.isAccept(i)) {
                epsilon(map[i], end);
            }
            int count = a.initTransition(i, t);
            for (int k = 0; k < count; k++) {
                a.getNextTransition(t);
                encode.encode(this, map[i], t.min, t.max, map[t.dest]);
            }
        }
        return new Frag(n == 0 ? newState() : map[0], end);
    }

    /** Adds the edges that spell the code points [min, max] from {@code from} to {@code to}. */
    @FunctionalInterface
    interface RangeEncoder {
        RangeEncoder RAW = Nfa::edge;

        void encode(Nfa nfa, int from, int min, int max, int to);
    }

    /**
     * The language of {@code f} as a Lucene automaton over code points (nondeterministic, epsilon-free): each state's
     * edges are those of its epsilon closure, and it accepts if the closure holds {@code f.end()}. Only states
     * reachable from {@code f.start()} are copied.
     */
    Automaton toAutomaton(Frag f) {
        int[] id = new int[states];
        Arrays.fill(id, -1);
        List<Integer> order = new ArrayList<>();
        ArrayDeque<Integer> work = new ArrayDeque<>();
        id[f.start()] = 0;
        order.add(f.start());
        work.add(f.start());
        List<int[]> closures = new ArrayList<>();
        int[] mark = new int[states]; // closure() stamps what it has seen, so no clearing between calls
        Automaton a = new Automaton();
        // first pass: number the states reachable through real edges from the start (epsilon-closed sources only)
        while (!work.isEmpty()) {
            int s = work.poll();
            int[] closure = closure(s, mark, closures.size() + 1);
            closures.add(closure);
            for (int c : closure) {
                int[] e = edges[c];
                for (int k = 0; k < edgeCount[c]; k++) {
                    int dest = e[k * 3 + 2];
                    if (id[dest] < 0) {
                        id[dest] = order.size();
                        order.add(dest);
                        work.add(dest);
                    }
                }
            }
        }
        for (int i = 0; i < order.size(); i++) {
            a.createState();
        }
        for (int i = 0; i < order.size(); i++) {
            boolean accept = false;
            for (int c : closures.get(i)) {
                accept |= c == f.end();
                int[] e = edges[c];
                for (int k = 0; k < edgeCount[c]; k++) {
                    a.addTransition(i, id[e[k * 3 + 2]], e[k * 3], e[k * 3 + 1]);
                }
            }
            a.setAccept(i, accept);
        }
        a.finishState();
        return a;
    }

    private int[] closure(int s, int[] mark, int stamp) {
        ArrayDeque<Integer> stack = new ArrayDeque<>();
        stack.push(s);
        mark[s] = stamp;
        int[] out = new int[8];
        int n = 0;
        while (!stack.isEmpty()) {
            int c = stack.pop();
            if (n == out.length) {
                out = Arrays.copyOf(out, n * 2);
            }
            out[n++] = c;
            int[] e = eps[c];
            for (int k = 0; k < epsCount[c]; k++) {
                if (mark[e[k]] != stamp) {
                    mark[e[k]] = stamp;
                    stack.push(e[k]);
                }
            }
        }
        return Arrays.copyOf(out, n);
    }
}
