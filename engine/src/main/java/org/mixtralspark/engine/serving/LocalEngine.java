package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.backend.ModelRunner;
import org.mixtralspark.engine.sampling.FinishReason;

import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.sampling.SequenceSampler;
import org.mixtralspark.engine.sampling.StopConditions;
import org.mixtralspark.engine.tokenizer.ChatTemplate;
import org.mixtralspark.engine.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The engine: a step thread that loops schedule → execute → update (vLLM's {@code EngineCore.step}) over the
 * requests of every caller. Callers only enqueue and wait on futures.
 */
final class LocalEngine implements Engine {

    private static final Logger LOG = LoggerFactory.getLogger(LocalEngine.class);

    /** Most tokens in one forward step (prompt chunks plus decode tokens). */
    private static final int STEP_TOKEN_BUDGET = 512;

    private final LoadedModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final ModelRunner runner;
    private final ModelDescription description;
    private final int contextLength;
    private final Scheduler scheduler;
    private final ConcurrentLinkedQueue<Sequence> incoming = new ConcurrentLinkedQueue<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workArrived = lock.newCondition();
    private final Thread stepThread;
    private volatile boolean closed;

    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong steps = new AtomicLong();
    private final AtomicLong busyNanos = new AtomicLong();
    private final AtomicLong decodeSteps = new AtomicLong();
    private final AtomicLong decodeStepTokens = new AtomicLong();
    private final AtomicLong decodeStepNanos = new AtomicLong();

    LocalEngine(LoadedModel model, Tokenizer tokenizer, ChatTemplate chatTemplate, ModelRunner runner,
                EngineOptions options) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.runner = runner;
        MixtralConfig c = model.config();
        this.contextLength = options.effectiveContextLength(c.contextLength());
        this.description = new ModelDescription(model.path(), model.name(), model.format(), contextLength,
                c.vocabSize(), runner.device());
        this.scheduler = new Scheduler(options.maxBatchSize(), STEP_TOKEN_BUDGET, runner.blocks(), s -> {
            if (s.hasGenerated()) {
                // it grew to fill the whole cache: end it like a context limit, keeping what it generated
                requests.incrementAndGet();
                s.text.append(s.decoder.flush());
                s.future.complete(s.result(FinishReason.LENGTH));
                return;
            }
            long need = runner.blocks().blocksFor(s.length + 1);
            fail(s, new IllegalArgumentException("the sequence needs " + need + " KV cache blocks of "
                    + runner.blocks().blockSize() + " positions, but the whole cache has "
                    + runner.blocks().totalBlocks() + ": raise the KV cache budget or shorten the prompt"));
        });
        this.stepThread = new Thread(this::loop, "mixtral-engine");
        this.stepThread.setDaemon(true);
        this.stepThread.start();
    }

    @Override
    public ModelDescription model() {
        return description;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    @Override
    public CompletableFuture<GenerationResult> submit(GenerationRequest request) {
        CompletableFuture<GenerationResult> future = new CompletableFuture<>();
        String invalid = validate(request);
        if (invalid != null) {
            requests.incrementAndGet();
            future.complete(GenerationResult.failed(request.id(), request.promptIds(), invalid));
            return future;
        }
        if (closed) {
            future.complete(GenerationResult.failed(request.id(), request.promptIds(), "the engine is closed"));
            return future;
        }
        incoming.add(new Sequence(request, future));
        lock.lock();
        try {
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        return future;
    }

    private String validate(GenerationRequest r) {
        int vocab = model.config().vocabSize();
        for (int id : r.promptIds()) {
            if (id < 0 || id >= vocab) {
                return "prompt token id " + id + " is outside the vocabulary [0, " + vocab + ")";
            }
        }
        if (r.promptLength() >= contextLength) {
            return "the prompt has " + r.promptLength() + " tokens, but the context holds " + contextLength
                    + " (prompt + generation): shorten the prompt to at most " + (contextLength - 1) + " tokens";
        }
        return null;
    }

    private void loop() {
        while (!closed) {
            Sequence s;
            while ((s = incoming.poll()) != null) {
                start(s);
            }
            if (!scheduler.hasWork()) {
                lock.lock();
                try {
                    if (incoming.isEmpty() && !closed) {
                        workArrived.await();
                    }
                } catch (InterruptedException e) {
                    return;
                } finally {
                    lock.unlock();
                }
                continue;
            }
            step();
        }
    }

    private void start(Sequence s) {
        try {
            s.sampler = new SequenceSampler(s.request.params(), s.request.promptIds(), model.config().vocabSize());
            s.stops = new StopConditions(s.request.params(), tokenizer.eosId(), s.promptLength(), contextLength);
            s.decoder = tokenizer.streamingDecoder();
            scheduler.add(s);
        } catch (RuntimeException e) {
            fail(s, e);
        }
    }

    private void step() {
        Scheduler.ScheduledBatch batch = scheduler.schedule();
        int n = batch.totalTokens();
        if (n == 0) {
            return;
        }
        int[] tokens = new int[n];
        int[] positions = new int[n];
        BlockTable[] tables = new BlockTable[n];
        List<Sequence> seqs = batch.sequences();
        int[] logitRows = new int[seqs.size()];
        boolean[] wantsLogits = new boolean[seqs.size()];
        int row = 0;
        int logitCount = 0;
        for (int i = 0; i < seqs.size(); i++) {
            Sequence s = seqs.get(i);
            for (int j = 0; j < batch.tokenCounts()[i]; j++) {
                tokens[row] = s.tokens[s.computed + j];
                positions[row] = s.computed + j;
                tables[row] = s.table;
                row++;
            }
            // logits are needed once the sequence has caught up with all its known tokens
            if (s.computed + batch.tokenCounts()[i] == s.length) {
                wantsLogits[i] = true;
                logitRows[logitCount++] = row - 1;
            }
        }
        long t0 = System.nanoTime();
        float[] logits;
        try {
            logits = runner.forward(tokens, positions, tables, Arrays.copyOf(logitRows, logitCount));
        } catch (RuntimeException e) {
            LOG.error("forward step failed; failing its {} sequences", seqs.size(), e);
            for (Sequence s : seqs) {
                scheduler.finish(s);
                fail(s, e);
            }
            return;
        }
        long elapsed = System.nanoTime() - t0;
        steps.incrementAndGet();
        busyNanos.addAndGet(elapsed);
        boolean pureDecode = true;
        for (Sequence s : seqs) {
            pureDecode &= !s.inPrefill() && s.length - s.computed == 1;
        }
        if (pureDecode) {
            decodeSteps.incrementAndGet();
            decodeStepTokens.addAndGet(n);
            decodeStepNanos.addAndGet(elapsed);
        }

        int vocab = model.config().vocabSize();
        int li = 0;
        for (int i = 0; i < seqs.size(); i++) {
            Sequence s = seqs.get(i);
            boolean prefill = s.inPrefill();
            s.computed += batch.tokenCounts()[i];
            if (prefill) {
                s.prefillNanos += elapsed;
                promptTokens.addAndGet(batch.tokenCounts()[i]);
            } else {
                s.decodeNanos += elapsed;
            }
            if (!wantsLogits[i]) {
                continue;
            }
            float[] row0 = Arrays.copyOfRange(logits, li * vocab, (li + 1) * vocab);
            li++;
            try {
                emit(s, row0);
            } catch (RuntimeException e) {
                scheduler.finish(s);
                fail(s, e);
            }
        }
    }

    /** Samples the next token of {@code s} from its logits and applies the stop conditions. */
    private void emit(Sequence s, float[] logits) {
        int token = s.sampler.sample(logits);
        int topN = s.request.params().logprobs();
        if (topN > 0) {
            s.logprobs.add(s.sampler.logprob(token, topN));
        }
        s.sampler.accept(token);
        s.append(token);
        generatedTokens.incrementAndGet();
        String piece = s.decoder.push(token);
        s.text.append(s.stops.accept(token, piece));
        if (s.stops.finished()) {
            int[] stopIds = s.request.params().stopTokenIds();
            s.dropLastToken = (token == tokenizer.eosId() && !s.request.params().ignoreEos())
                    || Arrays.stream(stopIds).anyMatch(id -> id == token);
            boolean stoppedByString = s.stops.finishReason() == FinishReason.STOP && !s.dropLastToken;
            if (!stoppedByString) {
                // bytes of an unfinished UTF-8 character come out as U+FFFD, as a one-shot decode gives them
                s.text.append(s.decoder.flush());
            }
            scheduler.finish(s);
            requests.incrementAndGet();
            s.future.complete(s.result());
        }
    }

    private void fail(Sequence s, Throwable e) {
        requests.incrementAndGet();
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        s.future.complete(GenerationResult.failed(s.request.id(), s.request.promptIds(), message));
    }

    /** Sequences pre-empted so far because the KV cache was full (for tests and logs). */
    long preemptions() {
        return scheduler.preemptions();
    }

    @Override
    public EngineStats stats() {
        return new EngineStats(requests.get(), promptTokens.get(), generatedTokens.get(), steps.get(),
                busyNanos.get(), decodeSteps.get(), decodeStepTokens.get(), decodeStepNanos.get());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        lock.lock();
        try {
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            stepThread.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Sequence s : scheduler.drainAll()) {
            s.future.complete(GenerationResult.failed(s.request.id(), s.request.promptIds(), "the engine was closed"));
        }
        Sequence s;
        while ((s = incoming.poll()) != null) {
            s.future.complete(GenerationResult.failed(s.request.id(), s.request.promptIds(), "the engine was closed"));
        }
        runner.close();
        tokenizer.close();
        model.close();
    }
}
