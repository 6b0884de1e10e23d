/*
 * Float weights (F32, F16, BF16), included by kernels.c into each variant (it uses kernels.c's RT, TT, TB, INLINE
 * and hsum). y (T, rows) = x (T, cols) @ W^T with cols a multiple of 32:
 *
 *   fp32 activations (F32, F16, and BF16 except on avx512bf16): for each chunk of 256 columns, the chunk of each of
 *   the RT rows is widened to fp32 once (F16 by vcvtph2ps, BF16 by a 16-bit shift; F32 is read in place), then for
 *   each tile of TT tokens acc[r][t] += w[r, 8 columns] * x[t, 8 columns] (one FMA per 8 columns, fp32 lanes);
 *
 *   bf16 activations (BF16 on avx512bf16): the weights are read in place and acc[r][t] += vdpbf16ps(w, x) over 16
 *   columns (each lane adds two bf16 products), x rounded to bf16 once per call by `floats`.
 *
 * As for the quantised types, every (row, token) accumulator sees the same operations in the same order whatever the
 * tile it is in, and the 8 lanes are summed in a fixed order at the end: a token's result does not depend on the
 * batch or on how the rows were split. Nothing is allocated: the widened chunk and the accumulators are on the stack.
 */

/* Columns per chunk widened at a time (RT rows x 256 fp32 = 4 KiB, in L1 while the token tiles pass over it). */
#define FCH 256

/* 8 bf16 values (raw 16-bit patterns) widened to fp32: the bf16 bits are the top half of the float's. */
INLINE __m256 bf16x8_to_f32(const uint8_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *) p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* Columns [c0, c0 + n) of a row of F16 or BF16 weights widened to fp32 into dst (n a multiple of 32). */
INLINE void widen(int type, const uint8_t *row, int c0, int n, float *dst) {
    const uint8_t *p = row + (size_t) c0 * 2;
    for (int i = 0; i < n; i += 8) {
        __m256 v = type == MK_F16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p + 2 * i)))
                                  : bf16x8_to_f32(p + 2 * i);
        _mm256_store_ps(dst + i, v);
    }
}

/* R rows x N tokens over n columns from c0: wr[r] the rows' fp32 values at c0; x fp32 (T, cols). */
INLINE void fkern(const float *const *wr, const float *x, int cols, int t, int c0, int n, float *accm, const int R,
                  const int N) {
    __m256 acc[RT][TT];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int k = 0; k < N; k++) {
            acc[r][k] = _mm256_load_ps(accm + (r * TB + k) * 8);
        }
    }
    for (int i = 0; i < n; i += 8) {
        __m256 wv[RT];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            wv[r] = _mm256_loadu_ps(wr[r] + i);
        }
#pragma GCC unroll 4
        for (int k = 0; k < N; k++) {
            __m256 xv = _mm256_loadu_ps(x + (size_t) (t + k) * cols + c0 + i);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                acc[r][k] = _mm256_fmadd_ps(wv[r], xv, acc[r][k]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int k = 0; k < N; k++) {
            _mm256_store_ps(accm + (r * TB + k) * 8, acc[r][k]);
        }
    }
}

#if defined(MK_AVX512BF16)
/* R rows x N tokens over n columns from c0: wr[r] the rows' bf16 weights at c0; x bf16 (T, cols). */
INLINE void bkern(const uint16_t *const *wr, const uint16_t *x, int cols, int t, int c0, int n, float *accm,
                  const int R, const int N) {
    __m256 acc[RT][TT];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int k = 0; k < N; k++) {
            acc[r][k] = _mm256_load_ps(accm + (r * TB + k) * 8);
        }
    }
    for (int i = 0; i < n; i += 16) {
        __m256i wv[RT];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            wv[r] = _mm256_loadu_si256((const __m256i *) (wr[r] + i));
        }
#pragma GCC unroll 4
        for (int k = 0; k < N; k++) {
            __m256i xv = _mm256_loadu_si256((const __m256i *) (x + (size_t) (t + k) * cols + c0 + i));
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                acc[r][k] = _mm256_dpbf16_ps(acc[r][k], (__m256bh) wv[r], (__m256bh) xv);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int k = 0; k < N; k++) {
            _mm256_store_ps(accm + (r * TB + k) * 8, acc[r][k]);
        }
    }
}
#endif

/* Every (R, N) up to (RT, TT) as its own unrolled instance of KERN. */
#define FLOAT_CASES(KERN, WR, X)                                                                 \
    switch (R * 8 + N) {                                                                         \
        case 1 * 8 + 1: KERN(WR, X, cols, t, c0, n, accm, 1, 1); break;                          \
        case 1 * 8 + 2: KERN(WR, X, cols, t, c0, n, accm, 1, 2); break;                          \
        case 1 * 8 + 3: KERN(WR, X, cols, t, c0, n, accm, 1, 3); break;                          \
        case 1 * 8 + 4: KERN(WR, X, cols, t, c0, n, accm, 1, 4); break;                          \
        case 2 * 8 + 1: KERN(WR, X, cols, t, c0, n, accm, 2, 1); break;                          \
        case 2 * 8 + 2: KERN(WR, X, cols, t, c0, n, accm, 2, 2); break;                          \
        case 2 * 8 + 3: KERN(WR, X, cols, t, c0, n, accm, 2, 3); break;                          \
        case 2 * 8 + 4: KERN(WR, X, cols, t, c0, n, accm, 2, 4); break;                          \
        case 3 * 8 + 1: KERN(WR, X, cols, t, c0, n, accm, 3, 1); break;                          \
        case 3 * 8 + 2: KERN(WR, X, cols, t, c0, n, accm, 3, 2); break;                          \
        case 3 * 8 + 3: KERN(WR, X, cols, t, c0, n, accm, 3, 3); break;                          \
        case 3 * 8 + 4: KERN(WR, X, cols, t, c0, n, accm, 3, 4); break;                          \
        case 4 * 8 + 1: KERN(WR, X, cols, t, c0, n, accm, 4, 1); break;                          \
        case 4 * 8 + 2: KERN(WR, X, cols, t, c0, n, accm, 4, 2); break;                          \
        case 4 * 8 + 3: KERN(WR, X, cols, t, c0, n, accm, 4, 3); break;                          \
        default: KERN(WR, X, cols, t, c0, n, accm, 4, 4); break;                                 \
    }

static void ftile(const float *const *wr, const float *x, int cols, int t, int c0, int n, float *accm, int R,
                  int N) {
    FLOAT_CASES(fkern, wr, x)
}

#if defined(MK_AVX512BF16)
static void btile(const uint16_t *const *wr, const uint16_t *x, int cols, int t, int c0, int n, float *accm, int R,
                  int N) {
    FLOAT_CASES(bkern, wr, x)
}
#endif

/* Rows [r0, r0 + R) (R <= RT) of float weights for tokens [t0, t0 + tb) (tb <= TB). */
static void float_row_tile(int type, const uint8_t *w, size_t rowBytes, int cols, int r0, int R, const mk_act *a,
                           int t0, int tb, float *out, size_t outStride) {
    _Alignas(32) float accm[RT * TB * 8];
    _Alignas(32) float wide[RT][FCH];
    memset(accm, 0, sizeof(float) * 8 * (size_t) ((R - 1) * TB + tb));
    for (int c0 = 0; c0 < cols; c0 += FCH) {
        int n = cols - c0 < FCH ? cols - c0 : FCH;
#if defined(MK_AVX512BF16)
        if (type == MK_BF16) {
            const uint16_t *wr[RT];
            for (int r = 0; r < R; r++) {
                wr[r] = (const uint16_t *) (w + (size_t) (r0 + r) * rowBytes) + c0;
            }
            for (int tt = 0; tt < tb; tt += TT) {
                int k = tb - tt < TT ? tb - tt : TT;
                btile(wr, (const uint16_t *) a->xf, cols, t0 + tt, c0, n, accm + tt * 8, R, k);
            }
            continue;
        }
#endif
        const float *wr[RT];
        for (int r = 0; r < R; r++) {
            const uint8_t *row = w + (size_t) (r0 + r) * rowBytes;
            if (type == MK_F32) {
                wr[r] = (const float *) row + c0;
            } else {
                widen(type, row, c0, n, wide[r]);
                wr[r] = wide[r];
            }
        }
        for (int tt = 0; tt < tb; tt += TT) {
            int k = tb - tt < TT ? tb - tt : TT;
            ftile(wr, (const float *) a->xf, cols, t0 + tt, c0, n, accm + tt * 8, R, k);
        }
    }
    for (int r = 0; r < R; r++) {
        for (int k = 0; k < tb; k++) {
            out[(size_t) (t0 + k) * outStride + r0 + r] = hsum(_mm256_load_ps(accm + (r * TB + k) * 8));
        }
    }
}

/* The activations of a float type: x copied as fp32, or rounded to bf16 (nearest even) for BF16 on avx512bf16. */
static void MK(floats)(const float *x, int tokens, int cols, int type, void *act) {
    size_t count = (size_t) tokens * (size_t) cols;
#if defined(MK_AVX512BF16)
    if (type == MK_BF16) {
        uint16_t *dst = (uint16_t *) act;
        for (size_t i = 0; i < count; i += 8) { /* count is a multiple of 32 */
            _mm_storeu_si128((__m128i *) (dst + i), (__m128i) _mm256_cvtneps_pbh(_mm256_loadu_ps(x + i)));
        }
        return;
    }
#else
    (void) type;
#endif
    memcpy(act, x, count * sizeof(float));
}
