// Shared helpers of the mixtral-spark kernels (DESIGN §5 CUDA). Compiled by nvcc into fatbins that the Java side
// loads with the driver API (cuModuleLoadData); every kernel is extern "C" so that its name is stable.
//
// Storage types: W is the type of weights, GEMM inputs and the KV cache: __nv_bfloat16 in the normal mode, float
// in the F32 debug mode. Activations that carry the residual stream (x), norms, router logits and GEMM outputs are
// always fp32. Kernel names end in _bf16 or _f32 by W.
#pragma once

#include <cuda_bf16.h>
#include <stdint.h>

typedef __nv_bfloat16 bf16;

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(bf16 v) { return __bfloat162float(v); }

template <typename W> __device__ __forceinline__ W from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ bf16 from_float<bf16>(float v) { return __float2bfloat16_rn(v); }

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Kernels templated on W are exported twice, by hand, as name_bf16 and name_f32: small extern "C" wrappers that call
// the template, so that the symbol names stay readable in cuobjdump and in the Java launcher.
