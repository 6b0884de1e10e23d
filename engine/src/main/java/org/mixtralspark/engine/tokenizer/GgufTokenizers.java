package org.mixtralspark.engine.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the vocabulary in GGUF metadata into the equivalent Hugging Face {@code tokenizer.json}, built in memory and
 * loaded into DJL like any other.
 *
 * <ul>
 *   <li>{@code tokenizer.ggml.model = llama} (SentencePiece BPE, Llama/Mistral/Mixtral): the structure of Mistral's
 *       {@code tokenizer.json}, which is what transformers' {@code LlamaConverter} writes (legacy mode): normalizer
 *       {@code Prepend("▁")} + {@code Replace(" ", "▁")}, no pre-tokenizer, BPE with {@code byte_fallback} and
 *       {@code fuse_unk} and merges derived from pieces and scores ({@link SentencePieceMerges}), decoder
 *       {@code Replace("▁", " ")}, {@code ByteFallback}, {@code Fuse}, {@code Strip(" ", 1, 0)}; CONTROL and UNKNOWN
 *       pieces become special added tokens, USER_DEFINED pieces non-special added tokens.
 *       {@code tokenizer.ggml.add_space_prefix = false} drops the {@code Prepend} and the {@code Strip}.</li>
 *   <li>{@code tokenizer.ggml.model = gpt2} (byte-level BPE) with {@code tokenizer.ggml.merges}: GPT-2's
 *       {@code ByteLevel} pre-tokenizer and decoder. Only for {@code tokenizer.ggml.pre} absent, {@code default}
 *       or {@code gpt2}: other values (llama-bpe, qwen2, ...) name their own split regexes, not reproduced here.</li>
 * </ul>
 * Anything else is rejected with an {@link IllegalArgumentException} naming the key.
 */
public final class GgufTokenizers {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SPACE = "\u2581";    // SentencePiece's "▁", which stands for a space

    private GgufTokenizers() {
    }

    /**
     * The tokenizer of a GGUF file's metadata, with its {@code add_bos_token}, BOS/EOS and chat template.
     *
     * @param metadata the GGUF key/value metadata (as {@code GgufFile.metadata()} gives it)
     * @throws IllegalArgumentException when a tokenizer key is missing, malformed or unsupported (naming it)
     */
    public static HfTokenizer fromMetadata(Map<String, Object> metadata) {
        return fromMetadata(metadata, "GGUF metadata (" + GgufVocab.CHAT_TEMPLATE + ")");
    }

    /**
     * {@link #fromMetadata(Map)}, naming {@code templateOrigin} (e.g. the GGUF file) in chat template errors.
     */
    public static HfTokenizer fromMetadata(Map<String, Object> metadata, String templateOrigin) {
        GgufVocab vocab = GgufVocab.of(metadata);
        Object template = metadata.get(GgufVocab.CHAT_TEMPLATE);
        boolean addBos = vocab.addBos() != null ? vocab.addBos() : "llama".equals(vocab.model());
        HfTokenizerConfig config = new HfTokenizerConfig(addBos, vocab.tokenText(vocab.bosId()),
                vocab.tokenText(vocab.eosId()), template instanceof String ? (String) template : null);
        return HfTokenizer.fromJson(tokenizerJson(vocab), config, templateOrigin);
    }

    /**
     * The {@code tokenizer.json} text equivalent to the vocabulary in {@code metadata}, e.g. to write it beside a
     * converted model.
     *
     * @throws IllegalArgumentException when a tokenizer key is missing, malformed or unsupported (naming it)
     */
    public static String tokenizerJson(Map<String, Object> metadata) {
        return tokenizerJson(GgufVocab.of(metadata));
    }

    private static String tokenizerJson(GgufVocab vocab) {
        Map<String, Object> root;
        switch (vocab.model()) {
            case "llama":
                root = sentencePiece(vocab);
                break;
            case "gpt2":
                root = byteLevel(vocab);
                break;
            default:
                throw new IllegalArgumentException(GgufVocab.MODEL + " = " + vocab.model()
                        + " is not supported; supported: llama (SentencePiece BPE), gpt2 (byte-level BPE)");
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write tokenizer.json", e);
        }
    }

    private static Map<String, Object> sentencePiece(GgufVocab v) {
        if (v.unkId() < 0) {
            throw new IllegalArgumentException(GgufVocab.UNK_ID + " is missing; a SentencePiece vocabulary needs"
                    + " an unknown token");
        }
        List<Object> normalizers = new ArrayList<>();
        if (v.addSpacePrefix()) {
            normalizers.add(obj("type", "Prepend", "prepend", SPACE));
        }
        normalizers.add(obj("type", "Replace", "pattern", obj("String", " "), "content", SPACE));

        List<Object> decoders = new ArrayList<>();
        decoders.add(obj("type", "Replace", "pattern", obj("String", SPACE), "content", " "));
        decoders.add(obj("type", "ByteFallback"));
        decoders.add(obj("type", "Fuse"));
        if (v.addSpacePrefix()) {
            decoders.add(obj("type", "Strip", "content", " ", "start", 1, "stop", 0));
        }

        Map<String, Object> model = obj("type", "BPE", "dropout", null, "unk_token", v.tokens()[v.unkId()],
                "continuing_subword_prefix", null, "end_of_word_suffix", null,
                "fuse_unk", true, "byte_fallback", true, "ignore_merges", false,
                "vocab", vocabMap(v), "merges", SentencePieceMerges.derive(v.tokens(), v.scores()));

        Map<String, Object> root = header(v);
        root.put("normalizer", obj("type", "Sequence", "normalizers", normalizers));
        root.put("pre_tokenizer", null);
        root.put("post_processor", templateProcessing(v, v.addBos() == null || v.addBos()));
        root.put("decoder", obj("type", "Sequence", "decoders", decoders));
        root.put("model", model);
        return root;
    }

    private static Map<String, Object> byteLevel(GgufVocab v) {
        if (v.pre() != null && !v.pre().equals("default") && !v.pre().equals("gpt2")) {
            throw new IllegalArgumentException(GgufVocab.PRE + " = " + v.pre() + " is not supported for "
                    + GgufVocab.MODEL + " = gpt2: only the GPT-2 split (pre absent, default or gpt2)");
        }
        if (v.merges() == null) {
            throw new IllegalArgumentException(GgufVocab.MERGES + " is missing; " + GgufVocab.MODEL
                    + " = gpt2 needs it");
        }
        List<String[]> merges = new ArrayList<>(v.merges().length);
        for (int i = 0; i < v.merges().length; i++) {
            String[] parts = v.merges()[i].split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw new IllegalArgumentException(GgufVocab.MERGES + "[" + i + "] = \"" + v.merges()[i]
                        + "\" is not two pieces separated by one space");
            }
            merges.add(parts);
        }
        Map<String, Object> byteLevel = obj("type", "ByteLevel", "add_prefix_space", false,
                "trim_offsets", true, "use_regex", true);
        Map<String, Object> model = obj("type", "BPE", "dropout", null, "unk_token", null,
                "continuing_subword_prefix", null, "end_of_word_suffix", null,
                "fuse_unk", false, "byte_fallback", false, "ignore_merges", false,
                "vocab", vocabMap(v), "merges", merges);

        Map<String, Object> root = header(v);
        root.put("normalizer", null);
        root.put("pre_tokenizer", byteLevel);
        root.put("post_processor", templateProcessing(v, Boolean.TRUE.equals(v.addBos())));
        root.put("decoder", byteLevel);
        root.put("model", model);
        return root;
    }

    /** version, truncation, padding and the added tokens: CONTROL/UNKNOWN special, USER_DEFINED not. */
    private static Map<String, Object> header(GgufVocab v) {
        List<Object> added = new ArrayList<>();
        for (int id = 0; id < v.tokens().length; id++) {
            int type = v.types()[id];
            boolean special = type == GgufVocab.TYPE_CONTROL || type == GgufVocab.TYPE_UNKNOWN;
            if (special || type == GgufVocab.TYPE_USER_DEFINED) {
                added.add(obj("id", id, "content", v.tokens()[id], "single_word", false, "lstrip", false,
                        "rstrip", false, "normalized", false, "special", special));
            }
        }
        Map<String, Object> root = obj("version", "1.0", "truncation", null, "padding", null);
        root.put("added_tokens", added);
        return root;
    }

    /** HF TemplateProcessing: [BOS] $A [EOS] as the metadata asks; null when it adds nothing. */
    private static Map<String, Object> templateProcessing(GgufVocab v, boolean addBos) {
        boolean bos = addBos && v.bosId() >= 0;
        boolean eos = v.addEos() && v.eosId() >= 0;
        if (!bos && !eos) {
            return null;
        }
        List<Object> single = new ArrayList<>();
        List<Object> pair = new ArrayList<>();
        Map<String, Object> specials = new LinkedHashMap<>();
        for (int typeId = 0; typeId < 2; typeId++) {
            List<Object> target = typeId == 0 ? single : pair;
            if (typeId == 1) {
                pair.addAll(single);
            }
            if (bos) {
                target.add(obj("SpecialToken", obj("id", v.tokens()[v.bosId()], "type_id", typeId)));
            }
            target.add(obj("Sequence", obj("id", typeId == 0 ? "A" : "B", "type_id", typeId)));
            if (eos) {
                target.add(obj("SpecialToken", obj("id", v.tokens()[v.eosId()], "type_id", typeId)));
            }
        }
        for (int id : new int[] {bos ? v.bosId() : -1, eos ? v.eosId() : -1}) {
            if (id >= 0) {
                String t = v.tokens()[id];
                specials.put(t, obj("id", t, "ids", List.of(id), "tokens", List.of(t)));
            }
        }
        return obj("type", "TemplateProcessing", "single", single, "pair", pair, "special_tokens", specials);
    }

    /** piece -> id in id order; a piece twice would make ids unreachable, so it is refused. */
    private static Map<String, Integer> vocabMap(GgufVocab v) {
        Map<String, Integer> vocab = new LinkedHashMap<>(v.tokens().length * 2);
        for (int id = 0; id < v.tokens().length; id++) {
            Integer previous = vocab.putIfAbsent(v.tokens()[id], id);
            if (previous != null) {
                throw new IllegalArgumentException(GgufVocab.TOKENS + " holds \"" + v.tokens()[id]
                        + "\" twice (ids " + previous + " and " + id + ")");
            }
        }
        return vocab;
    }

    /** A JSON object from alternating keys and values, in order; values may be null. */
    private static Map<String, Object> obj(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }
}
