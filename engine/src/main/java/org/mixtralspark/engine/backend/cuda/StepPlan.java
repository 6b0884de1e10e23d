package org.mixtralspark.engine.backend.cuda;

import org.mixtralspark.engine.backend.StepInput;
import org.mixtralspark.engine.kv.BlockTable;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything one forward step tells the device, computed on the host and packed into one int array that goes over in
 * one copy: the tokens, their positions and KV-cache slots, the rows whose logits are wanted, the block tables of the
 * step's sequences, and the attention work (attention.cu):
 *
 * <ul>
 * <li>a <b>tile</b> is up to {@code 16 / headsPerBlock} consecutive tokens of one sequence (a decode token is a tile
 * of one): their query rows share every K/V chunk the block loads;
 * <li>an <b>item</b> is a tile and a range of KV positions; a tile's causal range {@code [0, last position]} is cut into
 * items of {@code splitLen} positions (flash-decoding), so that a long context is spread over many blocks.
 * {@code splitLen} starts at {@value #BASE_SPLIT} and doubles until there are at most {@code maxItems} items.
 * </ul>
 *
 * Layout of {@link #ints} (each array at its offset, in ints): tokens (T), positions (T), slots (T), logitRows (m),
 * tokenTile (T), blockTables (sequences x maxBlocks, row-major, unused entries 0), tiles (tiles x 4: first token,
 * tokens, sequence, first item), items (items x 3: tile, kv start, kv end).
 */
final class StepPlan {

    /** Query rows per attention block (attention.cu ROWS). */
    static final int ATTENTION_ROWS = 16;
    /** KV positions per item to start with (a multiple of attention.cu's 32-position chunk). */
    static final int BASE_SPLIT = 256;

    final int tokens;
    final int logits;
    final int sequences;
    final int maxBlocks;
    final int tiles;
    final int items;
    final int splitLen;
    final int offTokens;
    final int offPositions;
    final int offSlots;
    final int offLogitRows;
    final int offTokenTile;
    final int offTables;
    final int offTiles;
    final int offItems;
    final int[] ints;

    private StepPlan(int tokens, int logits, int sequences, int maxBlocks, int tiles, int items, int splitLen,
                     int[] ints) {
        this.tokens = tokens;
        this.logits = logits;
        this.sequences = sequences;
        this.maxBlocks = maxBlocks;
        this.tiles = tiles;
        this.items = items;
        this.splitLen = splitLen;
        this.offTokens = 0;
        this.offPositions = tokens;
        this.offSlots = 2 * tokens;
        this.offLogitRows = 3 * tokens;
        this.offTokenTile = 3 * tokens + logits;
        this.offTables = 4 * tokens + logits;
        this.offTiles = offTables + sequences * maxBlocks;
        this.offItems = offTiles + 4 * tiles;
        this.ints = ints;
        if (offItems + 3 * items != ints.length) {
            throw new IllegalStateException("step plan layout: " + (offItems + 3 * items) + " != " + ints.length);
        }
    }

    /** Query heads one attention block handles: the largest divisor of the group size that is at most 16. */
    static int headsPerBlock(int groupSize) {
        for (int h = Math.min(groupSize, ATTENTION_ROWS); h >= 1; h--) {
            if (groupSize % h == 0) {
                return h;
            }
        }
        return 1;
    }

    /**
     * @param step          the step per token ({@link StepInput#tokens()}): a sequence's tokens consecutive and in
     *                      order, each table already reserved up to its token's position
     * @param blockSize     positions per KV block
     * @param headsPerBlock {@link #headsPerBlock} of the model
     * @param maxItems      most attention items (the workspace's size)
     */
    static StepPlan build(StepInput.Tokens step, int blockSize, int headsPerBlock, int maxItems) {
        int[] tokens = step.ids();
        int[] positions = step.positions();
        BlockTable[] tables = step.tables();
        int[] sequenceOf = step.sequenceOf();
        int[] logitRows = step.logitRows();
        int n = tokens.length;
        if (positions.length != n || tables.length != n || sequenceOf.length != n) {
            throw new IllegalArgumentException("tokens, positions, tables and sequences differ in length: " + n
                    + ", " + positions.length + ", " + tables.length + ", " + sequenceOf.length);
        }
        int tokensPerTile = Math.max(1, ATTENTION_ROWS / headsPerBlock);

        // the step's sequences as the scheduler listed them, and tiles
        List<BlockTable> seqs = new ArrayList<>();
        List<int[]> tileList = new ArrayList<>(); // {first token, tokens, sequence}
        int[] tokenTile = new int[n];
        int[] slots = new int[n];
        int maxBlocks = 1;
        for (int t = 0; t < n; t++) {
            BlockTable table = tables[t];
            int s = sequenceOf[t];
            if (s == seqs.size()) {
                seqs.add(table);
                maxBlocks = Math.max(maxBlocks, table.blockCount());
            } else if (s != seqs.size() - 1 || seqs.get(s) != table) {
                throw new IllegalArgumentException("token " + t + " of sequence " + s + ": a step's sequences must be "
                        + "consecutive runs of tokens, each with its own block table");
            }
            int pos = positions[t];
            if (pos < 0 || pos >= table.capacity(blockSize)) {
                throw new IllegalArgumentException("token " + t + ": position " + pos + " is outside its block table"
                        + " of " + table.blockCount() + " blocks of " + blockSize);
            }
            slots[t] = table.block(pos / blockSize) * blockSize + pos % blockSize;
            int[] last = tileList.isEmpty() ? null : tileList.get(tileList.size() - 1);
            boolean extend = last != null && last[2] == s && last[1] < tokensPerTile && positions[t - 1] + 1 == pos;
            if (extend) {
                last[1]++;
            } else {
                tileList.add(new int[] {t, 1, s});
            }
            tokenTile[t] = tileList.size() - 1;
        }

        // items: each tile's causal range [0, last position + 1) in splitLen pieces
        int splitLen = BASE_SPLIT;
        while (countItems(tileList, positions, splitLen) > maxItems && splitLen < (1 << 30)) {
            splitLen *= 2;
        }
        int nItems = countItems(tileList, positions, splitLen);
        if (nItems > maxItems) {
            throw new IllegalArgumentException("the step's " + tileList.size() + " attention tiles exceed the "
                    + "workspace's " + maxItems + " items; lower the step's token count");
        }

        int nTiles = tileList.size();
        int total = 4 * n + logitRows.length + seqs.size() * maxBlocks + 4 * nTiles + 3 * nItems;
        int[] ints = new int[total];
        int o = 0;
        System.arraycopy(tokens, 0, ints, o, n);
        o += n;
        System.arraycopy(positions, 0, ints, o, n);
        o += n;
        System.arraycopy(slots, 0, ints, o, n);
        o += n;
        for (int r : logitRows) {
            if (r < 0 || r >= n) {
                throw new IllegalArgumentException("logit row " + r + " is outside the step's " + n + " tokens");
            }
        }
        System.arraycopy(logitRows, 0, ints, o, logitRows.length);
        o += logitRows.length;
        System.arraycopy(tokenTile, 0, ints, o, n);
        o += n;
        for (BlockTable table : seqs) {
            int[] blocks = table.toArray();
            System.arraycopy(blocks, 0, ints, o, blocks.length);
            o += maxBlocks;
        }
        int item = 0;
        int itemsAt = o + 4 * nTiles;
        for (int i = 0; i < nTiles; i++) {
            int[] tile = tileList.get(i);
            ints[o++] = tile[0];
            ints[o++] = tile[1];
            ints[o++] = tile[2];
            ints[o++] = item;
            int kvEnd = positions[tile[0] + tile[1] - 1] + 1;
            for (int start = 0; start < kvEnd; start += splitLen) {
                ints[itemsAt + 3 * item] = i;
                ints[itemsAt + 3 * item + 1] = start;
                ints[itemsAt + 3 * item + 2] = Math.min(kvEnd, start + splitLen);
                item++;
            }
        }
        return new StepPlan(n, logitRows.length, seqs.size(), maxBlocks, nTiles, nItems, splitLen, ints);
    }

    private static int countItems(List<int[]> tiles, int[] positions, int splitLen) {
        long count = 0;
        for (int[] tile : tiles) {
            int kvEnd = positions[tile[0] + tile[1] - 1] + 1;
            count += (kvEnd + splitLen - 1) / splitLen;
        }
        return (int) Math.min(Integer.MAX_VALUE, count);
    }
}
