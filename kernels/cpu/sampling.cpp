// CPU next-token sampling. The arithmetic is spelled out step by step (docs/kernels.md, "Sampling") so a
// CUDA twin that follows the same steps picks the same token: candidates ordered by (logit desc, index asc),
// exp in double relative to the top logit, sequential double prefix sums in that order, and the draw
// u = random_uniform(seed, row, step) compared against u * (kept mass).
#include <numeric>
#include <vector>

#include "kernels/cpu/cpu_common.h"
#include "kernels/random.h"
#include "kernels/sampling.h"

namespace ms::cpu {
namespace {

// Logits as ordered: NaN counts as -inf so the candidate order stays a strict weak order.
template <class T>
inline double key(T v) {
  return std::isnan(v) ? -HUGE_VAL : static_cast<double>(v);
}

template <class T>
int32_t greedy(const T* x, int64_t V) {
  int64_t arg = 0;
  for (int64_t v = 1; v < V; ++v)
    if (key(x[v]) > key(x[arg])) arg = v;  // the lowest index wins ties
  return static_cast<int32_t>(arg);
}

template <class T>
int32_t sample_row(const T* x, int64_t V, const SamplingParams& p, uint64_t seed, uint64_t row, uint64_t step,
                   std::vector<int32_t>& order, std::vector<double>& cum) {
  // 1. Candidate order: descending logit, ties by lower index; keep the top_k first.
  const int64_t k = p.top_k > 0 ? std::min<int64_t>(p.top_k, V) : V;
  order.resize(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  auto before = [x](int32_t a, int32_t b) {
    const double ka = key(x[a]), kb = key(x[b]);
    return ka > kb || (ka == kb && a < b);
  };
  if (k < V) {
    std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
  } else {
    std::sort(order.begin(), order.end(), before);
  }
  // 2. Unnormalized probabilities relative to the top candidate, prefix-summed in candidate order:
  //    cum[j] = sum_{i <= j} exp(z[order[i]] - z[order[0]]),  z = double(logit) / temperature, in double.
  const double top = key(x[order[0]]) / p.temperature;
  cum.resize(static_cast<size_t>(k));
  double run = 0;
  for (int64_t j = 0; j < k; ++j) {
    run += std::exp(key(x[order[j]]) / p.temperature - top);
    cum[j] = run;
  }
  // 3. Nucleus: the smallest prefix n whose mass reaches top_p of the top-k mass.
  int64_t n = k;
  if (p.top_p < 1.0) {
    const double target = p.top_p * cum[k - 1];
    n = 1;
    while (n < k && cum[n - 1] < target) ++n;
  }
  // 4. Draw: the first candidate whose cumulative mass exceeds u * (mass of the n kept candidates).
  const double u = random_uniform(seed, row, step) * cum[n - 1];
  for (int64_t j = 0; j < n; ++j)
    if (cum[j] > u) return order[j];
  return order[n - 1];  // u * mass rounded up to the mass itself: the last kept candidate
}

}  // namespace

void sample_tokens(const Tensor& logits, const SamplingParams& params, uint64_t seed, uint64_t step,
                   const Tensor& tokens) {
  const char* op = "sample_tokens";
  check_defined(op, "logits", logits);
  check_cpu(op, {&logits, &tokens});
  MS_CHECK(logits.ndim() == 2, op, ": logits must be (B, V), got ", logits.describe());
  check_inner_contiguous(op, "logits", logits);
  const int64_t B = logits.size(0), V = logits.size(1);
  MS_CHECK(V > 0 || B == 0, op, ": logits have an empty vocabulary: ", logits.describe());
  check_shape(op, "tokens", tokens, {B});
  check_dtype(op, "tokens", tokens, DType::i32);
  MS_CHECK(!std::isnan(params.temperature) && !std::isnan(params.top_p), op,
           ": temperature and top_p must be numbers");
  dispatch_float(op, "logits", logits, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (B == 0) return;
    const T* px = logits.data<T>();
    int32_t* pt = tokens.data<int32_t>();
    const int64_t ls = logits.stride(0), ts = tokens.stride(0);
#pragma omp parallel if (B * V > kParallelGrain)
    {
      std::vector<int32_t> order;
      std::vector<double> cum;
#pragma omp for schedule(static)
      for (int64_t b = 0; b < B; ++b) {
        const T* x = px + b * ls;
        pt[b * ts] = params.temperature <= 0 ? greedy(x, V)
                                             : sample_row(x, V, params, seed, static_cast<uint64_t>(b), step, order, cum);
      }
    }
  });
}

}  // namespace ms::cpu
