package org.mixtralspark.engine.tokenizer;

import ai.djl.engine.EngineException;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.mixtralspark.engine.io.BoundedFiles;
import org.mixtralspark.engine.io.JsonErrors;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A Hugging Face {@code tokenizer.json} run by DJL's binding of the Rust {@code tokenizers} library.
 *
 * <p>Built with truncation and padding off: DJL otherwise truncates every encoding to 512 tokens without a word.
 * {@link #encode(String, boolean)} encodes without the post-processor and puts the BOS id in front itself, which is
 * what {@code tokenizer(text, add_special_tokens=addBos)} does for Llama/Mistral tokenizers; an
 * {@code add_eos_token} setting is not honoured (a prompt for generation never ends with EOS).
 *
 * <p>Native library: DJL copies {@code libtokenizers} out of its jar into a cache folder on first use
 * ({@code ENGINE_CACHE_DIR}, else {@code DJL_CACHE_DIR}, else {@code ~/.djl.ai}; environment variable or system
 * property). When that folder cannot be created or written, as on executors without a writable home, this class
 * points DJL at {@code ${java.io.tmpdir}/mixtral-spark-djl-${user.name}} instead and logs a warning. It also opts
 * out of DJL's telemetry ({@code OPT_OUT_TRACKING}), which would otherwise probe the network.
 *
 * <p>Thread-safe: the Rust tokenizer is shared immutably. {@link #close()} frees it; do not close while other
 * threads still encode.
 */
public final class HfTokenizer implements Tokenizer {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The largest real tokenizer.json files (Gemma 3's 262k vocabulary with its merges) are about 33 MB. */
    static final long MAX_TOKENIZER_JSON_BYTES = 64L << 20;
    /**
     * tokenizer_config.json is kilobytes; with added_tokens_decoder for thousands of reserved tokens (Gemma) about
     * 1 MB, and chat templates are kilobytes.
     */
    static final long MAX_TOKENIZER_CONFIG_BYTES = 16L << 20;
    /** Ids at or above this are refused: the largest real vocabularies have about 260k tokens. */
    static final int MAX_VOCABULARY = 1 << 22;

    private final HuggingFaceTokenizer djl;
    private final String[] pieces;      // id -> piece (model vocabulary, then added tokens)
    private final boolean[] special;    // id -> an added token marked special (skipped by decode)
    private final int bosId;
    private final int eosId;
    private final boolean addBosByDefault;
    private final String chatTemplateSource;
    private final ChatTemplate chatTemplate;
    private final OptionalInt maxTextBytesPerToken;

    private HfTokenizer(HuggingFaceTokenizer djl, String[] pieces, boolean[] special, int bosId, int eosId,
                        boolean addBosByDefault, String chatTemplateSource, ChatTemplate chatTemplate,
                        OptionalInt maxTextBytesPerToken) {
        this.djl = djl;
        this.pieces = pieces;
        this.special = special;
        this.bosId = bosId;
        this.eosId = eosId;
        this.addBosByDefault = addBosByDefault;
        this.chatTemplateSource = chatTemplateSource;
        this.chatTemplate = chatTemplate;
        this.maxTextBytesPerToken = maxTextBytesPerToken;
    }

    /**
     * Loads a {@code tokenizer.json} file, or the one in a folder, together with the {@code tokenizer_config.json}
     * beside it when there is one.
     *
     * @throws UncheckedIOException     when a file cannot be read
     * @throws IllegalArgumentException when a file is not a usable tokenizer definition (the message names it)
     */
    public static HfTokenizer load(Path tokenizerJsonOrFolder) {
        Path file = Files.isDirectory(tokenizerJsonOrFolder)
                ? tokenizerJsonOrFolder.resolve("tokenizer.json") : tokenizerJsonOrFolder;
        Path configFile = file.resolveSibling("tokenizer_config.json");
        HfTokenizerConfig config = Files.exists(configFile) && !Files.isDirectory(configFile)
                ? withFile(configFile, () -> HfTokenizerConfig.parse(BoundedFiles.readUtf8(configFile,
                        "tokenizer_config.json", MAX_TOKENIZER_CONFIG_BYTES)))
                : HfTokenizerConfig.NONE;
        return withFile(file, () -> fromJson(BoundedFiles.readUtf8(file, "tokenizer.json", MAX_TOKENIZER_JSON_BYTES),
                config, configFile + " (chat_template)"));
    }

    /**
     * Builds a tokenizer from the text of a {@code tokenizer.json}.
     *
     * @param config what {@code tokenizer_config.json} (or GGUF metadata) says; {@link HfTokenizerConfig#NONE} to
     *               take BOS/EOS from the definition itself
     * @throws IllegalArgumentException when the text is not a tokenizer definition DJL accepts
     */
    public static HfTokenizer fromJson(String tokenizerJson, HfTokenizerConfig config) {
        return fromJson(tokenizerJson, config, "tokenizer_config.json (chat_template)");
    }

    /**
     * {@link #fromJson(String, HfTokenizerConfig)}, with the chat template parsed now (a template that does not parse
     * fails the load, not the first request) and its errors naming {@code templateOrigin}.
     *
     * @param templateOrigin where the config's chat template came from, e.g. the path of tokenizer_config.json
     */
    public static HfTokenizer fromJson(String tokenizerJson, HfTokenizerConfig config, String templateOrigin) {
        JsonNode root;
        try {
            root = JSON.readTree(tokenizerJson);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("tokenizer.json is not valid JSON: " + JsonErrors.oneLine(e), e);
        }
        if (root == null || !root.isObject() || !root.path("model").isObject()) {
            throw new IllegalArgumentException("tokenizer.json has no \"model\" object");
        }
        Map<String, Integer> idsByPiece = new HashMap<>();
        String[] pieces = readPieces(root, idsByPiece);
        checkStripDecoders(root.path("decoder"));
        JsonNode unk = root.path("model").path("unk_token");
        if (unk.isTextual() && !idsByPiece.containsKey(unk.textValue())) {
            // tokenizers accepts this at load and fails every text with a character outside the vocabulary
            throw new IllegalArgumentException("model.unk_token = \"" + unk.textValue()
                    + "\" is not in the vocabulary (model.unk_token)");
        }
        boolean[] special = new boolean[pieces.length];
        for (JsonNode added : root.path("added_tokens")) {
            special[tokenId(added.path("id"), "added_tokens", pieces.length)] = added.path("special").asBoolean(false);
        }
        int bosId = resolveBos(root, config, idsByPiece);
        int eosId = idOf(config.eosToken() != null ? config.eosToken() : "</s>", idsByPiece);
        boolean addBos = config.addBosToken() != null
                ? config.addBosToken() : postProcessorAddsBos(root, bosId, idsByPiece);
        ChatTemplate chatTemplate = ChatTemplates.forModel(config.chatTemplate(),
                bosId >= 0 ? pieces[bosId] : null, eosId >= 0 ? pieces[eosId] : null, templateOrigin);

        DjlNativeCache.prepare();
        // Truncation and padding off: DJL's defaults truncate to modelMaxLength = 512 (DESIGN §5).
        Map<String, String> options = Map.of("truncation", "false", "padding", "false",
                "addSpecialTokens", "false");
        HuggingFaceTokenizer djl;
        try {
            djl = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(withoutPostProcessor(root)), options);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (EngineException e) {
            throw e;    // the native library itself could not be loaded: not the definition's fault
        } catch (RuntimeException e) {
            // The Rust side reports a bad definition as a plain RuntimeException with serde's message.
            throw new IllegalArgumentException("tokenizers cannot load this tokenizer.json: " + e.getMessage(), e);
        }
        return new HfTokenizer(djl, pieces, special, bosId, eosId, addBos, config.chatTemplate(), chatTemplate,
                TextPerTokenBound.of(root, pieces));
    }

    /**
     * tokenizers 0.21.4's Strip decoder indexes {@code len - i - 1} for i up to {@code stop} and panics (aborting the
     * JVM) on a token shorter than that (found by fuzzing); real tokenizers strip at the start only ({@code stop: 0},
     * Llama/Mistral's leading space), so a non-zero stop is refused here.
     */
    private static void checkStripDecoders(JsonNode decoder) {
        if ("Strip".equals(decoder.path("type").asText()) && decoder.path("stop").asLong(0) != 0) {
            throw new IllegalArgumentException("decoder Strip with stop = " + decoder.path("stop")
                    + " is not supported: only stop = 0 (decoder.stop)");
        }
        for (JsonNode d : decoder.path("decoders")) {
            checkStripDecoders(d);
        }
    }

    /**
     * The definition DJL gets: without its post-processor. We never want it (encode adds no special tokens; BOS is put
     * in front here, from what the post-processor says, read above), and the Rust library runs it on every encode
     * anyway, where a template naming a sequence that a single input does not have ({"Sequence": {"id": "B"}} in
     * "single") panics inside the native call and aborts the JVM (found by fuzzing; tokenizers 0.21.4,
     * processors/template.rs). Ids and decoding do not depend on it.
     */
    private static byte[] withoutPostProcessor(JsonNode root) {
        ObjectNode copy = ((ObjectNode) root).deepCopy();
        copy.putNull("post_processor");
        try {
            return JSON.writeValueAsBytes(copy);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write back a parsed tokenizer.json", e);
        }
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        long[] ids;
        try {
            ids = djl.encode(text, false, false).getIds();
        } catch (EngineException e) {
            throw e;
        } catch (RuntimeException e) {
            // The Rust side reports what its definition cannot do only when asked (found by fuzzing: a BPE model
            // whose unk_token is not in its vocabulary loads, then fails on the first unknown character).
            throw new IllegalArgumentException("the tokenizer cannot encode this text: " + e.getMessage(), e);
        }
        boolean withBos = addBos && bosId >= 0;
        int offset = withBos ? 1 : 0;
        int[] out = new int[ids.length + offset];
        if (withBos) {
            out[0] = bosId;
        }
        for (int i = 0; i < ids.length; i++) {
            out[i + offset] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        return decode(ids, true);
    }

    /**
     * The text of these ids, like HF {@code decode(ids, skip_special_tokens=skipSpecialTokens)}.
     *
     * @throws IllegalArgumentException when an id is outside the vocabulary
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            checkId(ids[i]);
            longs[i] = ids[i];
        }
        return djl.decode(longs, skipSpecialTokens);
    }

    @Override
    public StreamingDecoder streamingDecoder() {
        return new IncrementalDecoder(this);
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    @Override
    public boolean addBosByDefault() {
        return addBosByDefault;
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    /** Whether {@code id} is a special added token ({@code <unk>}, {@code <s>}, {@code </s>}): decode skips it. */
    /** See {@link TextPerTokenBound}: computed once at load, from the definition and the longest piece. */
    @Override
    public OptionalInt maxTextBytesPerToken() {
        return maxTextBytesPerToken;
    }

    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        return special[id];
    }

    /** The text of the BOS token ({@code <s>}), or null when there is none. */
    public String bosToken() {
        return bosId >= 0 ? pieces[bosId] : null;
    }

    /** The text of the EOS token ({@code </s>}), or null when there is none. */
    public String eosToken() {
        return eosId >= 0 ? pieces[eosId] : null;
    }

    /** The model's own Jinja chat template, when its tokenizer config or GGUF metadata has one. */
    public Optional<String> chatTemplateSource() {
        return Optional.ofNullable(chatTemplateSource);
    }

    /**
     * The model's chat template with this tokenizer's BOS/EOS texts, or the Mixtral-Instruct template when the model
     * has none (see {@link ChatTemplates#forModel}).
     */
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    @Override
    public void close() {
        djl.close();
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, "
                    + pieces.length + ")");
        }
    }

    /**
     * id -> piece for the model's vocabulary (an object {piece: id}, or Unigram's list of [piece, score]) and the
     * added tokens.
     */
    private static String[] readPieces(JsonNode root, Map<String, Integer> idsByPiece) {
        JsonNode vocab = root.get("model").get("vocab");
        if (vocab != null && vocab.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                idsByPiece.put(e.getKey(), tokenId(e.getValue(), "model.vocab", MAX_VOCABULARY));
            }
        } else if (vocab != null && vocab.isArray()) {
            for (int id = 0; id < vocab.size(); id++) {
                idsByPiece.put(vocab.get(id).path(0).asText(), id);
            }
        } else {
            throw new IllegalArgumentException("tokenizer.json has no model.vocab");
        }
        for (JsonNode added : root.path("added_tokens")) {
            idsByPiece.put(added.path("content").asText(), tokenId(added.path("id"), "added_tokens", MAX_VOCABULARY));
        }
        int size = idsByPiece.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        String[] pieces = new String[size];
        Arrays.fill(pieces, "");
        idsByPiece.forEach((piece, id) -> pieces[id] = piece);
        return pieces;
    }

    /**
     * A token id from the definition: an integer in [0, {@code limit}). The pieces array is sized by the largest id,
     * so an id of 2^31 - 1 would otherwise ask for gigabytes.
     */
    private static int tokenId(JsonNode id, String where, int limit) {
        if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0 || id.intValue() >= limit) {
            throw new IllegalArgumentException(where + " has the token id " + id
                    + ", expected an integer in [0, " + limit + ") (" + where + ")");
        }
        return id.intValue();
    }

    private static int resolveBos(JsonNode root, HfTokenizerConfig config, Map<String, Integer> idsByPiece) {
        if (config.bosToken() != null) {
            return idOf(config.bosToken(), idsByPiece);
        }
        // TemplateProcessing {"single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": ...}]}: the token in front.
        JsonNode first = root.path("post_processor").path("single").path(0).path("SpecialToken").path("id");
        if (first.isTextual()) {
            return idOf(first.textValue(), idsByPiece);
        }
        return idOf("<s>", idsByPiece);
    }

    /** Whether the post-processor's single-sequence template starts with the BOS token (Llama/Mistral: yes). */
    private static boolean postProcessorAddsBos(JsonNode root, int bosId, Map<String, Integer> idsByPiece) {
        JsonNode first = root.path("post_processor").path("single").path(0).path("SpecialToken").path("id");
        return bosId >= 0 && first.isTextual() && idOf(first.textValue(), idsByPiece) == bosId;
    }

    private static int idOf(String piece, Map<String, Integer> idsByPiece) {
        Integer id = idsByPiece.get(piece);
        return id == null ? -1 : id;
    }

    private static <T> T withFile(Path file, java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }
}
