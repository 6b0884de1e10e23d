package org.mixtralspark.engine.backend.cuda;

import org.mixtralspark.engine.model.MixtralConfig;

/**
 * The device scratch of a forward step for up to {@code tokens} tokens (P = tokens x expertsUsed routed pairs), with
 * each buffer's shape. {@link #bytesFor} sizes the same list without allocating, for the memory budget.
 */
final class StepBuffers implements AutoCloseable {

    final int tokens;
    final int maxItems;
    final DeviceBuffer x;            // (T, dim) fp32: the residual stream
    final DeviceBuffer xnF;          // (T, dim) fp32: normed, for the router
    final DeviceBuffer xn;           // (T, dim) W: normed, for the products
    final DeviceBuffer qkv;          // (T, qDim + 2 kvDim) fp32
    final DeviceBuffer attn;         // (T, qDim) W
    final DeviceBuffer chosen;       // (P) int: expert of each (token, slot)
    final DeviceBuffer routeWeights; // (P) fp32
    final DeviceBuffer sortedPair;   // (P) int: pairs in grouped order
    final DeviceBuffer pairPos;      // (P) int: each pair's grouped row
    final DeviceBuffer tiles;        // (P, 3) int: grouped product tiles
    final DeviceBuffer nTiles;       // (1) int
    final DeviceBuffer gateUp;       // (P, 2 hidden) fp32
    final DeviceBuffer h;            // (P, hidden) W
    final DeviceBuffer y;            // (P, dim) fp32: expert outputs, grouped
    final DeviceBuffer attnPart;     // (maxItems, headGroups, 16, headDim) fp32
    final DeviceBuffer attnMl;       // (maxItems, headGroups, 16, 2) fp32
    final DeviceBuffer splitK;       // (SPLIT_K_MAX, SPLIT_K_MAX_ROWS, widest product) fp32
    final DeviceBuffer last;         // (T, dim) W: normed rows of the wanted logits

    private interface Alloc {
        DeviceBuffer get(String name, long bytes);
    }

    StepBuffers(MixtralConfig c, Precision p, int tokens, DeviceMemory mem) {
        this(c, p, tokens, mem::allocate);
    }

    private StepBuffers(MixtralConfig c, Precision p, int tokens, Alloc a) {
        this.tokens = tokens;
        this.maxItems = maxItems(tokens);
        long t = tokens;
        long pairs = t * c.expertsUsed();
        int w = p.bytes;
        int f = Float.BYTES;
        long qkvRows = (long) c.qDim() + 2L * c.kvDim();
        int headGroups = c.heads() / StepPlan.headsPerBlock(c.groupSize());
        long widest = Math.max(Math.max(qkvRows, c.dim()), Math.max(2L * c.hiddenDim(), c.vocabSize()));
        x = a.get("x", t * c.dim() * f);
        xnF = a.get("xn_f32", t * c.dim() * f);
        xn = a.get("xn", t * c.dim() * w);
        qkv = a.get("qkv", t * qkvRows * f);
        attn = a.get("attn", t * c.qDim() * w);
        chosen = a.get("chosen", pairs * Integer.BYTES);
        routeWeights = a.get("route_weights", pairs * f);
        sortedPair = a.get("sorted_pair", pairs * Integer.BYTES);
        pairPos = a.get("pair_pos", pairs * Integer.BYTES);
        tiles = a.get("tiles", 3 * pairs * Integer.BYTES);
        nTiles = a.get("n_tiles", Integer.BYTES);
        gateUp = a.get("gate_up", pairs * 2L * c.hiddenDim() * f);
        h = a.get("h", pairs * c.hiddenDim() * w);
        y = a.get("y", pairs * c.dim() * f);
        attnPart = a.get("attn_part", (long) maxItems * headGroups * StepPlan.ATTENTION_ROWS * c.headDim() * f);
        attnMl = a.get("attn_ml", (long) maxItems * headGroups * StepPlan.ATTENTION_ROWS * 2 * f);
        splitK = a.get("split_k", (long) CudaKernels.SPLIT_K_MAX * CudaKernels.SPLIT_K_MAX_ROWS * widest * f);
        last = a.get("last", t * c.dim() * w);
    }

    /** Attention work items the workspace holds for a step of {@code tokens} tokens. */
    static int maxItems(int tokens) {
        return Math.max(4096, tokens);
    }

    /** Device bytes of the buffers for {@code tokens} tokens (each rounded as DeviceMemory rounds). */
    static long bytesFor(MixtralConfig c, Precision p, int tokens) {
        long[] sum = {0};
        new StepBuffers(c, p, tokens, (name, bytes) -> {
            sum[0] += Math.max(256, (bytes + 255) & ~255L);
            return null;
        });
        return sum[0];
    }

    @Override
    public void close() {
        for (DeviceBuffer b : new DeviceBuffer[] {last, splitK, attnMl, attnPart, y, h, gateUp, nTiles, tiles,
                pairPos, sortedPair, routeWeights, chosen, attn, qkv, xn, xnF, x}) {
            if (b != null) {
                b.close();
            }
        }
    }
}
