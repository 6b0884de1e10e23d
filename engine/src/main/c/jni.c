/*
 * JNI entry points of the native CPU kernels (Java side: org.mixtralspark.engine.backend.cpu.NativeKernels).
 * Compiled for baseline x86-64: it only checks arguments, pins arrays and calls the variant the caller names, after
 * making sure this CPU runs that variant (__builtin_cpu_supports; libgcc also checks that the OS saves the
 * AVX/AVX-512 registers).
 *
 * Java checks every shape, offset and length before calling, with messages naming the matrix. The checks here repeat
 * the ones that guard memory, so that a bug on the Java side gives an error code (then an exception), never a read
 * or write outside a buffer or array. Nothing here allocates or keeps a reference.
 */
#include <jni.h>
#include <stdint.h>

#include "mk.h"

/* Error codes; NativeKernels.check turns them into exceptions. */
#define MK_OK 0
#define MK_BAD_ARGUMENT -1
#define MK_NOT_DIRECT -2
#define MK_COPIED -3
#define MK_UNSUPPORTED_VARIANT -4

#define MK_VARIANT_AVX2 0
#define MK_VARIANT_AVX512VNNI 1
#define MK_VARIANT_AVX512BF16 2

static int supports(int variant) {
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    switch (variant) {
        case MK_VARIANT_AVX2:
            return avx2;
        case MK_VARIANT_AVX512VNNI:
            return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                   && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
        case MK_VARIANT_AVX512BF16:
            return supports(MK_VARIANT_AVX512VNNI) && __builtin_cpu_supports("avx512bf16");
        default:
            return 0;
    }
}

static const mk_kernels *kernels(int variant) {
    if (!supports(variant)) {
        return NULL;
    }
    switch (variant) {
        case MK_VARIANT_AVX512BF16: return &mk_kernels_avx512bf16;
        case MK_VARIANT_AVX512VNNI: return &mk_kernels_avx512vnni;
        default: return &mk_kernels_avx2;
    }
}

/* Bytes of one row of `cols` values, or 0 for an unknown type or a partial block. */
static int64_t row_bytes(int type, int64_t cols) {
    switch (type) {
        case MK_F32: return cols % 32 ? 0 : cols * 4;
        case MK_F16: return cols % 32 ? 0 : cols * 2;
        case MK_BF16: return cols % 32 ? 0 : cols * 2;
        case MK_Q8_0: return cols % 32 ? 0 : cols / 32 * 34;
        case MK_Q4_0: return cols % 32 ? 0 : cols / 32 * 18;
        case MK_Q4_K: return cols % 256 ? 0 : cols / 256 * 144;
        case MK_Q5_K: return cols % 256 ? 0 : cols / 256 * 176;
        case MK_Q6_K: return cols % 256 ? 0 : cols / 256 * 210;
        default: return 0;
    }
}

/*
 * The activation buffer of weights of `type`: the three parts of the int8 blocks, or (float types) the fp32/bf16 rows
 * in a->xf; an error code when it is not a direct buffer large enough for tokens x cols.
 */
static int act_view(JNIEnv *env, jobject buf, int type, int tokens, int cols, mk_act *a, int8_t **q, float **d,
                    float **bx) {
    if (buf == NULL || tokens <= 0 || cols <= 0 || cols % 32 != 0) {
        return MK_BAD_ARGUMENT;
    }
    uint8_t *base = (uint8_t *) (*env)->GetDirectBufferAddress(env, buf);
    jlong cap = (*env)->GetDirectBufferCapacity(env, buf);
    if (base == NULL || cap < 0) {
        return MK_NOT_DIRECT;
    }
    size_t need = mk_is_float(type) ? mk_act_float_bytes(tokens, cols) : mk_act_bytes(tokens, cols);
    if ((size_t) cap < need || ((uintptr_t) base & 63) != 0) {
        return MK_BAD_ARGUMENT;
    }
    a->xf = base;
    *q = (int8_t *) base;
    *d = (float *) (base + mk_act_q_bytes(tokens, cols));
    *bx = (float *) (base + mk_act_q_bytes(tokens, cols) + mk_act_d_bytes(tokens, cols));
    a->q = *q;
    a->d = *d;
    a->bx = *bx;
    a->cols = cols;
    return MK_OK;
}

JNIEXPORT jboolean JNICALL Java_org_mixtralspark_engine_backend_cpu_NativeKernels_supports(JNIEnv *env, jclass cls,
                                                                                          jint variant) {
    (void) env;
    (void) cls;
    return supports(variant) ? JNI_TRUE : JNI_FALSE;
}

/* Pins x (tokens x cols floats, checked against its length) for a read; release with JNI_ABORT. */
static int pin_floats(JNIEnv *env, jfloatArray x, jint tokens, jint cols, float **xs) {
    if (x == NULL || (int64_t) (*env)->GetArrayLength(env, x) < (int64_t) tokens * cols) {
        return MK_BAD_ARGUMENT;
    }
    *xs = (float *) (*env)->GetPrimitiveArrayCritical(env, x, NULL);
    return *xs == NULL ? MK_BAD_ARGUMENT : MK_OK;
}

JNIEXPORT jint JNICALL Java_org_mixtralspark_engine_backend_cpu_NativeKernels_quantize0(
        JNIEnv *env, jclass cls, jint variant, jfloatArray x, jint tokens, jint cols, jobject act) {
    (void) cls;
    const mk_kernels *k = kernels(variant);
    if (k == NULL) {
        return MK_UNSUPPORTED_VARIANT;
    }
    mk_act a;
    int8_t *q;
    float *d;
    float *bx;
    int rc = act_view(env, act, MK_Q8_0, tokens, cols, &a, &q, &d, &bx);
    if (rc != MK_OK) {
        return rc;
    }
    float *xs;
    rc = pin_floats(env, x, tokens, cols, &xs);
    if (rc != MK_OK) {
        return rc;
    }
    k->quantize(xs, tokens, cols, q, d, bx);
    (*env)->ReleasePrimitiveArrayCritical(env, x, xs, JNI_ABORT); /* read only */
    return MK_OK;
}

/* The activations of float weights of `type` (F32, F16, BF16) into act: fp32, or bf16 for BF16 on avx512bf16. */
JNIEXPORT jint JNICALL Java_org_mixtralspark_engine_backend_cpu_NativeKernels_floats0(
        JNIEnv *env, jclass cls, jint variant, jint type, jfloatArray x, jint tokens, jint cols, jobject act) {
    (void) cls;
    const mk_kernels *k = kernels(variant);
    if (k == NULL) {
        return MK_UNSUPPORTED_VARIANT;
    }
    if (!mk_is_float(type)) {
        return MK_BAD_ARGUMENT;
    }
    mk_act a;
    int8_t *q;
    float *d;
    float *bx;
    int rc = act_view(env, act, type, tokens, cols, &a, &q, &d, &bx);
    if (rc != MK_OK) {
        return rc;
    }
    float *xs;
    rc = pin_floats(env, x, tokens, cols, &xs);
    if (rc != MK_OK) {
        return rc;
    }
    k->floats(xs, tokens, cols, type, (void *) a.xf);
    (*env)->ReleasePrimitiveArrayCritical(env, x, xs, JNI_ABORT); /* read only */
    return MK_OK;
}

/*
 * out[t * outStride + r] = W[r] . x[t] for r in [row0, row1), W's row r at w + wOffset + r * rowBytes; `rows` is the
 * matrix's row count and [wOffset, wOffset + rows * rowBytes) must lie inside wBytes.
 */
static jint multiply(JNIEnv *env, jint variant, jint type, const uint8_t *w, jlong wBytes, jlong wOffset,
                     jlong rowBytes, jint rows, jint cols, jint row0, jint row1, jobject act, jint tokens,
                     jfloatArray out, jint outStride, jbyteArray heap) {
    const mk_kernels *k = kernels(variant);
    if (k == NULL) {
        return MK_UNSUPPORTED_VARIANT;
    }
    if (rows <= 0 || cols <= 0 || row0 < 0 || row1 > rows || row0 >= row1 || tokens <= 0 || outStride < rows
        || wOffset < 0 || row_bytes(type, cols) == 0 || rowBytes != row_bytes(type, cols)
        || (int64_t) rows > (INT64_MAX - wOffset) / rowBytes || wOffset + (int64_t) rows * rowBytes > wBytes) {
        return MK_BAD_ARGUMENT;
    }
    mk_act a;
    int8_t *q;
    float *d;
    float *bx;
    int rc = act_view(env, act, type, tokens, cols, &a, &q, &d, &bx);
    if (rc != MK_OK) {
        return rc;
    }
    if (out == NULL || (int64_t) (*env)->GetArrayLength(env, out) < (int64_t) (tokens - 1) * outStride + rows) {
        return MK_BAD_ARGUMENT;
    }
    uint8_t *pinned = NULL;
    if (heap != NULL) {
        if ((int64_t) (*env)->GetArrayLength(env, heap) < wBytes) {
            return MK_BAD_ARGUMENT;
        }
        jboolean copied = JNI_FALSE;
        pinned = (uint8_t *) (*env)->GetPrimitiveArrayCritical(env, heap, &copied);
        if (pinned == NULL) {
            return MK_BAD_ARGUMENT;
        }
        w = pinned;
    }
    /* several threads write disjoint rows of `out` at once: only safe on the array itself, never on a copy */
    jboolean copied = JNI_FALSE;
    float *o = (float *) (*env)->GetPrimitiveArrayCritical(env, out, &copied);
    if (o == NULL || copied) {
        if (o != NULL) {
            (*env)->ReleasePrimitiveArrayCritical(env, out, o, JNI_ABORT);
        }
        if (pinned != NULL) {
            (*env)->ReleasePrimitiveArrayCritical(env, heap, pinned, JNI_ABORT);
        }
        return MK_COPIED;
    }
    k->matmul(type, w + wOffset, (size_t) rowBytes, cols, row0, row1, &a, tokens, o, (size_t) outStride);
    (*env)->ReleasePrimitiveArrayCritical(env, out, o, 0);
    if (pinned != NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, heap, pinned, JNI_ABORT);
    }
    return MK_OK;
}

JNIEXPORT jint JNICALL Java_org_mixtralspark_engine_backend_cpu_NativeKernels_multiplyDirect0(
        JNIEnv *env, jclass cls, jint variant, jint type, jobject w, jlong wOffset, jlong rowBytes, jint rows,
        jint cols, jint row0, jint row1, jobject act, jint tokens, jfloatArray out, jint outStride) {
    (void) cls;
    if (w == NULL) {
        return MK_BAD_ARGUMENT;
    }
    const uint8_t *base = (const uint8_t *) (*env)->GetDirectBufferAddress(env, w);
    jlong cap = (*env)->GetDirectBufferCapacity(env, w);
    if (base == NULL || cap < 0) {
        return MK_NOT_DIRECT;
    }
    return multiply(env, variant, type, base, cap, wOffset, rowBytes, rows, cols, row0, row1, act, tokens, out,
                    outStride, NULL);
}

JNIEXPORT jint JNICALL Java_org_mixtralspark_engine_backend_cpu_NativeKernels_multiplyHeap0(
        JNIEnv *env, jclass cls, jint variant, jint type, jbyteArray w, jlong wOffset, jlong rowBytes, jint rows,
        jint cols, jint row0, jint row1, jobject act, jint tokens, jfloatArray out, jint outStride) {
    (void) cls;
    if (w == NULL) {
        return MK_BAD_ARGUMENT;
    }
    jlong len = (*env)->GetArrayLength(env, w);
    return multiply(env, variant, type, NULL, len, wOffset, rowBytes, rows, cols, row0, row1, act, tokens, out,
                    outStride, w);
}
