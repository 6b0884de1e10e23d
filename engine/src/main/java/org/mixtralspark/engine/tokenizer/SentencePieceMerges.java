package org.mixtralspark.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BPE merges for a SentencePiece BPE vocabulary, which stores only pieces and scores.
 *
 * <p>As transformers' {@code SentencePieceExtractor.extract} (used by {@code LlamaConverter}) does it: every way
 * of writing a piece as the concatenation of two vocabulary pieces is a merge; merges are ordered by the merged
 * piece's score, higher first, and within one score by the merged piece's id, then by the operands' ids. That
 * order is Python's stable sort over a list built in id order and (left id, right id) order per piece. HF BPE then
 * applies the lowest-ranked merge first, which is SentencePiece's "merge the pair whose result scores highest".
 * Checked against the real Mistral {@code tokenizer.json}: the 58980 merges come out identical, in order.
 *
 * <p>Cost: transformers tries every split of every piece and slices both halves, quadratic in a piece's length: a
 * hostile vocabulary with one megabyte-long piece hangs it. Here the pieces that are a prefix of a piece are found
 * for all pieces at once by one pass over the pieces in sorted order (those that start with {@code p} follow
 * {@code p} directly), and the suffixes by the same pass over the reversed pieces, so the work is the sort plus the
 * total length of the pieces and of the merges produced.
 */
final class SentencePieceMerges {

    private SentencePieceMerges() {
    }

    /**
     * @param pieces the piece of each id
     * @param scores the SentencePiece score of each id
     * @return merges in rank order, each {@code {left, right}}
     */
    static List<String[]> derive(String[] pieces, float[] scores) {
        Map<String, Integer> ids = new HashMap<>(pieces.length * 2);
        for (int id = 0; id < pieces.length; id++) {
            ids.put(pieces[id], id);    // a repeated piece keeps its last id, as Python's dict comprehension does
        }
        String[] unique = ids.keySet().toArray(new String[0]);
        // For each distinct piece (by its last id): the pieces that are its prefixes and its suffixes.
        Map<String, int[]> prefixes = affixes(unique, ids, false);
        Map<String, int[]> suffixes = affixes(unique, ids, true);

        List<int[]> merges = new ArrayList<>();   // {merged id, left id, right id}
        for (int id = 0; id < pieces.length; id++) {
            String piece = pieces[id];
            int[] left = prefixes.get(piece);     // {length, id} pairs, by length
            int[] right = suffixes.get(piece);
            if (left.length == 0 || right.length == 0) {
                continue;
            }
            // right holds suffix lengths; index them by the split point piece.length() - suffix length.
            int[] rightIdAt = new int[piece.length() + 1];
            Arrays.fill(rightIdAt, -1);
            for (int i = 0; i < right.length; i += 2) {
                rightIdAt[piece.length() - right[i]] = right[i + 1];
            }
            for (int i = 0; i < left.length; i += 2) {
                int k = left[i];
                if (rightIdAt[k] >= 0) {
                    merges.add(new int[] {id, left[i + 1], rightIdAt[k]});
                }
            }
        }
        merges.sort((a, b) -> {
            // Higher score first; "+ 0f" makes -0.0 equal to 0.0, as Python's comparison does.
            int c = Float.compare(scores[b[0]] + 0f, scores[a[0]] + 0f);
            if (c != 0) {
                return c;
            }
            c = Integer.compare(a[0], b[0]);
            if (c != 0) {
                return c;
            }
            c = Integer.compare(a[1], b[1]);
            return c != 0 ? c : Integer.compare(a[2], b[2]);
        });
        List<String[]> out = new ArrayList<>(merges.size());
        for (int[] m : merges) {
            out.add(new String[] {pieces[m[1]], pieces[m[2]]});
        }
        return out;
    }

    /**
     * For each piece, the other pieces that are a proper, non-empty prefix of it (or suffix, with {@code reversed}),
     * as {@code {length, id}} pairs, shortest first. Only splits between code points count: Python slices a str by
     * code point, so a half never ends inside a surrogate pair.
     *
     * <p>In sorted order the pieces that start with {@code p} come right after {@code p}; so a stack that keeps the
     * pieces that are prefixes of the current one (popping those that are not) holds, when a piece is reached,
     * exactly its prefixes in the vocabulary, shortest at the bottom. Suffixes are prefixes of the pieces reversed
     * code point by code point.
     */
    private static Map<String, int[]> affixes(String[] unique, Map<String, Integer> ids, boolean reversed) {
        String[] keys = new String[unique.length];
        for (int i = 0; i < unique.length; i++) {
            keys[i] = reversed ? new StringBuilder(unique[i]).reverse().toString() : unique[i];
        }
        Integer[] order = new Integer[unique.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> keys[a].compareTo(keys[b]));

        Map<String, int[]> out = new HashMap<>(unique.length * 2);
        int[] stack = new int[16];
        int depth = 0;
        for (int index : order) {
            String key = keys[index];
            while (depth > 0 && !key.startsWith(keys[stack[depth - 1]])) {
                depth--;
            }
            int[] found = new int[2 * depth];
            int n = 0;
            for (int s = 0; s < depth; s++) {
                int len = keys[stack[s]].length();
                if (len > 0 && len < key.length() && !splitsASurrogatePair(key, len)) {
                    found[n++] = len;
                    found[n++] = ids.get(unique[stack[s]]);
                }
            }
            out.put(unique[index], n == found.length ? found : Arrays.copyOf(found, n));
            if (depth == stack.length) {
                stack = Arrays.copyOf(stack, 2 * depth);
            }
            stack[depth++] = index;
        }
        return out;
    }

    private static boolean splitsASurrogatePair(String s, int k) {
        return Character.isHighSurrogate(s.charAt(k - 1)) && Character.isLowSurrogate(s.charAt(k));
    }
}
