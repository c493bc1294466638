// CUDA memory: a caching allocator (freed blocks are kept and reused by size, so a training loop stops
// calling cudaMalloc after its first step), copies, fills and strided copies.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_common.cuh"
#include "kernels/memory.h"

namespace ms::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line) {
  const char* f = file;
  if (const char* p = std::strstr(file, "/kernels/")) f = p + 1;
  throw Error(std::string("CUDA error: ") + cudaGetErrorString(err) + " in " + what + " (" + f + ":" +
              std::to_string(line) + ")");
}

cudaStream_t stream() {
  static cudaStream_t s = [] {
    cudaStream_t st;
    MS_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    return st;
  }();
  return s;
}

int sm_count() {
  static int n = [] {
    int dev = 0, count = 0;
    MS_CUDA_CHECK(cudaGetDevice(&dev));
    MS_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, dev));
    return count;
  }();
  return n;
}

namespace {

// Sizes are rounded so that nearby requests share blocks: 512 B granularity below 1 MiB, 2 MiB above.
size_t round_size(size_t bytes) {
  const size_t g = bytes < (1u << 20) ? 512 : (2u << 20);
  return std::max<size_t>(g, (bytes + g - 1) / g * g);
}

struct CachingAllocator {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // size -> block
  CudaMemoryStats stats;

  void* alloc(size_t bytes) {
    const size_t size = round_size(bytes);
    std::lock_guard<std::mutex> lock(mu);
    // Reuse the smallest cached block that fits without wasting more than a quarter of it.
    auto it = free_blocks.lower_bound(size);
    if (it != free_blocks.end() && it->first <= size + size / 4) {
      void* p = it->second;
      stats.in_use += it->first;
      free_blocks.erase(it);
      stats.peak_in_use = std::max(stats.peak_in_use, stats.in_use);
      return p;
    }
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, size);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error, release the cache, try once more
      release_cache_locked();
      err = cudaMalloc(&p, size);
      if (err != cudaSuccess) {
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        MS_FAIL("CUDA out of memory: could not allocate ", size / 1048576.0, " MiB (in use by mambaseq ",
                stats.in_use / 1048576.0, " MiB, free on the GPU ", free_b / 1048576.0, " of ",
                total_b / 1048576.0, " MiB); reduce the batch size or sequence length");
      }
    }
    stats.reserved += size;
    stats.in_use += size;
    stats.peak_in_use = std::max(stats.peak_in_use, stats.in_use);
    return p;
  }

  void free(void* p, size_t bytes) {
    const size_t size = round_size(bytes);
    std::lock_guard<std::mutex> lock(mu);
    stats.in_use -= size;
    free_blocks.emplace(size, p);  // work queued on the one stream finishes before any reuse runs
  }

  void release_cache_locked() {
    cudaStreamSynchronize(stream());
    for (auto& [size, p] : free_blocks) {
      cudaFree(p);
      stats.reserved -= size;
    }
    free_blocks.clear();
  }
};

CachingAllocator& allocator() {
  static auto* a = new CachingAllocator();  // never destroyed: tensors may outlive static destructors
  return *a;
}

}  // namespace
}  // namespace ms::cuda

namespace ms::cuda_impl {

void* alloc(size_t bytes) { return cuda::allocator().alloc(bytes); }
void free(void* ptr, size_t bytes) { cuda::allocator().free(ptr, bytes); }

void memcpy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  cudaMemcpyKind kind = dst_dev == Device::cuda ? (src_dev == Device::cuda ? cudaMemcpyDeviceToDevice
                                                                           : cudaMemcpyHostToDevice)
                                                : cudaMemcpyDeviceToHost;
  MS_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, cuda::stream()));
  if (kind != cudaMemcpyDeviceToDevice) MS_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
}

void memset_zero(void* ptr, size_t bytes) { MS_CUDA_CHECK(cudaMemsetAsync(ptr, 0, bytes, cuda::stream())); }

bool available() {
  static bool ok = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    return n > 0;
  }();
  return ok;
}

void synchronize() { MS_CUDA_CHECK(cudaStreamSynchronize(cuda::stream())); }

CudaMemoryStats stats() {
  std::lock_guard<std::mutex> lock(cuda::allocator().mu);
  return cuda::allocator().stats;
}

void reset_peak() {
  std::lock_guard<std::mutex> lock(cuda::allocator().mu);
  cuda::allocator().stats.peak_in_use = cuda::allocator().stats.in_use;
}

}  // namespace ms::cuda_impl

namespace ms::cuda {

namespace {
constexpr int kMaxDims = 8;
struct StridedLayout {
  int ndim;
  int64_t shape[kMaxDims], dst_stride[kMaxDims], src_stride[kMaxDims];
};

template <class T>
__global__ void strided_copy_kernel(T* dst, const T* src, int64_t n, StridedLayout lay) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = i, od = 0, os = 0;
    for (int d = lay.ndim - 1; d >= 0; --d) {
      const int64_t c = rem % lay.shape[d];
      rem /= lay.shape[d];
      od += c * lay.dst_stride[d];
      os += c * lay.src_stride[d];
    }
    dst[od] = src[os];
  }
}

template <class T>
__global__ void fill_kernel(T* dst, int64_t n, StridedLayout lay, T value) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = i, od = 0;
    for (int d = lay.ndim - 1; d >= 0; --d) {
      od += (rem % lay.shape[d]) * lay.dst_stride[d];
      rem /= lay.shape[d];
    }
    dst[od] = value;
  }
}

StridedLayout make_layout(const Tensor& dst, const Tensor* src) {
  MS_CHECK(dst.ndim() <= kMaxDims, "CUDA strided copy supports up to ", kMaxDims, " dimensions, got ", dst.describe());
  StridedLayout lay{};
  lay.ndim = dst.ndim();
  for (int d = 0; d < dst.ndim(); ++d) {
    lay.shape[d] = dst.size(d);
    lay.dst_stride[d] = dst.stride(d);
    lay.src_stride[d] = src ? src->stride(d) : 0;
  }
  return lay;
}

int grid_for(int64_t n) { return static_cast<int>(std::min<int64_t>((n + 255) / 256, 65535)); }

template <class T>
void launch_copy(const Tensor& dst, const Tensor& src) {
  const int64_t n = dst.numel();
  strided_copy_kernel<T><<<grid_for(n), 256, 0, stream()>>>(static_cast<T*>(dst.raw()),
                                                           static_cast<const T*>(src.raw()), n,
                                                           make_layout(dst, &src));
  MS_CUDA_CHECK_LAUNCH();
}

// Contiguous destinations (nearly every fill: zeros, full, gradient resets) take a flat loop without
// fill_kernel's 64-bit division and remainder per dimension and element.
template <class T>
__global__ void fill_flat_kernel(T* dst, int64_t n, T value) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = value;
}

template <class T>
void launch_fill(const Tensor& dst, T value) {
  const int64_t n = dst.numel();
  T* p = static_cast<T*>(dst.raw());
  if (dst.is_contiguous()) {
    fill_flat_kernel<T><<<grid_for(n), 256, 0, stream()>>>(p, n, value);
  } else {
    fill_kernel<T><<<grid_for(n), 256, 0, stream()>>>(p, n, make_layout(dst, nullptr), value);
  }
  MS_CUDA_CHECK_LAUNCH();
}
}  // namespace

void strided_copy(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  switch (dtype_size(dst.dtype())) {
    case 1: launch_copy<uint8_t>(dst, src); break;
    case 2: launch_copy<uint16_t>(dst, src); break;
    case 4: launch_copy<uint32_t>(dst, src); break;
    case 8: launch_copy<uint64_t>(dst, src); break;
    default: MS_CHECK(false, "strided_copy: unsupported element size");
  }
}

void fill(const Tensor& dst, double value) {
  if (dst.numel() == 0) return;
  switch (dst.dtype()) {
    case DType::f32: launch_fill<float>(dst, (float)value); break;
    case DType::f64: launch_fill<double>(dst, value); break;
    case DType::bf16: launch_fill<__nv_bfloat16>(dst, __float2bfloat16((float)value)); break;
    case DType::i32: launch_fill<int32_t>(dst, (int32_t)value); break;
    case DType::i64: launch_fill<int64_t>(dst, (int64_t)value); break;
    case DType::u8: launch_fill<uint8_t>(dst, (uint8_t)value); break;
  }
}

}  // namespace ms::cuda
