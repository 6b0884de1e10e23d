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
 * saturation), its 32 vector registers and its broadcast memory operands; Zen 4 runs 512-bit integer ops as two
 * 256-bit halves, so wider vectors would buy no throughput. AVX2 has vpmaddubsw + vpmaddwd instead, which give the
 * same int32 lanes when the u8 x s8 pair sums fit in int16.
 *
 * The arithmetic of one (row, token), for each chunk of 256 columns (one K-quant super-block, or 8 Q8_0/Q4_0 blocks):
 *     for each 32-block j:  acc += float(int32 lanes of q_w[j] . q_x[j]) * (scale_w[j] * d_x[j])      (8 fp32 lanes)
 *     then                  acc -= min_w[16-groups] * bx[16-groups]                                  (8 lanes twice)
 * and at the end the 8 lanes are summed in a fixed order. Types whose quants are signed or offset (Q8_0 on AVX-512:
 * w + 128; Q4_0: q - 8 stored as q; Q6_K: q - 32 stored as q) use the unsigned stored form and take the offset off
 * through the min term: offset * scale_w times bx = d_x * sum(q_x). On AVX2, Q8_0's w + 128 would saturate
 * vpmaddubsw, so it multiplies |w| by sign(x, w) and has no min term.
 *
 * How it is computed, for a tile of RT rows and TT tokens (kern): per chunk, each row's scales are decoded once into
 * vectors (scale_w, min_w: the Q8_0/Q4_0 half-precision scales gathered 8 at a time, the K-quants' packed 6-bit scales
 * unpacked with byte shuffles), and each (row, token) pair's 8 products scale_w[j] * d_x[j] are formed by one vector
 * multiply into a small table on the stack; the 32-block loop then costs one vpdpbusd, one conversion and one FMA
 * whose scale operand is broadcast from that table, per (row, token), plus the weights' unpacking per row (Q6_K,
 * whose scales are per 16 values, multiplies its per-block scale vector by the token's d_x instead). The
 * weights' quants are unpacked straight from the stored blocks in registers ("direct": one-token decode reads each
 * weight byte once, with nothing stored and loaded again) or, for batches of more than TT tokens, unpacked once per
 * chunk into a staged copy that every token tile reads ("staged"). Both give the same quants, so the same numbers.
 *
 * Every (row, token) accumulator sees the same operations in the same order whatever the tile it is computed in (the
 * tile shape and the direct/staged choice only decide which accumulators share a pass), so a token's result does not
 * depend on the batch or on how the caller split the rows. Built with -ffp-contract=off so that gcc fuses nothing on
 * its own.
 *
 * The kernels allocate nothing: the staged chunks, the scale tables and the accumulators live on the stack (about
 * 12 KiB).
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

/* Rows decoded together (a group of fewer rows repeats its last row's pointer: each row's arithmetic is its own). */
#define RT 4
/* Tokens sharing a pass over a chunk (RT x TT accumulators in registers). */
#define TT 4
/* Most tokens whose accumulators live on the stack at once; larger batches are cut into blocks of this many. */
#define TB 64

/* The lanes of v summed in a fixed order: halves folded (4 + 4, then 2 + 2, then 1 + 1). */
INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#if defined(MK_AVX512BF16)
/*
 * The int8 kernels of this variant are avx512vnni's, linked from that object: AVX512-BF16 changes nothing in them,
 * and compiling them once keeps the library small.
 */
void row_tile_avx512vnni(int type, const uint8_t *w, size_t rowBytes, int cols, int r0, int R, const mk_act *a,
                         int t0, int tb, float *out, size_t outStride);
#define INT8_ROW_TILE row_tile_avx512vnni
#else
#define INT8_ROW_TILE MK(row_tile)

/* Where a tile takes its weight quants from: the stored blocks of this type, or a staged chunk. */
enum { SRC_STAGED = 100, SRC_STAGED_SIGNED = 101 };

/* One chunk (256 columns) of one row: its scales, and its quants when staged for a batch. */
typedef struct {
    _Alignas(32) uint8_t q[256]; /* staged unsigned quants (AVX2 Q8_0: |w|) */
    _Alignas(32) int8_t s[256];  /* staged, AVX2 Q8_0 only: the signed weights, whose signs go onto the activations */
    _Alignas(32) float sw[8];    /* per 32-block the weight scale (not Q6_K) */
    _Alignas(32) float sv6[8][8]; /* Q6_K: per 32-block, the scale of each 16-value half in its 4 int32 lanes */
    _Alignas(32) float m[16];    /* per 16 values, what to subtract per unit of bx */
} chunk;

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

/* Lanes [0, n) all ones, the rest zero (n in 0..8). */
INLINE __m256i first_lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* v's lanes 0-3 (lo) or 4-7 (hi) each twice: the per-32-block values as per-16-value pairs. */
INLINE __m256 pairs_lo(__m256 v) {
    return _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
}
INLINE __m256 pairs_hi(__m256 v) {
    return _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7));
}

/* ---- scales: chunk k of a row into c->sw and c->m (nblk = 32-blocks in the chunk, 8 except at a row's end) ---- */

/*
 * The half-precision scales at the start of nblk blocks `stride` bytes apart, as 8 fp32 lanes (0 past nblk): one
 * gather of 32-bit words, whose low halves are the scales (every word read lies inside its block).
 */
INLINE __m256 gather_halves(const uint8_t *first, int stride, int nblk) {
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
    __m256i g = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int *) first, idx, first_lanes(nblk), 1);
    g = _mm256_and_si256(g, _mm256_set1_epi32(0xFFFF));
    return _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(g), _mm256_extracti128_si256(g, 1)));
}

/* Q8_0, 34 bytes: half d; int8 qs[32]; value = d * qs. Q4_0, 18 bytes: half d; uint8 qs[16]; value = d * (q - 8). */
INLINE void scales_q_0(const uint8_t *row, int k, int nblk, int bytes, float offset, chunk *c) {
    __m256 d = gather_halves(row + (size_t) 8 * k * bytes, bytes, nblk);
    _mm256_store_ps(c->sw, d);
    __m256 m = _mm256_mul_ps(_mm256_set1_ps(offset), d);
    _mm256_store_ps(c->m, pairs_lo(m));
    _mm256_store_ps(c->m + 8, pairs_hi(m));
}

/*
 * Q4_K and Q5_K: value = d * sc * q - dmin * mn per 32-value sub-block, sc and mn 6 bits packed in 12 bytes at b + 4
 * (get_scale_min_k4 in ggml-quants.c): sub-block j < 4 has sc = s[j] & 63, mn = s[j + 4] & 63; j >= 4 has
 * sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4 and mn = (s[j + 4] >> 4) | (s[j] >> 6) << 4. Unpacked all at once: bytes
 * 0-7 of one vector become sc, bytes 8-15 mn.
 */
INLINE void scales_k4(const uint8_t *b, chunk *c) {
    __m128i s = _mm_loadu_si128((const __m128i *) (b + 4)); /* 12 scale bytes and 4 of the next field */
    __m128i low = _mm_shuffle_epi8(s, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
    __m128i top = _mm_shuffle_epi8(s, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
    __m128i v = _mm_and_si128(low, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0));
    v = _mm_or_si128(v, _mm_and_si128(_mm_srli_epi16(low, 4),
                                      _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15)));
    v = _mm_or_si128(v, _mm_and_si128(_mm_srli_epi16(top, 2), _mm_setr_epi8(0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30, 0, 0,
                                                                             0, 0, 0x30, 0x30, 0x30, 0x30)));
    __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
    __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(v, 8)));
    uint32_t dd;
    memcpy(&dd, b, 4);
    __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int) dd)); /* d, dmin */
    _mm256_store_ps(c->sw, _mm256_mul_ps(_mm256_broadcastss_ps(dm), sc));
    __m256 m = _mm256_mul_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(dm)), mn);
    _mm256_store_ps(c->m, pairs_lo(m));
    _mm256_store_ps(c->m + 8, pairs_hi(m));
}

/* Q6_K: int8 scales[16] at b + 192, half d at b + 208; value = d * scales[v / 16] * (q - 32). */
INLINE void scales_q6_k(const uint8_t *b, chunk *c) {
    uint16_t h;
    memcpy(&h, b + 208, 2);
    __m256 d = _mm256_set1_ps(_cvtsh_ss(h));
    __m128i sc = _mm_loadu_si128((const __m128i *) (b + 192));
    __m256 lo = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc)));
    __m256 hi = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8))));
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
        __m256i idx = _mm256_add_epi32(_mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), _mm256_set1_epi32(2 * (j % 4)));
        _mm256_store_ps(c->sv6[j], _mm256_permutevar8x32_ps(j < 4 ? lo : hi, idx));
    }
    _mm256_store_ps(c->m, _mm256_mul_ps(lo, _mm256_set1_ps(32.0f)));
    _mm256_store_ps(c->m + 8, _mm256_mul_ps(hi, _mm256_set1_ps(32.0f)));
}

INLINE void scales(int type, const uint8_t *row, int k, int nblk, chunk *c) {
    switch (type) {
        case MK_Q8_0: scales_q_0(row, k, nblk, 34, 128.0f, c); break;
        case MK_Q4_0: scales_q_0(row, k, nblk, 18, 8.0f, c); break;
        case MK_Q6_K: scales_q6_k(row + (size_t) k * 210, c); break;
        case MK_Q4_K: scales_k4(row + (size_t) k * 144, c); break;
        default: scales_k4(row + (size_t) k * 176, c); break;
    }
}

/* ---- quants: block j of chunk k of a row, unsigned (AVX2 Q8_0: |w|, with the signed weights in *sgn) ---- */

INLINE __m256i quants(int type, const uint8_t *row, int k, int j, __m256i *sgn) {
    const __m256i lowMask = _mm256_set1_epi8(0x0F);
    switch (type) {
        case MK_Q8_0: {
            __m256i w = loadu(row + (size_t) (8 * k + j) * 34 + 2);
#if Q8_SIGNED
            *sgn = w;
            return _mm256_abs_epi8(w);
#else
            (void) sgn;
            return _mm256_xor_si256(w, _mm256_set1_epi8((char) 0x80));
#endif
        }
        case MK_Q4_0: {
            /* value i = (qs[i] & 15) - 8, value i + 16 = (qs[i] >> 4) - 8 */
            __m128i raw = _mm_loadu_si128((const __m128i *) (row + (size_t) (8 * k + j) * 18 + 2));
            __m128i m = _mm_set1_epi8(0x0F);
            return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m), _mm_and_si128(raw, m));
        }
        case MK_Q4_K: {
            /* 144 bytes: half d, dmin; scales[12]; qs[128]: per 64 values, low nibbles then high nibbles */
            __m256i raw = loadu(row + (size_t) k * 144 + 16 + 32 * (j / 2));
            return _mm256_and_si256(j % 2 ? _mm256_srli_epi16(raw, 4) : raw, lowMask);
        }
        case MK_Q5_K: {
            /* 176 bytes: half d, dmin; scales[12]; qh[32]; qs[128]; bit j of qh[l] is the fifth bit of value l of
             * sub-block j (16-bit shifts, then a byte mask: each byte keeps its own bit) */
            const uint8_t *b = row + (size_t) k * 176;
            __m256i raw = loadu(b + 48 + 32 * (j / 2));
            __m256i h = _mm256_and_si256(_mm256_srl_epi16(loadu(b + 16), _mm_cvtsi32_si128(j)), _mm256_set1_epi8(1));
            __m256i lo = _mm256_and_si256(j % 2 ? _mm256_srli_epi16(raw, 4) : raw, lowMask);
            return _mm256_or_si256(lo, _mm256_slli_epi16(h, 4));
        }
        default: {
            /* Q6_K, 210 bytes: ql[128]; qh[64]; scales[16]; half d. q is 6 bits: per 128 values (h), ql[l] low /
             * ql[l + 32] low / ql[l] high / ql[l + 32] high nibbles for its 4 blocks of 32, with bit pairs
             * 0-1 / 2-3 / 4-5 / 6-7 of qh[l] on top */
            const uint8_t *b = row + (size_t) k * 210;
            const __m256i m30 = _mm256_set1_epi8(0x30);
            int h = j / 4;
            int i = j % 4;
            __m256i ql = loadu(b + 64 * h + 32 * (i % 2));
            __m256i qh = loadu(b + 128 + 32 * h);
            __m256i lo = _mm256_and_si256(i >= 2 ? _mm256_srli_epi16(ql, 4) : ql, lowMask);
            __m256i top = i == 0 ? _mm256_slli_epi16(qh, 4) : i == 1 ? _mm256_slli_epi16(qh, 2)
                        : i == 2 ? qh : _mm256_srli_epi16(qh, 2);
            return _mm256_or_si256(lo, _mm256_and_si256(top, m30));
        }
    }
}

/* The quants of chunk k of a row into c->q (and c->s) for the token tiles of a batch to read. */
INLINE void stage(int type, const uint8_t *row, int k, int nblk, chunk *c) {
#pragma GCC unroll 8
    for (int j = 0; j < nblk; j++) {
        __m256i s = _mm256_setzero_si256();
        _mm256_store_si256((__m256i *) (c->q + 32 * j), quants(type, row, k, j, &s));
        if (type == MK_Q8_0 && Q8_SIGNED) {
            _mm256_store_si256((__m256i *) (c->s + 32 * j), s);
        }
    }
}

/* ---- the micro-kernel: RT rows x N tokens over one chunk ---- */

/*
 * The tile's accumulators: token n of row r at accm + (r * TB + n) * 8. SRC: the weights' type (direct) or
 * SRC_STAGED / SRC_STAGED_SIGNED (from ch[r].q, ch[r].s). Q6: the weights are Q6_K (scales per 16 values).
 * SIGNED: AVX2 Q8_0 (|w| x sign(x, w), no min term).
 */
INLINE void chunk_body(const int SRC, const int Q6, const chunk *ch, const uint8_t *const *rows, const mk_act *a,
                       int t, int k, int nblk, __m256 acc[RT][TT], const int N) {
    const int SIGNED = SRC == SRC_STAGED_SIGNED || (SRC == MK_Q8_0 && Q8_SIGNED);
    const int nb = a->cols / 32;
    /* scale_w[j] * d_x[j] per (row, token), 8 blocks at a time (not Q6_K, whose scales are per 16 values) */
    _Alignas(32) float sx[RT][TT][8];
    const __m256i dmask = first_lanes(nblk);
#pragma GCC unroll 4
    for (int n = 0; n < N && !Q6; n++) {
        __m256 dx = _mm256_maskload_ps(a->d + (size_t) (t + n) * nb + 8 * k, dmask);
#pragma GCC unroll 4
        for (int r = 0; r < RT; r++) {
            _mm256_store_ps(sx[r][n], _mm256_mul_ps(_mm256_load_ps(ch[r].sw), dx));
        }
    }
    /* read the table back from memory: each scale is then an FMA's broadcast operand, not a shuffle in registers */
    __asm__ volatile("" ::: "memory");
#pragma GCC unroll 8
    for (int j = 0; j < nblk; j++) {
        __m256i wq[RT];
        __m256i ws[RT];
#pragma GCC unroll 4
        for (int r = 0; r < RT; r++) {
            ws[r] = _mm256_setzero_si256();
            if (SRC == SRC_STAGED || SRC == SRC_STAGED_SIGNED) {
                wq[r] = _mm256_load_si256((const __m256i *) (ch[r].q + 32 * j));
                if (SIGNED) {
                    ws[r] = _mm256_load_si256((const __m256i *) (ch[r].s + 32 * j));
                }
            } else {
                wq[r] = quants(SRC, rows[r], k, j, &ws[r]);
            }
        }
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            size_t blk = (size_t) (t + n) * nb + 8 * k + j;
            __m256i xv = loadu(a->q + blk * 32);
#pragma GCC unroll 4
            for (int r = 0; r < RT; r++) {
                __m256i p = SIGNED ? dot_u8s8(wq[r], _mm256_sign_epi8(xv, ws[r])) : dot_u8s8(wq[r], xv);
                __m256 s;
                if (Q6) {
                    s = _mm256_mul_ps(_mm256_load_ps(ch[r].sv6[j]), _mm256_broadcast_ss(a->d + blk));
                } else {
                    s = _mm256_set1_ps(sx[r][n][j]);
                }
                acc[r][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), s, acc[r][n]);
            }
        }
    }
    if (!SIGNED) {
        __m256i lo = first_lanes(2 * nblk);
        __m256i hi = first_lanes(2 * nblk - 8);
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            const float *bx = a->bx + (size_t) (t + n) * (a->cols / 16) + 16 * k;
            __m256 b0;
            __m256 b1;
            if (nblk < 8) { /* a Q8_0/Q4_0 row's last, partial chunk: load only its 2 * nblk groups */
                b0 = _mm256_maskload_ps(bx, lo);
                b1 = _mm256_maskload_ps(bx + 8, hi);
            } else {
                b0 = _mm256_loadu_ps(bx);
                b1 = _mm256_loadu_ps(bx + 8);
            }
#pragma GCC unroll 4
            for (int r = 0; r < RT; r++) {
                acc[r][n] = _mm256_fnmadd_ps(_mm256_load_ps(ch[r].m), b0, acc[r][n]);
                acc[r][n] = _mm256_fnmadd_ps(_mm256_load_ps(ch[r].m + 8), b1, acc[r][n]);
            }
        }
    }
}

/* One chunk of a staged batch: the tile's accumulators (token n of row r at accm + (r * TB + n) * 8) in and out. */
INLINE void kern(const int SRC, const int Q6, const chunk *ch, const uint8_t *const *rows, const mk_act *a, int t,
                 int k, int nblk, float *accm, const int N) {
    __m256 acc[RT][TT];
#pragma GCC unroll 4
    for (int r = 0; r < RT; r++) {
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            acc[r][n] = _mm256_load_ps(accm + (r * TB + n) * 8);
        }
    }
    chunk_body(SRC, Q6, ch, rows, a, t, k, nblk, acc, N);
#pragma GCC unroll 4
    for (int r = 0; r < RT; r++) {
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            _mm256_store_ps(accm + (r * TB + n) * 8, acc[r][n]);
        }
    }
}

/*
 * A whole row group for N <= TT tokens, unpacking in registers: every chunk in one pass with the accumulators in
 * registers throughout (the same operations per accumulator as kern's chunk by chunk), then the sums into out.
 */
INLINE void kern_rows(const int TYPE, const int Q6, const uint8_t *const *rows, int R, const mk_act *a, int t,
                      float *out, size_t outStride, const int N) {
    chunk ch[RT];
    __m256 acc[RT][TT];
#pragma GCC unroll 4
    for (int r = 0; r < RT; r++) {
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            acc[r][n] = _mm256_setzero_ps();
        }
    }
    const int nb = a->cols / 32;
    const int whole = nb / 8;
    for (int k = 0; k < whole; k++) {
#pragma GCC unroll 4
        for (int r = 0; r < RT; r++) {
            scales(TYPE, rows[r], k, 8, &ch[r]);
        }
        chunk_body(TYPE, Q6, ch, rows, a, t, k, 8, acc, N);
    }
    if ((TYPE == MK_Q8_0 || TYPE == MK_Q4_0) && nb % 8) { /* a Q8_0/Q4_0 row's last, partial chunk */
        for (int r = 0; r < RT; r++) {
            scales(TYPE, rows[r], whole, nb % 8, &ch[r]);
        }
        chunk_body(TYPE, Q6, ch, rows, a, t, whole, nb % 8, acc, N);
    }
#pragma GCC unroll 4
    for (int r = 0; r < RT; r++) {
#pragma GCC unroll 4
        for (int n = 0; n < N; n++) {
            if (r < R) {
                out[(size_t) (t + n) * outStride + r] = hsum(acc[r][n]);
            }
        }
    }
}

typedef void (*rows_fn)(const uint8_t *const *rows, int R, const mk_act *a, int t, float *out, size_t outStride);
#define RDEF(NAME, TYPE, Q6, N)                                                                                    \
    static void NAME(const uint8_t *const *rows, int R, const mk_act *a, int t, float *out, size_t outStride) {    \
        kern_rows(TYPE, Q6, rows, R, a, t, out, outStride, N);                                                     \
    }
#define RDEF_N(NAME, TYPE, Q6)                                                                                     \
    RDEF(NAME##_1, TYPE, Q6, 1) RDEF(NAME##_2, TYPE, Q6, 2) RDEF(NAME##_3, TYPE, Q6, 3) RDEF(NAME##_4, TYPE, Q6, 4)
RDEF_N(r_q8_0, MK_Q8_0, 0)
RDEF_N(r_q4_0, MK_Q4_0, 0)
RDEF_N(r_q4_k, MK_Q4_K, 0)
RDEF_N(r_q5_k, MK_Q5_K, 0)
RDEF_N(r_q6_k, MK_Q6_K, 1)
#define RROW(NAME) {NAME##_1, NAME##_2, NAME##_3, NAME##_4}
/* [Q8_0, Q4_0, Q4_K, Q5_K, Q6_K][N - 1] */
static const rows_fn ROWS[5][4] = {RROW(r_q8_0), RROW(r_q4_0), RROW(r_q4_k), RROW(r_q5_k), RROW(r_q6_k)};

/*
 * Each staged (SRC, block count, N) as its own function, so that every instance gets its own registers: the block
 * count a constant 8 for whole chunks (loops unrolled, scale offsets fixed), a variable one for a Q8_0/Q4_0 row's
 * last, partial chunk (Q6_K has none: its table entries repeat the whole-chunk ones).
 */
typedef void (*kern_fn)(const chunk *ch, const uint8_t *const *rows, const mk_act *a, int t, int k, int nblk,
                        float *accm);
#define KDEF(NAME, SRC, Q6, NBLK, N)                                                                                \
    static void NAME(const chunk *ch, const uint8_t *const *rows, const mk_act *a, int t, int k, int nblk,         \
                     float *accm) {                                                                                \
        (void) nblk;                                                                                               \
        kern(SRC, Q6, ch, rows, a, t, k, NBLK, accm, N);                                                           \
    }
#define KDEF_N(NAME, SRC, Q6, NBLK)                                                                                \
    KDEF(NAME##_1, SRC, Q6, NBLK, 1) KDEF(NAME##_2, SRC, Q6, NBLK, 2) KDEF(NAME##_3, SRC, Q6, NBLK, 3)             \
    KDEF(NAME##_4, SRC, Q6, NBLK, 4)
KDEF_N(k_staged_whole, SRC_STAGED, 0, 8)
KDEF_N(k_staged_part, SRC_STAGED, 0, nblk)
#if Q8_SIGNED
KDEF_N(k_signed_whole, SRC_STAGED_SIGNED, 0, 8)
KDEF_N(k_signed_part, SRC_STAGED_SIGNED, 0, nblk)
#endif
KDEF_N(k_staged_q6, SRC_STAGED, 1, 8)

#define KROW(NAME) {NAME##_1, NAME##_2, NAME##_3, NAME##_4}
/* [unsigned quants, AVX2 Q8_0's signed ones, Q6_K][whole chunk 0, partial 1][N - 1] */
static const kern_fn KERNS[3][2][4] = {
    {KROW(k_staged_whole), KROW(k_staged_part)},
#if Q8_SIGNED
    {KROW(k_signed_whole), KROW(k_signed_part)},
#else
    {KROW(k_staged_whole), KROW(k_staged_part)},
#endif
    {KROW(k_staged_q6), KROW(k_staged_q6)},
};

/* The row of ROWS for weights of `type`. */
static int type_index(int type) {
    switch (type) {
        case MK_Q8_0: return 0;
        case MK_Q4_0: return 1;
        case MK_Q4_K: return 2;
        case MK_Q5_K: return 3;
        default: return 4;
    }
}

/* Rows [r0, r0 + R) (R <= RT) for tokens [t0, t0 + tb) (tb <= TB). */
/* (not static: the avx512bf16 variant calls this one's as row_tile_avx512vnni) */
void MK(row_tile)(int type, const uint8_t *w, size_t rowBytes, int cols, int r0, int R, const mk_act *a, int t0,
                  int tb, float *out, size_t outStride);
void MK(row_tile)(int type, const uint8_t *w, size_t rowBytes, int cols, int r0, int R, const mk_act *a, int t0,
                  int tb, float *out, size_t outStride) {
    const uint8_t *rows[RT];
    for (int r = 0; r < RT; r++) {
        rows[r] = w + (size_t) (r0 + (r < R ? r : R - 1)) * rowBytes;
    }
    if (tb <= TT) { /* one token tile: unpack in registers */
        ROWS[type_index(type)][tb - 1](rows, R, a, t0, out + r0, outStride);
        return;
    }
    /* more: unpack each chunk once for all tiles */
    _Alignas(32) float accm[RT * TB * 8];
    chunk ch[RT];
    memset(accm, 0, sizeof(float) * 8 * (size_t) ((RT - 1) * TB + tb));
    const kern_fn(*kerns)[4] = KERNS[type == MK_Q8_0 && Q8_SIGNED ? 1 : type == MK_Q6_K ? 2 : 0];
    const int nb = cols / 32;
    const int chunks = (nb + 7) / 8;
    for (int k = 0; k < chunks; k++) {
        int nblk = nb - 8 * k < 8 ? nb - 8 * k : 8;
        for (int r = 0; r < RT; r++) {
            scales(type, rows[r], k, nblk, &ch[r]);
            stage(type, rows[r], k, nblk, &ch[r]);
        }
        for (int tt = 0; tt < tb; tt += TT) {
            int n = tb - tt < TT ? tb - tt : TT;
            kerns[nblk == 8 ? 0 : 1][n - 1](ch, rows, a, t0 + tt, k, nblk, accm + tt * 8);
        }
    }
    for (int r = 0; r < R; r++) {
        for (int n = 0; n < tb; n++) {
            out[(size_t) (t0 + n) * outStride + r0 + r] = hsum(_mm256_load_ps(accm + (r * TB + n) * 8));
        }
    }
}

#endif

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
                INT8_ROW_TILE(type, w, rowBytes, cols, r, R, a, t0, tb, out, outStride);
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
