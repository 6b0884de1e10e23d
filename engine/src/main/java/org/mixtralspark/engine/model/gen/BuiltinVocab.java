package org.mixtralspark.engine.model.gen;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small SentencePiece-style BPE vocabulary for generated models, written as GGUF {@code tokenizer.*} metadata
 * (llama.cpp's "llama" tokenizer): {@code <unk> <s> </s>}, the 256 byte-fallback pieces {@code <0x00>..<0xFF>}, the
 * 27 single characters {@code ▁a..z}, then strings over those characters by increasing length (each one the merge
 * of a shorter piece and a character), until the vocabulary has {@code size} pieces. Anything else (capitals, digits,
 * punctuation, non-ASCII) falls back to bytes, so every text can be tokenized. Scores rank merges: earlier pieces win.
 */
public final class BuiltinVocab {

    /** GGUF token types (llama.cpp {@code llama_token_type}). */
    private static final int NORMAL = 1;
    private static final int UNKNOWN = 2;
    private static final int CONTROL = 3;
    private static final int BYTE = 6;
    private static final String CHARS = "▁abcdefghijklmnopqrstuvwxyz";

    /** The smallest vocabulary: specials, bytes and single characters. */
    public static final int MIN_SIZE = 3 + 256 + CHARS.length();

    private BuiltinVocab() {
    }

    public static Map<String, Object> metadata(int size) {
        if (size < MIN_SIZE) {
            throw new IllegalArgumentException("vocab size " + size + ": the built-in vocabulary needs at least "
                    + MIN_SIZE);
        }
        List<Object> tokens = new ArrayList<>(size);
        List<Object> scores = new ArrayList<>(size);
        List<Object> types = new ArrayList<>(size);
        add(tokens, scores, types, "<unk>", 0f, UNKNOWN);
        add(tokens, scores, types, "<s>", 0f, CONTROL);
        add(tokens, scores, types, "</s>", 0f, CONTROL);
        for (int b = 0; b < 256; b++) {
            add(tokens, scores, types, String.format("<0x%02X>", b), 0f, BYTE);
        }
        List<String> level = new ArrayList<>();
        for (int i = 0; i < CHARS.length(); i++) {
            level.add(CHARS.substring(i, i + 1));
        }
        List<String> singles = List.copyOf(level);
        // multi-character pieces first (ids 259..), then the single characters at the end, as in SentencePiece
        List<String> multi = new ArrayList<>();
        int needMulti = size - MIN_SIZE;
        while (multi.size() < needMulti) {
            List<String> next = new ArrayList<>();
            for (String p : level) {
                for (String c : singles) {
                    if (multi.size() + next.size() >= needMulti) {
                        break;
                    }
                    next.add(p + c);
                }
            }
            multi.addAll(next);
            level = next;
        }
        for (String p : multi) {
            add(tokens, scores, types, p, -(tokens.size() - 259f), NORMAL);
        }
        for (String s : singles) {
            add(tokens, scores, types, s, -(tokens.size() - 259f), NORMAL);
        }
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", "llama");
        md.put("tokenizer.ggml.pre", "default");
        md.put("tokenizer.ggml.tokens", tokens);
        md.put("tokenizer.ggml.scores", scores);
        md.put("tokenizer.ggml.token_type", types);
        md.put("tokenizer.ggml.bos_token_id", 1L);
        md.put("tokenizer.ggml.eos_token_id", 2L);
        md.put("tokenizer.ggml.unknown_token_id", 0L);
        md.put("tokenizer.ggml.add_bos_token", Boolean.TRUE);
        md.put("tokenizer.ggml.add_eos_token", Boolean.FALSE);
        return md;
    }

    private static void add(List<Object> tokens, List<Object> scores, List<Object> types, String piece, float score,
                            int type) {
        tokens.add(piece);
        scores.add(score);
        types.add((long) type);
    }
}
