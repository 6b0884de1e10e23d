package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.backend.ModelRunner;
import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.backend.StepOutput;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.model.LoadedModel;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.sampling.ContextLimit;
import org.mixtralspark.engine.tokenizer.ChatTemplate;
import org.mixtralspark.engine.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The engine: a step thread that loops schedule → execute → update (vLLM's {@code EngineCore.step}) over the
 * requests of every caller. Callers only enqueue and wait on futures. The {@link Scheduler} decides each step and
 * owns the sequences' state; the backend ({@link ModelRunner}) runs it ({@link StepInput} in, {@link StepOutput}
 * out); the {@link OutputProcessor} samples, detokenises, applies the stop conditions and completes the futures.
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
    private final OutputProcessor outputs;
    private final RoutingRecorder routing;
    private final ConcurrentLinkedQueue<Sequence> incoming = new ConcurrentLinkedQueue<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workArrived = lock.newCondition();
    private final Thread stepThread;
    private volatile boolean closed;

    /** Requests rejected at submission (they never reach the output processor). */
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
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
        this.outputs = new OutputProcessor(tokenizer, c.vocabSize(), contextLength);
        this.routing = new RoutingRecorder(c.layers(), c.experts(), c.expertsUsed(), runner.device());
        this.scheduler = new Scheduler(options.maxBatchSize(), STEP_TOKEN_BUDGET, runner.blocks(), options.prefixCache(),
                this::largerThanTheCache);
        this.stepThread = new Thread(this::loop, "mixtral-engine");
        this.stepThread.setDaemon(true);
        this.stepThread.start();
    }

    /** {@code s} cannot fit in the whole KV cache. */
    private void largerThanTheCache(Sequence s) {
        if (s.hasGenerated() && !s.isLabel()) {
            // it grew to fill the whole cache: end it like a context limit, keeping what it generated
            outputs.completeForLength(s);
            return;
        }
        long need = runner.blocks().blocksFor(s.length() + 1);
        fail(s, "the sequence needs " + need + " KV cache blocks of " + runner.blocks().blockSize()
                + " positions, but the whole cache has " + runner.blocks().totalBlocks()
                + ": raise the KV cache budget or shorten the prompt");
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
            rejected.incrementAndGet();
            future.complete(GenerationResult.failed(request.id(), request.promptIds(), invalid));
            return future;
        }
        if (closed) {
            future.complete(GenerationResult.failed(request.id(), request.promptIds(), "the engine is closed"));
            return future;
        }
        incoming.add(new Sequence(request, new Generation(future)));
        lock.lock();
        try {
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        return future;
    }

    /**
     * One sequence computes the prompt and asks for nothing else: when its prompt is in the cache, the samples are
     * forked from it (sharing its blocks) and each draws its first token from the prompt's logits with its own
     * sampler, then runs on alone.
     */
    @Override
    public List<CompletableFuture<GenerationResult>> submitSamples(List<GenerationRequest> samples) {
        Engine.checkSamples(samples);
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>(samples.size());
        String invalid = validate(samples.get(0));
        if (invalid != null || closed) {
            for (GenerationRequest r : samples) {
                if (invalid != null) {
                    rejected.incrementAndGet();
                }
                futures.add(CompletableFuture.completedFuture(GenerationResult.failed(r.id(), r.promptIds(),
                        invalid != null ? invalid : "the engine is closed")));
            }
            return futures;
        }
        GenerationRequest first = samples.get(0);
        // the prompt's sequence: its own request is never sampled (its future is not returned)
        Sequence prompt = new Sequence(new GenerationRequest(first.id(), first.promptIds(), first.params()),
                new Generation(new CompletableFuture<>()));
        prompt.forkInto = new ArrayList<>(samples.size());
        for (GenerationRequest r : samples) {
            CompletableFuture<GenerationResult> f = new CompletableFuture<>();
            prompt.forkInto.add(new Sequence(r, new Generation(f), prompt));
            futures.add(f);
        }
        incoming.add(prompt);
        lock.lock();
        try {
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        return futures;
    }

    private String validate(GenerationRequest r) {
        if (r.params().n() != 1) {
            return "n = " + r.params().n() + ": submit runs one sample; Engine.submitN runs the n samples";
        }
        int vocab = model.config().vocabSize();
        for (int id : r.promptIds()) {
            if (id < 0 || id >= vocab) {
                return "prompt token id " + id + " is outside the vocabulary [0, " + vocab + ")";
            }
        }
        String tooLong = ContextLimit.promptError(r.promptLength(), contextLength);
        if (tooLong != null || r.labels() == null) {
            return tooLong;
        }
        for (int i = 0; i < r.labels().size(); i++) {
            for (int id : r.labels().ids().get(i)) {
                if (id < 0 || id >= vocab) {
                    return "labels: label \"" + r.labels().texts().get(i) + "\" has token id " + id
                            + ", outside the vocabulary [0, " + vocab + ")";
                }
            }
        }
        return r.labels().problem(r.promptLength(), contextLength);
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
        if (s.forkInto != null) {
            startSamples(s);
            return;
        }
        try {
            if (s.request.promptLogprobs() >= 0) {
                s.generation.promptScores = new PositionScores(s.request.promptIds(), 1, s.request.promptLogprobs());
            }
            if (s.request.scoresLabels()) {
                s.labelRun = new LabelRun(s.request); // it samples nothing: no sampler, no stop conditions
            } else {
                outputs.start(s);
            }
            scheduler.add(s);
        } catch (RuntimeException e) {
            outputs.fail(s, e);
        }
    }

    /** Sets up every sample of a prompt's sequence; one with bad parameters fails alone, the others go on. */
    private void startSamples(Sequence prompt) {
        List<Sequence> ok = new ArrayList<>(prompt.forkInto.size());
        for (Sequence c : prompt.forkInto) {
            try {
                outputs.start(c);
                ok.add(c);
            } catch (RuntimeException e) {
                outputs.fail(c, e);
            }
        }
        prompt.forkInto = ok;
        if (!ok.isEmpty()) {
            scheduler.add(prompt);
        }
    }

    /** Fails {@code s}, or every sample still waiting on it when it is a prompt's sequence. */
    private void fail(Sequence s, String message) {
        if (s.labelRun != null) {
            if (s.labelRun.end()) {
                outputs.fail(s, message); // the whole scoring request, once; its other labels are dropped
            }
            return;
        }
        if (s.forkInto == null) {
            outputs.fail(s, message);
            return;
        }
        for (Sequence c : s.forkInto) {
            outputs.fail(c, message);
        }
    }

    private void fail(Sequence s, RuntimeException e) {
        fail(s, e.getMessage() == null ? e.toString() : e.getMessage());
    }

    /**
     * The prompt's sequence has its prompt in the cache and its logits: forks it into its samples, each of which
     * draws its first token from those logits, and lets go of the prompt's own references.
     */
    private void forkSamples(Sequence prompt, StepOutput output, int row) {
        List<Sequence> samples = prompt.forkInto;
        scheduler.fork(prompt, samples);
        scheduler.finish(prompt);
        for (Sequence c : samples) {
            c.generation.prefillNanos = prompt.generation.prefillNanos;
            try {
                scheduler.append(c, outputs.next(c, output.logitsOf(row)));
                if (outputs.finished(c)) {
                    scheduler.finish(c);
                    outputs.complete(c);
                }
            } catch (RuntimeException e) {
                scheduler.finish(c);
                outputs.fail(c, e);
            }
        }
    }

    /**
     * The prompt of a scoring request is computed: its last logits score each label's first token, and each longer
     * label forks from the prompt to feed its tokens; the prompt's own references are let go.
     */
    private void forkLabels(Sequence prompt, StepOutput output, int row) {
        LabelRun run = prompt.labelRun;
        List<LabelRun.Child> children = run.promptDone(prompt, output.logitsOf(row));
        List<Sequence> seqs = children.stream().map(LabelRun.Child::sequence).toList();
        scheduler.fork(prompt, seqs);
        for (LabelRun.Child c : children) {
            for (int token : c.feed()) {
                scheduler.append(c.sequence(), token);
            }
        }
        scheduler.finish(prompt);
        if (run.allDone() && run.end()) {
            outputs.complete(prompt.generation, run.result(prompt));
        }
    }

    /** A label's sequence got logits: records them, and when its label is scored, lets it go. */
    private void scoreLabel(Sequence s, StepInput.Sequence in, StepOutput output, int i) {
        LabelRun run = s.labelRun;
        if (run.ended()) {
            scheduler.finish(s); // its request failed already
            return;
        }
        forEachLogitRow(in, output, i, (logits, position) -> run.accept(s, position, logits));
        if (s.pending() == 0 && run.labelDone(s)) {
            scheduler.finish(s);
            if (run.finishLabel() && run.end()) {
                outputs.complete(s.generation, run.result(s));
            }
        }
    }

    /** Calls {@code action} with each position of {@code in} that has logits in row {@code i} of the output. */
    private static void forEachLogitRow(StepInput.Sequence in, StepOutput output, int i,
                                        java.util.function.ObjIntConsumer<float[]> action) {
        int last = in.start() + in.tokenIds().length - 1;
        for (int back = in.logitCount() - 1; back >= 0; back--) {
            action.accept(output.logitsBefore(i, back), last - back);
        }
    }

    /** One step: schedule, execute on the backend, then update (sample, stop, advance the scheduler). */
    private void step() {
        Scheduler.ScheduledBatch batch = scheduler.schedule();
        int n = batch.totalTokens();
        if (n == 0) {
            return;
        }
        StepInput input = batch.toStepInput();
        List<Sequence> seqs = batch.sequences();
        long t0 = System.nanoTime();
        StepOutput output;
        try {
            output = runner.forward(input);
        } catch (RuntimeException e) {
            LOG.error("forward step failed; failing its {} sequences", seqs.size(), e);
            for (Sequence s : seqs) {
                scheduler.finish(s);
                fail(s, e);
            }
            return;
        }
        long elapsed = System.nanoTime() - t0;
        record(batch, elapsed);
        routing.add(input, seqs.stream().map(q -> q.request.id()).toList(), output);

        boolean[] prefill = new boolean[seqs.size()];
        for (int i = 0; i < seqs.size(); i++) {
            prefill[i] = seqs.get(i).inPrefill();
        }
        scheduler.advance(batch);
        for (int i = 0; i < seqs.size(); i++) {
            Sequence s = seqs.get(i);
            if (prefill[i]) {
                s.generation.prefillNanos += elapsed;
                promptTokens.addAndGet(batch.tokenCounts()[i]);
            } else {
                s.generation.decodeNanos += elapsed;
            }
            if (!output.hasLogits(i)) {
                continue;
            }
            if (s.isLabel()) {
                scoreLabel(s, input.sequences().get(i), output, i);
                continue;
            }
            PositionScores promptScores = s.generation.promptScores;
            if (promptScores != null) {
                forEachLogitRow(input.sequences().get(i), output, i,
                        (logits, position) -> promptScores.accept(position, logits));
            }
            if (s.pending() > 0) {
                continue; // logits of a prompt chunk, for its log-probabilities; the sequence has more to compute
            }
            if (s.labelRun != null) {
                forkLabels(s, output, i);
                continue;
            }
            if (s.forkInto != null) {
                forkSamples(s, output, i);
                continue;
            }
            try {
                scheduler.append(s, outputs.next(s, output.logitsOf(i)));
                if (outputs.finished(s)) {
                    scheduler.finish(s);
                    outputs.complete(s);
                }
            } catch (RuntimeException e) {
                scheduler.finish(s);
                outputs.fail(s, e);
            }
        }
    }

    /** The step counters; a step whose every sequence decoded one token also counts as a decode step. */
    private void record(Scheduler.ScheduledBatch batch, long elapsed) {
        steps.incrementAndGet();
        busyNanos.addAndGet(elapsed);
        boolean pureDecode = true;
        for (Sequence s : batch.sequences()) {
            pureDecode &= !s.inPrefill() && s.pending() == 1;
        }
        if (pureDecode) {
            decodeSteps.incrementAndGet();
            decodeStepTokens.addAndGet(batch.totalTokens());
            decodeStepNanos.addAndGet(elapsed);
        }
    }

    /** Fails a sequence the engine was closed under (not counted as a request ended, as before). */
    private static void closedBeforeEnd(Sequence s) {
        if (s.forkInto != null) {
            s.forkInto.forEach(LocalEngine::closedBeforeEnd);
            return;
        }
        s.generation.future.complete(GenerationResult.failed(s.request.id(), s.request.promptIds(),
                "the engine was closed"));
    }

    /** The KV cache's block allocator (for tests: read it only while the engine is idle). */
    BlockAllocator blocks() {
        return runner.blocks();
    }

    /** Sequences pre-empted so far because the KV cache was full (for tests and logs). */
    long preemptions() {
        return scheduler.preemptions();
    }

    @Override
    public EngineStats stats() {
        return new EngineStats(rejected.get() + outputs.requests(), promptTokens.get(), outputs.generatedTokens(),
                steps.get(), busyNanos.get(), decodeSteps.get(), decodeStepTokens.get(), decodeStepNanos.get(),
                scheduler.cachedPromptTokens());
    }

    @Override
    public RoutingCounts routingCounts() {
        return routing.counts();
    }

    @Override
    public void recordTokenRoutes(boolean on) {
        routing.recordTokens(on);
    }

    @Override
    public List<TokenRoute> tokenRoutes() {
        return routing.tokenRoutes();
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
            closedBeforeEnd(s);
        }
        Sequence s;
        while ((s = incoming.poll()) != null) {
            closedBeforeEnd(s);
        }
        runner.close();
        tokenizer.close();
        model.close();
    }
}
