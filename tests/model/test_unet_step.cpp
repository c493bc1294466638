// Step mode and chunked processing of the Mamba-UNet agree with the parallel forward: 4096 samples one at a
// time through pooling [4, 4], prefill (aligned and not) + step, chunked logits and loss, greedy generation.
#include <string>
#include <utility>
#include <vector>

#include "tests/model/unet_test_util.h"

namespace ms::test {
namespace {

size_t state_bytes(const UNetState& st) {
  size_t n = 0;
  for (const UNetLevelState& ls : st.levels) {
    for (const auto* v : {&ls.down, &ls.up})
      for (const BlockState& b : *v) n += b.conv.nbytes() + b.ssm.nbytes();
    if (ls.pool_buf.defined()) n += ls.pool_buf.nbytes() + ls.up_buf.nbytes();
  }
  return n;
}

class UNetStep : public testing::TestWithParam<SsmKind> {};

TEST_P(UNetStep, ReproducesParallelLogitsOver4096Samples) {
  Rng rng(test_seed());
  MambaUNet m = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64(), {4, 4}, 1), DType::f32);
  perturb_store(m.params, rng, 0.1);
  const int64_t Bsz = 2, L = 4096, V = m.vocab();
  Tensor ids = rand_ints({Bsz, L}, rng, 0, V);
  Tensor parallel = unet_logits(m, ids);

  UNetInferenceState st = make_unet_inference_state(m, Bsz);
  const size_t bytes0 = state_bytes(st.state);
  Tensor stepped = Tensor::empty({Bsz, L, V});
  poison(stepped);
  for (int64_t t = 0; t < L; ++t) stepped.select(1, t).copy_(unet_step(m, st, ids.select(1, t).contiguous()));
  EXPECT_EQ(st.state.position, L);
  EXPECT_EQ(st.state.levels[1].position, L / 4);
  EXPECT_EQ(st.state.levels[2].position, L / 16);
  EXPECT_EQ(state_bytes(st.state), bytes0);  // bounded: nothing grows with the sequence
  const double worst = max_abs_rel(stepped, parallel), l2 = rel_l2_error(stepped, parallel);
  printf("unet step vs parallel over %ld samples (pool [4, 4]): max|diff|/max|logit| %.3g, rel L2 %.3g\n", (long)L,
         worst, l2);
  EXPECT_LT(worst, 1e-4);
  EXPECT_LT(l2, 1e-4);
  // The first outputs of each pooled step are where the step path differs most in structure: check them too.
  EXPECT_LT(max_abs_rel(stepped.slice(1, 0, 64), parallel.slice(1, 0, 64)), 1e-5);
}

// configs/digits_unet.toml's model size (widths 64/128/256, 8 blocks per stack, 16 states; 6.7 M
// parameters), the size the generated digits come from: step mode reproduces the parallel logits there too.
TEST_P(UNetStep, ReproducesParallelLogitsAtDigitsModelSize) {
  Rng rng(test_seed());
  UNetConfig cfg = tiny_unet_config(GetParam(), rng.next_u64(), {4, 4}, 8);
  cfg.d_model = 64;
  cfg.d_state = 16;
  cfg.dt_min = 0.001;
  cfg.dt_max = 0.1;
  MambaUNet m = make_mamba_unet(cfg, DType::f32);
  perturb_store(m.params, rng, 0.05);
  const int64_t Bsz = 2, L = 64;
  Tensor ids = rand_ints({Bsz, L}, rng, 0, m.vocab());
  Tensor parallel = unet_logits(m, ids);
  UNetInferenceState st = make_unet_inference_state(m, Bsz);
  Tensor stepped = Tensor::empty({Bsz, L, m.vocab()});
  poison(stepped);
  for (int64_t t = 0; t < L; ++t) stepped.select(1, t).copy_(unet_step(m, st, ids.select(1, t).contiguous()));
  EXPECT_LT(max_abs_rel(stepped, parallel), 1e-4);
  EXPECT_LT(rel_l2_error(stepped, parallel), 1e-4);
}

// Other level counts and factors (none: a plain Mamba stack; a factor of 1; three levels), batch 1 and 3.
TEST_P(UNetStep, ReproducesParallelLogitsForOtherPoolings) {
  Rng rng(test_seed());
  for (const std::vector<int64_t>& pool : {std::vector<int64_t>{}, {3}, {2, 1, 2}}) {
    for (int64_t Bsz : {1, 3}) {
      MambaUNet m = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64(), pool, 1), DType::f32);
      perturb_store(m.params, rng, 0.1);
      const int64_t L = 48;
      Tensor ids = rand_ints({Bsz, L}, rng, 0, m.vocab());
      Tensor parallel = unet_logits(m, ids);
      UNetInferenceState st = make_unet_inference_state(m, Bsz);
      Tensor stepped = Tensor::empty(parallel.shape());
      poison(stepped);
      for (int64_t t = 0; t < L; ++t) stepped.select(1, t).copy_(unet_step(m, st, ids.select(1, t).contiguous()));
      EXPECT_LT(max_abs_rel(stepped, parallel), 1e-5) << m.cfg.describe() << " batch " << Bsz;
    }
  }
}

TEST_P(UNetStep, PrefillThenStepContinuesTheSequence) {
  Rng rng(test_seed());
  MambaUNet m = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64(), {4, 2}, 1), DType::f32);
  perturb_store(m.params, rng, 0.1);
  const int64_t Bsz = 2, L = 48, V = m.vocab();  // total pool 8
  Tensor ids = rand_ints({Bsz, L}, rng, 0, V);
  Tensor parallel = unet_logits(m, ids);
  // Fresh prefills (aligned, partial, exactly whole blocks), and prefills from a state that is mid-block.
  for (const auto& [pre_steps, prompt_len] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 1}, {0, 5}, {0, 8}, {0, 16}, {0, 21}, {3, 2}, {3, 5}, {3, 22}, {9, 7}}) {
    UNetInferenceState st = make_unet_inference_state(m, Bsz);
    for (int64_t t = 0; t < pre_steps; ++t) unet_step(m, st, ids.select(1, t).contiguous());
    const int64_t start = pre_steps + prompt_len;
    Tensor got = Tensor::empty({Bsz, L - start + 1, V});
    got.select(1, 0).copy_(unet_prefill(m, st, ids.slice(1, pre_steps, start).contiguous()));
    for (int64_t t = start; t < L; ++t) got.select(1, t - start + 1).copy_(unet_step(m, st, ids.select(1, t).contiguous()));
    EXPECT_LT(max_abs_rel(got, parallel.slice(1, start - 1, L)), 1e-5)
        << "after " << pre_steps << " steps, prompt " << prompt_len;
  }
}

TEST_P(UNetStep, ChunkedForwardEqualsFullForward) {
  Rng rng(test_seed());
  for (DType dt : {DType::f64, DType::f32}) {
    MambaUNet m = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64(), {2, 4}, 2), dt);
    perturb_store(m.params, rng, 0.1);
    const int64_t Bsz = 2, L = 96;
    Tensor ids = rand_ints({Bsz, L}, rng, 0, m.vocab()), targets = rand_ints({Bsz, L}, rng, 0, m.vocab());
    Tensor full = unet_logits(m, ids);
    const LossResult full_loss = unet_loss(m, ids, targets);
    const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
    for (int64_t chunk : {8, 24, 64}) {
      EXPECT_LT(max_abs_rel(unet_logits(m, ids, chunk), full), tol) << dtype_name(dt) << " chunk " << chunk;
      const LossResult r = unet_loss(m, ids, targets, kIgnoreIndex, chunk);
      EXPECT_NEAR(r.loss, full_loss.loss, tol * full_loss.loss);
      EXPECT_EQ(r.n_valid, full_loss.n_valid);
    }
  }
}

TEST_P(UNetStep, GreedyGenerationFollowsTheParallelArgmax) {
  Rng rng(test_seed());
  MambaUNet m = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64(), {4, 4}, 1), DType::f32);
  perturb_store(m.params, rng, 0.5);
  const int64_t Bsz = 3, P = 5, n_new = 43;
  Tensor prompt = rand_ints({Bsz, P}, rng, 0, m.vocab());
  GenerateOptions opt;
  opt.sampling.temperature = 0;
  Tensor gen = unet_generate(m, prompt, n_new, opt);
  ASSERT_EQ(gen.shape(), (Shape{Bsz, n_new}));
  // Teacher-force prompt ++ generated (48 = 3 x 16 tokens) through the parallel forward.
  Tensor seq = Tensor::empty({Bsz, P + n_new}, DType::i32);
  seq.slice(1, 0, P).copy_(prompt);
  seq.slice(1, P, P + n_new).copy_(gen);
  Tensor logits = unet_logits(m, seq);
  int checked = 0;
  for (int64_t b = 0; b < Bsz; ++b) {
    for (int64_t i = 0; i < n_new; ++i) {
      Tensor row = logits.select(0, b).select(0, P - 1 + i);
      int64_t best = 0;
      double second = -1e30;
      for (int64_t v = 1; v < row.numel(); ++v)
        if (row.item(v) > row.item(best)) best = v;
      for (int64_t v = 0; v < row.numel(); ++v)
        if (v != best) second = std::max(second, row.item(v));
      if (row.item(best) - second < 1e-4) continue;  // a near-tie may flip between the two paths
      EXPECT_EQ(gen.item(b * n_new + i), best) << "batch " << b << " token " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, Bsz * n_new / 2);
}

TEST_P(UNetStep, SampledGenerationIsSeeded) {
  Rng rng(test_seed());
  MambaUNet m = make_mamba_unet(tiny_unet_config(GetParam(), rng.next_u64(), {2, 2}, 1), DType::f32);
  Tensor prompt = rand_ints({4, 3}, rng, 0, m.vocab());
  GenerateOptions opt;
  opt.sampling.temperature = 1.0;
  opt.sampling.top_p = 0.9;
  opt.seed = 5;
  Tensor a = unet_generate(m, prompt, 30, opt), b = unet_generate(m, prompt, 30, opt);
  EXPECT_EQ(max_rel_error(a.to(DType::f64), b.to(DType::f64)), 0.0);
  opt.seed = 6;
  EXPECT_GT(rel_l2_error(unet_generate(m, prompt, 30, opt).to(DType::f64), a.to(DType::f64)), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Model, UNetStep, testing::Values(SsmKind::real, SsmKind::complex),
                         [](const testing::TestParamInfo<SsmKind>& i) { return std::string(ssm_kind_name(i.param)); });

}  // namespace
}  // namespace ms::test
