// CPU softmax cross-entropy with ignore index. Row max, logsumexp and softmax are evaluated in double;
// targets are validated before the parallel loop so an error is a clean exception.
#include <vector>

#include "kernels/cpu/cpu_common.h"
#include "kernels/cross_entropy.h"

namespace ms::cpu {
namespace {

// Checks targets (i32 (R), any stride) and returns them; a target outside [0, V) that is not
// ignore_index is an error naming the row.
std::vector<int32_t> read_targets(const char* op, const Tensor& targets, int64_t R, int64_t V, int ignore_index) {
  check_shape(op, "targets", targets, {R});
  check_dtype(op, "targets", targets, DType::i32);
  std::vector<int32_t> t(static_cast<size_t>(R));
  if (R == 0) return t;
  const int32_t* p = targets.data<int32_t>();
  for (int64_t r = 0; r < R; ++r) {
    t[r] = p[r * targets.stride(0)];
    MS_CHECK(t[r] == ignore_index || (t[r] >= 0 && t[r] < V), op, ": target ", t[r], " in row ", r,
             " is outside [0, ", V, ") and is not the ignore index ", ignore_index);
  }
  return t;
}

int64_t check_logits(const char* op, const Tensor& logits) {
  check_defined(op, "logits", logits);
  MS_CHECK(logits.ndim() == 2, op, ": logits must be (R, V), got ", logits.describe());
  check_inner_contiguous(op, "logits", logits);
  MS_CHECK(logits.size(1) > 0 || logits.size(0) == 0, op, ": logits have an empty vocabulary: ", logits.describe());
  return logits.size(0);
}

}  // namespace

void cross_entropy_forward(const Tensor& logits, const Tensor& targets, int ignore_index, const Tensor& losses,
                           const Tensor& lse, const Tensor& pred) {
  const char* op = "cross_entropy_forward";
  check_cpu(op, {&logits, &targets, &losses, &lse, &pred});
  const int64_t R = check_logits(op, logits), V = logits.size(1);
  check_shape(op, "losses", losses, {R});
  check_shape(op, "lse", lse, {R});
  if (pred.defined()) {
    check_shape(op, "pred", pred, {R});
    check_dtype(op, "pred", pred, DType::i32);
  }
  dispatch_float(op, "logits", logits, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, logits.dtype(), {{"losses", &losses}, {"lse", &lse}});
    const std::vector<int32_t> tgt = read_targets(op, targets, R, V, ignore_index);
    if (R == 0) return;
    const T* px = logits.data<T>();
    T* pl = losses.data<T>();
    T* ps = lse.data<T>();
    int32_t* pp = pred.defined() ? pred.data<int32_t>() : nullptr;
    const int64_t ls = logits.stride(0), sl = losses.stride(0), ss = lse.stride(0),
                  sp = pred.defined() ? pred.stride(0) : 0;
#pragma omp parallel for schedule(static) if (R * V > kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      const T* x = px + r * ls;
      int64_t arg = 0;
      for (int64_t v = 1; v < V; ++v)
        if (x[v] > x[arg]) arg = v;  // the lowest index wins ties
      const double m = x[arg];
      double s = 0;
      for (int64_t v = 0; v < V; ++v) s += std::exp(static_cast<double>(x[v]) - m);
      const double l = m + std::log(s);
      ps[r * ss] = static_cast<T>(l);
      pl[r * sl] = tgt[r] == ignore_index ? T(0) : static_cast<T>(l - static_cast<double>(x[tgt[r]]));
      if (pp) pp[r * sp] = static_cast<int32_t>(arg);
    }
  });
}

void cross_entropy_backward(const Tensor& logits, const Tensor& targets, int ignore_index, const Tensor& lse,
                            double grad_scale, const Tensor& dlogits) {
  const char* op = "cross_entropy_backward";
  check_cpu(op, {&logits, &targets, &lse, &dlogits});
  const int64_t R = check_logits(op, logits), V = logits.size(1);
  check_shape(op, "lse", lse, {R});
  check_shape(op, "dlogits", dlogits, logits.shape());
  check_inner_contiguous(op, "dlogits", dlogits);
  dispatch_float(op, "logits", logits, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, logits.dtype(), {{"lse", &lse}, {"dlogits", &dlogits}});
    const std::vector<int32_t> tgt = read_targets(op, targets, R, V, ignore_index);
    if (R == 0) return;
    const T* px = logits.data<T>();
    const T* ps = lse.data<T>();
    T* pd = dlogits.data<T>();
    const int64_t ls = logits.stride(0), ds = dlogits.stride(0), ss = lse.stride(0);
#pragma omp parallel for schedule(static) if (R * V > kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      const T* x = px + r * ls;
      T* d = pd + r * ds;
      if (tgt[r] == ignore_index) {
        std::fill(d, d + V, T(0));
        continue;
      }
      const double l = ps[r * ss];
      for (int64_t v = 0; v < V; ++v) d[v] = static_cast<T>(grad_scale * std::exp(static_cast<double>(x[v]) - l));
      d[tgt[r]] = static_cast<T>(grad_scale * (std::exp(static_cast<double>(x[tgt[r]]) - l) - 1.0));
    }
  });
}

}  // namespace ms::cpu
