#include "model/pooling.h"

#include "kernels/elementwise.h"
#include "kernels/gemm.h"

namespace ms {
namespace {

// x (B, L, W) contiguous seen as (B, L/p, p*W): pooled step j is the row of inputs [p*j, p*j + p).
Tensor as_pooled_rows(const char* op, const char* arg, const Tensor& x, int64_t p) {
  check_defined(op, arg, x);
  MS_CHECK(x.ndim() == 3, op, ": '", arg, "' must be (B, L, W), got ", x.describe());
  MS_CHECK(x.is_contiguous(), op, ": '", arg, "' must be contiguous, got ", x.describe());
  MS_CHECK(x.size(1) > 0 && x.size(1) % p == 0, op, ": sequence length ", x.size(1),
           " must be a positive multiple of the pooling factor ", p);
  return x.view({x.size(0), x.size(1) / p, p * x.size(2)});
}

void check_pool(const char* op, int64_t p, const Tensor& weight) {
  MS_CHECK(p >= 1, op, ": pooling factor ", p, " must be >= 1");
  check_defined(op, "weight", weight);
  MS_CHECK(weight.ndim() == 2, op, ": weight must be 2-d, got ", weight.describe());
}

}  // namespace

void down_pool_forward(const Tensor& weight, int64_t p, const Tensor& x, const Tensor& out) {
  const char* op = "down_pool_forward";
  check_pool(op, p, weight);
  const Tensor xv = as_pooled_rows(op, "x", x, p);
  check_shape(op, "weight", weight, {weight.size(0), xv.size(2)});
  check_shape(op, "out", out, {x.size(0), xv.size(1), weight.size(0)});
  gemm(xv, false, weight, true, out);
}

void down_pool_backward(const Tensor& weight, int64_t p, const Tensor& x, const Tensor& dout, const Tensor& dx,
                        const Tensor& dweight, bool accumulate_dx) {
  const char* op = "down_pool_backward";
  check_pool(op, p, weight);
  const Tensor xv = as_pooled_rows(op, "x", x, p);
  check_shape(op, "dout", dout, {x.size(0), xv.size(1), weight.size(0)});
  check_shape(op, "dx", dx, x.shape());
  check_shape(op, "dweight", dweight, weight.shape());
  gemm(dout, true, xv, false, dweight, 1.0, 1.0);  // summed over the batch
  gemm(dout, false, weight, false, as_pooled_rows(op, "dx", dx, p), 1.0, accumulate_dx ? 1.0 : 0.0);
}

void up_pool_forward(const Tensor& weight, int64_t p, const Tensor& c, const Tensor& skip, const Tensor& out,
                     const Tensor& history) {
  const char* op = "up_pool_forward";
  check_pool(op, p, weight);
  check_defined(op, "c", c);
  check_defined(op, "skip", skip);
  MS_CHECK(c.ndim() == 3 && c.size(1) > 0, op, ": c must be (B, Lc, W') with Lc > 0, got ", c.describe());
  MS_CHECK(skip.ndim() == 3, op, ": skip must be (B, L, W), got ", skip.describe());
  const int64_t Bsz = c.size(0), Lc = c.size(1), L = Lc * p, W = skip.size(2), s = up_pool_shift(p);
  check_shape(op, "weight", weight, {p * W, c.size(2)});
  check_shape(op, "skip", skip, {Bsz, L, W});
  check_shape(op, "out", out, {Bsz, L, W});
  if (history.defined()) check_shape(op, "history", history, {Bsz, p, W});

  Tensor raw = Tensor::empty({Bsz, Lc, p * W}, c.dtype(), c.device());
  gemm(c, false, weight, true, raw);
  const Tensor rv = raw.view({Bsz, L, W});
  add(rv.slice(1, 0, L - s), skip.slice(1, s, L), out.slice(1, s, L));
  // The first s outputs take what the previous chunk's last coarse vector left due (nothing at a start).
  if (history.defined()) {
    add(history.slice(1, 1, p), skip.slice(1, 0, s), out.slice(1, 0, s));
    history.copy_(rv.slice(1, L - p, L));
  } else {
    out.slice(1, 0, s).copy_(skip.slice(1, 0, s));
  }
}

void up_pool_backward(const Tensor& weight, int64_t p, const Tensor& c, const Tensor& dout, const Tensor& dc,
                      const Tensor& dweight) {
  const char* op = "up_pool_backward";
  check_pool(op, p, weight);
  check_defined(op, "c", c);
  check_defined(op, "dout", dout);
  MS_CHECK(c.ndim() == 3 && c.size(1) > 0, op, ": c must be (B, Lc, W') with Lc > 0, got ", c.describe());
  MS_CHECK(dout.ndim() == 3 && dout.is_contiguous(), op, ": dout must be contiguous (B, L, W), got ", dout.describe());
  const int64_t Bsz = c.size(0), Lc = c.size(1), L = Lc * p, W = dout.size(2), s = up_pool_shift(p);
  check_shape(op, "weight", weight, {p * W, c.size(2)});
  check_shape(op, "dout", dout, {Bsz, L, W});
  check_shape(op, "dc", dc, c.shape());
  check_shape(op, "dweight", dweight, weight.shape());

  // The gradient of raw is dout shifted back by s: raw row block j (p*j .. p*j+p-1) receives dout rows
  // p*j+s .. p*j+s+p-1. For j < Lc-1 those are p whole rows of dout: a strided view (offset s*W, row stride
  // p*W) used by the GEMMs in place. The last block has only its row 0 inside the sequence (at L-1); the
  // rest of it fell past the end and gets no gradient.
  if (Lc > 1) {
    const Tensor dv = dout.view({Bsz, L * W}).slice(1, s * W, s * W + (Lc - 1) * p * W).unflatten(1, {Lc - 1, p * W});
    const Tensor c_head = c.slice(1, 0, Lc - 1);
    gemm(dv, true, c_head, false, dweight, 1.0, 1.0);
    gemm(dv, false, weight, false, dc.slice(1, 0, Lc - 1));
  }
  const Tensor d_last = dout.select(1, L - 1), c_last = c.select(1, Lc - 1);  // (B, W), (B, W')
  gemm(d_last, true, c_last, false, dweight.slice(0, 0, W), 1.0, 1.0);
  gemm(d_last, false, weight.slice(0, 0, W), false, dc.select(1, Lc - 1));
}

}  // namespace ms
