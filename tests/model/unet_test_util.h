// Small Mamba-UNets and helpers shared by the UNet tests (model and cuda areas).
#pragma once
#include <cmath>
#include <cstring>
#include <vector>

#include "model/mamba_unet.h"
#include "tests/model/model_test_util.h"

namespace ms::test {

// A tiny UNet: widths 8, 16, 32 (or as given), few states, dt larger than mamba_ssm's default so that A matters
// within short sequences (as tiny_config does for MambaLM).
inline UNetConfig tiny_unet_config(SsmKind ssm, uint64_t seed, std::vector<int64_t> pool = {2, 2}, int64_t n_layer = 1) {
  UNetConfig c;
  c.d_model = 8;
  c.pool = std::move(pool);
  c.n_layer = n_layer;
  c.vocab_size = 256;
  c.d_state = 4;
  c.ssm = ssm;
  c.seed = seed;
  c.dt_min = 0.01;
  c.dt_max = 0.5;
  return c;
}

// Randomizes every parameter a little around its initialization (norm weights 1, D = 1, ...).
inline void perturb_store(ParamStore& store, Rng& rng, double amount = 0.1) {
  for (Param& p : store.params) {
    Tensor noise = rand_uniform(p.value.shape(), rng, -amount, amount, DType::f64);
    Tensor v = p.value.to(Device::cpu).to(DType::f64).contiguous().clone();
    double* pv = v.data<double>();
    const double* pn = noise.data<double>();
    for (int64_t i = 0; i < v.numel(); ++i) pv[i] += pn[i] * (1.0 + std::abs(pv[i]));
    p.value.copy_(v.to(p.value.dtype()).to(p.value.device()));
  }
}

// Bitwise equality of two CPU tensors of one shape (any float dtype).
inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  Tensor ha = a.to(Device::cpu).contiguous(), hb = b.to(Device::cpu).contiguous();
  if (ha.shape() != hb.shape() || ha.dtype() != hb.dtype()) return false;
  return std::memcmp(ha.raw(), hb.raw(), ha.nbytes()) == 0;
}

}  // namespace ms::test
