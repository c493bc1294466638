// Parameter names, shapes and counts against mamba_ssm's MambaLMHeadModel, and the statistics of the
// initialization (dt range, S4D A, D, norms, projection bounds, embedding std).
#include <cmath>
#include <map>

#include "model/init.h"
#include "model/mamba_block.h"
#include "tests/model/model_test_util.h"

namespace ms::test {
namespace {

double min_of(const Tensor& t) {
  double v = 1e300;
  for (int64_t i = 0; i < t.numel(); ++i) v = std::min(v, t.item(i));
  return v;
}
double max_of(const Tensor& t) {
  double v = -1e300;
  for (int64_t i = 0; i < t.numel(); ++i) v = std::max(v, t.item(i));
  return v;
}
double mean_of(const Tensor& t) {
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += t.item(i);
  return s / static_cast<double>(t.numel());
}
double std_of(const Tensor& t) {
  const double mu = mean_of(t);
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += (t.item(i) - mu) * (t.item(i) - mu);
  return std::sqrt(s / static_cast<double>(t.numel()));
}

// mamba-130m's shapes (d_model 768, vocab 50277 padded to 50280, d_state 16, expand 2, dt_rank 48),
// with 2 layers instead of 24 to keep the test light; the per-layer count extrapolates to the published
// 129,135,360 parameters of the 24-layer model.
TEST(Model, ParameterNamesAndShapesMatchMambaSsm) {
  MambaConfig c;
  c.d_model = 768;
  c.n_layer = 2;
  c.vocab_size = 50277;
  MambaLM m = make_mamba_lm(c);
  std::map<std::string, Shape> want = {
      {"backbone.embedding.weight", {50280, 768}},
      {"backbone.norm_f.weight", {768}},
  };
  for (int i = 0; i < 2; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    want[p + "norm.weight"] = {768};
    want[p + "mixer.in_proj.weight"] = {3072, 768};
    want[p + "mixer.conv1d.weight"] = {1536, 4};  // PyTorch: (1536, 1, 4)
    want[p + "mixer.conv1d.bias"] = {1536};
    want[p + "mixer.x_proj.weight"] = {80, 1536};
    want[p + "mixer.dt_proj.weight"] = {1536, 48};
    want[p + "mixer.dt_proj.bias"] = {1536};
    want[p + "mixer.A_log"] = {1536, 16};
    want[p + "mixer.D"] = {1536};
    want[p + "mixer.out_proj.weight"] = {768, 1536};
  }
  std::map<std::string, Shape> got;
  for (const Param& p : m.params.params) got[p.name] = p.value.shape();
  EXPECT_EQ(got, want);
  // The tied head is an alias of the embedding, as in mamba_ssm's state_dict.
  EXPECT_EQ(m.params.index_of("lm_head.weight"), m.params.index_of("backbone.embedding.weight"));
  EXPECT_EQ(named_values(m.params, true).size(), want.size() + 1);
  const int64_t two_layers = count_parameters(m.params);
  EXPECT_EQ(two_layers, 46159104);
  const int64_t per_layer = 3771648;
  EXPECT_EQ(two_layers + 22 * per_layer, 129135360);  // mamba-130m
}

TEST(Model, ComplexSsmAddsAImagAndWiderXProj) {
  MambaLM m = make_mamba_lm(tiny_config(SsmKind::complex, 1));
  const int64_t D = m.cfg.d_inner(), N = m.cfg.d_state, R = m.cfg.resolved_dt_rank();
  EXPECT_EQ(m.params.get("backbone.layers.1.mixer.A_imag").value.shape(), (Shape{D, N}));
  EXPECT_EQ(m.params.get("backbone.layers.1.mixer.x_proj.weight").value.shape(), (Shape{R + 4 * N, D}));
  EXPECT_EQ(m.params.get("backbone.layers.0.mixer.A_imag").weight_decay, false);
}

TEST(Model, VocabularyIsPaddedAsMambaSsm) {
  MambaConfig c;
  for (auto [v, padded] : std::vector<std::pair<int64_t, int64_t>>{{5, 8}, {8, 8}, {16, 16}, {257, 264}}) {
    c.vocab_size = v;
    EXPECT_EQ(c.padded_vocab_size(), padded);
  }
  c.vocab_size = 0;
  EXPECT_THROW(c.validate(), Error);
}

TEST(Model, InitializationStatistics) {
  MambaConfig c;
  c.d_model = 64;
  c.n_layer = 4;
  c.vocab_size = 300;
  c.d_state = 16;
  c.seed = Rng(test_seed()).next_u64();
  MambaLM m = make_mamba_lm(c, DType::f64);
  const int64_t D = c.d_inner(), N = c.d_state, K = c.d_conv, R = c.resolved_dt_rank();
  ASSERT_EQ(R, 4);
  const std::string p = "backbone.layers.2.mixer.";
  // dt = softplus(dt_proj.bias) within [dt_min, dt_max], log-uniform (mean of log dt near the middle).
  const Tensor bias = m.params.get(p + "dt_proj.bias").value;
  double log_sum = 0;
  for (int64_t i = 0; i < D; ++i) {
    const double dt = std::log1p(std::exp(bias.item(i)));
    EXPECT_GE(dt, c.dt_min * (1 - 1e-9));
    EXPECT_LE(dt, c.dt_max * (1 + 1e-9));
    log_sum += std::log(dt);
  }
  EXPECT_NEAR(log_sum / D, 0.5 * (std::log(c.dt_min) + std::log(c.dt_max)), 0.4);
  EXPECT_NEAR(inverse_softplus(std::log1p(std::exp(0.3))), 0.3, 1e-12);
  // A_log = log(n + 1) for every channel (S4D-Real), D = 1, norms = 1.
  const Tensor a_log = m.params.get(p + "A_log").value;
  for (int64_t d = 0; d < D; d += 17)
    for (int64_t n = 0; n < N; ++n) EXPECT_DOUBLE_EQ(a_log.item(d * N + n), std::log(static_cast<double>(n + 1)));
  EXPECT_EQ(min_of(m.params.get(p + "D").value), 1.0);
  EXPECT_EQ(max_of(m.params.get(p + "D").value), 1.0);
  EXPECT_EQ(min_of(m.params.get("backbone.layers.0.norm.weight").value), 1.0);
  EXPECT_EQ(max_of(m.params.get("backbone.norm_f.weight").value), 1.0);
  // Uniform bounds: within the bound and reaching close to it; zero mean.
  auto check_uniform = [&](const std::string& name, double bound) {
    const Tensor t = m.params.get(name).value;
    EXPECT_LE(max_of(t), bound) << name;
    EXPECT_GE(min_of(t), -bound) << name;
    EXPECT_GT(max_of(t), 0.9 * bound) << name;
    EXPECT_LT(min_of(t), -0.9 * bound) << name;
    EXPECT_NEAR(std_of(t), bound / std::sqrt(3.0), 0.1 * bound) << name;
  };
  check_uniform(p + "in_proj.weight", 1 / std::sqrt(64.0));
  check_uniform(p + "x_proj.weight", 1 / std::sqrt(static_cast<double>(D)));
  check_uniform(p + "dt_proj.weight", 1 / std::sqrt(static_cast<double>(R)));
  check_uniform(p + "conv1d.weight", 1 / std::sqrt(static_cast<double>(K)));
  check_uniform(p + "out_proj.weight", 1 / std::sqrt(static_cast<double>(D)) / std::sqrt(4.0));
  const Tensor emb = m.params.get("backbone.embedding.weight").value;
  EXPECT_NEAR(std_of(emb), 0.02, 0.001);
  EXPECT_NEAR(mean_of(emb), 0.0, 0.001);
  // Weight decay only on matrices and the embedding.
  for (const Param& q : m.params.params)
    EXPECT_EQ(q.weight_decay, q.value.ndim() == 2 && q.name.find("A_log") == std::string::npos) << q.name;
}

// dt = softplus(dt_proj.bias) is log-uniform on [dt_min, dt_max]: over 2048 channels its extremes reach both
// ends closely (a wrong inverse, e.g. bias = log dt, would cap dt at log(1 + dt_max) = 0.0953).
TEST(Model, DtBiasIsInverseSoftplusOfLogUniformDt) {
  MambaConfig c;
  c.d_model = 64;
  c.expand = 32;  // 2048 channels, small matrices
  c.seed = Rng(test_seed()).next_u64();
  ParamStore s;
  const BlockParamIds ids = add_mamba_block_params(s, "m", BlockDims::from(c), c, 1.0, DType::f64, Device::cpu);
  const Tensor bias = s.value(ids.dt_proj_b);
  double lo = 1e9, hi = 0;
  int64_t below_mid = 0;
  const double mid = std::sqrt(c.dt_min * c.dt_max);
  for (int64_t i = 0; i < bias.numel(); ++i) {
    const double dt = std::log1p(std::exp(bias.item(i)));
    lo = std::min(lo, dt);
    hi = std::max(hi, dt);
    below_mid += dt < mid;
  }
  EXPECT_GE(lo, c.dt_min * (1 - 1e-9));
  EXPECT_LT(lo, 1.03 * c.dt_min);   // P(miss) ~ 1e-6
  EXPECT_LE(hi, c.dt_max * (1 + 1e-9));
  EXPECT_GT(hi, 0.97 * c.dt_max);   // P(miss) ~ 1e-6
  EXPECT_NEAR(static_cast<double>(below_mid) / static_cast<double>(bias.numel()), 0.5, 0.06);
}

TEST(Model, ComplexInitIsS4DLin) {
  MambaLM m = make_mamba_lm(tiny_config(SsmKind::complex, 3), DType::f64);
  const Tensor a_log = m.params.get("backbone.layers.0.mixer.A_log").value;
  const Tensor a_im = m.params.get("backbone.layers.0.mixer.A_imag").value;
  const int64_t N = m.cfg.d_state;
  for (int64_t i = 0; i < a_log.numel(); ++i) {
    EXPECT_DOUBLE_EQ(a_log.item(i), std::log(0.5));
    EXPECT_DOUBLE_EQ(a_im.item(i), M_PI * static_cast<double>(i % N));
  }
}

TEST(Model, InitializationIsDeterministicInTheSeed) {
  MambaLM a = make_mamba_lm(tiny_config(SsmKind::real, 5)), b = make_mamba_lm(tiny_config(SsmKind::real, 5));
  MambaLM c = make_mamba_lm(tiny_config(SsmKind::real, 6));
  MambaLM d = make_mamba_lm(tiny_config(SsmKind::real, 5), DType::f64);
  for (size_t i = 0; i < a.params.size(); ++i) {
    const Param& p = a.params.params[i];
    EXPECT_EQ(rel_l2_error(p.value, b.params.params[i].value), 0.0) << p.name;
    // f32 and f64 models share their values up to rounding.
    EXPECT_LT(max_rel_error(p.value, d.params.params[i].value), 1e-6) << p.name;
    if (p.name.find("in_proj") != std::string::npos || p.name.find("embedding") != std::string::npos) {
      EXPECT_GT(rel_l2_error(p.value, c.params.params[i].value), 0.1) << p.name;
    }
  }
}

TEST(Model, LoadValueAcceptsPyTorchConvLayoutAndRejectsWrongShapes) {
  MambaLM m = make_mamba_lm(tiny_config(SsmKind::real, 1));
  const std::string name = "backbone.layers.0.mixer.conv1d.weight";
  const int64_t D = m.cfg.d_inner(), K = m.cfg.d_conv;
  Rng rng(test_seed());
  Tensor torch_layout = rand_normal({D, 1, K}, rng, 1.0, DType::f64);
  load_value(m.params, name, torch_layout);
  EXPECT_LT(max_rel_error(m.params.get(name).value, torch_layout.view({D, K})), 1e-6);
  EXPECT_THROW(load_value(m.params, name, Tensor::zeros({D, K + 1})), Error);
  EXPECT_THROW(load_value(m.params, "backbone.nope", Tensor::zeros({1})), Error);
  // The alias resolves to the embedding.
  Tensor e = rand_normal(m.params.get("backbone.embedding.weight").value.shape(), rng);
  load_value(m.params, "lm_head.weight", e);
  EXPECT_EQ(rel_l2_error(m.params.get("backbone.embedding.weight").value, e), 0.0);
}

TEST(Model, UnflattenSplitsAStridedDimension) {
  Tensor t = Tensor::empty({2, 10, 3}, DType::f64);
  for (int64_t i = 0; i < t.numel(); ++i) t.set_item(i, static_cast<double>(i));
  Tensor s = t.slice(1, 2, 8).unflatten(1, {3, -1});  // (2, 3, 2, 3)
  ASSERT_EQ(s.shape(), (Shape{2, 3, 2, 3}));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t l = 0; l < 3; ++l)
          EXPECT_EQ(s.select(0, b).select(0, n).select(0, c).item(l), static_cast<double>(b * 30 + (2 + 2 * n + c) * 3 + l));
  EXPECT_THROW(t.unflatten(1, {3, 4}), Error);
}

}  // namespace
}  // namespace ms::test
