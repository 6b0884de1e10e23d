/*
 * Matrix kernels with int8 activations, compiled once per variant from this one source (build.sh):
 *
 *   -DMK_AVX512VNNI -DMK_AVX512BF16  the flags below and -mavx512bf16                   -> mk_kernels_avx512bf16
 *   -DMK_AVX512VNNI  -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni   -> mk_kernels_avx512vnni
 *   (nothing)        -mavx2 -mfma -mf16c                                                 -> mk_kernels_avx2
 *
 * y (T, rows) = x (T, cols) @ W^T for W in Q8_0, Q4_0, Q4_K, Q5_K or Q6_K (block layouts: ggml-common.h; the Java
 * reference is tensor.Dequantize; F32, F16 and BF16 weights: kernels_float.h). The variants work on 256-bit vectors,
 * one 32-value block per vector: the AVX-512 ones for VNNI's vpdpbusd (u8 x s8 -> int32, 4 products per lane, no
 * saturation) and its 32 vector registers;
 * Zen 4 runs 512-bit integer ops as two 256-bit halves, so wider vectors would buy no throughput. AVX2 has
 * vpmaddubsw + vpmaddwd instead, which give the same int32 lanes when the u8 x s8 pair sums fit in int16.
 *
 * Structure, for a tile of up to RT rows and a block of up to TB tokens:
 *   for each chunk of 256 columns (one K-quant super-block, or 8 Q8_0/Q4_0 blocks):
 *     decode the chunk of each of the RT rows once: unsigned 8-bit quants, an fp32 scale per 32-block (8 lanes,
 *     so that Q6_K's two 16-value scales share a vector), and per 16 values the "min" coefficient;
 *     for each tile of TT tokens: for each 32-block j, each row r and token t
 *         acc[r][t] += float(int32 lanes of q_w[r, j] . q_x[t, j]) * (scale_w[r, j] * d_x[t, j])
 *     and once per chunk acc[r][t] -= min_w[r, 16-groups] * bx[t, 16-groups] (8 lanes twice).
 * Types whose quants are signed or offset (Q8_0 on AVX-512: w + 128; Q4_0: q - 8 stored as q; Q6_K: q - 32 stored
 * as q) use the unsigned stored form and take the offset off through the min term: offset * scale_w times
 * bx = d_x * sum(q_x). On AVX2, Q8_0's w + 128 would saturate vpmaddubsw, so it multiplies |w| by sign(x, w) and has
 * no min term.
 *
 * Every (row, token) accumulator sees the same operations in the same order whatever the tile it is computed in
 * (RT, TT and the remainders only choose which accumulators share a pass), so a token's result does not depend on
 * the batch or on how the caller split the rows. Built with -ffp-contract=off so that gcc fuses nothing on its own.
 *
 * The kernels allocate nothing: the decoded chunk and the accumulators live on the stack (about 10 KiB).
 */
#include "mk.h"

#include <immintrin.h>
#include <string.h>

#if defined(MK_AVX512BF16)
#define MK(name) name##_avx512bf16
#define MK_VARIANT "avx512bf16"
#define Q8_SIGNED 0
#elif defined(MK_AVX512VNNI)
#define MK(name) name##_avx512vnni
#define MK_VARIANT "avx512vnni"
#define Q8_SIGNED 0
#else
#define MK(name) name##_avx2
#define MK_VARIANT "avx2"
#define Q8_SIGNED 1
#endif

#define INLINE static inline __attribute__((always_inline))

/* Rows decoded together. */
#define RT 4
/* Tokens sharing a pass over a decoded chunk's vectors (RT x TT accumulators in registers). */
#define TT 4
/* Most tokens whose accumulators live on the stack at once; larger batches are cut into blocks of this many. */
#define TB 64

/* One chunk (256 columns) of one row, decoded. */
typedef struct {
    _Alignas(32) uint8_t q[256];  /* unsigned quants (AVX2 Q8_0: |w|) */
    _Alignas(32) int8_t s[256];   /* AVX2 Q8_0 only: the signed weights, whose signs go onto the activations */
    _Alignas(32) float sv[8][8];  /* per 32-block, the weight scale in each of the 8 int32 lanes */
    _Alignas(32) float m[16];     /* per 16 values, what to subtract per unit of bx */
} chunk;

INLINE float h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

INLINE __m256i loadu(const void *p) {
    return _mm256_loadu_si256((const __m256i *) p);
}

/* 8 int32 lanes, lane i = sum of u[4i..4i+3] * s[4i..4i+3] (u unsigned, s signed). */
INLINE __m256i dot_u8s8(__m256i u, __m256i s) {
#if defined(MK_AVX512VNNI)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

/* The lanes of v summed in a fixed order: halves folded (4 + 4, then 2 + 2, then 1 + 1). */
INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ---- decoders: chunk k of a row into c (nblk = 32-blocks in the chunk, 8 except at a Q8_0/Q4_0 row's end) ---- */

INLINE void zero_mins(chunk *c, int nblk) {
    for (int j = nblk; j < 8; j++) {
        c->m[2 * j] = 0.0f;
        c->m[2 * j + 1] = 0.0f;
    }
}

/* Q8_0, 34 bytes: half d; int8 qs[32]; value = d * qs */
INLINE void decode_q8_0(const uint8_t *row, int k, int nblk, chunk *c) {
    for (int j = 0; j < nblk; j++) {
        const uint8_t *b = row + (size_t) (8 * k + j) * 34;
        float d = h2f(b);
        __m256i w = loadu(b + 2);
#if Q8_SIGNED
        _mm256_store_si256((__m256i *) (c->s + 32 * j), w);
        _mm256_store_si256((__m256i *) (c->q + 32 * j), _mm256_abs_epi8(w));
#else
        _mm256_store_si256((__m256i *) (c->q + 32 * j), _mm256_xor_si256(w, _mm256_set1_epi8((char) 0x80)));
        c->m[2 * j] = 128.0f * d;
        c->m[2 * j + 1] = 128.0f * d;
#endif
        _mm256_store_ps(c->sv[j], _mm256_set1_ps(d));
    }
    zero_mins(c, nblk);
}

/* Q4_0, 18 bytes: half d; uint8 qs[16]; value j = d * ((qs[j] & 15) - 8), value j + 16 = d * ((qs[j] >> 4) - 8) */
INLINE void decode_q4_0(const uint8_t *row, int k, int nblk, chunk *c) {
    const __m128i lowMask = _mm_set1_epi8(0x0F);
    for (int j = 0; j < nblk; j++) {
        const uint8_t *b = row + (size_t) (8 * k + j) * 18;
        float d = h2f(b);
        __m128i raw = _mm_loadu_si128((const __m128i *) (b + 2));
        __m128i lo = _mm_and_si128(raw, lowMask);
        __m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), lowMask);
        _mm256_store_si256((__m256i *) (c->q + 32 * j), _mm256_set_m128i(hi, lo));
        _mm256_store_ps(c->sv[j], _mm256_set1_ps(d));
        c->m[2 * j] = 8.0f * d;
        c->m[2 * j + 1] = 8.0f * d;
    }
    zero_mins(c, nblk);
}

/* get_scale_min_k4 (ggml-quants.c): the 6-bit scale and min of sub-block j from the 12 packed bytes. */
INLINE void scale_min_k4(const uint8_t *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* Q4_K and Q5_K scales: value = d * sc * q - dmin * mn per 32-value sub-block. */
INLINE void k4_scales(const uint8_t *b, chunk *c) {
    float d = h2f(b);
    float dmin = h2f(b + 2);
    for (int j = 0; j < 8; j++) {
        int sc;
        int mn;
        scale_min_k4(b + 4, j, &sc, &mn);
        _mm256_store_ps(c->sv[j], _mm256_set1_ps(d * (float) sc));
        float m = dmin * (float) mn;
        c->m[2 * j] = m;
        c->m[2 * j + 1] = m;
    }
}

/* Q4_K, 144 bytes: half d; half dmin; uint8 scales[12]; uint8 qs[128]; per 64 values: low nibbles, high nibbles */
INLINE void decode_q4_k(const uint8_t *row, int k, chunk *c) {
    const uint8_t *b = row + (size_t) k * 144;
    const __m256i lowMask = _mm256_set1_epi8(0x0F);
    for (int p = 0; p < 4; p++) {
        __m256i raw = loadu(b + 16 + 32 * p);
        _mm256_store_si256((__m256i *) (c->q + 64 * p), _mm256_and_si256(raw, lowMask));
        _mm256_store_si256((__m256i *) (c->q + 64 * p + 32), _mm256_and_si256(_mm256_srli_epi16(raw, 4), lowMask));
    }
    k4_scales(b, c);
}

/* Q5_K, 176 bytes: half d; half dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]; bit j of qh[l] is the fifth bit
 * of value l of sub-block j */
INLINE void decode_q5_k(const uint8_t *row, int k, chunk *c) {
    const uint8_t *b = row + (size_t) k * 176;
    const __m256i lowMask = _mm256_set1_epi8(0x0F);
    const __m256i one = _mm256_set1_epi8(1);
    __m256i qh = loadu(b + 16);
    for (int p = 0; p < 4; p++) {
        __m256i raw = loadu(b + 48 + 32 * p);
        /* 16-bit shifts, then a byte mask: each byte keeps its own bit */
        __m256i h0 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * p)), one);
        __m256i h1 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * p + 1)), one);
        __m256i lo = _mm256_or_si256(_mm256_and_si256(raw, lowMask), _mm256_slli_epi16(h0, 4));
        __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), lowMask), _mm256_slli_epi16(h1, 4));
        _mm256_store_si256((__m256i *) (c->q + 64 * p), lo);
        _mm256_store_si256((__m256i *) (c->q + 64 * p + 32), hi);
    }
    k4_scales(b, c);
}

/* Q6_K, 210 bytes: uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d; value = d * scales[v / 16] * (q - 32), q
 * 6 bits: per 128 values, ql[l] low / ql[l + 32] low / ql[l] high / ql[l + 32] high nibbles for the 4 blocks of 32,
 * with bit pairs 0-1 / 2-3 / 4-5 / 6-7 of qh[l] on top */
INLINE void decode_q6_k(const uint8_t *row, int k, chunk *c) {
    const uint8_t *b = row + (size_t) k * 210;
    const __m256i lowMask = _mm256_set1_epi8(0x0F);
    const __m256i m30 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; h++) {
        __m256i a = loadu(b + 64 * h);
        __m256i bb = loadu(b + 64 * h + 32);
        __m256i qh = loadu(b + 128 + 32 * h);
        __m256i q0 = _mm256_or_si256(_mm256_and_si256(a, lowMask), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
        __m256i q1 = _mm256_or_si256(_mm256_and_si256(bb, lowMask), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
        __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), lowMask), _mm256_and_si256(qh, m30));
        __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bb, 4), lowMask),
                                     _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
        _mm256_store_si256((__m256i *) (c->q + 128 * h), q0);
        _mm256_store_si256((__m256i *) (c->q + 128 * h + 32), q1);
        _mm256_store_si256((__m256i *) (c->q + 128 * h + 64), q2);
        _mm256_store_si256((__m256i *) (c->q + 128 * h + 96), q3);
    }
    float d = h2f(b + 208);
    const int8_t *sc = (const int8_t *) (b + 192);
    for (int j = 0; j < 8; j++) {
        float s0 = d * (float) sc[2 * j];
        float s1 = d * (float) sc[2 * j + 1];
        _mm256_store_ps(c->sv[j], _mm256_set_m128(_mm_set1_ps(s1), _mm_set1_ps(s0)));
        c->m[2 * j] = s0 * 32.0f;
        c->m[2 * j + 1] = s1 * 32.0f;
    }
}

INLINE void decode(int type, const uint8_t *row, int k, int nblk, chunk *c) {
    switch (type) {
        case MK_Q8_0: decode_q8_0(row, k, nblk, c); break;
        case MK_Q4_0: decode_q4_0(row, k, nblk, c); break;
        case MK_Q4_K: decode_q4_k(row, k, c); break;
        case MK_Q5_K: decode_q5_k(row, k, c); break;
        default: decode_q6_k(row, k, c); break;
    }
}

/* ---- the micro-kernel: R rows x N tokens over one decoded chunk ---- */

/*
 * accm: the accumulators of token t of the block, row r at accm + (r * TB + n) * 8 for token n of this tile.
 * SIGNED: AVX2 Q8_0 (|w| x sign(x, w)); MINS: subtract the min term.
 */
INLINE void kern(const chunk *ch, const mk_act *a, int t, int k, int nblk, float *accm, const int R, const int N,
                 const int SIGNED, int mins) {
    const int cols = a->cols;
    const int nb = cols / 32;
    __m256 acc[RT][TT];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            acc[r][n] = _mm256_load_ps(accm + (r * TB + n) * 8);
        }
    }
    for (int j = 0; j < nblk; j++) {
        __m256i wq[RT];
        __m256i ws[RT];
        __m256 sv[RT];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            wq[r] = _mm256_load_si256((const __m256i *) (ch[r].q + 32 * j));
            if (SIGNED) {
                ws[r] = _mm256_load_si256((const __m256i *) (ch[r].s + 32 * j));
            }
            sv[r] = _mm256_load_ps(ch[r].sv[j]);
        }
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            size_t blk = (size_t) (t + n) * nb + 8 * k + j;
            __m256i xv = loadu(a->q + blk * 32);
            __m256 dx = _mm256_broadcast_ss(a->d + blk);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m256i p = SIGNED ? dot_u8s8(wq[r], _mm256_sign_epi8(xv, ws[r])) : dot_u8s8(wq[r], xv);
                acc[r][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(sv[r], dx), acc[r][n]);
            }
        }
    }
    if (mins) {
        __m256i lo = _mm256_setzero_si256();
        __m256i hi = _mm256_setzero_si256();
        if (nblk < 8) {
            /* a Q8_0/Q4_0 row's last, partial chunk: load only its 2 * nblk groups */
            const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * nblk), idx);
            hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * nblk - 8), idx);
        }
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            const float *bx = a->bx + (size_t) (t + n) * (cols / 16) + 16 * k;
            __m256 b0;
            __m256 b1;
            if (nblk < 8) {
                b0 = _mm256_maskload_ps(bx, lo);
                b1 = _mm256_maskload_ps(bx + 8, hi);
            } else {
                b0 = _mm256_loadu_ps(bx);
                b1 = _mm256_loadu_ps(bx + 8);
            }
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                acc[r][n] = _mm256_fnmadd_ps(_mm256_load_ps(ch[r].m), b0, acc[r][n]);
                acc[r][n] = _mm256_fnmadd_ps(_mm256_load_ps(ch[r].m + 8), b1, acc[r][n]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            _mm256_store_ps(accm + (r * TB + n) * 8, acc[r][n]);
        }
    }
}

#define KERN_CASES(S)                                                                            \
    switch (R * 8 + N) {                                                                         \
        case 1 * 8 + 1: kern(ch, a, t, k, nblk, accm, 1, 1, S, mins); break;                     \
        case 1 * 8 + 2: kern(ch, a, t, k, nblk, accm, 1, 2, S, mins); break;                     \
        case 1 * 8 + 3: kern(ch, a, t, k, nblk, accm, 1, 3, S, mins); break;                     \
        case 1 * 8 + 4: kern(ch, a, t, k, nblk, accm, 1, 4, S, mins); break;                     \
        case 2 * 8 + 1: kern(ch, a, t, k, nblk, accm, 2, 1, S, mins); break;                     \
        case 2 * 8 + 2: kern(ch, a, t, k, nblk, accm, 2, 2, S, mins); break;                     \
        case 2 * 8 + 3: kern(ch, a, t, k, nblk, accm, 2, 3, S, mins); break;                     \
        case 2 * 8 + 4: kern(ch, a, t, k, nblk, accm, 2, 4, S, mins); break;                     \
        case 3 * 8 + 1: kern(ch, a, t, k, nblk, accm, 3, 1, S, mins); break;                     \
        case 3 * 8 + 2: kern(ch, a, t, k, nblk, accm, 3, 2, S, mins); break;                     \
        case 3 * 8 + 3: kern(ch, a, t, k, nblk, accm, 3, 3, S, mins); break;                     \
        case 3 * 8 + 4: kern(ch, a, t, k, nblk, accm, 3, 4, S, mins); break;                     \
        case 4 * 8 + 1: kern(ch, a, t, k, nblk, accm, 4, 1, S, mins); break;                     \
        case 4 * 8 + 2: kern(ch, a, t, k, nblk, accm, 4, 2, S, mins); break;                     \
        case 4 * 8 + 3: kern(ch, a, t, k, nblk, accm, 4, 3, S, mins); break;                     \
        default: kern(ch, a, t, k, nblk, accm, 4, 4, S, mins); break;                            \
    }

static void tile(const chunk *ch, const mk_act *a, int t, int k, int nblk, float *accm, int R, int N, int signedQ,
                 int mins) {
    if (signedQ) {
        KERN_CASES(1)
    } else {
        KERN_CASES(0)
    }
}

/* Rows [r0, r0 + R) (R <= RT) for tokens [t0, t0 + tb) (tb <= TB). */
static void row_tile(int type, const uint8_t *w, size_t rowBytes, int cols, int r0, int R, const mk_act *a, int t0,
                     int tb, float *out, size_t outStride) {
    _Alignas(32) float accm[RT * TB * 8];
    chunk ch[RT];
    memset(accm, 0, sizeof(float) * 8 * (size_t) ((R - 1) * TB + tb));
    const int signedQ = type == MK_Q8_0 && Q8_SIGNED;
    const int mins = !signedQ;
    const int nb = cols / 32;
    const int chunks = (nb + 7) / 8;
    for (int k = 0; k < chunks; k++) {
        int nblk = nb - 8 * k < 8 ? nb - 8 * k : 8;
        for (int r = 0; r < R; r++) {
            decode(type, w + (size_t) (r0 + r) * rowBytes, k, nblk, &ch[r]);
        }
        for (int tt = 0; tt < tb; tt += TT) {
            int n = tb - tt < TT ? tb - tt : TT;
            tile(ch, a, t0 + tt, k, nblk, accm + tt * 8, R, n, signedQ, mins);
        }
    }
    for (int r = 0; r < R; r++) {
        for (int n = 0; n < tb; n++) {
            out[(size_t) (t0 + n) * outStride + r0 + r] = hsum(_mm256_load_ps(accm + (r * TB + n) * 8));
        }
    }
}

#include "kernels_float.h"

static void MK(matmul)(int type, const uint8_t *w, size_t rowBytes, int cols, int r0, int r1, const mk_act *a,
                       int tokens, float *out, size_t outStride) {
    /* token blocks outside: the weights are read from memory once per block, the block's activations stay in L2 */
    for (int t0 = 0; t0 < tokens; t0 += TB) {
        int tb = tokens - t0 < TB ? tokens - t0 : TB;
        for (int r = r0; r < r1; r += RT) {
            int R = r1 - r < RT ? r1 - r : RT;
            if (mk_is_float(type)) {
                float_row_tile(type, w, rowBytes, cols, r, R, a, t0, tb, out, outStride);
            } else {
                row_tile(type, w, rowBytes, cols, r, R, a, t0, tb, out, outStride);
            }
        }
    }
}

/* ---- activations ---- */

/*
 * quantize_row_q8_0_ref's numbers with an fp32 d: per 32 values amax = max |x|, d = amax / 127,
 * id = d != 0 ? 1 / d : 0, q = roundf(x * id) (halves away from zero; llama.cpp's AVX2 quantize_row_q8_0 rounds
 * halves to even and takes id = 127 / amax, so it can differ from its own reference by one in a tie).
 */
static void MK(quantize)(const float *x, int tokens, int cols, int8_t *q, float *d, float *bx) {
    const int nb = cols / 32;
    const __m256 signMask = _mm256_set1_ps(-0.0f);
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int t = 0; t < tokens; t++) {
        for (int b = 0; b < nb; b++) {
            size_t blk = (size_t) t * nb + b;
            const float *src = x + blk * 32;
            __m256 v[4];
            __m256 mx = _mm256_setzero_ps();
            for (int i = 0; i < 4; i++) {
                v[i] = _mm256_loadu_ps(src + 8 * i);
                mx = _mm256_max_ps(mx, _mm256_andnot_ps(signMask, v[i]));
            }
            __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
            float amax = _mm_cvtss_f32(m4);
            float dd = amax / 127.0f;
            float id = dd != 0.0f ? 1.0f / dd : 0.0f;
            __m256 vid = _mm256_set1_ps(id);
            __m256i iv[4];
            for (int i = 0; i < 4; i++) {
                __m256 y = _mm256_mul_ps(v[i], vid);
                __m256 tr = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
                __m256 fr = _mm256_andnot_ps(signMask, _mm256_sub_ps(y, tr)); /* exact */
                __m256 away = _mm256_or_ps(_mm256_and_ps(y, signMask), one);  /* copysign(1, y) */
                __m256 r = _mm256_add_ps(tr, _mm256_and_ps(_mm256_cmp_ps(fr, half, _CMP_GE_OQ), away));
                iv[i] = _mm256_cvttps_epi32(r);
            }
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(iv[0], iv[1]), _mm256_packs_epi32(iv[2], iv[3]));
            _mm256_storeu_si256((__m256i *) (q + blk * 32), _mm256_permutevar8x32_epi32(p, perm));
            d[blk] = dd;
            /* sums of the quants over each 16-value half (from the int32 values; they are in [-127, 127]) */
            __m256i s0 = _mm256_add_epi32(iv[0], iv[1]);
            __m256i s1 = _mm256_add_epi32(iv[2], iv[3]);
            int sums[2];
            for (int h = 0; h < 2; h++) {
                __m256i s = h == 0 ? s0 : s1;
                __m128i u = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
                u = _mm_add_epi32(u, _mm_shuffle_epi32(u, 0x4E));
                u = _mm_add_epi32(u, _mm_shuffle_epi32(u, 0xB1));
                sums[h] = _mm_cvtsi128_si32(u);
            }
            bx[2 * blk] = dd * (float) sums[0];
            bx[2 * blk + 1] = dd * (float) sums[1];
        }
    }
}

const mk_kernels MK(mk_kernels) = {MK_VARIANT, MK(quantize), MK(floats), MK(matmul)};
