// Causal grouped-query attention over the paged KV cache, for prefill and decode alike (the scheduler mixes them in
// one step), in two kernels:
//
//   attention_split   one block per (work item, head group). A work item is a query tile (up to 16 / hpb
//                     consecutive tokens of one sequence; a decode token is a tile of one) and a range of KV
//                     positions (long contexts are split over several items: flash-decoding). The block loads the
//                     tile's queries once, then streams 32-position chunks of K and V through shared memory for
//                     all its query rows (flash-attention's tiling), keeping an online softmax (running max m,
//                     sum l, unnormalised output) per row, which it writes out as a partial result;
//   attention_merge   one block per (token, head): merges the partials of the token's items (rescaled by exp(m_i -
//                     max m)) and writes the normalised output in W for the output projection.
//
// The host plans tiles and items (AttentionPlan.java); the layout of the plan's int arrays is given there.
// Head dimension at most 128 (checked on the host).
#include "common.cuh"

#define HD_MAX 128
#define ROWS 16 // query rows per block: tokens per tile x heads per block
#define KC 32   // KV positions per chunk: one per lane

// qkv (T, qkv_stride) fp32 with RoPE applied, q heads first; k_cache, v_cache (slots, kv_dim) in W.
// block_tables (n_seq, max_blocks): block ids of each sequence; tiles (n_tiles, 4): first token, tokens, sequence,
// first item; items (n_items, 3): tile, kv start, kv end (exclusive, at most the tile's last position + 1).
// part_acc (n_items, head_groups, ROWS, head_dim), part_ml (n_items, head_groups, ROWS, 2).
// hpb: query heads per block (a divisor of heads / kv_heads, at most ROWS).   grid (n_items, heads / hpb), block 128
template <typename W>
__device__ __forceinline__ void attention_split_impl(const float* qkv, int qkv_stride, const W* k_cache,
                                                     const W* v_cache, const int* positions,
                                                     const int* block_tables, int max_blocks, int block_size,
                                                     const int* tiles, const int* items, float* part_acc,
                                                     float* part_ml, int heads, int kv_heads, int head_dim,
                                                     int hpb, float scale) {
    __shared__ float Qs[ROWS][HD_MAX];
    __shared__ float Ks[KC][HD_MAX + 1]; // +1: lane j reads row j, column d: distinct banks
    __shared__ float Vs[KC][HD_MAX];
    __shared__ int qpos[ROWS];

    int item = blockIdx.x, hg = blockIdx.y, head_groups = gridDim.y;
    int tile = items[3 * item], kv_start = items[3 * item + 1], kv_end = items[3 * item + 2];
    int tok0 = tiles[4 * tile], ntok = tiles[4 * tile + 1], seq = tiles[4 * tile + 2];
    int h0 = hg * hpb;
    int g = h0 / (heads / kv_heads); // the KV head this group of query heads shares
    int kv_dim = kv_heads * head_dim;
    int rows = ntok * hpb;           // row r: token tok0 + r / hpb, head h0 + r % hpb
    const int* table = block_tables + (size_t)seq * max_blocks;

    for (int idx = threadIdx.x; idx < rows * head_dim; idx += blockDim.x) {
        int r = idx / head_dim, d = idx % head_dim;
        Qs[r][d] = qkv[(size_t)(tok0 + r / hpb) * qkv_stride + (h0 + r % hpb) * head_dim + d];
    }
    if (threadIdx.x < rows) qpos[threadIdx.x] = positions[tok0 + threadIdx.x / hpb];

    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int RPW = ROWS / 4; // rows per warp: r = warp + 4 i
    float m[RPW], l[RPW], acc[RPW][HD_MAX / 32];
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < HD_MAX / 32; c++) acc[i][c] = 0.0f;
    }

    for (int c0 = kv_start; c0 < kv_end; c0 += KC) {
        __syncthreads(); // the previous chunk is consumed (and, the first time, Qs and qpos are written)
        for (int idx = threadIdx.x; idx < KC * head_dim; idx += blockDim.x) {
            int j = idx / head_dim, d = idx % head_dim;
            int p = c0 + j;
            float kv = 0.0f, vv = 0.0f;
            if (p < kv_end) {
                size_t slot = (size_t)table[p / block_size] * block_size + p % block_size;
                kv = to_float(k_cache[slot * kv_dim + (size_t)g * head_dim + d]);
                vv = to_float(v_cache[slot * kv_dim + (size_t)g * head_dim + d]);
            }
            Ks[j][d] = kv;
            Vs[j][d] = vv;
        }
        __syncthreads();
#pragma unroll
        for (int i = 0; i < RPW; i++) {
            int r = warp + 4 * i;
            if (r >= rows) continue; // warp-uniform
            int p = c0 + lane;
            bool valid = p < kv_end && p <= qpos[r];
            float s = -INFINITY;
            if (valid) {
                float dot = 0.0f;
                for (int d = 0; d < head_dim; d++) dot += Qs[r][d] * Ks[lane][d];
                s = dot * scale;
            }
            float m_new = fmaxf(m[i], warp_max(s));
            if (m_new == -INFINITY) continue; // nothing visible yet for this row (warp-uniform)
            float pj = valid ? expf(s - m_new) : 0.0f;
            float alpha = expf(m[i] - m_new); // 0 when m was -inf
            l[i] = l[i] * alpha + warp_sum(pj);
#pragma unroll
            for (int c = 0; c < HD_MAX / 32; c++) acc[i][c] *= alpha;
            for (int j = 0; j < KC; j++) {
                float pjj = __shfl_sync(0xffffffffu, pj, j);
#pragma unroll
                for (int c = 0; c < HD_MAX / 32; c++) {
                    int d = lane + 32 * c;
                    if (d < head_dim) acc[i][c] += pjj * Vs[j][d];
                }
            }
            m[i] = m_new;
        }
    }
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        int r = warp + 4 * i;
        if (r >= rows) continue;
        size_t base = ((size_t)item * head_groups + hg) * ROWS + r;
#pragma unroll
        for (int c = 0; c < HD_MAX / 32; c++) {
            int d = lane + 32 * c;
            if (d < head_dim) part_acc[base * head_dim + d] = acc[i][c];
        }
        if (lane == 0) {
            part_ml[2 * base] = m[i];
            part_ml[2 * base + 1] = l[i];
        }
    }
}
extern "C" __global__ void __launch_bounds__(128)
    attention_split_bf16(const float* qkv, int qkv_stride, const bf16* k_cache, const bf16* v_cache,
                         const int* positions, const int* block_tables, int max_blocks, int block_size,
                         const int* tiles, const int* items, float* part_acc, float* part_ml, int heads,
                         int kv_heads, int head_dim, int hpb, float scale) {
    attention_split_impl<bf16>(qkv, qkv_stride, k_cache, v_cache, positions, block_tables, max_blocks, block_size,
                               tiles, items, part_acc, part_ml, heads, kv_heads, head_dim, hpb, scale);
}
extern "C" __global__ void __launch_bounds__(128)
    attention_split_f32(const float* qkv, int qkv_stride, const float* k_cache, const float* v_cache,
                        const int* positions, const int* block_tables, int max_blocks, int block_size,
                        const int* tiles, const int* items, float* part_acc, float* part_ml, int heads,
                        int kv_heads, int head_dim, int hpb, float scale) {
    attention_split_impl<float>(qkv, qkv_stride, k_cache, v_cache, positions, block_tables, max_blocks, block_size,
                                tiles, items, part_acc, part_ml, heads, kv_heads, head_dim, hpb, scale);
}

// out (T, heads * head_dim) in W: token t, head h = the merge of the partials of t's tile's items.
// token_tile (T): each token's tile.   grid (T, heads), block 128
template <typename W>
__device__ __forceinline__ void attention_merge_impl(const float* part_acc, const float* part_ml,
                                                     const int* tiles, const int* token_tile, W* out, int heads,
                                                     int head_dim, int hpb, int n_tiles, int n_items) {
    int t = blockIdx.x, h = blockIdx.y;
    int tile = token_tile[t];
    int tok0 = tiles[4 * tile];
    int first = tiles[4 * tile + 3];
    int last = tile + 1 < n_tiles ? tiles[4 * (tile + 1) + 3] : n_items;
    int hg = h / hpb, head_groups = heads / hpb;
    int r = (t - tok0) * hpb + h % hpb;
    float mx = -INFINITY;
    for (int it = first; it < last; it++) {
        size_t base = ((size_t)it * head_groups + hg) * ROWS + r;
        mx = fmaxf(mx, part_ml[2 * base]);
    }
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float num = 0.0f, den = 0.0f;
        for (int it = first; it < last; it++) {
            size_t base = ((size_t)it * head_groups + hg) * ROWS + r;
            float mi = part_ml[2 * base], li = part_ml[2 * base + 1];
            if (li == 0.0f) continue; // no visible position in this item
            float f = expf(mi - mx);
            num += f * part_acc[base * head_dim + d];
            den += f * li;
        }
        out[(size_t)t * heads * head_dim + (size_t)h * head_dim + d] = from_float<W>(num / den);
    }
}
extern "C" __global__ void attention_merge_bf16(const float* part_acc, const float* part_ml, const int* tiles,
                                                const int* token_tile, bf16* out, int heads, int head_dim, int hpb,
                                                int n_tiles, int n_items) {
    attention_merge_impl<bf16>(part_acc, part_ml, tiles, token_tile, out, heads, head_dim, hpb, n_tiles, n_items);
}
extern "C" __global__ void attention_merge_f32(const float* part_acc, const float* part_ml, const int* tiles,
                                               const int* token_tile, float* out, int heads, int head_dim, int hpb,
                                               int n_tiles, int n_items) {
    attention_merge_impl<float>(part_acc, part_ml, tiles, token_tile, out, heads, head_dim, hpb, n_tiles, n_items);
}
