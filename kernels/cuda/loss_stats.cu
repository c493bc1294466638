// CUDA twin of kernels/loss_stats.h: one pass of block partials (loss sum in double, valid and correct
// counts), a second one-block kernel adds them in a fixed order, and the host reads one struct.
#include "kernels/cuda/ops_common.cuh"
#include "kernels/loss_stats.h"
#include "kernels/memory.h"

namespace ms::cuda {

namespace {

constexpr int kThreads = 256;

struct Partial {
  double sum;
  long long valid, correct;
};
struct PartialSum {
  __device__ __forceinline__ Partial operator()(Partial a, Partial b) const {
    return Partial{a.sum + b.sum, a.valid + b.valid, a.correct + b.correct};
  }
};

__global__ void loss_stats_partial_kernel(const float* losses, const int32_t* targets, const int32_t* pred, int64_t n,
                                          int ignore, Partial* out) {
  __shared__ Partial scratch[kThreads / 32];
  Partial p{0.0, 0, 0};
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int t = targets[i];
    if (t == ignore) continue;
    p.sum += static_cast<double>(losses[i]);
    p.valid += 1;
    if (pred && pred[i] == t) p.correct += 1;
  }
  p = group_allreduce(p, PartialSum{}, blockDim.x, scratch);
  if (threadIdx.x == 0) out[blockIdx.x] = p;
}

__global__ void loss_stats_total_kernel(const Partial* partial, int count, Partial* out) {
  __shared__ Partial scratch[kThreads / 32];
  Partial p{0.0, 0, 0};
  for (int i = threadIdx.x; i < count; i += blockDim.x) p = PartialSum{}(p, partial[i]);
  p = group_allreduce(p, PartialSum{}, blockDim.x, scratch);
  if (threadIdx.x == 0) *out = p;
}

}  // namespace

LossStats loss_stats(const Tensor& losses, const Tensor& targets, const Tensor& pred, int ignore_index) {
  const char* op = "loss_stats";
  check_defined(op, "losses", losses);
  MS_CHECK(losses.ndim() == 1 && losses.is_contiguous(), op, ": losses must be a contiguous (R), got ",
           losses.describe());
  check_dtype(op, "losses", losses, DType::f32);
  check_shape(op, "targets", targets, losses.shape());
  check_dtype(op, "targets", targets, DType::i32);
  MS_CHECK(targets.is_contiguous(), op, ": targets must be contiguous, got ", targets.describe());
  if (pred.defined()) {
    check_shape(op, "pred", pred, losses.shape());
    check_dtype(op, "pred", pred, DType::i32);
    MS_CHECK(pred.is_contiguous(), op, ": pred must be contiguous, got ", pred.describe());
  }
  check_cuda(op, {&losses, &targets, &pred});
  const int64_t n = losses.numel();
  LossStats s;
  if (n == 0) return s;
  const int blocks = static_cast<int>(std::min<int64_t>(grid_for_items(n, kThreads), sm_count() * 4));
  Tensor ws = scratch(static_cast<int64_t>(sizeof(Partial)) * (blocks + 1));
  Partial* partial = static_cast<Partial*>(ws.raw());
  loss_stats_partial_kernel<<<blocks, kThreads, 0, stream()>>>(
      losses.data<float>(), targets.data<int32_t>(), pred.defined() ? pred.data<int32_t>() : nullptr, n, ignore_index,
      partial);
  MS_CUDA_CHECK_LAUNCH();
  loss_stats_total_kernel<<<1, kThreads, 0, stream()>>>(partial, blocks, partial + blocks);
  MS_CUDA_CHECK_LAUNCH();
  Partial total{};
  device_memcpy(&total, Device::cpu, partial + blocks, Device::cuda, sizeof(Partial));
  s.loss_sum = total.sum;
  s.n_valid = total.valid;
  s.n_correct = total.correct;
  return s;
}

}  // namespace ms::cuda
