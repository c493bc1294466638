// CUDA AdamW (single and multi-tensor) against the CPU twin in f32: both follow torch.optim.AdamW's order
// of operations with IEEE f32 arithmetic, so results are expected bit-identical. Sizes cross the 65536-element
// chunks and the 16-byte vector tails; the multi-tensor list exceeds one launch's table of 36 tensors.
// Also sum_squares_multi (global gradient norm) against the CPU sum.
#include "kernels/adamw.h"
#include "kernels/cuda/adamw_multi.h"
#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

struct State {
  Tensor p, g, m, v;  // CPU f32
};
State random_state(int64_t n, Rng& rng) {
  return {rand_normal({n}, rng), rand_normal({n}, rng, 0.1), rand_normal({n}, rng, 0.01),
          rand_uniform({n}, rng, 0.0, 1e-3)};
}

AdamWStep step_params(int64_t step) {
  AdamWStep s;
  s.lr = 3e-3;
  s.beta1 = 0.9;
  s.beta2 = 0.95;
  s.eps = 1e-8;
  s.weight_decay = 0.1;
  s.step = step;
  s.grad_scale = 0.37;  // as after gradient clipping
  return s;
}

TEST(CudaAdamW, MatchesCpuBitForBit) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (int64_t n : {1, 7, 1000, 65536, 65537, 200003})
    for (int64_t step : {1, 2, 1000}) {
      State c = random_state(n, rng);
      Tensor p = gpu(c.p), g = gpu(c.g), m = gpu(c.m), v = gpu(c.v);
      const AdamWStep s = step_params(step);
      adamw_update(p, g, m, v, s);
      cpu::adamw_update(c.p, c.g, c.m, c.v, s);
      const std::string what = "n " + std::to_string(n) + " step " + std::to_string(step);
      EXPECT_EQ(max_rel_error(p, c.p), 0.0) << "param " << what;
      EXPECT_EQ(max_rel_error(m, c.m), 0.0) << "m " << what;
      EXPECT_EQ(max_rel_error(v, c.v), 0.0) << "v " << what;
    }
}

TEST(CudaAdamW, MultiTensorEqualsSingleAndCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  std::vector<State> cpu_states;
  std::vector<AdamWTensors> multi, single;
  for (int i = 0; i < 41; ++i) {  // more tensors than one launch's table holds
    const int64_t n = i == 5 ? 0 : i == 7 ? 150001 : 1 + static_cast<int64_t>(rng.below(3000));
    State c = random_state(n, rng);
    multi.push_back({gpu(c.p), gpu(c.g), gpu(c.m), gpu(c.v)});
    single.push_back({gpu(c.p), gpu(c.g), gpu(c.m), gpu(c.v)});
    cpu_states.push_back(c);
  }
  // A slice whose start is not 16-byte aligned takes the scalar path.
  {
    State c = random_state(1001, rng);
    auto sl = [](const Tensor& t) { return gpu(t).slice(0, 1, t.size(0)); };
    multi.push_back({sl(c.p), sl(c.g), sl(c.m), sl(c.v)});
    single.push_back({sl(c.p), sl(c.g), sl(c.m), sl(c.v)});
    cpu_states.push_back({c.p.slice(0, 1, 1001).clone(), c.g.slice(0, 1, 1001).clone(), c.m.slice(0, 1, 1001).clone(),
                          c.v.slice(0, 1, 1001).clone()});
  }
  const AdamWStep s = step_params(7);
  std::vector<Tensor> grads;
  for (const AdamWTensors& t : multi) grads.push_back(t.grad);
  double want_ss = 0;
  for (const State& c : cpu_states) want_ss += cpu::sum_squares(c.g);
  EXPECT_NEAR(sum_squares_multi(grads), want_ss, 1e-12 * want_ss);  // the dispatching entry point

  adamw_update_multi(multi, s);
  for (const AdamWTensors& t : single) adamw_update(t.param, t.grad, t.m, t.v, s);
  for (size_t i = 0; i < multi.size(); ++i) {
    State& c = cpu_states[i];
    cpu::adamw_update(c.p, c.g, c.m, c.v, s);
    EXPECT_EQ(max_rel_error(multi[i].param, c.p), 0.0) << "tensor " << i;
    EXPECT_EQ(max_rel_error(multi[i].m, c.m), 0.0) << "tensor " << i;
    EXPECT_EQ(max_rel_error(multi[i].v, c.v), 0.0) << "tensor " << i;
    EXPECT_EQ(max_rel_error(single[i].param, multi[i].param), 0.0) << "tensor " << i;
  }
}

TEST(CudaAdamW, RejectsBadArguments) {
  MS_SKIP_WITHOUT_GPU();
  Tensor a = Tensor::zeros({4}, DType::f32, Device::cuda), b = Tensor::zeros({5}, DType::f32, Device::cuda);
  EXPECT_THROW(adamw_update(a, b, a, a, AdamWStep{}), Error);
  AdamWStep s;
  s.step = 0;
  EXPECT_THROW(adamw_update(a, a.clone(), a.clone(), a.clone(), s), Error);
}

}  // namespace
}  // namespace ms
