package org.mixtralspark.udf.testing;

import org.mixtralspark.engine.sampling.SamplingParams;
import org.mixtralspark.engine.serving.Engine;
import org.mixtralspark.engine.serving.EngineStats;
import org.mixtralspark.engine.sampling.FinishReason;
import org.mixtralspark.engine.serving.GenerationRequest;
import org.mixtralspark.engine.serving.GenerationResult;
import org.mixtralspark.engine.serving.ModelDescription;
import org.mixtralspark.engine.tokenizer.ChatTemplate;
import org.mixtralspark.engine.tokenizer.StreamingDecoder;
import org.mixtralspark.engine.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TEST-ONLY engine with no model: it tokenizes one character per token, and "generates" by echoing the prompt in
 * upper case (temperature 0) or by drawing letters from {@code new Random(seed)} (temperature > 0), so a test can
 * check plumbing, ordering, seeds and error paths without weights. It answers asynchronously on its own threads, like
 * the real engine's scheduler. A prompt containing {@code FAIL_ENGINE} completes with ERROR.
 */
public final class EchoEngine implements Engine {

    public static final int CONTEXT = 128;
    private static final int BOS = 1;
    private static final int EOS = 2;
    private static final int OFFSET = 3;

    private final ModelDescription model;
    private final ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "echo-engine");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generated = new AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();
    private volatile boolean closed;

    public EchoEngine(Path path) {
        this.model = new ModelDescription(path, "echo", "test", CONTEXT, 256 + OFFSET, "cpu");
    }

    @Override
    public ModelDescription model() {
        return model;
    }

    @Override
    public Tokenizer tokenizer() {
        return TOKENIZER;
    }

    @Override
    public ChatTemplate chatTemplate() {
        return EchoEngine::renderChat;
    }

    @Override
    public CompletableFuture<GenerationResult> submit(GenerationRequest r) {
        if (closed) {
            return CompletableFuture.completedFuture(GenerationResult.failed(r.id(), r.promptIds(), "engine closed"));
        }
        maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        return CompletableFuture.supplyAsync(() -> {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            GenerationResult res = run(r);
            inFlight.decrementAndGet();
            requests.incrementAndGet();
            promptTokens.addAndGet(r.promptLength());
            generated.addAndGet(res.tokenIds().length);
            return res;
        }, pool);
    }

    private static GenerationResult run(GenerationRequest r) {
        int[] prompt = r.promptIds();
        String promptText = TOKENIZER.decode(prompt);
        if (promptText.contains("FAIL_ENGINE")) {
            return GenerationResult.failed(r.id(), prompt, "echo engine: asked to fail");
        }
        SamplingParams p = r.params();
        StringBuilder text = new StringBuilder();
        FinishReason finish = FinishReason.LENGTH;
        Random random = p.seed() == null ? new Random() : new Random(p.seed());
        String source = promptText.toUpperCase(java.util.Locale.ROOT);
        int n = 0;
        while (n < p.maxNewTokens()) {
            char c;
            if (p.temperature() == 0) {
                if (n >= source.length()) {
                    finish = FinishReason.STOP;
                    break;
                }
                c = source.charAt(n);
            } else {
                c = (char) ('a' + random.nextInt(26));
            }
            text.append(c);
            n++;
            String stop = p.stopStrings().stream().filter(s -> text.indexOf(s) >= 0).findFirst().orElse(null);
            if (stop != null) {
                text.setLength(text.indexOf(stop));
                finish = FinishReason.STOP;
                break;
            }
        }
        int[] out = TOKENIZER.encode(text.toString(), false);
        return new GenerationResult(r.id(), prompt, out, text.toString(), finish, List.of(), null, 1000, 1000);
    }

    /** The most requests this engine held at once (> a task's chunk size shows tasks shared it). */
    public int maxInFlight() {
        return maxInFlight.get();
    }

    @Override
    public EngineStats stats() {
        return new EngineStats(requests.get(), promptTokens.get(), generated.get(), 0, 0);
    }

    @Override
    public void close() {
        closed = true;
        pool.shutdownNow();
    }

    private static String renderChat(List<Map<String, String>> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder("<s>");
        for (int i = 0; i < messages.size(); i++) {
            Map<String, String> m = messages.get(i);
            String expected = i % 2 == 0 ? "user" : "assistant";
            if (!expected.equals(m.get("role"))) {
                throw new IllegalArgumentException("Conversation roles must alternate user/assistant/user/assistant/...");
            }
            sb.append(i % 2 == 0 ? "[INST] " + m.get("content") + " [/INST]" : m.get("content") + "</s>");
        }
        return sb.toString();
    }

    /** One token per character (code points below 256; others become '?'); "<s>" at the start is BOS. */
    public static final Tokenizer TOKENIZER = new Tokenizer() {
        @Override
        public int[] encode(String text, boolean addBos) {
            boolean bos = addBos;
            if (text.startsWith("<s>")) {
                text = text.substring(3);
                bos = true;
            }
            int[] cps = text.codePoints().toArray();
            int[] ids = new int[cps.length + (bos ? 1 : 0)];
            int k = 0;
            if (bos) {
                ids[k++] = BOS;
            }
            for (int cp : cps) {
                ids[k++] = (cp < 256 ? cp : '?') + OFFSET;
            }
            return ids;
        }

        @Override
        public String decode(int[] ids) {
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                if (id >= OFFSET) {
                    sb.append((char) (id - OFFSET));
                }
            }
            return sb.toString();
        }

        @Override
        public StreamingDecoder streamingDecoder() {
            throw new UnsupportedOperationException("not needed by the Spark side");
        }

        @Override
        public int vocabSize() {
            return 256 + OFFSET;
        }

        @Override
        public int bosId() {
            return BOS;
        }

        @Override
        public int eosId() {
            return EOS;
        }

        @Override
        public boolean addBosByDefault() {
            return true;
        }

        @Override
        public String piece(int id) {
            return id >= OFFSET ? String.valueOf((char) (id - OFFSET)) : "<" + id + ">";
        }

        @Override
        public void close() {
        }
    };
}
