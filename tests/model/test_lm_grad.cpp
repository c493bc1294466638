// Finite-difference gradient checks (f64) of a whole 2-layer MambaLM (real and complex SSM) through the tied
// LM head and cross-entropy with ignored targets, and of the classification head (mean and last pooling).
#include <string>

#include "model/classifier.h"
#include "tests/model/model_test_util.h"

namespace ms::test {
namespace {

Tensor with_ignored(const Tensor& targets, Rng& rng, double share) {
  Tensor t = targets.clone();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (rng.uniform() < share) t.set_item(i, kIgnoreIndex);
  return t;
}

// Five-point differences with eps 1e-3 (the mean cross-entropy's rounding noise needs the larger step; the
// truncation error stays below 1e-6 here), against every parameter tensor.
void check_all_params(MambaLM& m, const std::function<double()>& loss, Rng& rng, int samples, double tol) {
  std::vector<Tensor> ana;
  for (const Param& p : m.params.params) ana.push_back(p.grad.clone());
  for (size_t i = 0; i < m.params.size(); ++i) {
    const Param& p = m.params.params[i];
    EXPECT_LT(grad_check5(loss, p.value, ana[i], rng, samples, 1e-3), tol) << p.name;
  }
}

class LmGrad : public testing::TestWithParam<SsmKind> {};

TEST_P(LmGrad, WholeModelMatchesFiniteDifferences) {
  Rng rng(test_seed());
  MambaLM m = make_mamba_lm(tiny_config(GetParam(), rng.next_u64()), DType::f64);
  perturb_params(m, rng, 0.2);
  const int64_t Bsz = 2, L = 17;
  Tensor ids = rand_ints({Bsz, L}, rng, 0, m.cfg.vocab_size);
  Tensor targets = with_ignored(rand_ints({Bsz, L}, rng, 0, m.cfg.vocab_size), rng, 0.2);
  auto loss = [&]() { return lm_loss(m, ids, targets).loss; };

  zero_grad(m.params);
  const LossResult r = lm_forward_backward(m, ids, targets);
  EXPECT_NEAR(r.loss, loss(), 1e-12);
  EXPECT_GT(r.n_valid, 0);
  EXPECT_LT(r.n_valid, Bsz * L);  // some ignored
  EXPECT_EQ(m.params.size(), static_cast<size_t>(2 + 2 * (GetParam() == SsmKind::complex ? 11 : 10)));
  check_all_params(m, loss, rng, 12, 1e-5);
}

// Gradients of several calls add up: two half-weighted calls equal one call.
TEST_P(LmGrad, GradientsAccumulateAcrossCalls) {
  Rng rng(test_seed());
  MambaLM m = make_mamba_lm(tiny_config(GetParam(), rng.next_u64()), DType::f64);
  Tensor ids = rand_ints({2, 9}, rng, 0, m.cfg.vocab_size);
  Tensor targets = rand_ints({2, 9}, rng, 0, m.cfg.vocab_size);
  expect_gradients_accumulate(m.params,
                              [&](double scale) { lm_forward_backward(m, ids, targets, kIgnoreIndex, scale); });
}

INSTANTIATE_TEST_SUITE_P(Model, LmGrad, testing::Values(SsmKind::real, SsmKind::complex),
                         [](const testing::TestParamInfo<SsmKind>& i) { return std::string(ssm_kind_name(i.param)); });

class ClassifierGrad : public testing::TestWithParam<Pooling> {};

TEST_P(ClassifierGrad, MatchesFiniteDifferences) {
  Rng rng(test_seed());
  MambaLM m = make_mamba_lm(tiny_config(SsmKind::real, rng.next_u64()), DType::f64);
  const ClassifierHead head = add_classifier_head(m, 3, GetParam(), rng.next_u64());
  perturb_params(m, rng, 0.2);
  Tensor ids = rand_ints({3, 13}, rng, 0, m.cfg.vocab_size);
  Tensor labels = rand_ints({3}, rng, 0, 3);
  auto loss = [&]() { return classifier_evaluate(m, head, ids, labels).loss.loss; };
  zero_grad(m.params);
  const ClassifyResult r = classifier_forward_backward(m, head, ids, labels);
  EXPECT_NEAR(r.loss.loss, loss(), 1e-12);
  // Chunked evaluation (mean pooling accumulated over chunks, last token from the last chunk) is the same.
  EXPECT_NEAR(classifier_evaluate(m, head, ids, labels, 4).loss.loss, r.loss.loss, 1e-12);
  check_all_params(m, loss, rng, 8, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Model, ClassifierGrad, testing::Values(Pooling::mean, Pooling::last),
                         [](const testing::TestParamInfo<Pooling>& i) { return std::string(pooling_name(i.param)); });

}  // namespace
}  // namespace ms::test
