package org.mixtralspark.engine.tokenizer;

import java.util.ArrayList;
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
        List<int[]> merges = new ArrayList<>();   // {merged id, left id, right id}
        for (int id = 0; id < pieces.length; id++) {
            String piece = pieces[id];
            // Split between code points, never inside a surrogate pair (Python slices str by code point).
            for (int k = piece.offsetByCodePoints(0, Math.min(1, piece.length())); k < piece.length();
                 k = piece.offsetByCodePoints(k, 1)) {
                Integer left = ids.get(piece.substring(0, k));
                Integer right = ids.get(piece.substring(k));
                if (left != null && right != null) {
                    merges.add(new int[] {id, left, right});
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
}
