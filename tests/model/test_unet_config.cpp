// Mamba-UNet construction: parameter names and shapes, initialization, determinism, a few training steps that
// lower the loss, and clear errors for bad configs, lengths and inputs.
#include <set>
#include <string>

#include "model/optimizer.h"
#include "tests/model/unet_test_util.h"
#include "tests/test_util.h"

namespace ms::test {
namespace {

using ms::test::error_of;
#define EXPECT_ERROR_HAS(stmt, text) \
  EXPECT_NE(error_of([&] { stmt; }).find(text), std::string::npos) << error_of([&] { stmt; })

TEST(UNetConfig, ParameterNamesShapesAndOrder) {
  UNetConfig cfg = tiny_unet_config(SsmKind::real, 1, {4, 2}, 1);
  cfg.d_model = 16;
  cfg.down_layers = {2, 1};
  MambaUNet m = make_mamba_unet(cfg);
  EXPECT_EQ(m.levels.size(), 3u);
  EXPECT_EQ(m.levels[0].width, 16);
  EXPECT_EQ(m.levels[1].width, 32);
  EXPECT_EQ(m.levels[2].width, 64);
  std::vector<std::string> names;
  for (const Param& p : m.params.params) names.push_back(p.name);
  auto shape = [&](const std::string& n) { return m.params.get(n).value.shape(); };
  EXPECT_EQ(names.front(), "unet.embedding.weight");
  EXPECT_EQ(names.back(), "lm_head.weight");
  EXPECT_EQ(shape("unet.embedding.weight"), (Shape{256, 16}));
  EXPECT_EQ(shape("unet.down.0.blocks.1.mixer.in_proj.weight"), (Shape{64, 16}));
  EXPECT_EQ(shape("unet.down.0.blocks.0.norm.weight"), (Shape{16}));
  EXPECT_EQ(shape("unet.down.0.pool.weight"), (Shape{32, 64}));   // (W_1, p_0 W_0)
  EXPECT_EQ(shape("unet.down.1.blocks.0.mixer.out_proj.weight"), (Shape{32, 64}));
  EXPECT_EQ(shape("unet.down.1.pool.weight"), (Shape{64, 64}));   // (W_2, p_1 W_1)
  EXPECT_EQ(shape("unet.center.blocks.0.mixer.A_log"), (Shape{128, 4}));
  EXPECT_EQ(shape("unet.center.blocks.0.mixer.x_proj.weight"), (Shape{4 + 8, 128}));  // dt_rank ceil(64/16)
  EXPECT_EQ(shape("unet.up.1.pool.weight"), (Shape{64, 64}));     // (p_1 W_1, W_2)
  EXPECT_EQ(shape("unet.up.0.pool.weight"), (Shape{64, 32}));     // (p_0 W_0, W_1)
  EXPECT_EQ(shape("unet.up.0.blocks.0.mixer.conv1d.weight"), (Shape{32, 4}));
  EXPECT_EQ(shape("unet.norm_f.weight"), (Shape{16}));
  EXPECT_EQ(shape("lm_head.weight"), (Shape{256, 16}));
  EXPECT_EQ(m.params.index_of("unet.down.0.blocks.2.norm.weight"), -1);
  // Forward order: down levels, centre, up levels from the deepest out.
  auto pos = [&](const std::string& n) { return m.params.index_of(n); };
  EXPECT_LT(pos("unet.down.0.pool.weight"), pos("unet.down.1.blocks.0.norm.weight"));
  EXPECT_LT(pos("unet.down.1.pool.weight"), pos("unet.center.blocks.0.norm.weight"));
  EXPECT_LT(pos("unet.center.blocks.0.mixer.out_proj.weight"), pos("unet.up.1.pool.weight"));
  EXPECT_LT(pos("unet.up.1.blocks.0.mixer.D"), pos("unet.up.0.pool.weight"));
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  // Weight decay on matrices, not on norms, A, D and biases (as MambaLM).
  EXPECT_TRUE(m.params.get("unet.up.0.pool.weight").weight_decay);
  EXPECT_FALSE(m.params.get("unet.norm_f.weight").weight_decay);
  EXPECT_FALSE(m.params.get("unet.center.blocks.0.mixer.A_log").weight_decay);
  EXPECT_NE(cfg.describe().find("widths=[16, 32, 64]"), std::string::npos) << cfg.describe();
}

TEST(UNetConfig, InitializationIsDeterministicAndScaled) {
  UNetConfig cfg = tiny_unet_config(SsmKind::complex, 7, {4, 4}, 2);
  MambaUNet a = make_mamba_unet(cfg), b = make_mamba_unet(cfg), a64 = make_mamba_unet(cfg, DType::f64);
  cfg.seed = 8;
  MambaUNet c = make_mamba_unet(cfg);
  for (size_t i = 0; i < a.params.size(); ++i) {
    EXPECT_TRUE(bitwise_equal(a.params.params[i].value, b.params.params[i].value)) << a.params.params[i].name;
    EXPECT_LT(max_rel_error(a64.params.params[i].value, a.params.params[i].value.to(DType::f64)), 1e-7);
  }
  EXPECT_FALSE(bitwise_equal(a.params.get("unet.up.0.pool.weight").value, c.params.get("unet.up.0.pool.weight").value));
  auto max_abs = [](const Tensor& t) {
    double x = 0;
    for (int64_t i = 0; i < t.numel(); ++i) x = std::max(x, std::abs(t.item(i)));
    return x;
  };
  auto rms = [](const Tensor& t) { return std::sqrt(dot(t, t) / static_cast<double>(t.numel())); };
  EXPECT_NEAR(rms(a.params.get("unet.embedding.weight").value), 0.02, 0.002);
  // nn.Linear's bound 1/sqrt(fan_in): down-pool fan_in p W (32), up-pool fan_in W_{l+1} (16).
  const Tensor& dp = a.params.get("unet.down.0.pool.weight").value;
  EXPECT_LE(max_abs(dp), 1 / std::sqrt(32.0));
  EXPECT_GT(max_abs(dp), 0.9 / std::sqrt(32.0));
  EXPECT_LE(max_abs(a.params.get("unet.up.0.pool.weight").value), 1 / std::sqrt(16.0));
  // out_proj rescaled by 1/sqrt(total blocks) = 1/sqrt(10), on top of 1/sqrt(d_inner) (16 at level 0).
  const double bound = 1 / std::sqrt(10.0) / std::sqrt(16.0);
  const Tensor& op = a.params.get("unet.down.0.blocks.1.mixer.out_proj.weight").value;
  EXPECT_LE(max_abs(op), bound);
  EXPECT_GT(max_abs(op), 0.9 * bound);
}

TEST(UNetConfig, TrainingLowersTheLoss) {
  Rng rng(test_seed());
  MambaUNet m = make_mamba_unet(tiny_unet_config(SsmKind::real, rng.next_u64(), {2, 2}, 1));
  // A periodic token pattern: learnable from the past alone.
  const int64_t Bsz = 2, L = 64;
  Tensor ids = Tensor::empty({Bsz, L}, DType::i32), targets = Tensor::empty({Bsz, L}, DType::i32);
  for (int64_t b = 0; b < Bsz; ++b)
    for (int64_t t = 0; t < L; ++t) {
      ids.set_item(b * L + t, (t * 37 + b * 11) % 256);
      targets.set_item(b * L + t, ((t + 1) * 37 + b * 11) % 256);
    }
  AdamWConfig oc;
  oc.lr = 1e-2;
  oc.weight_decay = 0;
  AdamW opt = make_adamw(m.params, oc);
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    zero_grad(m.params);
    const LossResult r = unet_forward_backward(m, ids, targets);
    if (step == 0) first = r.loss;
    last = r.loss;
    adamw_step(opt, m.params);
  }
  printf("unet training on a periodic pattern: loss %.3f -> %.3f (uniform %.3f)\n", first, last, std::log(256.0));
  EXPECT_NEAR(first, std::log(256.0), 0.5);
  EXPECT_LT(last, 0.5 * first);
}

TEST(UNetConfig, BadConfigsGiveClearErrors) {
  auto make = [](const std::function<void(UNetConfig&)>& edit) {
    UNetConfig c = tiny_unet_config(SsmKind::real, 1);
    edit(c);
    make_mamba_unet(c);
  };
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.pool = {4, 0}; }), "pool[1] = 0 must be >= 1");
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.d_model = 0; }), "d_model = 0");
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.down_layers = {1}; }), "down_layers has 1 entries");
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.up_layers = {1, -1}; }), "up_layers[1] = -1");
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.n_layer = -2; }), "n_layer = -2");
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.center_layers = -3; }), "center_layers = -3");
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.width_factor = 0; }), "width_factor = 0");
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.d_state = 0; }), "d_state = 0");
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.vocab_size = 0; }), "vocab_size = 0");
  EXPECT_ERROR_HAS(make([](UNetConfig& c) { c.width_factor = 1 << 20; }), "too large");
  EXPECT_ERROR_HAS(make_mamba_unet(tiny_unet_config(SsmKind::real, 1), DType::i32), "f32 or f64");
}

TEST(UNetConfig, BadLengthsAndInputsGiveClearErrors) {
  Rng rng(test_seed());
  MambaUNet m = make_mamba_unet(tiny_unet_config(SsmKind::real, rng.next_u64(), {4, 4}, 1));
  Tensor ids = rand_ints({2, 40}, rng, 0, 256);
  EXPECT_ERROR_HAS(unet_logits(m, ids), "sequence length 40 is not a multiple of 16");
  EXPECT_ERROR_HAS(unet_logits(m, ids), "pooling factors [4, 4]");
  EXPECT_ERROR_HAS(unet_forward_backward(m, ids, ids), "not a multiple of 16");
  Tensor ok = rand_ints({2, 32}, rng, 0, 256);
  EXPECT_ERROR_HAS(unet_logits(m, ok, 24), "chunk length 24 is not a multiple of 16");
  EXPECT_ERROR_HAS(unet_loss(m, ok, rand_ints({2, 16}, rng, 0, 256)), "targets");
  EXPECT_ERROR_HAS(unet_logits(m, ok.to(DType::f64)), "dtype");
  EXPECT_ERROR_HAS(unet_logits(m, Tensor::zeros({32}, DType::i32)), "(B, L)");
  Tensor bad = ok.clone();
  bad.set_item(5, 256);
  EXPECT_THROW(unet_logits(m, bad), Error);
  // A parallel forward must start on a pooled block boundary.
  UNetInferenceState st = make_unet_inference_state(m, 2);
  unet_step(m, st, ok.select(1, 0).contiguous());
  EXPECT_ERROR_HAS(unet_backbone_forward(m, ok, nullptr, &st.state), "not on a pooled block boundary");
  EXPECT_ERROR_HAS(unet_step(m, st, Tensor::zeros({3}, DType::i32)), "tokens");
  EXPECT_ERROR_HAS(unet_prefill(m, st, Tensor::zeros({3, 4}, DType::i32)), "prompt must be (2, Lp)");
  UNetState other = make_unet_state(m, 3);
  EXPECT_ERROR_HAS(unet_backbone_forward(m, ok, nullptr, &other), "state is for batch 3");
}

}  // namespace
}  // namespace ms::test
