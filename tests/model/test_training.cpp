// Training: a fixed-seed 20-step run is bit-identical twice and its loss falls; AdamW's weight-decay flags,
// clipping, NaN detection and checkpoint view; the small ops the model added (ssm_a, loss_stats).
#include <cmath>
#include <limits>

#include "kernels/loss_stats.h"
#include "kernels/ssm_a.h"
#include "model/optimizer.h"
#include "tests/model/model_test_util.h"

namespace ms::test {
namespace {

// A toy sequence: each row counts up by a row-specific stride modulo the vocabulary (x_t = x_0 + k t);
// predicting the next token needs the stride, read from the context.
void toy_batch(Rng& rng, int64_t Bsz, int64_t L, int64_t vocab, Tensor& ids, Tensor& targets) {
  ids = Tensor::empty({Bsz, L}, DType::i32);
  targets = Tensor::empty({Bsz, L}, DType::i32);
  for (int64_t b = 0; b < Bsz; ++b) {
    const int64_t x0 = static_cast<int64_t>(rng.below(vocab)), k = 1 + static_cast<int64_t>(rng.below(3));
    for (int64_t t = 0; t < L; ++t) {
      ids.set_item(b * L + t, static_cast<double>((x0 + k * t) % vocab));
      targets.set_item(b * L + t, static_cast<double>((x0 + k * (t + 1)) % vocab));
    }
  }
}

std::vector<double> train_run(uint64_t seed, SsmKind ssm, int steps) {
  MambaConfig c = tiny_config(ssm, seed);
  c.d_model = 32;
  MambaLM m = make_mamba_lm(c);
  AdamWConfig oc;
  oc.lr = 1e-2;
  AdamW opt = make_adamw(m.params, oc, warmup_cosine_schedule(1e-2, 3, steps, 1e-3));
  Rng data(seed, 99);
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    Tensor ids, targets;
    toy_batch(data, 4, 48, c.vocab_size, ids, targets);
    zero_grad(m.params);
    losses.push_back(lm_forward_backward(m, ids, targets).loss);
    adamw_step(opt, m.params);
  }
  return losses;
}

TEST(Model, TwentyStepTrainingIsBitIdenticalAndLearns) {
  const uint64_t seed = test_seed();
  for (SsmKind ssm : {SsmKind::real, SsmKind::complex}) {
    const std::vector<double> a = train_run(seed, ssm, 20), b = train_run(seed, ssm, 20);
    ASSERT_EQ(a.size(), 20u);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << ssm_kind_name(ssm) << " step " << i;
    double first = (a[0] + a[1]) / 2, last = (a[18] + a[19]) / 2;
    EXPECT_LT(last, 0.8 * first) << ssm_kind_name(ssm) << ": loss " << first << " -> " << last;
  }
}

TEST(Model, AdamWDecaysOnlyFlaggedParametersAndClips) {
  ParamStore s;
  const int a = s.add("a", {3}, DType::f64, Device::cpu, true);
  const int b = s.add("b", {3}, DType::f64, Device::cpu, false);
  s.value(a).fill_(2.0);
  s.value(b).fill_(2.0);
  AdamWConfig cfg;
  cfg.lr = 0.1;
  cfg.weight_decay = 0.5;
  AdamW opt = make_adamw(s, cfg);
  zero_grad(s);
  const OptimStepInfo info = adamw_step(opt, s);  // zero gradients: only decay moves anything
  EXPECT_EQ(info.step, 1);
  EXPECT_DOUBLE_EQ(s.value(a).item(0), 2.0 * (1 - 0.1 * 0.5));
  EXPECT_DOUBLE_EQ(s.value(b).item(0), 2.0);

  // Clipping: a gradient of norm 10 with max_grad_norm 1 is scaled to norm ~1.
  s.grad(a).fill_(10.0 / std::sqrt(3.0));
  const OptimStepInfo clipped = adamw_step(opt, s);
  EXPECT_NEAR(clipped.grad_norm, 10.0, 1e-12);
  EXPECT_NEAR(clipped.clip_scale, 0.1, 1e-6);
  EXPECT_NEAR(opt.m[static_cast<size_t>(a)].item(0), 0.1 * (10.0 / std::sqrt(3.0)) * clipped.clip_scale, 1e-12);

  // Checkpoint view.
  const auto state = optimizer_state(opt, s);
  ASSERT_EQ(state.size(), 4u);
  EXPECT_EQ(state[0].first, "optim/a/m");
  EXPECT_EQ(state[3].first, "optim/b/v");
  AdamW restored = make_adamw(s, cfg);
  load_optimizer_state(restored, s, [&](const std::string& n) {
    for (const auto& [k, v] : state) if (k == n) return v;
    return Tensor();
  }, opt.step);
  EXPECT_EQ(restored.step, 2);
  EXPECT_EQ(rel_l2_error(restored.m[0], opt.m[0]), 0.0);
  EXPECT_THROW(load_optimizer_state(restored, s, [](const std::string&) { return Tensor(); }, 2), Error);
}

TEST(Model, NonFiniteGradientIsAClearError) {
  ParamStore s;
  s.add("good", {2}, DType::f32, Device::cpu, true);
  const int bad = s.add("backbone.bad", {2}, DType::f32, Device::cpu, true);
  AdamW opt = make_adamw(s, AdamWConfig{});
  s.grad(bad).set_item(1, std::numeric_limits<double>::quiet_NaN());
  try {
    adamw_step(opt, s);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backbone.bad"), std::string::npos) << e.what();
  }
}

TEST(Model, NonFiniteLossIsAClearError) {
  MambaLM m = make_mamba_lm(tiny_config(SsmKind::real, 1));
  m.params.get("backbone.norm_f.weight").value.fill_(std::numeric_limits<double>::infinity());
  Tensor ids = Tensor::zeros({1, 4}, DType::i32), targets = Tensor::zeros({1, 4}, DType::i32);
  EXPECT_THROW(lm_forward_backward(m, ids, targets), Error);
}

TEST(Model, SsmAOpAndItsGradient) {
  Rng rng(test_seed());
  for (bool cplx : {false, true}) {
    Tensor a_log = rand_uniform({5, 3}, rng, -1, 1, DType::f64);
    Tensor a_im = cplx ? rand_uniform({5, 3}, rng, -3, 3, DType::f64) : Tensor();
    const Shape as = cplx ? Shape{5, 3, 2} : Shape{5, 3};
    Tensor A = Tensor::empty(as, DType::f64);
    poison(A);
    ssm_a_forward(a_log, a_im, A);
    for (int64_t i = 0; i < 15; ++i) {
      EXPECT_DOUBLE_EQ(A.item(cplx ? 2 * i : i), -std::exp(a_log.item(i)));
      if (cplx) {
        EXPECT_DOUBLE_EQ(A.item(2 * i + 1), a_im.item(i));
      }
    }
    Tensor weights = rand_normal(as, rng, 1.0, DType::f64);
    Tensor g_log = Tensor::zeros({5, 3}, DType::f64), g_im = cplx ? Tensor::zeros({5, 3}, DType::f64) : Tensor();
    ssm_a_backward(A, weights, g_log, g_im);
    auto loss = [&] {
      Tensor out = Tensor::empty(as, DType::f64);
      ssm_a_forward(a_log, a_im, out);
      return dot(out, weights);
    };
    EXPECT_LT(grad_check5(loss, a_log, g_log, rng), 1e-8);
    if (cplx) {
      EXPECT_LT(grad_check5(loss, a_im, g_im, rng), 1e-8);
    }
  }
}

TEST(Model, LossStatsCountsValidAndCorrectRows) {
  Tensor losses = Tensor::from<float>({1.f, 2.f, 4.f, 8.f}, {4});
  Tensor targets = Tensor::from<int32_t>({0, kIgnoreIndex, 2, 3}, {4});
  Tensor pred = Tensor::from<int32_t>({0, 1, 1, 3}, {4});
  const LossStats s = loss_stats(losses, targets, pred, kIgnoreIndex);
  EXPECT_EQ(s.loss_sum, 13.0);
  EXPECT_EQ(s.n_valid, 3);
  EXPECT_EQ(s.n_correct, 2);
}

}  // namespace
}  // namespace ms::test
