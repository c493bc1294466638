// Finite-difference gradient checks (f64) of the Mamba block: every parameter tensor and the input, for real
// and complex SSMs, from zero and from carried (conv, SSM) states, at lengths on both sides of the scan's chunk.
#include <string>

#include "model/mamba_block.h"
#include "tests/model/model_test_util.h"

namespace ms::test {
namespace {

// Five-point finite differences in f64 (model_test_util.h): correct gradients agree to ~1e-6 or better
// (rounding noise of the loss on the smallest elements); a wrong one is off by orders of magnitude more.
constexpr double kTol = 1e-5;

struct BlockCase {
  SsmKind ssm;
  int64_t batch, len;
  bool with_state;
};

std::string case_name(const testing::TestParamInfo<BlockCase>& info) {
  const BlockCase& c = info.param;
  return std::string(ssm_kind_name(c.ssm)) + "_B" + std::to_string(c.batch) + "_L" + std::to_string(c.len) +
         (c.with_state ? "_state" : "");
}

class BlockGrad : public testing::TestWithParam<BlockCase> {};

TEST_P(BlockGrad, MatchesFiniteDifferences) {
  const BlockCase c = GetParam();
  Rng rng(test_seed());
  const MambaConfig cfg = tiny_config(c.ssm, rng.next_u64());
  const BlockDims dims = BlockDims::from(cfg);
  ParamStore store;
  const BlockParamIds ids =
      add_mamba_block_params(store, "mixer", dims, cfg, 0.7, DType::f64, Device::cpu);
  for (Param& p : store.params) {  // move away from the structured init (D = 1, A_log = log n, ...)
    Tensor noise = rand_uniform(p.value.shape(), rng, -0.2, 0.2, DType::f64);
    Tensor v = p.value.clone();
    for (int64_t i = 0; i < v.numel(); ++i) v.set_item(i, v.item(i) + noise.item(i) * (1 + std::abs(v.item(i))));
    p.value.copy_(v);
  }
  const BlockTensors w = block_values(store, ids), g = block_grads(store, ids);

  Tensor h = rand_normal({c.batch, c.len, dims.d_model}, rng, 1.0, DType::f64);
  Tensor weights = rand_normal({c.batch, c.len, dims.d_model}, rng, 1.0, DType::f64);  // loss = <out, weights>
  BlockState init = make_block_state(dims, c.batch, DType::f64, Device::cpu);
  if (c.with_state) {
    init.conv.copy_(rand_normal(init.conv.shape(), rng, 1.0, DType::f64));
    init.ssm.copy_(rand_normal(init.ssm.shape(), rng, 0.5, DType::f64));
  }
  auto fresh_state = [&] {
    BlockState s;
    s.conv = init.conv.clone();
    s.ssm = init.ssm.clone();
    return s;
  };
  auto loss = [&]() {
    Tensor out = Tensor::empty(h.shape(), DType::f64);
    BlockState s = fresh_state();
    mamba_block_forward(dims, w, h, out, nullptr, c.with_state ? &s : nullptr);
    return dot(out, weights);
  };

  zero_grad(store);
  BlockSaved saved;
  Tensor out = Tensor::empty(h.shape(), DType::f64);
  BlockState s = fresh_state();
  mamba_block_forward(dims, w, h, out, &saved, c.with_state ? &s : nullptr);
  EXPECT_NEAR(dot(out, weights), loss(), 1e-9 * (1 + std::abs(loss())));  // forward with `saved` is the same
  Tensor dh = Tensor::empty(h.shape(), DType::f64);
  poison(dh);
  mamba_block_backward(dims, w, g, saved, weights, dh);

  EXPECT_LT(grad_check5(loss, h, dh, rng, 40), kTol) << "input h";
  for (const Param& p : store.params) {
    Tensor ana = p.grad.clone();
    EXPECT_LT(grad_check5(loss, p.value, ana, rng, 24), kTol) << p.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Model, BlockGrad,
                         testing::Values(BlockCase{SsmKind::real, 2, 19, false}, BlockCase{SsmKind::complex, 2, 19, false},
                                         BlockCase{SsmKind::real, 1, 300, false},
                                         BlockCase{SsmKind::complex, 1, 300, false},
                                         BlockCase{SsmKind::real, 2, 7, true}, BlockCase{SsmKind::complex, 2, 2, true}),
                         case_name);

// The final state after one forward continues a sequence exactly: forward(a ++ b) == forward(a); forward(b).
TEST(Model, BlockStateCarriesAcrossChunks) {
  for (SsmKind ssm : {SsmKind::real, SsmKind::complex}) {
    Rng rng(test_seed());
    const MambaConfig cfg = tiny_config(ssm, rng.next_u64());
    const BlockDims dims = BlockDims::from(cfg);
    ParamStore store;
    const BlockParamIds ids = add_mamba_block_params(store, "m", dims, cfg, 1.0, DType::f64, Device::cpu);
    const BlockTensors w = block_values(store, ids);
    const int64_t Bsz = 2, L = 23;
    Tensor h = rand_normal({Bsz, L, dims.d_model}, rng, 1.0, DType::f64);
    Tensor full = Tensor::empty(h.shape(), DType::f64);
    mamba_block_forward(dims, w, h, full, nullptr, nullptr);
    for (int64_t split : {1, 2, 3, 10, 22}) {
      BlockState st = make_block_state(dims, Bsz, DType::f64, Device::cpu);
      Tensor parts = Tensor::empty(h.shape(), DType::f64);
      int64_t start = 0;
      for (int64_t end : {split, L}) {
        Tensor piece = h.slice(1, start, end).contiguous();
        Tensor o = Tensor::empty(piece.shape(), DType::f64);
        mamba_block_forward(dims, w, piece, o, nullptr, &st);
        parts.slice(1, start, end).copy_(o);
        start = end;
      }
      EXPECT_LT(max_rel_error(parts, full), 1e-12) << ssm_kind_name(ssm) << " split " << split;
    }
  }
}

}  // namespace
}  // namespace ms::test
