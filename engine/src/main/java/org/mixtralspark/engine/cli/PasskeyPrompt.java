package org.mixtralspark.engine.cli;

import org.mixtralspark.engine.tokenizer.Tokenizer;

/**
 * The passkey-retrieval prompt (as in Mohtashami and Jaggi's landmark-attention paper and LongLoRA's evaluation): an
 * instruction, filler sentences, and at a given depth of the filler a sentence with a random number; then the
 * question. Built as token ids of exactly the asked length: the parts are tokenized separately (each but the first
 * without BOS) and the filler is cut to the tokens that remain.
 *
 * @param ids      the prompt, {@code length} tokens
 * @param keyStart the index of the needle's first token
 * @param key      the number to retrieve
 */
record PasskeyPrompt(int[] ids, int keyStart, String key) {

    static final String INTRO = "There is an important info hidden inside a lot of irrelevant text. Find it and "
            + "memorize it. I will quiz you about the important information there.";
    static final String FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back"
            + " again.";
    static final String QUESTION = " What is the pass key? The pass key is";

    static String needle(String key) {
        return " The pass key is " + key + ". Remember it. " + key + " is the pass key.";
    }

    /**
     * @param depth where the needle goes in the filler: 0 = right after the instruction, 1 = just before the question
     * @throws IllegalArgumentException when {@code length} cannot hold the instruction, the needle and the question
     */
    static PasskeyPrompt build(Tokenizer tokenizer, int length, double depth, String key) {
        if (depth < 0 || depth > 1 || Double.isNaN(depth)) {
            throw new IllegalArgumentException("depth " + depth + ": must be in [0, 1]");
        }
        int[] intro = tokenizer.encode(INTRO, true);
        int[] filler = tokenizer.encode(FILLER, false);
        int[] needle = tokenizer.encode(needle(key), false);
        int[] question = tokenizer.encode(QUESTION, false);
        int fixed = intro.length + needle.length + question.length;
        int fillerTokens = length - fixed;
        if (fillerTokens < 0) {
            throw new IllegalArgumentException("length " + length + " is too short for the passkey prompt: it needs at"
                    + " least " + fixed + " tokens");
        }
        int before = (int) Math.round(depth * fillerTokens);
        int[] ids = new int[length];
        int o = 0;
        System.arraycopy(intro, 0, ids, o, intro.length);
        o += intro.length;
        for (int i = 0; i < before; i++) {
            ids[o++] = filler[i % filler.length];
        }
        int keyStart = o;
        System.arraycopy(needle, 0, ids, o, needle.length);
        o += needle.length;
        for (int i = before; i < fillerTokens; i++) {
            ids[o++] = filler[i % filler.length];
        }
        System.arraycopy(question, 0, ids, o, question.length);
        return new PasskeyPrompt(ids, keyStart, key);
    }
}
