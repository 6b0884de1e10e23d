// Per-token kernels of the forward pass: embedding gather, RMSNorm, RoPE + KV-cache store, SwiGLU, the MoE's
// weighted combine, and the random-weight fill of the benchmark. Each follows the CPU's BatchForward block of the
// same name; where the CPU rounds in a given order (double sums, no fused multiply-add) the kernel does the same
// (__fmul_rn/__fadd_rn keep nvcc from contracting), so that the F32 debug mode lands on the CPU's numbers.
#include "common.cuh"

// ---------------------------------------------------------------------------------------------------------------
// embedding: x (T, dim) fp32 = table[tokens[t]], table (vocab, dim) in W.   grid (T), block 256
template <typename W>
__device__ __forceinline__ void embed_impl(const W* table, const int* tokens, float* x, int dim) {
    int t = blockIdx.x;
    const W* row = table + (size_t)tokens[t] * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) x[(size_t)t * dim + i] = to_float(row[i]);
}
extern "C" __global__ void embed_bf16(const bf16* table, const int* tokens, float* x, int dim) {
    embed_impl<bf16>(table, tokens, x, dim);
}
extern "C" __global__ void embed_f32(const float* table, const int* tokens, float* x, int dim) {
    embed_impl<float>(table, tokens, x, dim);
}

// ---------------------------------------------------------------------------------------------------------------
// RMSNorm: out row i = x row r * rsqrt(mean(x_r^2) + eps) * weight, r = rows ? rows[i] : i.
// The sum of squares in double, as BatchForward.rmsnorm. Writes the fp32 result (out_f, may be null) and the W
// copy that feeds a matrix product (out_w, may be null).   grid (n), block 256
template <typename W>
__device__ __forceinline__ void rmsnorm_impl(const float* x, const int* rows, const float* weight, float* out_f,
                                             W* out_w, int dim, float eps) {
    __shared__ double partial[32];
    __shared__ float scale_s;
    int i = blockIdx.x;
    int r = rows ? rows[i] : i;
    const float* xr = x + (size_t)r * dim;
    double ss = 0;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) ss += (double)xr[j] * (double)xr[j];
    ss = warp_sum(ss);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    if (lane == 0) partial[warp] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        double total = 0;
        for (int w = 0; w < (blockDim.x + 31) / 32; w++) total += partial[w];
        scale_s = (float)(1.0 / sqrt(total / dim + (double)eps));
    }
    __syncthreads();
    float scale = scale_s;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) {
        float v = __fmul_rn(__fmul_rn(xr[j], scale), weight[j]);
        if (out_f) out_f[(size_t)i * dim + j] = v;
        if (out_w) out_w[(size_t)i * dim + j] = from_float<W>(v);
    }
}
extern "C" __global__ void rmsnorm_bf16(const float* x, const int* rows, const float* weight, float* out_f,
                                        bf16* out_w, int dim, float eps) {
    rmsnorm_impl<bf16>(x, rows, weight, out_f, out_w, dim, eps);
}
extern "C" __global__ void rmsnorm_f32(const float* x, const int* rows, const float* weight, float* out_f,
                                       float* out_w, int dim, float eps) {
    rmsnorm_impl<float>(x, rows, weight, out_f, out_w, dim, eps);
}

// ---------------------------------------------------------------------------------------------------------------
// RoPE on the interleaved layout (pairs 2i, 2i+1 of each head; HF checkpoints were permuted to it at load), then
// k and v into the paged cache at each token's slot. The angle pos * theta^(-2i/hd) in double (DESIGN §2), as Rope.
// qkv (T, qkv_stride) fp32: q heads at 0, k heads at q_dim, v heads at q_dim + kv_dim. Rotates q and k in place.
// k_cache, v_cache (slots, kv_dim) in W; slots[t] = block * block_size + offset.   grid (T), block 128
template <typename W>
__device__ __forceinline__ void rope_store_impl(float* qkv, const int* positions, const int* slots,
                                                const double* inv_freq, W* k_cache, W* v_cache, int qkv_stride,
                                                int heads, int kv_heads, int head_dim) {
    int t = blockIdx.x;
    int half = head_dim / 2;
    int q_dim = heads * head_dim, kv_dim = kv_heads * head_dim;
    float* row = qkv + (size_t)t * qkv_stride;
    double pos = (double)positions[t];
    int pairs = (heads + kv_heads) * half;
    for (int p = threadIdx.x; p < pairs; p += blockDim.x) {
        int h = p / half, i = p % half;
        double angle = pos * inv_freq[i];
        float c = (float)cos(angle), s = (float)sin(angle);
        int j = h * head_dim + 2 * i; // k heads follow the q heads directly: q_dim = heads * head_dim
        float x0 = row[j], x1 = row[j + 1];
        row[j] = __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s));
        row[j + 1] = __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c));
    }
    __syncthreads();
    size_t slot = (size_t)slots[t];
    for (int i = threadIdx.x; i < kv_dim; i += blockDim.x) {
        k_cache[slot * kv_dim + i] = from_float<W>(row[q_dim + i]);
        v_cache[slot * kv_dim + i] = from_float<W>(row[q_dim + kv_dim + i]);
    }
}
extern "C" __global__ void rope_store_bf16(float* qkv, const int* positions, const int* slots,
                                           const double* inv_freq, bf16* k_cache, bf16* v_cache, int qkv_stride,
                                           int heads, int kv_heads, int head_dim) {
    rope_store_impl<bf16>(qkv, positions, slots, inv_freq, k_cache, v_cache, qkv_stride, heads, kv_heads, head_dim);
}
extern "C" __global__ void rope_store_f32(float* qkv, const int* positions, const int* slots,
                                          const double* inv_freq, float* k_cache, float* v_cache, int qkv_stride,
                                          int heads, int kv_heads, int head_dim) {
    rope_store_impl<float>(qkv, positions, slots, inv_freq, k_cache, v_cache, qkv_stride, heads, kv_heads, head_dim);
}

// ---------------------------------------------------------------------------------------------------------------
// SwiGLU: h (P, H) = silu(g) * u, with gu (P, 2H) fp32 holding [w1 x | w3 x] per row (the stacked w13 product).
// F32 mode: silu in double as BatchForward; bf16 mode: in float (the result is rounded to bf16 anyway).
//   grid (ceil(P*H / 256)), block 256
template <typename W>
__device__ __forceinline__ void swiglu_impl(const float* gu, W* h, int hidden, long long total) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= total) return;
    long long p = idx / hidden;
    int i = (int)(idx % hidden);
    float g = gu[p * 2 * hidden + i];
    float u = gu[p * 2 * hidden + hidden + i];
    float s;
    if (sizeof(W) == 4) {
        s = (float)((double)g / (1.0 + exp(-(double)g)));
    } else {
        s = g / (1.0f + expf(-g));
    }
    h[idx] = from_float<W>(__fmul_rn(s, u));
}
extern "C" __global__ void swiglu_bf16(const float* gu, bf16* h, int hidden, long long total) {
    swiglu_impl<bf16>(gu, h, hidden, total);
}
extern "C" __global__ void swiglu_f32(const float* gu, float* h, int hidden, long long total) {
    swiglu_impl<float>(gu, h, hidden, total);
}

// ---------------------------------------------------------------------------------------------------------------
// MoE combine, residual: x[t] += sum over t's k routed experts, in ascending expert id (the CPU's order), of
// weight * y[pair_pos[t*k + slot]]. y (P, dim) holds the experts' outputs in grouped order.
//   grid (T), block 256
extern "C" __global__ void moe_combine(float* x, const float* y, const int* pair_pos, const int* chosen,
                                       const float* weights, int k, int dim) {
    int t = blockIdx.x;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        float sum = 0.0f;
        int last = -1;
        for (int r = 0; r < k; r++) {
            // the r-th smallest expert id among t's slots (ids are distinct)
            int best = -1, best_e = 0x7fffffff;
            for (int s = 0; s < k; s++) {
                int e = chosen[t * k + s];
                if (e > last && e < best_e) { best_e = e; best = s; }
            }
            last = best_e;
            float v = y[(size_t)pair_pos[t * k + best] * dim + i];
            sum = __fadd_rn(sum, __fmul_rn(weights[t * k + best], v));
        }
        x[(size_t)t * dim + i] = __fadd_rn(x[(size_t)t * dim + i], sum);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Random weights for the benchmark, generated on the device (no 87 GiB file to carry): a counter-based hash of
// (seed, index) gives a uniform value in [-1, 1), scaled so that its standard deviation is `std`, plus `mean`.
__device__ __forceinline__ uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
__device__ __forceinline__ float uniform_pm1(uint64_t seed, uint64_t i) {
    uint64_t h = mix64(seed * 0x9e3779b97f4a7c15ull + i);
    return (float)((h >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}
// p (n) bf16 = mean + std * sqrt(3) * U(-1, 1).   grid-stride
extern "C" __global__ void fill_random_bf16(bf16* p, long long n, unsigned long long seed, float mean, float std) {
    float a = std * 1.7320508f;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        p[i] = __float2bfloat16_rn(mean + a * uniform_pm1(seed, (uint64_t)i));
    }
}
extern "C" __global__ void fill_random_f32(float* p, long long n, unsigned long long seed, float mean, float std) {
    float a = std * 1.7320508f;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        p[i] = mean + a * uniform_pm1(seed, (uint64_t)i);
    }
}
