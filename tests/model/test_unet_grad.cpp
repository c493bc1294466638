// Finite-difference gradient checks (f64) of a whole Mamba-UNet (pooling [2, 2], one block per stack, real and
// complex SSM) through the head and cross-entropy with ignored targets; also with empty stacks.
#include <string>

#include "tests/model/unet_test_util.h"

namespace ms::test {
namespace {

Tensor with_ignored(const Tensor& targets, Rng& rng, double share) {
  Tensor t = targets.clone();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (rng.uniform() < share) t.set_item(i, kIgnoreIndex);
  return t;
}

// Five-point differences with eps 1e-3, as the MambaLM check: the mean cross-entropy's rounding noise needs the
// larger step, and the truncation error stays far below the tolerance.
constexpr double kEps = 1e-3;

void check_unet_grads(MambaUNet& m, Rng& rng, int64_t Bsz, int64_t L, int samples, double tol) {
  Tensor ids = rand_ints({Bsz, L}, rng, 0, m.vocab());
  Tensor targets = with_ignored(rand_ints({Bsz, L}, rng, 0, m.vocab()), rng, 0.2);
  auto loss = [&]() { return unet_loss(m, ids, targets).loss; };
  zero_grad(m.params);
  const LossResult r = unet_forward_backward(m, ids, targets);
  EXPECT_NEAR(r.loss, loss(), 1e-12);
  EXPECT_GT(r.n_valid, 0);
  std::vector<Tensor> ana;
  for (const Param& p : m.params.params) ana.push_back(p.grad.clone());
  for (size_t i = 0; i < m.params.size(); ++i) {
    const Param& p = m.params.params[i];
    // The embedding's gradient lives in the rows of the ids used: check those rows.
    if (p.name == "unet.embedding.weight") {
      const int64_t dm = p.value.size(1);
      for (int s = 0; s < 3; ++s) {
        const int64_t row = static_cast<int64_t>(ids.item(static_cast<int64_t>(rng.below(ids.numel()))));
        EXPECT_LT(grad_check5(loss, p.value.slice(0, row, row + 1), ana[i].slice(0, row, row + 1), rng, dm, kEps), tol)
            << p.name << " row " << row;
      }
      continue;
    }
    EXPECT_LT(grad_check5(loss, p.value, ana[i], rng, samples, kEps), tol) << p.name;
  }
}

class UNetGrad : public testing::TestWithParam<SsmKind> {};

TEST_P(UNetGrad, WholeModelMatchesFiniteDifferences) {
  Rng rng(test_seed());
  MambaUNet m = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64(), {2, 2}, 1), DType::f64);
  perturb_store(m.params, rng, 0.2);
  // embedding, 5 blocks (norm + mixer), 2 x 2 pool weights, norm_f, lm_head
  const size_t mixer = GetParam() == SsmKind::complex ? 10 : 9;
  EXPECT_EQ(m.params.size(), 1 + 5 * (1 + mixer) + 4 + 2);
  check_unet_grads(m, rng, 2, 12, 8, 1e-5);
}

// Empty stacks (a level without down or up blocks) route the gradient straight through.
TEST_P(UNetGrad, EmptyStacksMatchFiniteDifferences) {
  Rng rng(test_seed());
  UNetConfig cfg = tiny_unet_config(GetParam(), rng.next_u64(), {2, 3}, 1);
  cfg.down_layers = {0, 1};
  cfg.up_layers = {1, 0};
  cfg.center_layers = 0;
  MambaUNet m = make_mamba_unet(cfg, DType::f64);
  perturb_store(m.params, rng, 0.2);
  check_unet_grads(m, rng, 2, 12, 6, 1e-5);
}

TEST_P(UNetGrad, GradientsAccumulateAcrossCalls) {
  Rng rng(test_seed());
  MambaUNet m = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64()), DType::f64);
  Tensor ids = rand_ints({2, 8}, rng, 0, 256), targets = rand_ints({2, 8}, rng, 0, 256);
  expect_gradients_accumulate(m.params,
                              [&](double scale) { unet_forward_backward(m, ids, targets, kIgnoreIndex, scale); });
}

INSTANTIATE_TEST_SUITE_P(Model, UNetGrad, testing::Values(SsmKind::real, SsmKind::complex),
                         [](const testing::TestParamInfo<SsmKind>& i) { return std::string(ssm_kind_name(i.param)); });

}  // namespace
}  // namespace ms::test
