#include "kernels/tensor.h"

#include "tests/test_util.h"

namespace ms {
namespace {

TEST(Tensor, ViewsShareStorageAndHonourStrides) {
  Tensor t = Tensor::from<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor tr = t.transpose(0, 1);
  EXPECT_EQ(tr.shape(), (Shape{3, 2}));
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_EQ(tr.item(1), 3.0);  // tr[0][1] = t[1][0]
  Tensor c = tr.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.item(1), 3.0);
  Tensor s = t.slice(1, 1, 3);
  EXPECT_EQ(s.shape(), (Shape{2, 2}));
  EXPECT_EQ(s.item(2), 4.0);
  s.set_item(0, 42);
  EXPECT_EQ(t.item(1), 42.0);
  Tensor row = t.select(0, 1);
  EXPECT_EQ(row.shape(), (Shape{3}));
  EXPECT_EQ(row.item(2), 5.0);
}

TEST(Tensor, ViewInfersOneDimensionAndRejectsBadShapes) {
  Tensor t = Tensor::zeros({4, 6});
  EXPECT_EQ(t.view({-1, 3}).shape(), (Shape{8, 3}));
  EXPECT_THROW(t.view({5, -1}), Error);
  EXPECT_THROW(t.transpose(0, 1).view({24}), Error);
  EXPECT_THROW(t.slice(0, 2, 5), Error);
}

TEST(Tensor, DtypeConversionRoundTrips) {
  Tensor t = Tensor::from<float>({1.5f, -2.25f, 3.0f}, {3});
  Tensor d = t.to(DType::f64);
  EXPECT_EQ(d.data<double>()[1], -2.25);
  Tensor b = t.to(DType::bf16);
  EXPECT_EQ(b.to(DType::f32).data<float>()[0], 1.5f);
  EXPECT_THROW(t.data<double>(), Error);
}

TEST(Tensor, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 lies exactly between two bf16 values (1 and 1 + 2^-7): ties go to the even one, 1.
  EXPECT_EQ(static_cast<float>(bf16(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_EQ(static_cast<float>(bf16(1.0f + 3.0f / 256)), 1.0f + 1.0f / 64);
}

}  // namespace
}  // namespace ms
