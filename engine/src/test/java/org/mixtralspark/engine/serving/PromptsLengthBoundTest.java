package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.oracle.Oracle;
import org.mixtralspark.engine.sampling.ContextLimit;
import org.mixtralspark.engine.tokenizer.ChatTemplate;
import org.mixtralspark.engine.tokenizer.HfTokenizer;
import org.mixtralspark.engine.tokenizer.StreamingDecoder;
import org.mixtralspark.engine.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Prompts}' character bound: a prompt that cannot fit the context whatever its tokens are is rejected before
 * it is tokenized (the tokenizer never sees it) with "at least N tokens"; one that may fit is tokenized as before, so
 * that its true count is what the context rule reports. On the real Mistral vocabulary (mini-mistral's tokenizer),
 * behind an engine stub that only answers {@code model()}, {@code tokenizer()} and {@code chatTemplate()}.
 */
class PromptsLengthBoundTest {

    private static final int CONTEXT = 64;
    private static HfTokenizer mistral;

    @BeforeAll
    static void load() {
        mistral = HfTokenizer.load(Oracle.tokenizerFolder("mini-mistral-hf"));
    }

    @AfterAll
    static void close() {
        mistral.close();
    }

    @Test
    void aFiveMegabytePromptIsRejectedWithoutBeingTokenized() {
        Recording t = new Recording(mistral);
        String prompt = "All work and no play makes Jack a dull boy. ".repeat(113_637);   // 5 000 028 bytes
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Prompts.fromText(new Stub(t), prompt));
        int perToken = mistral.maxTextBytesPerToken().getAsInt();
        long atLeast = (5_000_028L + perToken - 1) / perToken;
        assertEquals(ContextLimit.promptErrorAtLeast(atLeast, CONTEXT, "5000028 bytes of text, and a token of this "
                + "vocabulary stands for at most " + perToken), e.getMessage());
        assertTrue(e.getMessage().startsWith("the prompt has at least " + atLeast + " tokens"), e.getMessage());
        assertEquals(0, t.longestEncoded, "the tokenizer never saw the prompt");
    }

    @Test
    void aChatWithAHugeMessageIsRejectedAfterRenderingBeforeTokenizing() {
        Recording t = new Recording(mistral);
        List<Map<String, String>> messages = List.of(Map.of("role", "user", "content", "\u00e9".repeat(2_000_000)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Prompts.fromMessages(new Stub(t), messages));
        assertTrue(e.getMessage().startsWith("the prompt has at least "), e.getMessage());
        assertTrue(e.getMessage().contains(" bytes of text"), e.getMessage());
        assertEquals(0, t.longestEncoded);
    }

    @Test
    void aPromptThatMayFitIsTokenizedSoItsTrueCountIsKnown() {
        // over the context in tokens, under the character bound: the true count, and the context rule's words
        Recording t = new Recording(mistral);
        String prompt = "hello ".repeat(200);
        int[] ids = Prompts.fromText(new Stub(t), prompt);
        assertArrayEquals(mistral.encode(prompt), ids);
        assertEquals(prompt.length(), t.longestEncoded);
        assertTrue(ids.length >= CONTEXT);
        assertEquals("the prompt has " + ids.length + " tokens, but the context length is 64 (prompt + generated "
                + "tokens): no room for a new token; shorten the prompt to at most 63 tokens",
                ContextLimit.promptError(ids.length, CONTEXT));
    }

    @Test
    void theBoundNeverRejectsAPromptThatFits() {
        // Prompts just under the context, made of the vocabulary's own pieces, the densest text there is: none may
        // be rejected by the bound.
        Random random = new Random(7);
        Stub engine = new Stub(mistral);
        for (int n = 0; n < 200; n++) {
            StringBuilder sb = new StringBuilder();
            while (mistral.encode(sb.toString()).length < CONTEXT - 1) {
                String piece = mistral.piece(3 + random.nextInt(mistral.vocabSize() - 3)).replace('\u2581', ' ');
                sb.append(piece);
            }
            String text = sb.toString();
            assertEquals(mistral.encode(text).length, Prompts.fromText(engine, text).length);
        }
    }

    @Test
    void aTokenizerWithoutABoundTokenizesEverything() {
        Recording t = new Recording(mistral) {
            @Override
            public OptionalInt maxTextBytesPerToken() {
                return OptionalInt.empty();
            }
        };
        String prompt = "hi ".repeat(20_000);
        assertEquals(mistral.encode(prompt).length, Prompts.fromText(new Stub(t), prompt).length);
        assertEquals(prompt.length(), t.longestEncoded);
    }

    @Test
    void utf8LengthIsTheEncodersForWellFormedTextAndNeverMoreForBrokenText() {
        Random random = new Random(3);
        for (int n = 0; n < 500; n++) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 40; i++) {
                int kind = random.nextInt(5);
                int cp = switch (kind) {
                    case 0 -> random.nextInt(0x80);
                    case 1 -> 0x80 + random.nextInt(0x780);
                    case 2 -> 0x800 + random.nextInt(0xD000);
                    case 3 -> 0x10000 + random.nextInt(0x100000);
                    default -> 0xE000 + random.nextInt(0x2000);
                };
                sb.appendCodePoint(cp);
            }
            String s = sb.toString();
            assertEquals(s.getBytes(StandardCharsets.UTF_8).length, Prompts.utf8Length(s), s);
        }
        String broken = "a\uD800b\uDC00";
        assertTrue(Prompts.utf8Length(broken) <= broken.getBytes(StandardCharsets.UTF_8).length);
    }

    /** A tokenizer that remembers the longest text it was asked to encode. */
    private static class Recording implements Tokenizer {
        final Tokenizer inner;
        volatile int longestEncoded;

        Recording(Tokenizer inner) {
            this.inner = inner;
        }

        @Override
        public int[] encode(String text, boolean addBos) {
            longestEncoded = Math.max(longestEncoded, text.length());
            return inner.encode(text, addBos);
        }

        @Override
        public String decode(int[] ids) {
            return inner.decode(ids);
        }

        @Override
        public StreamingDecoder streamingDecoder() {
            return inner.streamingDecoder();
        }

        @Override
        public int vocabSize() {
            return inner.vocabSize();
        }

        @Override
        public int bosId() {
            return inner.bosId();
        }

        @Override
        public int eosId() {
            return inner.eosId();
        }

        @Override
        public boolean addBosByDefault() {
            return inner.addBosByDefault();
        }

        @Override
        public OptionalInt maxTextBytesPerToken() {
            return inner.maxTextBytesPerToken();
        }

        @Override
        public String piece(int id) {
            return inner.piece(id);
        }

        @Override
        public void close() {
        }
    }

    /** Just enough engine for {@link Prompts}: a model of {@link #CONTEXT} positions, a tokenizer, its template. */
    private record Stub(Tokenizer tokenizer) implements Engine {
        @Override
        public ModelDescription model() {
            return new ModelDescription(null, "stub", "stub", CONTEXT, tokenizer.vocabSize(), "cpu");
        }

        @Override
        public ChatTemplate chatTemplate() {
            return mistral.chatTemplate();
        }

        @Override
        public CompletableFuture<GenerationResult> submit(GenerationRequest request) {
            throw new UnsupportedOperationException();
        }

        @Override
        public EngineStats stats() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
        }
    }
}
