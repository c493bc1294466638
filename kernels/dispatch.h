// Device dispatch: every op is declared twice with one signature, ms::cpu::name and ms::cuda::name,
// and called through ms::name, which picks the implementation from the device of its first tensor.
#pragma once
#include "kernels/tensor.h"

#ifndef MAMBASEQ_WITH_CUDA
#define MAMBASEQ_WITH_CUDA 0
#endif

// Declares the CPU and CUDA twins of an op with one signature.
#define MS_DECLARE_OP(ret, name, params) \
  namespace cpu {                        \
  ret name params;                       \
  }                                      \
  namespace cuda {                       \
  ret name params;                       \
  }

namespace ms::detail {
[[noreturn]] void no_cuda_backend(const char* op);
}

#if MAMBASEQ_WITH_CUDA
#define MS_DISPATCH(tensor, name, ...)                      \
  do {                                                      \
    if ((tensor).is_cuda()) return ::ms::cuda::name(__VA_ARGS__); \
    return ::ms::cpu::name(__VA_ARGS__);                    \
  } while (0)
#else
#define MS_DISPATCH(tensor, name, ...)                                 \
  do {                                                                 \
    if ((tensor).is_cuda()) ::ms::detail::no_cuda_backend(#name);      \
    return ::ms::cpu::name(__VA_ARGS__);                               \
  } while (0)
#endif
