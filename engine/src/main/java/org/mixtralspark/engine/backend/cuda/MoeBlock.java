package org.mixtralspark.engine.backend.cuda;

import org.mixtralspark.engine.model.MixtralConfig;

/**
 * The MoE FFN of one layer on the device, in the stages of the CPU's {@code backend.cpu.MoeBlock} (vLLM's
 * {@code fused_moe}: router -> dispatch -> experts -> combine), P = T*k (token, slot) pairs. Every
 * stage is kernels on the default stream (moe.cu, gemm.cu, elementwise.cu); the host only sizes the grids.
 * <pre>
 *   route     xnF (T, dim) fp32 -> chosen (P) expert ids, routeWeights (P) renormalised fp32
 *   group     chosen -> sortedPair (P) pairs by expert in token order, pairPos (P), row tiles of one expert each
 *   experts   gateUp = [w1 | w3] x (P, 2 hidden) fp32; h = silu(gate) * up (P, hidden); y = w2 h (P, dim) fp32
 *   combine   x[t] += sum over t's experts, in expert index order, of weight * y, (T, dim)
 * </pre>
 *
 * <p>The routing stays on the device: {@code moe_route} is {@link org.mixtralspark.engine.model.mixtral.Router}'s
 * arithmetic (fp32 logits, double exp and sums, the lower index winning a tie) and {@code moe_group} groups as
 * {@link org.mixtralspark.engine.model.mixtral.Routing#groups} does (stable, expert then token order). A host
 * {@code Routing} would cost a copy back and a stream synchronisation in every layer of every step; {@code chosen} and
 * {@code routeWeights} have Routing's layout (pair {@code t * k + slot}), so a report that needs a layer's routing can
 * copy those two arrays into one. CudaEquivalenceGpuTest holds the whole pass to the CPU's.
 */
final class MoeBlock {

    /** The most experts moe.cu's kernels hold in shared memory (MAX_EXPERTS). */
    static final int MAX_EXPERTS = 64;

    private final CudaKernels k;
    private final DeviceWeights w;
    private final MixtralConfig c;
    private final int sms;

    MoeBlock(CudaKernels k, DeviceWeights w, int sms) {
        this.c = w.layout.c();
        if (c.experts() > MAX_EXPERTS) {
            throw new IllegalArgumentException("num_local_experts = " + c.experts() + ": the CUDA router supports at "
                    + "most " + MAX_EXPERTS + "; use --device cpu");
        }
        this.k = k;
        this.w = w;
        this.sms = sms;
    }

    /** x (T, dim) += the block on layer {@code l}'s normed states ({@code buf.xnF} for the router, {@code buf.xn}). */
    void forward(int l, StepBuffers buf, int n) {
        int pairs = n * c.expertsUsed();
        route(l, buf, n);
        group(buf, pairs);
        experts(l, buf, pairs);
        combine(buf, n);
    }

    /** route: router (E, dim) . xnF (T, dim)^T -> chosen (P), routeWeights (P); a dense layer: expert 0, weight 1. */
    private void route(int l, StepBuffers buf, int n) {
        k.moeRoute(buf.xnF.ptr(), w.router[l] == null ? null : w.router[l].ptr(), buf.chosen.ptr(),
                buf.routeWeights.ptr(), n, c.dim(), c.experts(), c.expertsUsed());
    }

    /** group: chosen (P) -> sortedPair (P), pairPos (P), tiles (3 * tiles) of at most GEMM_TILE_ROWS rows, nTiles. */
    private void group(StepBuffers buf, int pairs) {
        k.moeGroup(buf.chosen.ptr(), pairs, c.experts(), buf.sortedPair.ptr(), buf.pairPos.ptr(), buf.tiles.ptr(),
                buf.nTiles.ptr());
    }

    /**
     * experts: each expert once over its rows, on the tensor cores. gateUp (P, 2 hidden) = [w1 | w3] xn[sortedPair];
     * h (P, hidden) = silu(gate) * up; y (P, dim) = w2 h, in grouped order.
     */
    private void experts(int l, StepBuffers buf, int pairs) {
        int hidden = c.hiddenDim();
        int experts = c.experts();
        int gridTiles = maxTiles(pairs, experts);
        int estimate = Math.min(pairs, experts); // row tiles the plans assume: about one per routed expert
        GemmPlan up = GemmPlan.of(pairs, 2 * hidden, c.dim(), estimate, sms);
        k.gemm(buf.xn.ptr(), buf.sortedPair.ptr(), c.expertsUsed(), w.w13[l].ptr(), w.layout.w13ExpertElements(),
                buf.gateUp.ptr(), pairs, 2 * hidden, c.dim(), buf.tiles.ptr(), buf.nTiles.ptr(), gridTiles, false,
                up.splits(), up.kSplit(), buf.splitK.ptr());
        k.swiglu(buf.gateUp.ptr(), buf.h.ptr(), hidden, (long) pairs * hidden);
        GemmPlan down = GemmPlan.of(pairs, c.dim(), hidden, estimate, sms);
        k.gemm(buf.h.ptr(), null, 1, w.w2[l].ptr(), w.layout.w2ExpertElements(), buf.y.ptr(), pairs, c.dim(), hidden,
                buf.tiles.ptr(), buf.nTiles.ptr(), gridTiles, false, down.splits(), down.kSplit(), buf.splitK.ptr());
    }

    /** combine: x[t] += sum of routeWeights * y[pairPos] over t's k pairs, in expert index order (the CPU's order). */
    private void combine(StepBuffers buf, int n) {
        k.moeCombine(buf.x.ptr(), buf.y.ptr(), buf.pairPos.ptr(), buf.chosen.ptr(), buf.routeWeights.ptr(), n,
                c.expertsUsed(), c.dim());
    }

    /**
     * An upper bound on the row tiles moe_group cuts {@code pairs} grouped rows of {@code experts} experts into (the
     * grouped products' grid): each tile has at least one row, and each expert's rows end at most one partial tile,
     * so at most ceil(P / GEMM_TILE_ROWS) + E.
     */
    static int maxTiles(int pairs, int experts) {
        return Math.min(pairs, (pairs + CudaKernels.GEMM_TILE_ROWS - 1) / CudaKernels.GEMM_TILE_ROWS + experts);
    }
}
