// Recurrent inference and long-sequence processing agree with the parallel forward:
//   step mode over 512 tokens, prefill + step, chunked forward, greedy generation.
#include "model/generation.h"
#include "tests/model/model_test_util.h"

namespace ms::test {
namespace {

class StepMode : public testing::TestWithParam<SsmKind> {};

TEST_P(StepMode, ReproducesParallelLogitsOver512Steps) {
  Rng rng(test_seed());
  MambaLM m = make_mamba_lm(tiny_config(GetParam(), rng.next_u64()), DType::f32);
  perturb_params(m, rng, 0.1);
  const int64_t Bsz = 3, L = 512, V = m.vocab();
  Tensor ids = rand_ints({Bsz, L}, rng, 0, m.cfg.vocab_size);
  Tensor parallel = lm_logits(m, ids);

  InferenceState st = make_inference_state(m, Bsz);
  Tensor stepped = Tensor::empty({Bsz, L, V});
  poison(stepped);
  for (int64_t t = 0; t < L; ++t) {
    Tensor tok = ids.select(1, t).contiguous();
    stepped.select(1, t).copy_(lm_step(m, st, tok));
  }
  EXPECT_EQ(st.backbone.position, L);
  printf("step vs parallel over %ld steps: max|diff|/max|logit| %.3g, rel L2 %.3g, elementwise %.3g\n", (long)L,
         max_abs_rel(stepped, parallel), rel_l2_error(stepped, parallel), max_rel_error(stepped, parallel));
  EXPECT_LT(max_abs_rel(stepped, parallel), 1e-5);
  EXPECT_LT(rel_l2_error(stepped, parallel), 1e-5);
}

TEST_P(StepMode, PrefillThenStepContinuesTheSequence) {
  Rng rng(test_seed());
  MambaLM m = make_mamba_lm(tiny_config(GetParam(), rng.next_u64()), DType::f32);
  perturb_params(m, rng, 0.1);
  const int64_t Bsz = 2, L = 40, V = m.vocab();
  Tensor ids = rand_ints({Bsz, L}, rng, 0, m.cfg.vocab_size);
  Tensor parallel = lm_logits(m, ids);
  for (int64_t prompt_len : {1, 2, 3, 25}) {
    InferenceState st = make_inference_state(m, Bsz);
    Tensor got = Tensor::empty({Bsz, L - prompt_len + 1, V});
    got.select(1, 0).copy_(lm_prefill(m, st, ids.slice(1, 0, prompt_len).contiguous()));
    for (int64_t t = prompt_len; t < L; ++t)
      got.select(1, t - prompt_len + 1).copy_(lm_step(m, st, ids.select(1, t).contiguous()));
    EXPECT_LT(max_abs_rel(got, parallel.slice(1, prompt_len - 1, L)), 1e-5) << "prompt " << prompt_len;
  }
}

TEST_P(StepMode, ChunkedForwardEqualsFullForward) {
  Rng rng(test_seed());
  struct Run { int64_t len; std::vector<int64_t> chunks; };
  // Chunks shorter than the conv's K-1 = 3 carried inputs, and chunks across the scan's own chunking.
  const std::vector<Run> runs = {{30, {1, 2}}, {600, {3, 64, 257}}};
  for (DType dt : {DType::f64, DType::f32}) {
    MambaLM m = make_mamba_lm(tiny_config(GetParam(), rng.next_u64()), dt);
    perturb_params(m, rng, 0.1);
    for (const Run& run : runs) {
      const int64_t Bsz = 2;
      Tensor ids = rand_ints({Bsz, run.len}, rng, 0, m.cfg.vocab_size);
      Tensor targets = rand_ints({Bsz, run.len}, rng, 0, m.cfg.vocab_size);
      Tensor full = lm_logits(m, ids);
      const LossResult full_loss = lm_loss(m, ids, targets);
      const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
      for (int64_t chunk : run.chunks) {
        const Tensor chunked = lm_logits(m, ids, chunk);
        EXPECT_LT(max_abs_rel(chunked, full), tol) << dtype_name(dt) << " chunk " << chunk;
        const LossResult r = lm_loss(m, ids, targets, kIgnoreIndex, chunk);
        EXPECT_NEAR(r.loss, full_loss.loss, tol * full_loss.loss);
        EXPECT_EQ(r.n_valid, full_loss.n_valid);
        if (dt == DType::f64) {
          EXPECT_EQ(r.n_correct, full_loss.n_correct);  // an f32 argmax may flip on a near-tie
        }
      }
    }
  }
}

TEST_P(StepMode, GreedyGenerationFollowsTheParallelArgmax) {
  Rng rng(test_seed());
  MambaLM m = make_mamba_lm(tiny_config(GetParam(), rng.next_u64()), DType::f32);
  perturb_params(m, rng, 0.5);
  const int64_t Bsz = 3, P = 5, n_new = 30;
  Tensor prompt = rand_ints({Bsz, P}, rng, 0, m.cfg.vocab_size);
  GenerateOptions opt;
  opt.sampling.temperature = 0;
  Tensor gen = generate(m, prompt, n_new, opt);
  ASSERT_EQ(gen.shape(), (Shape{Bsz, n_new}));
  // Teacher-force prompt ++ generated through the parallel forward: each generated token is the argmax.
  Tensor seq = Tensor::empty({Bsz, P + n_new}, DType::i32);
  seq.slice(1, 0, P).copy_(prompt);
  seq.slice(1, P, P + n_new).copy_(gen);
  Tensor logits = lm_logits(m, seq);
  int checked = 0;
  for (int64_t b = 0; b < Bsz; ++b) {
    for (int64_t i = 0; i < n_new; ++i) {
      Tensor row = logits.select(0, b).select(0, P - 1 + i);
      int64_t best = 0;
      for (int64_t v = 1; v < row.numel(); ++v)
        if (row.item(v) > row.item(best)) best = v;
      // Skip near-ties, where float rounding between the two paths may legitimately flip the argmax.
      double second = -1e30;
      for (int64_t v = 0; v < row.numel(); ++v)
        if (v != best) second = std::max(second, row.item(v));
      if (row.item(best) - second < 1e-4) continue;
      EXPECT_EQ(gen.item(b * n_new + i), best) << "batch " << b << " token " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, Bsz * n_new / 2);
}

TEST_P(StepMode, SampledGenerationIsReproducibleAndSeeded) {
  Rng rng(test_seed());
  MambaLM m = make_mamba_lm(tiny_config(GetParam(), rng.next_u64()), DType::f32);
  perturb_params(m, rng, 0.5);
  Tensor prompt = rand_ints({4, 3}, rng, 0, m.cfg.vocab_size);
  GenerateOptions opt;
  opt.sampling.temperature = 1.0;
  opt.sampling.top_k = 5;
  opt.sampling.top_p = 0.9;
  opt.seed = 77;
  Tensor a = generate(m, prompt, 40, opt), b = generate(m, prompt, 40, opt);
  EXPECT_EQ(max_rel_error(a.to(DType::f64), b.to(DType::f64)), 0.0);
  opt.seed = 78;
  Tensor c = generate(m, prompt, 40, opt);
  EXPECT_GT(rel_l2_error(a.to(DType::f64), c.to(DType::f64)), 0.0);
  for (int64_t i = 0; i < a.numel(); ++i) {
    ASSERT_GE(a.item(i), 0);
    ASSERT_LT(a.item(i), m.vocab());
  }
}

INSTANTIATE_TEST_SUITE_P(Model, StepMode, testing::Values(SsmKind::real, SsmKind::complex),
                         [](const testing::TestParamInfo<SsmKind>& i) { return std::string(ssm_kind_name(i.param)); });

}  // namespace
}  // namespace ms::test
