// Shared helpers for the CUDA twins: error checking with file:line, the stream every op runs on,
// launch-size helpers and dtype conversions.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/check.h"
#include "kernels/tensor.h"

namespace ms::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line);

// Every op runs on this stream (created on first use; non-blocking so it can be captured into graphs).
cudaStream_t stream();

inline int blocks_for(int64_t n, int threads) { return static_cast<int>((n + threads - 1) / threads); }
int sm_count();

// Load/store helpers: compute in float whatever the storage type.
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <class T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16(x); }

}  // namespace ms::cuda

#define MS_CUDA_CHECK(expr)                                                          \
  do {                                                                               \
    cudaError_t ms_err_ = (expr);                                                    \
    if (ms_err_ != cudaSuccess) ::ms::cuda::throw_cuda_error(ms_err_, #expr, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: reports launch-configuration errors at the launch site.
#define MS_CUDA_CHECK_LAUNCH() MS_CUDA_CHECK(cudaGetLastError())

// Dispatch on a floating storage dtype for CUDA kernels: T is float or __nv_bfloat16.
#define MS_CUDA_FLOAT_DISPATCH(dtype, op, T, ...)                                     \
  switch (dtype) {                                                                   \
    case ::ms::DType::f32: { using T = float; __VA_ARGS__; break; }                  \
    case ::ms::DType::bf16: { using T = __nv_bfloat16; __VA_ARGS__; break; }         \
    default: MS_CHECK(false, op, ": unsupported dtype on CUDA: ", ::ms::dtype_name(dtype)); \
  }
