package org.mixtralspark.engine.tokenizer;

import java.util.List;
import java.util.Map;

/**
 * The tokenizer keys of GGUF metadata, read and checked. Values arrive as the GGUF reader gives them: integers as
 * {@code Long} (any {@link Number} is accepted), FLOAT32 as {@code Float}, strings as {@code String}, arrays as
 * {@code List<Object>}. Every problem is an {@link IllegalArgumentException} naming the key.
 *
 * @param model        {@code tokenizer.ggml.model}: {@code llama} (SentencePiece) or {@code gpt2} (byte-level BPE)
 * @param pre          {@code tokenizer.ggml.pre}, or null
 * @param tokens       {@code tokenizer.ggml.tokens}: the piece of each id
 * @param scores       {@code tokenizer.ggml.scores}, or all 0 when absent
 * @param types        {@code tokenizer.ggml.token_type} (llama.cpp's {@code LLAMA_TOKEN_TYPE_*}), or all NORMAL
 * @param merges       {@code tokenizer.ggml.merges} ("left right" strings), or null when absent
 * @param bosId        {@code tokenizer.ggml.bos_token_id}, or -1
 * @param eosId        {@code tokenizer.ggml.eos_token_id}, or -1
 * @param unkId        {@code tokenizer.ggml.unknown_token_id}, or -1
 * @param addBos       {@code tokenizer.ggml.add_bos_token}, or null when absent
 * @param addEos       {@code tokenizer.ggml.add_eos_token}, or false when absent
 * @param addSpacePrefix {@code tokenizer.ggml.add_space_prefix}, true when absent (SentencePiece's default)
 */
record GgufVocab(String model, String pre, String[] tokens, float[] scores, int[] types, String[] merges,
                 int bosId, int eosId, int unkId, Boolean addBos, boolean addEos, boolean addSpacePrefix) {

    static final String MODEL = "tokenizer.ggml.model";
    static final String PRE = "tokenizer.ggml.pre";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String MERGES = "tokenizer.ggml.merges";
    static final String BOS_ID = "tokenizer.ggml.bos_token_id";
    static final String EOS_ID = "tokenizer.ggml.eos_token_id";
    static final String UNK_ID = "tokenizer.ggml.unknown_token_id";
    static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String ADD_EOS = "tokenizer.ggml.add_eos_token";
    static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";
    static final String CHAT_TEMPLATE = "tokenizer.chat_template";

    // llama.cpp's llama_token_type (llama.h): what each tokenizer.ggml.token_type value means.
    static final int TYPE_NORMAL = 1;
    static final int TYPE_UNKNOWN = 2;
    static final int TYPE_CONTROL = 3;
    static final int TYPE_USER_DEFINED = 4;
    static final int TYPE_UNUSED = 5;
    static final int TYPE_BYTE = 6;

    /** Reads and checks the tokenizer keys of {@code metadata}. */
    static GgufVocab of(Map<String, Object> metadata) {
        String model = string(metadata, MODEL, true);
        String pre = string(metadata, PRE, false);
        List<?> tokenList = list(metadata, TOKENS, true);
        int n = tokenList.size();
        if (n == 0) {
            throw new IllegalArgumentException(TOKENS + " is empty");
        }
        String[] tokens = new String[n];
        for (int i = 0; i < n; i++) {
            if (!(tokenList.get(i) instanceof String)) {
                throw new IllegalArgumentException(TOKENS + "[" + i + "] is " + typeName(tokenList.get(i))
                        + ", expected a string");
            }
            tokens[i] = (String) tokenList.get(i);
        }
        float[] scores = new float[n];
        List<?> scoreList = list(metadata, SCORES, false);
        if (scoreList != null) {
            requireLength(SCORES, scoreList, n);
            for (int i = 0; i < n; i++) {
                scores[i] = number(scoreList.get(i), SCORES + "[" + i + "]").floatValue();
            }
        }
        int[] types = new int[n];
        java.util.Arrays.fill(types, TYPE_NORMAL);
        List<?> typeList = list(metadata, TOKEN_TYPE, false);
        if (typeList != null) {
            requireLength(TOKEN_TYPE, typeList, n);
            for (int i = 0; i < n; i++) {
                types[i] = number(typeList.get(i), TOKEN_TYPE + "[" + i + "]").intValue();
            }
        }
        String[] merges = null;
        List<?> mergeList = list(metadata, MERGES, false);
        if (mergeList != null) {
            merges = new String[mergeList.size()];
            for (int i = 0; i < merges.length; i++) {
                if (!(mergeList.get(i) instanceof String)) {
                    throw new IllegalArgumentException(MERGES + "[" + i + "] is " + typeName(mergeList.get(i))
                            + ", expected a string");
                }
                merges[i] = (String) mergeList.get(i);
            }
        }
        return new GgufVocab(model, pre, tokens, scores, types, merges,
                tokenId(metadata, BOS_ID, n), tokenId(metadata, EOS_ID, n), tokenId(metadata, UNK_ID, n),
                bool(metadata, ADD_BOS), Boolean.TRUE.equals(bool(metadata, ADD_EOS)),
                !Boolean.FALSE.equals(bool(metadata, ADD_SPACE_PREFIX)));
    }

    /** The piece of {@code id}, or null for -1 (no such token). */
    String tokenText(int id) {
        return id < 0 ? null : tokens[id];
    }

    private static String string(Map<String, Object> metadata, String key, boolean required) {
        Object v = metadata.get(key);
        if (v == null) {
            if (required) {
                throw new IllegalArgumentException("GGUF metadata has no " + key + "; it holds no tokenizer");
            }
            return null;
        }
        if (!(v instanceof String)) {
            throw new IllegalArgumentException(key + " is " + typeName(v) + ", expected a string");
        }
        return (String) v;
    }

    private static List<?> list(Map<String, Object> metadata, String key, boolean required) {
        Object v = metadata.get(key);
        if (v == null) {
            if (required) {
                throw new IllegalArgumentException("GGUF metadata has no " + key + "; it holds no tokenizer");
            }
            return null;
        }
        if (!(v instanceof List)) {
            throw new IllegalArgumentException(key + " is " + typeName(v) + ", expected an array");
        }
        return (List<?>) v;
    }

    private static Boolean bool(Map<String, Object> metadata, String key) {
        Object v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Boolean)) {
            throw new IllegalArgumentException(key + " is " + typeName(v) + ", expected a bool");
        }
        return (Boolean) v;
    }

    private static int tokenId(Map<String, Object> metadata, String key, int vocabSize) {
        Object v = metadata.get(key);
        if (v == null) {
            return -1;
        }
        long id = number(v, key).longValue();
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException(key + " = " + id + " is outside the vocabulary [0, " + vocabSize + ")");
        }
        return (int) id;
    }

    private static Number number(Object v, String what) {
        if (!(v instanceof Number)) {
            throw new IllegalArgumentException(what + " is " + typeName(v) + ", expected a number");
        }
        return (Number) v;
    }

    private static void requireLength(String key, List<?> list, int n) {
        if (list.size() != n) {
            throw new IllegalArgumentException(key + " has " + list.size() + " entries but " + TOKENS + " has " + n);
        }
    }

    private static String typeName(Object v) {
        return v == null ? "null" : v.getClass().getSimpleName();
    }
}
