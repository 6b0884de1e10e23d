package org.mixtralspark.engine.serving;

import org.junit.jupiter.api.Test;
import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.kv.BlockAllocator;
import org.mixtralspark.engine.sampling.SamplingParams;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scheduler alone, at the level of the batches it hands the backend: no model, no threads. */
class SchedulerTest {

    private final List<Sequence> tooLarge = new ArrayList<>();

    private Scheduler scheduler(int maxRunning, int tokenBudget, BlockAllocator blocks) {
        return new Scheduler(maxRunning, tokenBudget, blocks, false, tooLarge::add);
    }

    /** A sequence whose prompt is {@code 100 .. 100 + promptLength - 1}. */
    private static Sequence sequence(String id, int promptLength) {
        int[] prompt = IntStream.range(100, 100 + promptLength).toArray();
        return new Sequence(new GenerationRequest(id, prompt, SamplingParams.defaults()),
                new Generation(new CompletableFuture<>()));
    }

    /** What the engine does after a step: the step ran, and every sequence that got logits generated a token. */
    private static void ran(Scheduler scheduler, Scheduler.ScheduledBatch batch, int token) {
        List<Boolean> wanted = new ArrayList<>();
        for (int i = 0; i < batch.sequences().size(); i++) {
            wanted.add(batch.wantsLogits(i));
        }
        scheduler.advance(batch);
        for (int i = 0; i < batch.sequences().size(); i++) {
            if (wanted.get(i)) {
                scheduler.append(batch.sequences().get(i), token);
            }
        }
    }

    @Test
    void decodingSequencesComeFirstAndLongPromptsArePrefilledInChunksWithinTheBudget() {
        Scheduler s = scheduler(8, 8, new BlockAllocator(64, 4));
        Sequence a = sequence("a", 3);
        Sequence b = sequence("b", 20);
        s.add(a);
        s.add(b);

        Scheduler.ScheduledBatch first = s.schedule();
        assertEquals(List.of(a, b), first.sequences());
        assertArrayEquals(new int[] {3, 5}, first.tokenCounts());
        assertEquals(8, first.totalTokens());
        StepInput in = first.toStepInput();
        assertArrayEquals(new int[] {100, 101, 102}, in.sequences().get(0).tokenIds());
        assertEquals(0, in.sequences().get(0).start());
        assertTrue(in.sequences().get(0).wantsLogits(), "a's whole prompt ran: its next token is wanted");
        assertArrayEquals(new int[] {100, 101, 102, 103, 104}, in.sequences().get(1).tokenIds());
        assertFalse(in.sequences().get(1).wantsLogits(), "b's prompt is not done: no logits");
        assertSame(a.table, in.sequences().get(0).table());
        ran(s, first, 7);

        Scheduler.ScheduledBatch second = s.schedule();
        // a decodes its one new token first; b takes what the budget leaves
        assertEquals(List.of(a, b), second.sequences());
        assertArrayEquals(new int[] {1, 7}, second.tokenCounts());
        StepInput in2 = second.toStepInput();
        assertArrayEquals(new int[] {7}, in2.sequences().get(0).tokenIds());
        assertEquals(3, in2.sequences().get(0).start());
        assertEquals(5, in2.sequences().get(1).start());
        assertArrayEquals(IntStream.range(105, 112).toArray(), in2.sequences().get(1).tokenIds());
        ran(s, second, 8);

        Scheduler.ScheduledBatch third = s.schedule();
        assertArrayEquals(new int[] {1, 7}, third.tokenCounts());
        assertTrue(third.wantsLogits(0));
        assertFalse(third.wantsLogits(1), "b has 20 prompt tokens: 5 + 7 + 7 = 19 of them");
        ran(s, third, 9);
        Scheduler.ScheduledBatch fourth = s.schedule();
        assertArrayEquals(new int[] {1, 1}, fourth.tokenCounts());
        assertTrue(fourth.wantsLogits(1), "b's last prompt token: its first token is wanted");
    }

    @Test
    void admissionNeedsBlocksForThePromptAndIsFirstComeFirstServed() {
        BlockAllocator blocks = new BlockAllocator(4, 4); // 16 positions
        Scheduler s = scheduler(8, 64, blocks);
        Sequence a = sequence("a", 10); // 11 positions: 3 blocks
        Sequence b = sequence("b", 6);  // 7 positions: 2 blocks, only 1 left
        Sequence c = sequence("c", 1);  // would fit in the last block, but waits behind b
        s.add(a);
        s.add(b);
        s.add(c);
        Scheduler.ScheduledBatch batch = s.schedule();
        assertEquals(List.of(a), batch.sequences());
        assertEquals(2, s.waitingCount());
        assertEquals(1, blocks.freeBlocks());

        s.finish(a);
        assertEquals(4, blocks.freeBlocks(), "a finished: its blocks are free");
        assertEquals(List.of(b, c), s.schedule().sequences());
    }

    @Test
    void noMoreThanMaxRunningSequencesRunAtOnce() {
        Scheduler s = scheduler(2, 64, new BlockAllocator(64, 4));
        Sequence a = sequence("a", 1);
        Sequence b = sequence("b", 1);
        Sequence c = sequence("c", 1);
        s.add(a);
        s.add(b);
        s.add(c);
        assertEquals(List.of(a, b), s.schedule().sequences());
        assertEquals(1, s.waitingCount());
        assertEquals(2, s.runningCount());
    }

    @Test
    void aFullCachePreemptsTheYoungestWhichLaterRecomputesEveryKnownToken() {
        BlockAllocator blocks = new BlockAllocator(4, 2); // 8 positions
        Scheduler s = scheduler(8, 64, blocks);
        Sequence a = sequence("a", 2); // 3 positions: 2 blocks
        Sequence b = sequence("b", 1); // 2 positions: 1 block
        s.add(a);
        s.add(b);
        Scheduler.ScheduledBatch step = s.schedule();
        assertEquals(List.of(a, b), step.sequences());
        ran(s, step, 7); // a: 3 tokens, b: 2
        ran(s, s.schedule(), 8); // a: 4, b: 3
        ran(s, s.schedule(), 9); // b took the last block for its third position; a: 5 tokens, b: 4
        assertEquals(0, blocks.freeBlocks());

        Scheduler.ScheduledBatch squeezed = s.schedule();
        assertEquals(List.of(a), squeezed.sequences(), "b, the youngest, gave its blocks to a");
        assertEquals(1, s.preemptions());
        assertEquals(1, b.preemptions());
        assertEquals(0, b.computed(), "b's cache was taken back");
        assertEquals(1, s.waitingCount());

        s.finish(a);
        Scheduler.ScheduledBatch again = s.schedule();
        assertEquals(List.of(b), again.sequences());
        StepInput in = again.toStepInput();
        // its prompt and the three tokens it had generated, from position 0, and then its next token is wanted
        assertArrayEquals(new int[] {100, 7, 8, 9}, in.sequences().get(0).tokenIds());
        assertEquals(0, in.sequences().get(0).start());
        assertTrue(in.sequences().get(0).wantsLogits());
    }

    @Test
    void aSequenceLargerThanTheWholeCacheIsHandedBackNotScheduled() {
        BlockAllocator blocks = new BlockAllocator(2, 4); // 8 positions
        Scheduler s = scheduler(8, 64, blocks);
        Sequence huge = sequence("huge", 8); // 9 positions
        Sequence small = sequence("small", 2);
        s.add(huge);
        s.add(small);
        assertEquals(List.of(small), s.schedule().sequences());
        assertEquals(List.of(huge), tooLarge);
        assertEquals(0, s.waitingCount());
    }

    @Test
    void drainingReturnsEverySequenceAndFreesTheCache() {
        BlockAllocator blocks = new BlockAllocator(4, 4);
        Scheduler s = scheduler(1, 64, blocks);
        Sequence a = sequence("a", 2);
        Sequence b = sequence("b", 2);
        s.add(a);
        s.add(b);
        s.schedule();
        assertEquals(List.of(a, b), s.drainAll());
        assertFalse(s.hasWork());
        assertEquals(4, blocks.freeBlocks());
    }

    @Test
    void withPrefixCachingALaterSequenceStartsAfterTheBlocksAnEarlierOneComputed() {
        BlockAllocator blocks = new BlockAllocator(16, 4);
        Scheduler s = new Scheduler(8, 64, blocks, true, tooLarge::add);
        Sequence a = sequence("a", 10);
        s.add(a);
        ran(s, s.schedule(), 7); // a's 10 prompt tokens ran: its first two blocks are committed
        assertEquals(2, a.table.committedBlocks());

        Sequence b = sequence("b", 11); // the same 10 tokens and one more
        s.add(b);
        Scheduler.ScheduledBatch batch = s.schedule();
        assertEquals(List.of(a, b), batch.sequences());
        StepInput.Sequence bStep = batch.toStepInput().sequences().get(1);
        assertEquals(8, bStep.start(), "b's first 8 tokens came from a's blocks");
        assertArrayEquals(new int[] {108, 109, 110}, bStep.tokenIds());
        assertEquals(a.table.block(0), b.table.block(0));
        assertEquals(8, b.cachedPromptTokens());
        assertEquals(8, s.cachedPromptTokens());
        assertEquals(0, a.cachedPromptTokens());
    }

    @Test
    void withPrefixCachingASequenceWaitsForTheHeadAnotherIsPrefillingInsteadOfComputingItToo() {
        BlockAllocator blocks = new BlockAllocator(32, 4);
        Scheduler s = new Scheduler(8, 8, blocks, true, tooLarge::add);
        Sequence a = sequence("a", 14);
        Sequence b = sequence("b", 13); // the same first 13 tokens: three whole blocks it could reuse
        Sequence other = sequence("c", 2);
        s.add(a);
        s.add(b);
        s.add(other);

        Scheduler.ScheduledBatch first = s.schedule();
        assertEquals(List.of(a), first.sequences(), "b waits for a's head, and c (first come, first served) behind it");
        assertEquals(8, first.totalTokens());
        ran(s, first, 7);
        Scheduler.ScheduledBatch second = s.schedule();
        assertEquals(List.of(a), second.sequences(), "a's third block is not committed yet");
        ran(s, second, 7);
        Scheduler.ScheduledBatch third = s.schedule();
        assertEquals(List.of(a, b, other), third.sequences());
        assertEquals(12, b.cachedPromptTokens(), "b reused a's three blocks");
        assertEquals(12, third.toStepInput().sequences().get(1).start());
        assertEquals(12, s.cachedPromptTokens());

        Sequence alone = sequence("d", 13);
        Scheduler off = new Scheduler(8, 64, new BlockAllocator(32, 4), false, tooLarge::add);
        off.add(sequence("a", 14));
        off.add(alone);
        assertEquals(2, off.schedule().sequences().size(), "without prefix caching nothing waits");
    }
}
