// CUDA fill and strided copy against the CPU: contiguous tensors (fill's flat path) and strided views
// (transposed and sliced) of every dtype. The views sit inside a larger buffer filled with another value
// on both devices, so a write outside the view shows up as a difference too.
#include <vector>

#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

constexpr DType kDtypes[] = {DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64, DType::u8};

// The same strided view of `base` on either device: the last two dims swapped, then a slice of each
// that leaves elements of the buffer on both sides.
Tensor strided_view(const Tensor& base) {
  const int64_t n0 = base.size(0), n2 = base.size(2);
  return base.transpose(1, 2).slice(0, 1, n0 - 1).slice(1, 2, n2 - 1);
}

TEST(CudaMemory, FillMatchesCpu) {
  MS_SKIP_WITHOUT_GPU();
  const std::vector<Shape> shapes = {{1}, {7, 33}, {3, 5, 1001}, {300001}};
  for (DType dt : kDtypes) {
    for (const Shape& shape : shapes) {
      Tensor g = Tensor::full(shape, 7.0, dt, Device::cuda);
      g.fill_(3.0);
      EXPECT_EQ(max_rel_error(g, Tensor::full(shape, 3.0, dt)), 0.0) << dtype_name(dt) << " " << shape_str(shape);
    }
    Tensor base_g = Tensor::full({6, 9, 257}, 7.0, dt, Device::cuda), base_c = Tensor::full({6, 9, 257}, 7.0, dt);
    const Tensor view_g = strided_view(base_g), view_c = strided_view(base_c);
    ASSERT_FALSE(view_g.is_contiguous());
    view_g.fill_(3.0);
    view_c.fill_(3.0);
    EXPECT_EQ(max_rel_error(base_g, base_c), 0.0) << dtype_name(dt) << " strided view";
  }
}

TEST(CudaMemory, StridedCopyMatchesCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : kDtypes) {
    Tensor base_g = Tensor::full({6, 9, 257}, 7.0, dt, Device::cuda), base_c = Tensor::full({6, 9, 257}, 7.0, dt);
    const Tensor view_g = strided_view(base_g), view_c = strided_view(base_c);
    // values every dtype holds exactly (small integers)
    const Tensor src = rand_ints(view_c.shape(), rng, 0, 100).to(dt);
    view_g.copy_(gpu(src));        // contiguous source into a strided destination
    view_c.copy_(src);
    EXPECT_EQ(max_rel_error(base_g, base_c), 0.0) << dtype_name(dt) << " into a view";
    Tensor out_g = Tensor::full(view_c.shape(), 7.0, dt, Device::cuda);
    out_g.copy_(view_g);           // strided source into a contiguous destination
    EXPECT_EQ(max_rel_error(out_g, view_c.contiguous()), 0.0) << dtype_name(dt) << " out of a view";
  }
}

}  // namespace
}  // namespace ms
