#include "kernels/memory.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace ms {

namespace cuda_impl {
// Defined in cuda/memory.cu when the CUDA backend is built.
void* alloc(size_t bytes);
void free(void* ptr, size_t bytes);
void memcpy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void memset_zero(void* ptr, size_t bytes);
bool available();
void synchronize();
CudaMemoryStats stats();
void reset_peak();
}  // namespace cuda_impl

#if MAMBASEQ_WITH_CUDA
bool cuda_built() { return true; }
bool cuda_available() { return cuda_impl::available(); }
void cuda_synchronize() {
  if (cuda_available()) cuda_impl::synchronize();
}
CudaMemoryStats cuda_memory_stats() { return cuda_impl::stats(); }
void cuda_reset_peak_memory() { cuda_impl::reset_peak(); }
#else
bool cuda_built() { return false; }
bool cuda_available() { return false; }
void cuda_synchronize() {}
CudaMemoryStats cuda_memory_stats() { return {}; }
void cuda_reset_peak_memory() {}
namespace cuda {
void strided_copy(const Tensor&, const Tensor&) { MS_FAIL("this build of mambaseq has no CUDA backend"); }
void fill(const Tensor&, double) { MS_FAIL("this build of mambaseq has no CUDA backend"); }
}  // namespace cuda
#endif

static void require_cuda() {
  if (!cuda_built()) MS_FAIL("this build of mambaseq has no CUDA backend (rebuild with -DMAMBASEQ_CUDA=ON)");
}

void* device_alloc(Device dev, size_t bytes) {
  if (dev == Device::cpu) {
    // 64-byte alignment for SIMD loads; never return nullptr for 0 bytes.
    size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (!p) MS_FAIL("out of host memory allocating ", bytes, " bytes");
    return p;
  }
  require_cuda();
#if MAMBASEQ_WITH_CUDA
  return cuda_impl::alloc(bytes);
#else
  return nullptr;
#endif
}

void device_free(Device dev, void* ptr, size_t bytes) {
  if (dev == Device::cpu) {
    std::free(ptr);
    return;
  }
#if MAMBASEQ_WITH_CUDA
  cuda_impl::free(ptr, bytes);
#else
  (void)bytes;
#endif
}

void device_memcpy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::cpu && src_dev == Device::cpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
  require_cuda();
#if MAMBASEQ_WITH_CUDA
  cuda_impl::memcpy(dst, dst_dev, src, src_dev, bytes);
#endif
}

void device_memset_zero(void* ptr, Device dev, size_t bytes) {
  if (dev == Device::cpu) {
    std::memset(ptr, 0, bytes);
    return;
  }
  require_cuda();
#if MAMBASEQ_WITH_CUDA
  cuda_impl::memset_zero(ptr, bytes);
#endif
}

}  // namespace ms
