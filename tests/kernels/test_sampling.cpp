// CPU token sampling: greedy is argmax, top_k = 1 is greedy, empirical frequencies over many steps match
// the renormalized (temperature / top-k / top-p) probabilities, every draw equals an independent
// implementation of the documented rule, determinism for a fixed (seed, step), argument checks.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "kernels/random.h"
#include "kernels/sampling.h"
#include "tests/kernels/kernel_test_util.h"

namespace ms {
namespace {

using test::values;

// The probabilities sampling.h promises for one row, computed naively in double.
std::vector<double> target_probs(const std::vector<double>& x, const SamplingParams& p) {
  const int64_t V = static_cast<int64_t>(x.size());
  std::vector<int64_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return x[a] > x[b]; });
  const double mx = x[order[0]];
  std::vector<double> prob(V, 0.0);
  double z = 0;
  for (int64_t v = 0; v < V; ++v) z += std::exp((x[v] - mx) / p.temperature);
  const int64_t k = p.top_k > 0 ? std::min<int64_t>(p.top_k, V) : V;
  double kept_mass = 0;
  for (int64_t j = 0; j < k; ++j) kept_mass += std::exp((x[order[j]] - mx) / p.temperature) / z;
  double cum = 0;
  int64_t n = 0;
  for (; n < k; ++n) {
    if (p.top_p < 1 && cum >= p.top_p * kept_mass) break;
    cum += std::exp((x[order[n]] - mx) / p.temperature) / z;
  }
  for (int64_t j = 0; j < n; ++j) prob[order[j]] = std::exp((x[order[j]] - mx) / p.temperature) / z / cum;
  return prob;
}

// The documented draw, written independently: walk candidates by descending probability and take the first
// whose cumulative (renormalized) probability exceeds u.
int64_t reference_draw(const std::vector<double>& x, const SamplingParams& p, uint64_t seed, uint64_t row,
                       uint64_t step) {
  const std::vector<double> prob = target_probs(x, p);
  std::vector<int64_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return x[a] > x[b]; });
  const double u = random_uniform(seed, row, step);
  double cum = 0;
  int64_t last = order[0];
  for (int64_t v : order) {
    if (prob[v] == 0) continue;
    cum += prob[v];
    last = v;
    if (cum > u) return v;
  }
  return last;
}

TEST(Sampling, GreedyIsArgmaxWithLowestIndexOnTies) {
  Rng rng(test::test_seed());
  for (DType dt : test::float_dtypes()) {
    const int64_t B = 6, V = 29;
    Tensor logits = test::rand_row_strided({B, V}, rng, dt);
    logits.set_item(V + 4, 5.0);
    logits.set_item(V + 17, 5.0);  // row 1: tie
    Tensor tokens = Tensor::empty({B}, DType::i32);
    test::poison(tokens);
    SamplingParams p;
    p.temperature = 0;
    sample_tokens(logits, p, 7, 0, tokens);
    const std::vector<double> x = values(logits);
    for (int64_t b = 0; b < B; ++b) {
      const auto best = std::max_element(x.begin() + b * V, x.begin() + (b + 1) * V) - (x.begin() + b * V);
      EXPECT_EQ(tokens.item(b), best) << "row " << b;
    }
    EXPECT_EQ(tokens.item(1), 4);
    // top_k = 1 is greedy at any temperature, for any seed and step.
    Tensor t2 = Tensor::empty({B}, DType::i32);
    p.temperature = 1.7;
    p.top_k = 1;
    for (uint64_t step = 0; step < 20; ++step) {
      sample_tokens(logits, p, 99, step, t2);
      EXPECT_EQ(values(t2), values(tokens));
    }
  }
}

// Samples `steps` times from B identical rows and compares token frequencies with target_probs.
void check_frequencies(const std::vector<double>& row, const SamplingParams& p, const std::string& what) {
  const int64_t B = 16, V = static_cast<int64_t>(row.size()), steps = 1500;
  Tensor logits = Tensor::empty({B, V});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t v = 0; v < V; ++v) logits.set_item(b * V + v, row[v]);
  const std::vector<double> xr = values(logits.select(0, 0));  // the f32-rounded logits
  const std::vector<double> want = target_probs(xr, p);
  std::vector<double> count(V, 0.0);
  Tensor tokens = Tensor::empty({B}, DType::i32);
  for (int64_t step = 0; step < steps; ++step) {
    sample_tokens(logits, p, 12345, static_cast<uint64_t>(step), tokens);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t t = static_cast<int64_t>(tokens.item(b));
      ASSERT_TRUE(t >= 0 && t < V) << what;
      count[t] += 1;
      if (step < 50) {
        ASSERT_EQ(t, reference_draw(xr, p, 12345, b, step)) << what << " step " << step << " row " << b;
      }
    }
  }
  const double n = static_cast<double>(B * steps);
  for (int64_t v = 0; v < V; ++v) {
    const double freq = count[v] / n, sd = std::sqrt(want[v] * (1 - want[v]) / n);
    if (want[v] == 0) {
      EXPECT_EQ(count[v], 0.0) << what << ": token " << v << " is outside the kept set";
    } else {
      EXPECT_NEAR(freq, want[v], 5 * sd + 1e-9) << what << ": token " << v;
    }
  }
}

TEST(Sampling, FrequenciesMatchTheRenormalizedDistribution) {
  // Probabilities 0.40 0.25 0.15 0.10 0.06 0.04 placed at scrambled indices.
  const std::vector<double> probs{0.10, 0.40, 0.04, 0.15, 0.25, 0.06};
  std::vector<double> logits;
  for (double q : probs) logits.push_back(std::log(q));
  SamplingParams p;
  check_frequencies(logits, p, "plain");
  p.temperature = 0.6;
  check_frequencies(logits, p, "temperature 0.6");
  p.temperature = 1;
  p.top_p = 0.7;  // 0.40 + 0.25 = 0.65 < 0.7, + 0.15 reaches it: nucleus {1, 4, 3}
  check_frequencies(logits, p, "top_p 0.7");
  const std::vector<double> nucleus = target_probs(logits, p);
  EXPECT_NEAR(nucleus[1], 0.40 / 0.80, 1e-6);
  EXPECT_EQ(nucleus[0], 0.0);
  p.top_p = 1;
  p.top_k = 2;
  p.temperature = 2.0;
  check_frequencies(logits, p, "top_k 2, temperature 2");
  p.top_k = 4;
  p.top_p = 0.5;  // within the top 4 (mass 0.90): 0.40 < 0.45, 0.65 reaches it: {1, 4}
  p.temperature = 1;
  check_frequencies(logits, p, "top_k 4 + top_p 0.5");
  EXPECT_EQ(target_probs(logits, p)[3], 0.0);
}

TEST(Sampling, DeterministicForAFixedSeedAndStep) {
  Rng rng(test::test_seed());
  const int64_t B = 64, V = 40;
  Tensor logits = test::rand_normal({B, V}, rng, 2.0);
  SamplingParams p;
  p.temperature = 0.9;
  p.top_p = 0.95;
  Tensor a = Tensor::empty({B}, DType::i32), b = Tensor::empty({B}, DType::i32), c = Tensor::empty({B}, DType::i32);
  sample_tokens(logits, p, 5, 17, a);
  sample_tokens(logits, p, 5, 17, b);
  sample_tokens(logits, p, 5, 18, c);
  EXPECT_EQ(values(a), values(b));
  EXPECT_NE(values(a), values(c));  // 64 rows at a fresh step: some token changes
  // f64 logits holding the same values pick the same tokens.
  Tensor d = Tensor::empty({B}, DType::i32);
  sample_tokens(logits.to(DType::f64), p, 5, 17, d);
  EXPECT_EQ(values(a), values(d));
}

TEST(Sampling, RejectsBadArguments) {
  Tensor logits = Tensor::zeros({3, 5});
  SamplingParams p;
  EXPECT_THROW(sample_tokens(logits, p, 0, 0, Tensor::empty({3}, DType::i64)), Error);
  EXPECT_THROW(sample_tokens(logits, p, 0, 0, Tensor::empty({4}, DType::i32)), Error);
  EXPECT_THROW(sample_tokens(Tensor::zeros({5}), p, 0, 0, Tensor::empty({1}, DType::i32)), Error);
  EXPECT_THROW(sample_tokens(logits.to(DType::bf16), p, 0, 0, Tensor::empty({3}, DType::i32)), Error);
  EXPECT_THROW(sample_tokens(Tensor::zeros({3, 0}), p, 0, 0, Tensor::empty({3}, DType::i32)), Error);
}

}  // namespace
}  // namespace ms
