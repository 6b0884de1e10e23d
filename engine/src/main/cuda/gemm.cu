// Matrix products of the forward pass, dense and grouped by expert:
//
//   C (M, N) fp32 [+]= A (M, K) . W (N, K)^T        (PyTorch's nn.Linear: W row-major, out = W x per row of A)
//
// gemm_bf16 runs on the tensor cores (WMMA 16x16x16, bf16 in, fp32 accumulate), with a 3-stage cp.async pipeline;
// gemm_f32 is the plain fp32 version of the F32 debug mode. Both take the same arguments:
//
//   a_rows, a_div   A's row for output row r is a_rows[r] / a_div (the grouped expert input: a_rows = the sorted
//                   (token, slot) pairs, a_div = k) or r itself when a_rows is null;
//   w_stride        elements between two experts' matrices in W (0 for a dense product);
//   tiles, n_tiles  grouped mode: tile b = (expert, first row, rows), n_tiles[0] of them (from moe_group); blocks
//                   past the count return. Dense mode (tiles null): tile b covers rows [b*64, b*64+64) of expert 0;
//   accumulate      add to C instead of overwriting it (the residual stream);
//   k_split         split-K: blockIdx.z computes the K range [z*k_split, (z+1)*k_split) into partial + z*M*N,
//                   and splitk_reduce sums the splits in order (deterministic). With gridDim.z == 1 the block
//                   writes C directly.
//
// Requirements (checked on the host): K % 8 == 0 (16-byte loads), k_split % 32 == 0.
// Grid: (ceil(N / 64), tiles, splits), block 128 (gemm_bf16) or 256 (gemm_f32).
#include "common.cuh"
#include <mma.h>

using namespace nvcuda;

#define BM 64
#define BN 64

struct Tile {
    int expert, row0, rows;
};

__device__ __forceinline__ bool resolve_tile(const int* tiles, const int* n_tiles, int M, Tile& t) {
    int b = blockIdx.y;
    if (tiles) {
        if (b >= n_tiles[0]) return false;
        t.expert = tiles[3 * b];
        t.row0 = tiles[3 * b + 1];
        t.rows = tiles[3 * b + 2];
    } else {
        t.expert = 0;
        t.row0 = b * BM;
        t.rows = min(BM, M - t.row0);
    }
    return t.rows > 0;
}

// ---------------------------------------------------------------------------------------------------------------
// bf16 tensor-core product
#define BK 32
#define STAGES 3
#define LDS (BK + 8) // smem row: 40 bf16 = 80 bytes, so that the 8 rows a WMMA load touches hit distinct banks

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

extern "C" __global__ void __launch_bounds__(128)
    gemm_bf16(const bf16* A, const int* a_rows, int a_div, const bf16* W, long long w_stride, float* C, int M,
              int N, int K, const int* tiles, const int* n_tiles, int accumulate, int k_split, float* partial) {
    // pipeline buffers, reused for the fp32 output tile once the main loop is done
    __shared__ __align__(128) unsigned char smem[STAGES * (BM + BN) * LDS * 2];
    typedef bf16 TileA[BM][LDS];
    typedef bf16 TileB[BN][LDS];
    TileA* As = reinterpret_cast<TileA*>(smem);
    TileB* Bs = reinterpret_cast<TileB*>(smem + STAGES * BM * LDS * 2);
    typedef float TileC[BN + 4];
    TileC* Cs = reinterpret_cast<TileC*>(smem);

    Tile tile;
    if (!resolve_tile(tiles, n_tiles, M, tile)) return;
    int n0 = blockIdx.x * BN;
    const bf16* Wt = W + (size_t)tile.expert * (size_t)w_stride;
    int k_begin = blockIdx.z * k_split;
    int k_end = min(K, k_begin + k_split);
    int kt_count = (k_end - k_begin + BK - 1) / BK;

    // each thread copies 2 of the 256 16-byte chunks of the A tile and 2 of the B tile per stage
    int tid = threadIdx.x;
    const bf16* a_src[2];
    const bf16* b_src[2];
    bool a_ok[2], b_ok[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int r = (tid + i * 128) >> 2;
        a_ok[i] = r < tile.rows;
        int grow = tile.row0 + (a_ok[i] ? r : 0);
        int arow = a_rows ? a_rows[grow] / a_div : grow;
        a_src[i] = A + (size_t)arow * K;
        b_ok[i] = n0 + r < N;
        b_src[i] = Wt + (size_t)(b_ok[i] ? n0 + r : 0) * K;
    }
    auto load_stage = [&](int stage, int k0) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int c = tid + i * 128;
            int r = c >> 2, kc = (c & 3) * 8;
            int k = k0 + kc;
            bool in_k = k < k_end;
            bool la = a_ok[i] && in_k, lb = b_ok[i] && in_k;
            cp_async16(&As[stage][r][kc], la ? a_src[i] + k : a_src[i], la ? 16 : 0);
            cp_async16(&Bs[stage][r][kc], lb ? b_src[i] + k : b_src[i], lb ? 16 : 0);
        }
    };

    int warp = tid >> 5;
    int wm = warp >> 1, wn = warp & 1; // each warp: a 32x32 quarter of the 64x64 tile
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < kt_count) load_stage(s, k_begin + s * BK);
        cp_async_commit();
    }
    for (int kt = 0; kt < kt_count; kt++) {
        cp_async_wait<STAGES - 2>(); // tile kt has landed
        __syncthreads();             // ... for every thread, and everyone is done with tile kt-1's stage
        int next = kt + STAGES - 1;
        if (next < kt_count) load_stage(next % STAGES, k_begin + next * BK);
        cp_async_commit();
        int st = kt % STAGES;
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> b[2];
#pragma unroll
            for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], &As[st][wm * 32 + i * 16][kk], LDS);
#pragma unroll
            for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], &Bs[st][wn * 32 + j * 16][kk], LDS);
#pragma unroll
            for (int i = 0; i < 2; i++)
#pragma unroll
                for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
    }
    cp_async_wait<0>();
    __syncthreads();
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++)
            wmma::store_matrix_sync(&Cs[wm * 32 + i * 16][wn * 32 + j * 16], acc[i][j], BN + 4, wmma::mem_row_major);
    __syncthreads();

    bool split = gridDim.z > 1;
    float* out = split ? partial + (size_t)blockIdx.z * M * N : C;
    bool add = !split && accumulate;
    for (int idx = tid; idx < BM * BN; idx += blockDim.x) {
        int r = idx / BN, c = idx % BN;
        if (r < tile.rows && n0 + c < N) {
            size_t o = (size_t)(tile.row0 + r) * N + n0 + c;
            float v = Cs[r][c];
            out[o] = add ? out[o] + v : v;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// fp32 product of the F32 debug mode: 64x64 tiles, 16x16 threads, 4x4 outputs each (rows ty + 16i, cols tx + 16j)
#define BKF 16

extern "C" __global__ void __launch_bounds__(256)
    gemm_f32(const float* A, const int* a_rows, int a_div, const float* W, long long w_stride, float* C, int M,
             int N, int K, const int* tiles, const int* n_tiles, int accumulate, int k_split, float* partial) {
    __shared__ float As[BKF][BM + 1];
    __shared__ float Bs[BKF][BN + 1];
    Tile tile;
    if (!resolve_tile(tiles, n_tiles, M, tile)) return;
    int n0 = blockIdx.x * BN;
    const float* Wt = W + (size_t)tile.expert * (size_t)w_stride;
    int k_begin = blockIdx.z * k_split;
    int k_end = min(K, k_begin + k_split);
    int tx = threadIdx.x & 15, ty = threadIdx.x >> 4, tid = threadIdx.x;
    float acc[4][4] = {};
    for (int k0 = k_begin; k0 < k_end; k0 += BKF) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int e = tid + i * 256;
            int r = e / BKF, kk = e % BKF;
            int k = k0 + kk;
            float a = 0.0f, b = 0.0f;
            if (r < tile.rows && k < k_end) {
                int grow = tile.row0 + r;
                int arow = a_rows ? a_rows[grow] / a_div : grow;
                a = A[(size_t)arow * K + k];
            }
            if (n0 + r < N && k < k_end) b = Wt[(size_t)(n0 + r) * K + k];
            As[kk][r] = a;
            Bs[kk][r] = b;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BKF; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
    bool split = gridDim.z > 1;
    float* out = split ? partial + (size_t)blockIdx.z * M * N : C;
    bool add = !split && accumulate;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int r = ty + 16 * i;
        if (r >= tile.rows) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + 16 * j;
            if (n < N) {
                size_t o = (size_t)(tile.row0 + r) * N + n;
                out[o] = add ? out[o] + acc[i][j] : acc[i][j];
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// split-K: C (mn) [+]= sum over the splits, in order, of partial (splits, mn).   grid-stride
extern "C" __global__ void splitk_reduce(const float* partial, float* C, long long mn, int splits, int accumulate) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < mn;
         i += (long long)gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (int z = 0; z < splits; z++) s += partial[(size_t)z * mn + i];
        C[i] = accumulate ? C[i] + s : s;
    }
}
