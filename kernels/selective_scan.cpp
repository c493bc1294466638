#include "kernels/selective_scan.h"

namespace ms {

ScanDims check_selective_scan(const char* op, const SelectiveScanInputs& in) {
  check_defined(op, "u", in.u);
  MS_CHECK(in.u.ndim() == 3, op, ": u must be (B, D, L), got ", in.u.describe());
  ScanDims d{};
  d.batch = in.u.size(0);
  d.dim = in.u.size(1);
  d.len = in.u.size(2);
  check_defined(op, "A", in.A);
  MS_CHECK(in.A.ndim() == 2 || in.A.ndim() == 3, op, ": A must be (D, N) or (D, N, 2), got ", in.A.describe());
  d.complex = in.A.ndim() == 3;
  d.state = in.A.size(1);
  if (d.complex) MS_CHECK(in.A.size(2) == 2, op, ": complex A must be (D, N, 2), got ", in.A.describe());
  MS_CHECK(in.A.size(0) == d.dim, op, ": A has ", in.A.size(0), " channels, u has ", d.dim);
  check_defined(op, "B", in.B);
  check_defined(op, "C", in.C);
  const int bc_dims = d.complex ? 5 : 4;
  MS_CHECK(in.B.ndim() == bc_dims, op, ": B must be ", d.complex ? "(B, G, N, 2, L)" : "(B, G, N, L)", ", got ",
           in.B.describe());
  d.groups = in.B.size(1);
  MS_CHECK(d.groups > 0 && d.dim % d.groups == 0, op, ": ", d.groups, " groups do not divide D = ", d.dim);
  Shape bc = d.complex ? Shape{d.batch, d.groups, d.state, 2, d.len} : Shape{d.batch, d.groups, d.state, d.len};
  check_shape(op, "B", in.B, bc);
  check_shape(op, "C", in.C, bc);
  check_shape(op, "delta", in.delta, {d.batch, d.dim, d.len});
  if (in.z.defined()) check_shape(op, "z", in.z, {d.batch, d.dim, d.len});
  if (in.D.defined()) check_shape(op, "D", in.D, {d.dim});
  if (in.delta_bias.defined()) check_shape(op, "delta_bias", in.delta_bias, {d.dim});
  Shape st = d.complex ? Shape{d.batch, d.dim, d.state, 2} : Shape{d.batch, d.dim, d.state};
  if (in.initial_state.defined()) check_shape(op, "initial_state", in.initial_state, st);
  for (const Tensor* t : {&in.u, &in.delta, &in.z, &in.B, &in.C}) {
    if (t->defined()) {
      MS_CHECK(t->dtype() == in.u.dtype(), op, ": u, delta, z, B, C must share one dtype; got ", t->describe(),
               " with u ", in.u.describe());
      check_inner_contiguous(op, "u/delta/z/B/C", *t);
    }
  }
  const DType param_dt = in.u.dtype() == DType::f64 ? DType::f64 : DType::f32;
  check_dtype(op, "A", in.A, param_dt);
  if (in.D.defined()) check_dtype(op, "D", in.D, param_dt);
  if (in.delta_bias.defined()) check_dtype(op, "delta_bias", in.delta_bias, param_dt);
  if (in.initial_state.defined()) check_dtype(op, "initial_state", in.initial_state, param_dt);
  check_same_device(op, {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.z, &in.delta_bias, &in.initial_state});
  return d;
}

}  // namespace ms
