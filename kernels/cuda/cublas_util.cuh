// cuBLAS plumbing: one handle per process bound to ms::cuda::stream(), with its workspace allocated once,
// and status checks that name the call and its file:line.
#pragma once
#include <cublas_v2.h>

#include "kernels/cuda/cuda_common.cuh"

namespace ms::cuda {

[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* what, const char* file, int line);

// Created on first use: stream = ms::cuda::stream(), a fixed workspace (so cuBLAS never allocates while a
// graph is captured), default math mode (TF32 is asked for per call through the compute type).
// The handle is shared: call cuBLAS from one host thread at a time, as every op runs on one stream.
cublasHandle_t cublas_handle();

}  // namespace ms::cuda

#define MS_CUBLAS_CHECK(expr)                                                                       \
  do {                                                                                             \
    cublasStatus_t ms_st_ = (expr);                                                                \
    if (ms_st_ != CUBLAS_STATUS_SUCCESS) ::ms::cuda::throw_cublas_error(ms_st_, #expr, __FILE__, __LINE__); \
  } while (0)
