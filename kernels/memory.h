// Device memory primitives behind Storage. CUDA memory comes from a caching allocator so the
// training loop never calls cudaMalloc after its first step.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/tensor.h"

namespace ms {

bool cuda_built();      // compiled with the CUDA backend
bool cuda_available();  // compiled with it and a GPU is visible
void cuda_synchronize();

void* device_alloc(Device dev, size_t bytes);
void device_free(Device dev, void* ptr, size_t bytes);
// Byte copy between any two devices (synchronous with respect to the host).
void device_memcpy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void device_memset_zero(void* ptr, Device dev, size_t bytes);

// Peak and current bytes held by the CUDA caching allocator (0 without CUDA).
struct CudaMemoryStats { size_t in_use = 0, peak_in_use = 0, reserved = 0; };
CudaMemoryStats cuda_memory_stats();
void cuda_reset_peak_memory();

namespace cuda {
// Strided same-device copy (dst and src have the same shape and dtype). Implemented in cuda/memory.cu.
void strided_copy(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);
}  // namespace cuda

}  // namespace ms
