package org.mixtralspark.engine.fuzz;

import org.mixtralspark.engine.io.gguf.GgufWriter;
import org.mixtralspark.engine.io.safetensors.SafetensorsWriter;
import org.mixtralspark.engine.model.gen.BuiltinVocab;
import org.mixtralspark.engine.tensor.GgmlType;
import org.mixtralspark.engine.tokenizer.ChatTemplates;
import org.mixtralspark.engine.tokenizer.GgufTokenizers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The seed corpora of the fuzz targets: small valid files of every kind, made by the project's own writers, so the
 * fuzzer starts from inputs that get past the first checks. Run {@link #main} from the engine folder to write them
 * under {@code src/test/resources/org/mixtralspark/engine/fuzz/*Inputs/} (Jazzer's inputs folder, which regression
 * mode replays); {@code FuzzSeedsTest} checks that the committed seeds are still accepted.
 */
final class FuzzSeeds {

    /** The one shard of the sharded checkpoint the index target reads. */
    static final String SHARD = "model-00001-of-00001.safetensors";

    static final Path INPUTS = Path.of("src/test/resources/org/mixtralspark/engine/fuzz");

    private FuzzSeeds() {
    }

    /** A SentencePiece vocabulary of 24 pieces with merges to derive (ab, bc, abc, ...) and the special tokens. */
    static GgufWriter smallGguf() {
        String[] pieces = {"<unk>", "<s>", "</s>", "\u2581", "a", "b", "c", "d", "\u2581a", "ab", "bc", "cd", "abc",
                "bcd", "abcd", "\u2581ab", "\u2581abc", "\u2581b", "\u2581c", "da", "dab", "ca", "cab", "<0x0A>"};
        float[] scores = new float[pieces.length];
        int[] types = new int[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            scores[i] = -i;
            types[i] = i == 0 ? 2 : i < 3 ? 3 : pieces[i].startsWith("<0x") ? 6 : 1;
        }
        return new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.name", "fuzz seed")
                .putUInt32("llama.context_length", 64)
                .putUInt32("llama.embedding_length", 64)
                .putUInt32("llama.block_count", 1)
                .putUInt32("llama.feed_forward_length", 128)
                .putUInt32("llama.attention.head_count", 4)
                .putUInt32("llama.attention.head_count_kv", 2)
                .putUInt32("llama.rope.dimension_count", 16)
                .putFloat32("llama.rope.freq_base", 1e6f)
                .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .putUInt32("llama.expert_count", 2)
                .putUInt32("llama.expert_used_count", 1)
                .putString("tokenizer.ggml.model", "llama")
                .putStringArray("tokenizer.ggml.tokens", List.of(pieces))
                .putFloat32Array("tokenizer.ggml.scores", scores)
                .putInt32Array("tokenizer.ggml.token_type", types)
                .putUInt32("tokenizer.ggml.bos_token_id", 1)
                .putUInt32("tokenizer.ggml.eos_token_id", 2)
                .putUInt32("tokenizer.ggml.unknown_token_id", 0)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putString("tokenizer.chat_template", ChatTemplates.MIXTRAL_INSTRUCT_SOURCE)
                .addTensor("token_embd.weight", GgmlType.F32, new long[] {4, 8}, new float[32])
                .addTensor("blk.0.ffn_down.weight", GgmlType.Q8_0, new long[] {2, 32}, new float[64]);
    }

    /** Byte-level BPE (GPT-2 style) with merges, and no tensors: a vocabulary-only file. */
    static GgufWriter gpt2VocabGguf() {
        return new GgufWriter()
                .putString("tokenizer.ggml.model", "gpt2")
                .putStringArray("tokenizer.ggml.tokens", List.of("h", "e", "l", "o", "he", "ll", "hell", "hello",
                        "\u0120", "\u0120h"))
                .putStringArray("tokenizer.ggml.merges", List.of("h e", "l l", "he ll", "hell o", "\u0120 h"))
                .putUInt32("tokenizer.ggml.eos_token_id", 7);
    }

    /** Two tensors of two dtypes, with {@code __metadata__}. */
    static SafetensorsWriter smallSafetensors() {
        return new SafetensorsWriter()
                .add("a", GgmlType.F32, new long[] {2, 2}, new float[] {1, 2, 3, 4})
                .add("b", GgmlType.BF16, new long[] {3}, new float[] {0.5f, -1, 2});
    }

    /** The tokenizer.json of the built-in vocabulary (SentencePiece BPE, 286 pieces). */
    static String smallTokenizerJson() {
        return GgufTokenizers.tokenizerJson(BuiltinVocab.metadata(BuiltinVocab.MIN_SIZE));
    }

    public static void main(String[] args) throws IOException {
        Path gguf = dir("GgufFuzzTestInputs/ggufFile");
        smallGguf().write(gguf.resolve("seed-llama.gguf"));
        gpt2VocabGguf().write(gguf.resolve("seed-gpt2-vocab.gguf"));

        smallSafetensors().write(dir("SafetensorsFuzzTestInputs/safetensorsFile").resolve("seed.safetensors"));
        Files.writeString(dir("SafetensorsFuzzTestInputs/safetensorsIndex").resolve("seed-index.json"),
                "{\"metadata\": {\"total_size\": 22}, \"weight_map\": {\"a\": \"" + SHARD + "\", \"b\": \"" + SHARD
                        + "\"}}\n");

        Path config = dir("ModelJsonFuzzTestInputs/configJson");
        Files.writeString(config.resolve("seed-mixtral.json"), "{\"architectures\": [\"MixtralForCausalLM\"],"
                + " \"model_type\": \"mixtral\", \"vocab_size\": 32000, \"hidden_size\": 4096,"
                + " \"intermediate_size\": 14336, \"num_hidden_layers\": 32, \"num_attention_heads\": 32,"
                + " \"num_key_value_heads\": 8, \"num_local_experts\": 8, \"num_experts_per_tok\": 2,"
                + " \"max_position_embeddings\": 32768, \"rope_theta\": 1000000.0, \"rms_norm_eps\": 1e-05,"
                + " \"sliding_window\": null, \"rope_scaling\": null, \"torch_dtype\": \"bfloat16\"}\n");
        Files.writeString(config.resolve("seed-mistral.json"), "{\"model_type\": \"mistral\", \"vocab_size\": 32768,"
                + " \"hidden_size\": 4096, \"intermediate_size\": 14336, \"num_hidden_layers\": 32,"
                + " \"num_attention_heads\": 32, \"num_key_value_heads\": 8, \"head_dim\": 128,"
                + " \"max_position_embeddings\": 32768, \"sliding_window\": 4096, \"rope_theta\": 10000.0}\n");

        Files.writeString(dir("ModelJsonFuzzTestInputs/tokenizerJson").resolve("seed-tokenizer.json"),
                smallTokenizerJson());
        Path tokenizerConfig = dir("ModelJsonFuzzTestInputs/tokenizerConfigJson");
        Files.writeString(tokenizerConfig.resolve("seed-strings.json"), "{\"add_bos_token\": true,"
                + " \"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"chat_template\": "
                + com.fasterxml.jackson.databind.node.TextNode.valueOf(ChatTemplates.MIXTRAL_INSTRUCT_SOURCE) + "}\n");
        Files.writeString(tokenizerConfig.resolve("seed-added-tokens.json"), "{\"add_bos_token\": false,"
                + " \"bos_token\": {\"content\": \"<s>\", \"lstrip\": false}, \"eos_token\": {\"content\": \"</s>\"},"
                + " \"chat_template\": [{\"name\": \"default\", \"template\": \"{% for m in messages %}{{ m.role }}:"
                + " {{ m.content }}\\n{% endfor %}\"}, {\"name\": \"tool_use\", \"template\": \"x\"}]}\n");

        Path templates = dir("ChatTemplateFuzzTestInputs/chatTemplate");
        try (Stream<Path> files = Files.list(Path.of("src/test/resources/chat-templates"))) {
            List<Path> jinja = new ArrayList<>();
            files.filter(f -> f.toString().endsWith(".jinja")).forEach(jinja::add);
            for (Path f : jinja) {
                Files.copy(f, templates.resolve("seed-" + f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private static Path dir(String relative) throws IOException {
        return Files.createDirectories(INPUTS.resolve(relative));
    }
}
