// Causality of the Mamba-UNet on the CPU: logits[s] depend on ids[0 .. s] only, and the up-pool's shift is
// exactly p - 1 (the tightest causal one). tests/cuda/test_pool_unet.cpp runs the same checks on a GPU.
#include <string>

#include "tests/model/unet_causality.h"

namespace ms::test {
namespace {

class UNetCausal : public testing::TestWithParam<SsmKind> {};

TEST_P(UNetCausal, LogitsDependOnPastAndPresentTokensOnly) {
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::f64}) {
    MambaUNet m = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64(), {4, 4}, 1), dt);
    perturb_store(m.params, rng, 0.1);
    expect_causal(m, rng, 64);
  }
  MambaUNet m3 = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64(), {2, 3, 2}, 1), DType::f32);
  expect_causal(m3, rng, 48);
}

TEST_P(UNetCausal, UpPoolShiftIsExactlyOneLessThanTheFactor) {
  Rng rng(test_seed());
  for (const std::vector<int64_t>& pool : {std::vector<int64_t>{4, 4}, std::vector<int64_t>{3, 2}}) {
    MambaUNet m = make_mamba_unet(no_outer_blocks(tiny_unet_config(GetParam(), rng.next_u64(), pool, 1)), DType::f64);
    perturb_store(m.params, rng, 0.1);
    expect_exact_shift(m, rng, 2 * m.cfg.total_pool());
  }
}

INSTANTIATE_TEST_SUITE_P(Model, UNetCausal, testing::Values(SsmKind::real, SsmKind::complex),
                         [](const testing::TestParamInfo<SsmKind>& i) { return std::string(ssm_kind_name(i.param)); });

}  // namespace
}  // namespace ms::test
