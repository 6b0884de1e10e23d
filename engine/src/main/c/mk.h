/*
 * mixtral-spark native CPU kernels: shared declarations (DESIGN §5 "Compute").
 *
 * The library has one JNI unit (jni.c, compiled for baseline x86-64) and the kernels (kernels.c), compiled once per
 * instruction-set variant with its own gcc target options; jni.c picks a variant at run time with
 * __builtin_cpu_supports, so a machine without AVX-512 never executes an AVX-512 instruction.
 *
 * Numerics ("fast" math): activations quantised per 32-value block to int8 as llama.cpp's q8_0 does
 * (quantize_row_q8_0_ref: d = amax / 127, q = roundf(x * (1 / d))), but with d kept in fp32 (ggml rounds it to a half).
 * Each 32-value block's product with the weights' integer quants is an exact int32; it is scaled in fp32 and
 * accumulated per (row, token) in 8 fp32 lanes, in column order, then the lanes are summed in a fixed order. Nothing
 * depends on the batch, the tile a token falls in, or the thread count.
 *
 * Float weights (F32, F16, BF16) take fp32 activations: the weights are widened to fp32 and multiplied in fp32, the
 * exact mode's arithmetic in another order. On the avx512bf16 variant BF16 weights take bf16 activations instead
 * (x rounded to nearest even, as llama.cpp rounds them for its BF16 products) and vdpbf16ps, two products a lane.
 */
#ifndef MK_H
#define MK_H

#include <stddef.h>
#include <stdint.h>

/* Weight types, numbered as ggml numbers them (ggml.h enum ggml_type) and as GgmlType.id does in Java. */
enum {
    MK_F32 = 0,
    MK_F16 = 1,
    MK_BF16 = 30,
    MK_Q4_0 = 2,
    MK_Q8_0 = 8,
    MK_Q4_K = 12,
    MK_Q5_K = 13,
    MK_Q6_K = 14
};

/*
 * Quantised activations of T tokens of `cols` values (cols a multiple of 32), three arrays in one buffer:
 *   q  (T, cols)     int8 quants
 *   d  (T, cols/32)  fp32 scale of each 32-block
 *   bx (T, cols/16)  d of the 32-block times the sum of q over each 16-value half (for the weights' mins/offsets)
 */
typedef struct {
    const int8_t *q;
    const float *d;
    const float *bx;
    int cols;
    /* float weights (F32, F16, BF16): the activations (T, cols) as mk_kernels.floats wrote them, fp32 or bf16 */
    const void *xf;
} mk_act;

/* Whether the type has float weights, whose activations are fp32 (or bf16) rather than int8 blocks. */
static inline int mk_is_float(int type) {
    return type == MK_F32 || type == MK_F16 || type == MK_BF16;
}

/* Bytes of the activation buffer of a float type: fp32 (T, cols), which also holds the bf16 form. */
static inline size_t mk_act_float_bytes(int tokens, int cols) {
    return (size_t) tokens * (size_t) cols * 4;
}

/* Bytes of the activation buffer for T tokens of cols values: q, then d and bx, each part 64-byte aligned. */
static inline size_t mk_act_q_bytes(int tokens, int cols) {
    return ((size_t) tokens * (size_t) cols + 63) & ~(size_t) 63;
}
static inline size_t mk_act_d_bytes(int tokens, int cols) {
    return (((size_t) tokens * (size_t) (cols / 32) * 4) + 63) & ~(size_t) 63;
}
static inline size_t mk_act_bytes(int tokens, int cols) {
    return mk_act_q_bytes(tokens, cols) + mk_act_d_bytes(tokens, cols) + (size_t) tokens * (size_t) (cols / 16) * 4;
}

/* One variant's entry points. Every argument has been checked by the caller (jni.c). */
typedef struct {
    const char *name;
    /* x (T, cols) fp32 -> q, d, bx as described above */
    void (*quantize)(const float *x, int tokens, int cols, int8_t *q, float *d, float *bx);
    /* x (T, cols) fp32 -> the activations of a float type into act: fp32, or bf16 for BF16 on avx512bf16 */
    void (*floats)(const float *x, int tokens, int cols, int type, void *act);
    /* out[t * outStride + r] = W[r] . x[t] for rows [r0, r1) and all T tokens; W rows rowBytes apart from w */
    void (*matmul)(int type, const uint8_t *w, size_t rowBytes, int cols, int r0, int r1, const mk_act *a,
                   int tokens, float *out, size_t outStride);
} mk_kernels;

extern const mk_kernels mk_kernels_avx2;
extern const mk_kernels mk_kernels_avx512vnni;
extern const mk_kernels mk_kernels_avx512bf16;

#endif
