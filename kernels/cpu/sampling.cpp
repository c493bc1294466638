// CPU next-token sampling. The arithmetic is spelled out step by step (docs/kernels.md, "Sampling") so a
// CUDA twin that follows the same steps picks the same token: candidates ordered by (logit desc, index asc),
// exp in double relative to the top logit, sequential double prefix sums in that order, and the draw
// u = random_uniform(seed, row, step) compared against u * (kept mass).
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

struct Candidate {
  double logit;  // NaN already mapped to -inf
  int32_t index;
};

template <class T>
int32_t sample_row(const T* x, int64_t V, const SamplingParams& p, uint64_t seed, uint64_t row, uint64_t step,
                   std::vector<Candidate>& cand, std::vector<double>& cum) {
  // 1. Candidate order: descending logit, ties by lower index; keep the top_k first.
  const int64_t k = p.top_k > 0 ? std::min<int64_t>(p.top_k, V) : V;
  cand.resize(static_cast<size_t>(V));
  for (int64_t v = 0; v < V; ++v) cand[v] = {key(x[v]), static_cast<int32_t>(v)};
  auto before = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.index < b.index);
  };
  if (k < V) {
    std::partial_sort(cand.begin(), cand.begin() + k, cand.end(), before);
  } else {
    std::sort(cand.begin(), cand.end(), before);
  }
  // 2. Unnormalized probabilities relative to the top candidate, prefix-summed in candidate order:
  //    cum[j] = sum_{i <= j} exp(z_i - z_0),  z_i = double(logit_i) / temperature, all in double.
  const double top = cand[0].logit / p.temperature;
  cum.resize(static_cast<size_t>(k));
  double run = 0;
  for (int64_t j = 0; j < k; ++j) {
    run += std::exp(cand[j].logit / p.temperature - top);
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
    if (cum[j] > u) return cand[j].index;
  return cand[n - 1].index;  // u * mass rounded up to the mass itself: the last kept candidate
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
      std::vector<Candidate> cand;
      std::vector<double> cum;
#pragma omp for schedule(static)
      for (int64_t b = 0; b < B; ++b) {
        const T* x = px + b * ls;
        pt[b * ts] = params.temperature <= 0 ? greedy(x, V)
                                             : sample_row(x, V, params, seed, static_cast<uint64_t>(b), step, cand, cum);
      }
    }
  });
}

}  // namespace ms::cpu
