// The MoE block's routing and grouping (HF MixtralSparseMoeBlock; vLLM's fused_moe stages Router -> Dispatch):
//   route:  router logits (T, E) in fp32, softmax, top-k (the lower index wins a tie), renormalised weights;
//   group:  the (token, slot) pairs sorted by expert, stably (token order within an expert), and the row tiles of
//           the grouped matrix products, so that each expert runs once over its tokens.
#include "common.cuh"

#define MAX_EXPERTS 64

// route: xn (T, dim) fp32 normed states, router (E, dim) fp32 or null for a dense model (one expert, weight 1).
// chosen (T, k) expert ids best first, weights (T, k) renormalised; the same arithmetic as Router.route (double
// exp and sums).   grid (T), block 256
extern "C" __global__ void moe_route(const float* xn, const float* router, int* chosen, float* weights, int dim,
                                     int experts, int k) {
    __shared__ float logits[MAX_EXPERTS];
    int t = blockIdx.x;
    if (router == nullptr) {
        if (threadIdx.x < k) {
            chosen[t * k + threadIdx.x] = 0;
            weights[t * k + threadIdx.x] = 1.0f;
        }
        return;
    }
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    const float* x = xn + (size_t)t * dim;
    for (int e = warp; e < experts; e += warps) {
        const float* w = router + (size_t)e * dim;
        float s = 0.0f;
        for (int i = lane; i < dim; i += 32) s += w[i] * x[i];
        s = warp_sum(s);
        if (lane == 0) logits[e] = s;
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    float max = -INFINITY;
    for (int e = 0; e < experts; e++) max = fmaxf(max, logits[e]);
    // softmax numerators; the common denominator cancels in the renormalisation over the chosen k
    double sum = 0.0;
    double p[MAX_EXPERTS];
    int ids[MAX_EXPERTS];
    for (int i = 0; i < k; i++) {
        int best = -1;
        float best_logit = -INFINITY;
        for (int e = 0; e < experts; e++) {
            bool taken = false;
            for (int j = 0; j < i; j++) taken |= ids[j] == e;
            if (taken) continue;
            float v = logits[e];
            if (best < 0 || v > best_logit) { best = e; best_logit = v; } // strict: the lower index wins a tie
        }
        ids[i] = best;
        p[i] = exp((double)best_logit - (double)max);
        sum += p[i];
    }
    for (int i = 0; i < k; i++) {
        chosen[t * k + i] = ids[i];
        weights[t * k + i] = (float)((double)(float)p[i] / sum); // as Router: the float weight over the double sum
    }
}

// group: the n_pairs = T*k (token, slot) pairs, pair i = t*k + slot, by expert.
// Writes: sorted_pair (n_pairs): the pairs in grouped order (expert, then pair index); pair_pos (n_pairs): each
// pair's row in that order; tiles (3 * max_tiles): (expert, first row, rows) of each tile of at most tile_rows rows
// of one expert; n_tiles[0]: the tile count. One thread: n_pairs is at most a few thousand and the order must be
// deterministic.   grid (1), block 32
extern "C" __global__ void moe_group(const int* chosen, int n_pairs, int experts, int tile_rows, int* sorted_pair,
                                     int* pair_pos, int* tiles, int* n_tiles) {
    __shared__ int count[MAX_EXPERTS + 1];
    __shared__ int fill[MAX_EXPERTS];
    if (threadIdx.x != 0) return;
    for (int e = 0; e <= experts; e++) count[e] = 0;
    for (int i = 0; i < n_pairs; i++) count[chosen[i] + 1]++;
    for (int e = 0; e < experts; e++) count[e + 1] += count[e]; // count[e] = first row of expert e
    for (int e = 0; e < experts; e++) fill[e] = count[e];
    for (int i = 0; i < n_pairs; i++) {
        int pos = fill[chosen[i]]++;
        sorted_pair[pos] = i;
        pair_pos[i] = pos;
    }
    int n = 0;
    for (int e = 0; e < experts; e++) {
        for (int r = count[e]; r < count[e + 1]; r += tile_rows) {
            tiles[3 * n] = e;
            tiles[3 * n + 1] = r;
            tiles[3 * n + 2] = min(tile_rows, count[e + 1] - r);
            n++;
        }
    }
    n_tiles[0] = n;
}
