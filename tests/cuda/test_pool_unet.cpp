// The Mamba-UNet on a GPU: the pooling layers against their CPU runs on fresh random inputs (outputs poisoned
// first, sizes not multiples of anything), causality on the device, and the whole model's logits, loss and
// gradients against the CPU. Skips cleanly without a GPU.
#include <string>

#include "kernels/gemm.h"
#include "model/pooling.h"
#include "tests/model/unet_causality.h"

namespace ms::test {
namespace {

class CudaFp32 : public testing::Test {
 protected:
  void SetUp() override {
    MS_SKIP_WITHOUT_GPU();
    saved_ = gemm_precision();
    set_gemm_precision(GemmPrecision::fp32);  // compare against the CPU at full fp32
  }
  void TearDown() override {
    if (gpu_available()) set_gemm_precision(saved_);
  }
  GemmPrecision saved_ = GemmPrecision::fp32;
};

Tensor gpu(const Tensor& t) { return t.to(Device::cuda); }
Tensor gpu_poisoned(const Shape& s) {
  Tensor t = Tensor::empty(s);
  poison(t);
  return t.to(Device::cuda);
}

using CudaUNetPool = CudaFp32;

TEST_F(CudaUNetPool, PoolingForwardBackwardMatchTheCpu) {
  Rng rng(test_seed());
  struct Case { int64_t p, B, Lc, W, Wc; };
  for (const Case& k : {Case{4, 3, 37, 33, 65}, Case{2, 2, 129, 17, 31}, Case{3, 1, 5, 7, 9}, Case{1, 2, 11, 5, 3}}) {
    const int64_t L = k.p * k.Lc;
    Tensor x = rand_normal({k.B, L, k.W}, rng), wd = rand_normal({k.Wc, k.p * k.W}, rng, 0.2);
    Tensor c = rand_normal({k.B, k.Lc, k.Wc}, rng), wu = rand_normal({k.p * k.W, k.Wc}, rng, 0.2);
    Tensor skip = rand_normal({k.B, L, k.W}, rng), g_down = rand_normal({k.B, k.Lc, k.Wc}, rng);
    Tensor g_up = rand_normal({k.B, L, k.W}, rng), hist = rand_normal({k.B, k.p, k.W}, rng);
    // CPU
    Tensor v = Tensor::empty({k.B, k.Lc, k.Wc}), u = Tensor::empty({k.B, L, k.W}), hist_c = hist.clone();
    down_pool_forward(wd, k.p, x, v);
    up_pool_forward(wu, k.p, c, skip, u, hist_c);
    Tensor dx = Tensor::empty_like(x), dwd = rand_normal(wd.shape(), rng), dc = Tensor::empty_like(c);
    Tensor dwu = rand_normal(wu.shape(), rng);
    Tensor dwd0 = dwd.clone(), dwu0 = dwu.clone();
    down_pool_backward(wd, k.p, x, g_down, dx, dwd, false);
    up_pool_backward(wu, k.p, c, g_up, dc, dwu);
    // GPU
    Tensor v_g = gpu_poisoned(v.shape()), u_g = gpu_poisoned(u.shape()), hist_g = gpu(hist);
    down_pool_forward(gpu(wd), k.p, gpu(x), v_g);
    up_pool_forward(gpu(wu), k.p, gpu(c), gpu(skip), u_g, hist_g);
    Tensor dx_g = gpu_poisoned(dx.shape()), dc_g = gpu_poisoned(dc.shape()), dwd_g = gpu(dwd0), dwu_g = gpu(dwu0);
    down_pool_backward(gpu(wd), k.p, gpu(x), gpu(g_down), dx_g, dwd_g, false);
    up_pool_backward(gpu(wu), k.p, gpu(c), gpu(g_up), dc_g, dwu_g);
    const std::string at = " p " + std::to_string(k.p);
    EXPECT_LT(max_rel_error(v_g.to(Device::cpu), v), 1e-5) << "down forward" << at;
    EXPECT_LT(max_rel_error(u_g.to(Device::cpu), u), 1e-5) << "up forward" << at;
    EXPECT_LT(max_rel_error(hist_g.to(Device::cpu), hist_c), 1e-5) << "history" << at;
    EXPECT_LT(max_rel_error(dx_g.to(Device::cpu), dx), 1e-5) << "down dx" << at;
    EXPECT_LT(max_rel_error(dwd_g.to(Device::cpu), dwd), 1e-5) << "down dweight" << at;
    EXPECT_LT(max_rel_error(dc_g.to(Device::cpu), dc), 1e-5) << "up dc" << at;
    EXPECT_LT(max_rel_error(dwu_g.to(Device::cpu), dwu), 1e-5) << "up dweight" << at;
  }
}

using CudaUNet = CudaFp32;

TEST_F(CudaUNet, CausalOnTheGpu) {
  Rng rng(test_seed());
  for (SsmKind ssm : {SsmKind::real, SsmKind::complex}) {
    MambaUNet m = make_mamba_unet(tiny_unet_config(ssm, rng.next_u64(), {4, 4}, 1));
    perturb_store(m.params, rng, 0.1);
    to_device(m.params, Device::cuda);
    expect_causal(m, rng, 64);
    MambaUNet e = make_mamba_unet(no_outer_blocks(tiny_unet_config(ssm, rng.next_u64(), {4, 4}, 1)));
    perturb_store(e.params, rng, 0.1);
    to_device(e.params, Device::cuda);
    expect_exact_shift(e, rng, 32);
  }
}

TEST_F(CudaUNet, LogitsLossGradientsAndStepMatchTheCpu) {
  Rng rng(test_seed());
  for (SsmKind ssm : {SsmKind::real, SsmKind::complex}) {
    const UNetConfig cfg = tiny_unet_config(ssm, rng.next_u64(), {4, 4}, 2);
    MambaUNet cpu_m = make_mamba_unet(cfg), gpu_m = make_mamba_unet(cfg);
    perturb_store(cpu_m.params, rng, 0.1);
    for (size_t i = 0; i < cpu_m.params.size(); ++i) gpu_m.params.params[i].value.copy_(cpu_m.params.params[i].value);
    to_device(gpu_m.params, Device::cuda);
    const int64_t Bsz = 3, L = 160;
    Tensor ids = rand_ints({Bsz, L}, rng, 0, 256), targets = rand_ints({Bsz, L}, rng, 0, 256);
    zero_grad(cpu_m.params);
    zero_grad(gpu_m.params);
    const LossResult rc = unet_forward_backward(cpu_m, ids, targets);
    const LossResult rg = unet_forward_backward(gpu_m, gpu(ids), gpu(targets));
    EXPECT_NEAR(rg.loss, rc.loss, 1e-5 * rc.loss);
    for (size_t i = 0; i < cpu_m.params.size(); ++i)
      EXPECT_LT(rel_l2_error(gpu_m.params.params[i].grad.to(Device::cpu), cpu_m.params.params[i].grad), 1e-4)
          << cpu_m.params.params[i].name;
    Tensor lc = unet_logits(cpu_m, ids, 32), lg = unet_logits(gpu_m, gpu(ids), 32).to(Device::cpu);
    EXPECT_LT(max_abs_rel(lg, lc), 1e-5);
    // Step mode on the GPU reproduces the parallel logits.
    UNetInferenceState st = make_unet_inference_state(gpu_m, Bsz);
    Tensor stepped = Tensor::empty({Bsz, L, 256});
    Tensor ids_g = gpu(ids);
    for (int64_t t = 0; t < L; ++t) stepped.select(1, t).copy_(unet_step(gpu_m, st, ids_g.select(1, t).contiguous()).to(Device::cpu));
    EXPECT_LT(max_abs_rel(stepped, lc), 1e-4);
  }
}

}  // namespace
}  // namespace ms::test
