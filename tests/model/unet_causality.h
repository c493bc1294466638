// Causality checks of the Mamba-UNet, shared by the CPU test (tests/model) and the CUDA test (tests/cuda).
#pragma once
#include <vector>

#include "tests/model/unet_test_util.h"

namespace ms::test {

// Perturbs ids[0, t] for several t and checks, on the model's device: logits[0, s] for s < t are bitwise
// unchanged (the predictions of tokens <= t), logits[0, t] changes, and batch row 1 is untouched entirely.
inline void expect_causal(const MambaUNet& m, Rng& rng, int64_t L) {
  const int64_t P = m.cfg.total_pool(), p0 = m.cfg.pool.empty() ? 1 : m.cfg.pool[0];
  Tensor ids = rand_ints({2, L}, rng, 0, m.vocab());
  Tensor base = unet_logits(m, ids.to(m.device())).to(Device::cpu);
  std::vector<int64_t> ts = {0, 1, p0 - 1, p0, P - 1, P, L / 2 + 1, L - P - 1, L - 1};
  for (int64_t t : ts) {
    if (t < 0 || t >= L) continue;
    Tensor ids2 = ids.clone();
    ids2.set_item(t, (static_cast<int64_t>(ids.item(t)) + 1 + static_cast<int64_t>(rng.below(m.vocab() - 1))) % m.vocab());
    Tensor got = unet_logits(m, ids2.to(m.device())).to(Device::cpu);
    const Tensor b0 = base.select(0, 0), g0 = got.select(0, 0);
    if (t > 0) {
      EXPECT_TRUE(bitwise_equal(g0.slice(0, 0, t), b0.slice(0, 0, t))) << "a logit before position " << t << " changed";
    }
    EXPECT_FALSE(bitwise_equal(g0.select(0, t), b0.select(0, t))) << "logits at " << t << " ignore ids[" << t << "]";
    EXPECT_TRUE(bitwise_equal(got.select(0, 1), base.select(0, 1))) << "batch rows are not independent";
  }
}

// With no blocks at level 0, F_0(x)[s] = x[s] + up-pooled coarse output, so ids[p j] reaches logits at p j
// (the skip) and then, through the coarse path, nothing before p j + p - 1 and p j + p - 1 itself: the shift of
// p - 1 is exact (p would leave p j + p - 1 unchanged; p - 2 would change p j + p - 2).
inline void expect_exact_shift(const MambaUNet& m, Rng& rng, int64_t L) {
  const int64_t p = m.cfg.pool.at(0);
  Tensor ids = rand_ints({1, L}, rng, 0, m.vocab());
  Tensor base = unet_logits(m, ids.to(m.device())).to(Device::cpu);
  for (int64_t j = 0; j * p + p <= L; ++j) {
    Tensor ids2 = ids.clone();
    ids2.set_item(p * j, (static_cast<int64_t>(ids.item(p * j)) + 7) % m.vocab());
    Tensor got = unet_logits(m, ids2.to(m.device())).to(Device::cpu);
    for (int64_t s = 0; s < p * j + p; ++s) {
      const bool changed = !bitwise_equal(got.select(0, 0).select(0, s), base.select(0, 0).select(0, s));
      const bool expected = s == p * j || s == p * j + p - 1;
      EXPECT_EQ(changed, expected) << "ids[" << p * j << "] vs logits[" << s << "]";
    }
  }
}

inline UNetConfig no_outer_blocks(UNetConfig c) {
  c.down_layers.assign(c.pool.size(), c.n_layer);
  c.up_layers.assign(c.pool.size(), c.n_layer);
  c.down_layers[0] = 0;
  c.up_layers[0] = 0;
  return c;
}

}  // namespace ms::test
