// CUDA embedding lookup and its gradient against the CPU twin: vocabularies of 5 (many repeated ids, so
// the gradient sums many rows into one) to 50257, widths that are and are not multiples of 8, strided ids
// and weight rows, f32 and bf16, the gradient accumulating into a non-zero dweight.
#include <cmath>

#include "kernels/embedding.h"
#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

struct EmbCase {
  int64_t V, E;
  Shape ids;
};
const EmbCase kCases[] = {{5, 1537, {2, 3, 17}}, {50257, 64, {4, 33}}, {1000, 1000, {77}}, {7, 1, {3, 5}}};

TEST(CudaEmbedding, ForwardCopiesRows) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (const EmbCase& c : kCases)
      for (bool strided : {false, true}) {
        // A weight whose rows are strided (a slice of a wider table) and ids read through a transpose.
        Tensor wide = rand_normal({c.V, c.E + (strided ? 3 : 0)}, rng, 1.0, dt);
        Tensor w = wide.slice(1, 0, c.E);
        Tensor ids = rand_ints(c.ids, rng, 0, c.V);
        Tensor ids_g = strided && ids.ndim() >= 2 ? gpu(ids.transpose(0, 1).contiguous()).transpose(0, 1) : gpu(ids);
        Shape os = c.ids;
        os.push_back(c.E);
        Tensor out = gpu_poisoned(os, dt), want = Tensor::empty(os, DType::f32);
        embedding_forward(gpu(wide).slice(1, 0, c.E), ids_g, out);
        cpu::embedding_forward(w.to(DType::f32), ids, want);  // the CPU takes f32/f64: bf16 widens exactly
        EXPECT_EQ(max_rel_error(out, want), 0.0) << dtype_name(dt) << " V " << c.V << " E " << c.E;
      }
}

TEST(CudaEmbedding, BackwardAccumulates) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (const EmbCase& c : kCases) {
      Tensor ids = rand_ints(c.ids, rng, 0, c.V);
      Shape os = c.ids;
      os.push_back(c.E);
      Tensor dout = rand_normal(os, rng, 1.0, dt);
      Tensor dw0 = rand_normal({c.V, c.E}, rng, 1.0, DType::f32);  // an existing gradient: += is checked
      Tensor dw = gpu(dw0), dw64 = host64(dw0);
      embedding_backward(gpu(ids), gpu(dout), dw);
      cpu::embedding_backward(ids, host64(dout), dw64);
      EXPECT_LT(max_rel_error(dw, dw64, kFloorReduction), kTolF32) << dtype_name(dt) << " V " << c.V << " E " << c.E;
    }
}

TEST(CudaEmbedding, OutOfRangeIdGivesNanRow) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  Tensor w = rand_normal({10, 16}, rng);
  Tensor ids = Tensor::from<int32_t>({3, 10, -1, 9}, {4});
  Tensor out = gpu_poisoned({4, 16});
  embedding_forward(gpu(w), gpu(ids), out);
  Tensor h = out.to(Device::cpu);
  for (int64_t e = 0; e < 16; ++e) {
    EXPECT_EQ(h.item(0 * 16 + e), w.item(3 * 16 + e));
    EXPECT_TRUE(std::isnan(h.item(1 * 16 + e)));
    EXPECT_TRUE(std::isnan(h.item(2 * 16 + e)));
    EXPECT_EQ(h.item(3 * 16 + e), w.item(9 * 16 + e));
  }
}

}  // namespace
}  // namespace ms
