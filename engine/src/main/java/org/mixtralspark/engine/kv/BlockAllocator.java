package org.mixtralspark.engine.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * Hands out the blocks of a paged KV cache, and remembers the full blocks it has seen so that a sequence whose
 * prompt starts like an earlier one's reuses their keys and values instead of computing them again (vLLM's
 * automatic prefix caching; SGLang's RadixAttention is the same idea as a tree).
 *
 * <p>Blocks are reference-counted: a block can be in several sequences' tables at once (a shared prefix). A full
 * block of known tokens is <b>committed</b> ({@link #commit}): it gets a content id, and the pair (its parent's
 * content id, its tokens) maps to it. Content ids are never reused, so a key names exactly one token prefix: a
 * lookup that hits is always right, never a hash collision. When no sequence holds a committed block any more it
 * stays cached, and is evicted least-recently-released first when a fresh block is needed; blocks that were never
 * committed go back to the free list at once. {@link #reserve} is all-or-nothing, so a sequence never holds a
 * partial reservation when the cache is full. Not thread-safe: the engine's step thread owns it.
 */
public final class BlockAllocator {

    /** Positions per block (vLLM's default); the CPU and CUDA caches share this layout. */
    public static final int DEFAULT_BLOCK_SIZE = 16;

    private final int blockSize;
    private final int totalBlocks;
    /** Blocks no table holds and no cached content names: handed out first. */
    private final int[] free;
    private int freeCount;
    /** Per block: the tables that hold it. */
    private final int[] refs;
    /** Per block: the id of the token prefix it holds once committed, else 0. */
    private final long[] content;
    /** Per block: its key in {@link #cached} when it is the block a lookup finds, else null. */
    private final Key[] keyOf;
    /** (parent content, tokens) to the block that holds them. */
    private final Map<Key, Integer> cached = new HashMap<>();
    /** Committed blocks no table holds, least recently released first: evicted in this order. */
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();
    private long nextContent = 1;
    private long evictions;

    /** A full block's identity: the content id of the block before it (0 for the first) and its tokens. */
    private record Key(long parent, int[] tokens) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.parent == parent && Arrays.equals(k.tokens, tokens);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(parent) * 31 + Arrays.hashCode(tokens);
        }
    }

    public BlockAllocator(int totalBlocks, int blockSize) {
        if (totalBlocks < 1 || blockSize < 1) {
            throw new IllegalArgumentException("a KV cache needs >= 1 block of >= 1 position, got " + totalBlocks
                    + " blocks of " + blockSize);
        }
        this.blockSize = blockSize;
        this.totalBlocks = totalBlocks;
        this.free = new int[totalBlocks];
        for (int i = 0; i < totalBlocks; i++) {
            free[i] = totalBlocks - 1 - i; // hand out low ids first
        }
        this.freeCount = totalBlocks;
        this.refs = new int[totalBlocks];
        this.content = new long[totalBlocks];
        this.keyOf = new Key[totalBlocks];
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return totalBlocks;
    }

    /** Blocks a reservation can take now: the free ones and the cached ones no table holds. */
    public int freeBlocks() {
        return freeCount + evictable.size();
    }

    /** Committed blocks that a lookup can find (held by a table or not). */
    public int cachedBlocks() {
        return cached.size();
    }

    /** Cached blocks evicted so far to make room. */
    public long evictions() {
        return evictions;
    }

    /** Blocks needed for {@code positions} positions. */
    public int blocksFor(int positions) {
        return (positions + blockSize - 1) / blockSize;
    }

    /**
     * Grows {@code table} so that it holds positions {@code [0, positions)}, taking free blocks first and then
     * evicting the least recently released cached ones.
     *
     * @return false, leaving the table unchanged, when there are not enough blocks
     */
    public boolean reserve(BlockTable table, int positions) {
        int need = blocksFor(positions) - table.blockCount();
        if (need <= 0) {
            return true;
        }
        if (need > freeBlocks()) {
            return false;
        }
        for (int i = 0; i < need; i++) {
            table.add(take());
        }
        return true;
    }

    private int take() {
        int b;
        if (freeCount > 0) {
            b = free[--freeCount];
        } else {
            Iterator<Integer> oldest = evictable.iterator();
            b = oldest.next();
            oldest.remove();
            cached.remove(keyOf[b]);
            keyOf[b] = null;
            content[b] = 0;
            evictions++;
        }
        refs[b] = 1;
        return b;
    }

    /**
     * Lets go of every block of {@code table} and empties it. A block no other table holds stays cached if it was
     * committed (the table's last blocks first in the eviction order, so that a prefix outlives its tails), and is
     * free otherwise.
     */
    public void release(BlockTable table) {
        int[] blocks = table.drain();
        for (int i = blocks.length - 1; i >= 0; i--) {
            int b = blocks[i];
            if (--refs[b] > 0) {
                continue;
            }
            if (keyOf[b] != null) {
                evictable.add(b);
            } else {
                content[b] = 0;
                free[freeCount++] = b;
            }
        }
    }

    /**
     * Makes the empty {@code child} hold every block of {@code parent} (vLLM's fork): each block gains a reference,
     * no key or value is copied. The block that holds the parent's last, partial positions is then shared; the first
     * table to write into it gets its own copy ({@link #makeWritable}). Full blocks are never written again, so they
     * stay shared until every table lets go.
     */
    public void fork(BlockTable parent, BlockTable child) {
        if (child.blockCount() != 0) {
            throw new IllegalStateException("a fork goes into an empty table, this one has " + child.blockCount()
                    + " blocks");
        }
        for (int i = 0; i < parent.blockCount(); i++) {
            int b = parent.block(i);
            refs[b]++;
            child.add(b);
        }
        child.committed = parent.committed;
    }

    /**
     * The table's sequence is about to write position {@code position}: when the block holding it is shared with
     * another table (after a {@link #fork}), the table gets a fresh block in its place and the returned copy says
     * which keys and values the backend must copy into it first; the shared block loses this table's reference.
     *
     * @return null when the block is the table's own (or the position is past its blocks), the copy to make
     *         otherwise
     * @throws IllegalStateException when no block is free (check {@link #freeBlocks} first)
     */
    public BlockCopy makeWritable(BlockTable table, int position) {
        int i = position / blockSize;
        if (i >= table.blockCount()) {
            return null;
        }
        int shared = table.block(i);
        if (refs[shared] <= 1) {
            return null;
        }
        if (freeBlocks() == 0) {
            throw new IllegalStateException("no free KV block to copy shared block " + shared + " into");
        }
        int own = take();
        refs[shared]--;
        table.set(i, own);
        return new BlockCopy(shared, own);
    }

    /** Whether the block holding {@code position} of {@code table} is shared, so that writing it needs a copy. */
    public boolean needsCopy(BlockTable table, int position) {
        int i = position / blockSize;
        return i < table.blockCount() && refs[table.block(i)] > 1;
    }

    /** How many tables hold block {@code block} (for tests and checks). */
    public int references(int block) {
        return refs[block];
    }

    /**
     * Puts into the empty {@code table} the cached blocks that hold the longest run of whole blocks at the start of
     * {@code tokens}, and returns how many tokens they hold. At least one token is left to compute (its logits are
     * what the caller wants), so a prompt of whole blocks matches all but its last block.
     */
    public int matchPrefix(int[] tokens, BlockTable table) {
        if (table.blockCount() != 0) {
            throw new IllegalStateException("a prefix is matched into an empty table, this one has "
                    + table.blockCount() + " blocks");
        }
        int most = (tokens.length - 1) / blockSize;
        long parent = 0;
        for (int i = 0; i < most; i++) {
            Integer hit = cached.get(new Key(parent, Arrays.copyOfRange(tokens, i * blockSize, (i + 1) * blockSize)));
            if (hit == null) {
                break;
            }
            int b = hit;
            if (refs[b]++ == 0) {
                evictable.remove(b);
            }
            table.add(b);
            parent = content[b];
        }
        table.committed = table.blockCount();
        return table.blockCount() * blockSize;
    }

    /**
     * The table's sequence now has the keys and values of its next whole blocks in the cache: {@code tokens} are
     * their tokens, a multiple of the block size, starting at the table's first uncommitted block. Each becomes
     * findable by later lookups unless an identical block already is (then it keeps the same content id, so that
     * blocks after it still chain).
     */
    public void commit(BlockTable table, int[] tokens) {
        if (tokens.length % blockSize != 0 || table.committed + tokens.length / blockSize > table.blockCount()) {
            throw new IllegalArgumentException(tokens.length + " tokens are not whole blocks of the table's "
                    + (table.blockCount() - table.committed) + " uncommitted ones");
        }
        for (int at = 0; at < tokens.length; at += blockSize) {
            int i = table.committed;
            int b = table.block(i);
            long parent = i == 0 ? 0 : content[table.block(i - 1)];
            Key key = new Key(parent, Arrays.copyOfRange(tokens, at, at + blockSize));
            Integer same = cached.get(key);
            if (same != null) {
                content[b] = content[same];
            } else {
                content[b] = nextContent++;
                cached.put(key, b);
                keyOf[b] = key;
            }
            table.committed++;
        }
    }
}
