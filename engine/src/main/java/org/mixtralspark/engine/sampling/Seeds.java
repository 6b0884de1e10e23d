package org.mixtralspark.engine.sampling;

import java.nio.charset.StandardCharsets;

/**
 * Where every random draw of a generation comes from. Everything here is a fixed, specified function of its
 * arguments (no JDK-version-dependent hashing), so that a row's output depends only on the job seed, the row id and
 * the model's logits: not on partitioning, batch composition, task retries or the JVM that ran it.
 *
 * <p>The building blocks are SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014; the finalizer constants are Stafford's "variant 13", the ones {@link java.util.SplittableRandom} uses)
 * and FNV-1a 64 (Fowler, Noll, Vo) over the UTF-8 bytes of an id.
 */
public final class Seeds {

    /** SplitMix64's increment: the odd integer closest to 2^64 / phi. */
    static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    /** The increment between samples' seeds: an odd constant with mixed bits, other than {@link #GOLDEN_GAMMA}. */
    static final long SAMPLE_GAMMA = 0xd1b54a32d192ed03L;
    static final long FNV64_OFFSET_BASIS = 0xcbf29ce484222325L;
    static final long FNV64_PRIME = 0x100000001b3L;

    private Seeds() {
    }

    /**
     * The seed of one row of a job:
     * {@code splitMix64(splitMix64(jobSeed) ^ fnv1a64(utf8(rowId)))}.
     *
     * <p>Why not {@code rowId.hashCode()}: it is only 32 bits, so two ids out of ~77k collide with probability 1/2, and
     * it has simple algebraic collisions ("Aa" vs "BB"). FNV-1a 64 gives 64 bits; mixing it with the scrambled job
     * seed through SplitMix64's finalizer spreads every input bit over the whole output.
     *
     * @param jobSeed the seed the user gave the job
     * @param rowId   the row's stable id (not its position in a partition)
     */
    public static long deriveSeed(long jobSeed, String rowId) {
        if (rowId == null) {
            throw new IllegalArgumentException("rowId = null: a row needs a stable id to derive its seed from");
        }
        return splitMix64(splitMix64(jobSeed) ^ fnv1a64(rowId.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * The seed of the generator used for the draw at {@code step} (the number of tokens generated before it) of a
     * request with seed {@code seed}: output number {@code step} (0-based) of a SplitMix64 stream whose state starts
     * at {@code mix64(seed)}, that is {@code mix64(mix64(seed) + (step + 1) * GOLDEN_GAMMA)}. SplitMix64 allows this
     * jump straight to any step, so a draw depends on (seed, step) only, never on how many draws were made before it
     * (a request re-run after preemption, or in another batch, draws the same numbers). The seed is scrambled first so
     * that requests whose seeds differ by a multiple of the gamma do not share a shifted stream.
     */
    public static long stepSeed(long seed, long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step = " + step + ": must be >= 0");
        }
        return mix64(mix64(seed) + (step + 1) * GOLDEN_GAMMA);
    }

    /**
     * The seed of sample {@code index} of a request seeded with {@code seed} (n samples of one prompt): the seed
     * itself for sample 0, so that asking for more samples never changes the first one (n = 1 is sample 0);
     * otherwise {@code mix64(mix64(seed) + index * SAMPLE_GAMMA)}. {@code SAMPLE_GAMMA} is another odd constant than
     * the step stream's {@link #GOLDEN_GAMMA}, so that sample i's seed is not the seed of some step's draw of sample 0
     * ({@link #stepSeed}), and scrambling the seed first keeps nearby row seeds from sharing samples.
     *
     * @throws IllegalArgumentException if {@code index < 0}
     */
    public static long sampleSeed(long seed, int index) {
        if (index < 0) {
            throw new IllegalArgumentException("sample index = " + index + ": must be >= 0");
        }
        return index == 0 ? seed : mix64(mix64(seed) + index * SAMPLE_GAMMA);
    }

    /** The first output of a SplitMix64 generator whose state is {@code x}: {@code mix64(x + GOLDEN_GAMMA)}. */
    static long splitMix64(long x) {
        return mix64(x + GOLDEN_GAMMA);
    }

    /** SplitMix64's output function (Stafford's variant 13 of the MurmurHash3 finalizer): a bijection on 64 bits. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** FNV-1a, 64-bit: for each byte, {@code h = (h ^ b) * FNV64_PRIME}, starting from the offset basis. */
    static long fnv1a64(byte[] bytes) {
        long h = FNV64_OFFSET_BASIS;
        for (byte b : bytes) {
            h ^= b & 0xff;
            h *= FNV64_PRIME;
        }
        return h;
    }
}
