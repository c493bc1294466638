// Reductions across rows (parameter gradients, sums) must not depend on the OpenMP thread count: results
// computed with 1 and with 3 threads are bit-identical (and so are two runs with the same count).
#include <omp.h>

#include "kernels/conv1d.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/layernorm.h"
#include "kernels/rmsnorm.h"
#include "tests/kernels/kernel_test_util.h"

namespace ms {
namespace {

using test::values;

// Runs `f` (which returns the tensors to compare) with 1 and 3 threads and checks they agree bit for bit.
void expect_thread_independent(const std::function<std::vector<Tensor>()>& f) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<Tensor> one = f();
  omp_set_num_threads(3);
  const std::vector<Tensor> three = f();
  omp_set_num_threads(saved);
  ASSERT_EQ(one.size(), three.size());
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(values(one[i]), values(three[i])) << "output " << i;
}

TEST(Determinism, ParameterGradientsIgnoreTheThreadCount) {
  Rng rng(test::test_seed());
  const int64_t R = 2000, H = 48;
  Tensor x = test::rand_normal({R, H}, rng), w = test::rand_uniform({H}, rng), b = test::rand_uniform({H}, rng);
  Tensor dy = test::rand_normal({R, H}, rng);
  expect_thread_independent([&] {
    Tensor out = Tensor::empty({R, H}), rstd = Tensor::empty({R}), mean = Tensor::empty({R}), dx = Tensor::empty({R, H});
    Tensor dw_rms = Tensor::zeros({H}), dw_ln = Tensor::zeros({H}), db_ln = Tensor::zeros({H});
    rmsnorm_forward(x, Tensor(), w, 1e-5, Tensor(), out, rstd);
    rmsnorm_backward(x, w, rstd, dy, Tensor(), dx, dw_rms);
    layernorm_forward(x, w, b, 1e-5, out, mean, rstd);
    layernorm_backward(x, w, mean, rstd, dy, dx, dw_ln, db_ln);
    return std::vector<Tensor>{dw_rms, dw_ln, db_ln, dx};
  });
  Tensor ids = test::rand_ints({R}, rng, 0, 7);
  expect_thread_independent([&] {
    Tensor dw = Tensor::zeros({7, H});
    embedding_backward(ids, dy, dw);
    return std::vector<Tensor>{dw};
  });
  Tensor cx = test::rand_normal({3, 40, 500}, rng), cw = test::rand_uniform({40, 4}, rng), cb = test::rand_uniform({40}, rng);
  Tensor cdy = test::rand_normal({3, 40, 500}, rng);
  expect_thread_independent([&] {
    Tensor dx = Tensor::empty({3, 40, 500}), dw = Tensor::zeros({40, 4}), db = Tensor::zeros({40});
    causal_conv1d_backward(cx, cw, cb, Tensor(), true, cdy, dx, dw, db);
    return std::vector<Tensor>{dx, dw, db};
  });
  expect_thread_independent([&] {
    Tensor s = Tensor::from<double>({sum_squares(x)}, {1});
    return std::vector<Tensor>{s};
  });
}

}  // namespace
}  // namespace ms
