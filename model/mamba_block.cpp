#include "model/mamba_block.h"

#include <cmath>

#include "kernels/activation.h"
#include "kernels/conv1d.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/ssm_a.h"
#include "model/init.h"

namespace ms {

BlockDims BlockDims::from(const MambaConfig& cfg) {
  BlockDims d;
  d.d_model = cfg.d_model;
  d.d_inner = cfg.d_inner();
  d.d_state = cfg.d_state;
  d.d_conv = cfg.d_conv;
  d.dt_rank = cfg.resolved_dt_rank();
  d.complex = cfg.is_complex();
  return d;
}

static DType state_dtype(DType act) { return act == DType::f64 ? DType::f64 : DType::f32; }

BlockParamIds add_mamba_block_params(ParamStore& store, const std::string& prefix, const BlockDims& dims,
                                     const MambaConfig& init, double out_proj_scale, DType dtype, Device device) {
  const int64_t dm = dims.d_model, D = dims.d_inner, N = dims.d_state, K = dims.d_conv, R = dims.dt_rank;
  BlockParamIds ids;
  auto add = [&](const std::string& name, const Shape& shape, bool decay) {
    return store.add(prefix + "." + name, shape, dtype, device, decay);
  };
  auto rng = [&](int id) { return param_rng(init.seed, store.at(id).name); };
  ids.in_proj = add("in_proj.weight", {2 * D, dm}, true);
  ids.conv_w = add("conv1d.weight", {D, K}, true);
  ids.conv_b = add("conv1d.bias", {D}, false);
  ids.x_proj = add("x_proj.weight", {dims.x_proj_rows(), D}, true);
  ids.dt_proj_w = add("dt_proj.weight", {D, R}, true);
  ids.dt_proj_b = add("dt_proj.bias", {D}, false);
  ids.A_log = add("A_log", {D, N}, false);
  if (dims.complex) ids.A_imag = add("A_imag", {D, N}, false);
  ids.D = add("D", {D}, false);
  ids.out_proj = add("out_proj.weight", {dm, D}, true);

  // nn.Linear / nn.Conv1d defaults: U(+-1/sqrt(fan_in)); a depthwise conv's fan_in is K.
  Rng r = rng(ids.in_proj);
  init_kaiming_uniform(store.value(ids.in_proj), r, dm);
  r = rng(ids.conv_w);
  init_kaiming_uniform(store.value(ids.conv_w), r, K);
  r = rng(ids.conv_b);
  init_kaiming_uniform(store.value(ids.conv_b), r, K);
  r = rng(ids.x_proj);
  init_kaiming_uniform(store.value(ids.x_proj), r, D);
  // dt_proj: weight U(+-dt_rank^-0.5) ("random" dt_init, dt_scale 1); bias = softplus^-1 of a log-uniform dt.
  r = rng(ids.dt_proj_w);
  const double dt_std = 1.0 / std::sqrt(static_cast<double>(R));
  init_uniform(store.value(ids.dt_proj_w), r, -dt_std, dt_std);
  r = rng(ids.dt_proj_b);
  init_dt_bias(store.value(ids.dt_proj_b), r, init.dt_min, init.dt_max, init.dt_init_floor);
  if (dims.complex) init_a_complex(store.value(ids.A_log), store.value(ids.A_imag));
  else init_a_log_real(store.value(ids.A_log));
  store.value(ids.D).fill_(1.0);
  // MambaLMHeadModel re-draws out_proj with kaiming_uniform and divides by sqrt(n_layer) (prenorm rescale).
  r = rng(ids.out_proj);
  const double bound = out_proj_scale / std::sqrt(static_cast<double>(D));
  init_uniform(store.value(ids.out_proj), r, -bound, bound);
  return ids;
}

static BlockTensors block_tensors(const ParamStore& s, const BlockParamIds& ids, bool grads) {
  auto get = [&](int id) { return id < 0 ? Tensor() : (grads ? s.grad(id) : s.value(id)); };
  BlockTensors t;
  t.in_proj = get(ids.in_proj);
  t.conv_w = get(ids.conv_w);
  t.conv_b = get(ids.conv_b);
  t.x_proj = get(ids.x_proj);
  t.dt_proj_w = get(ids.dt_proj_w);
  t.dt_proj_b = get(ids.dt_proj_b);
  t.A_log = get(ids.A_log);
  t.A_imag = get(ids.A_imag);
  t.D = get(ids.D);
  t.out_proj = get(ids.out_proj);
  return t;
}
BlockTensors block_values(const ParamStore& store, const BlockParamIds& ids) { return block_tensors(store, ids, false); }
BlockTensors block_grads(const ParamStore& store, const BlockParamIds& ids) { return block_tensors(store, ids, true); }

BlockState make_block_state(const BlockDims& dims, int64_t batch, DType dtype, Device device) {
  BlockState s;
  s.conv = Tensor::zeros({batch, dims.d_inner, dims.d_conv - 1}, dtype, device);
  Shape ssm = {batch, dims.d_inner, dims.d_state};
  if (dims.complex) ssm.push_back(2);
  s.ssm = Tensor::zeros(ssm, state_dtype(dtype), device);
  return s;
}

namespace {

// Views of x_proj's output rows: x_dbl is (B, R+2N, L) in the parallel forward, (B, R+2N) in step mode.
struct XProjViews {
  Tensor delta_low, B, C;
};
XProjViews split_x_dbl(const BlockDims& dims, const Tensor& x_dbl) {
  const int64_t R = dims.dt_rank, N = dims.d_state, W = dims.complex ? 2 * N : N;
  XProjViews v;
  v.delta_low = x_dbl.slice(1, 0, R);
  v.B = x_dbl.slice(1, R, R + W);
  v.C = x_dbl.slice(1, R + W, R + 2 * W);
  if (dims.complex) {  // rows R + 2n + c  ->  (N, 2)
    v.B = v.B.unflatten(1, {N, 2});
    v.C = v.C.unflatten(1, {N, 2});
  }
  v.B = v.B.unsqueeze(1);  // one group
  v.C = v.C.unsqueeze(1);
  return v;
}

Shape a_shape(const BlockDims& dims) {
  Shape s = {dims.d_inner, dims.d_state};
  if (dims.complex) s.push_back(2);
  return s;
}

Tensor compute_a(const BlockDims& dims, const BlockTensors& w) {
  Tensor A = Tensor::empty(a_shape(dims), w.A_log.dtype(), w.A_log.device());
  ssm_a_forward(w.A_log, w.A_imag, A);
  return A;
}

// The scan's inputs of a block (forward, and the backward's recomputation): u = the conv output,
// delta = dt_proj(delta_low) before bias and softplus, B/C from x_proj, z the gate.
SelectiveScanInputs scan_inputs(const BlockDims& dims, const BlockTensors& w, const Tensor& xc, const Tensor& delta,
                                const XProjViews& v, const Tensor& z, const Tensor& initial_state) {
  SelectiveScanInputs in;
  in.u = xc;
  in.delta = delta;
  in.A = compute_a(dims, w);
  in.B = v.B;
  in.C = v.C;
  in.D = w.D;
  in.z = z;
  in.delta_bias = w.dt_proj_b;
  in.delta_softplus = true;
  in.initial_state = initial_state;
  return in;
}

void check_block_input(const char* op, const BlockDims& dims, const BlockTensors& w, const Tensor& h) {
  check_defined(op, "h", h);
  MS_CHECK(h.ndim() == 3 && h.size(2) == dims.d_model, op, ": h must be (B, L, ", dims.d_model, "), got ",
           h.describe());
  MS_CHECK(h.dtype() == w.in_proj.dtype(), op, ": activations ", h.describe(), " and weights ",
           w.in_proj.describe(), " must share one dtype");
  MS_CHECK(h.device() == w.in_proj.device(), op, ": activations on ", device_name(h.device()), ", weights on ",
           device_name(w.in_proj.device()));
}

// Conv state after consuming x (B, D, L): the last K-1 entries of concat(state, x).
void advance_conv_state(const Tensor& conv_state, const Tensor& x) {
  const int64_t keep = conv_state.size(2), L = x.size(2);
  if (keep == 0) return;
  if (L >= keep) {
    conv_state.copy_(x.slice(2, L - keep, L));
    return;
  }
  Tensor next = Tensor::empty_like(conv_state);
  next.slice(2, 0, keep - L).copy_(conv_state.slice(2, L, keep));
  next.slice(2, keep - L, keep).copy_(x);
  conv_state.copy_(next);
}

}  // namespace

void mamba_block_forward(const BlockDims& dims, const BlockTensors& w, const Tensor& h, const Tensor& out,
                         BlockSaved* saved, BlockState* state) {
  check_block_input("mamba_block_forward", dims, w, h);
  const int64_t Bsz = h.size(0), L = h.size(1), D = dims.d_inner;
  const DType dt = h.dtype();
  const Device dev = h.device();
  check_shape("mamba_block_forward", "out", out, h.shape());

  // xz[b] (2D, L) = W_in (2D, d_model) @ h[b]^T: sequence-last straight out of the GEMM.
  Tensor xz = Tensor::empty({Bsz, 2 * D, L}, dt, dev);
  gemm(w.in_proj, false, h, true, xz);
  const Tensor x = xz.slice(1, 0, D), z = xz.slice(1, D, 2 * D);

  const Tensor conv_init = state ? state->conv : Tensor();
  Tensor xc = Tensor::empty({Bsz, D, L}, dt, dev);
  causal_conv1d_forward(x, w.conv_w, w.conv_b, conv_init, /*silu=*/true, xc);

  Tensor x_dbl = Tensor::empty({Bsz, dims.x_proj_rows(), L}, dt, dev);
  gemm(w.x_proj, false, xc, false, x_dbl);
  const XProjViews v = split_x_dbl(dims, x_dbl);
  Tensor delta = Tensor::empty({Bsz, D, L}, dt, dev);
  gemm(w.dt_proj_w, false, v.delta_low, false, delta);

  const SelectiveScanInputs in = scan_inputs(dims, w, xc, delta, v, z, state ? state->ssm : Tensor());
  Tensor y = Tensor::empty({Bsz, D, L}, dt, dev);
  Tensor last_state = state ? Tensor::empty_like(state->ssm) : Tensor();
  selective_scan_forward(in, y, last_state, saved ? &saved->scan : nullptr);

  // out[b] (L, d_model) = y[b]^T @ W_out^T.
  gemm(y, true, w.out_proj, true, out);

  if (saved) {
    saved->h = h;
    saved->xz = xz;
    saved->x_dbl = x_dbl;
    saved->y = y;
    saved->conv_init = state ? state->conv.clone() : Tensor();
    saved->ssm_init = state ? state->ssm.clone() : Tensor();
  }
  if (state) {
    advance_conv_state(state->conv, x);
    state->ssm.copy_(last_state);
  }
}

void mamba_block_backward(const BlockDims& dims, const BlockTensors& w, const BlockTensors& g,
                          const BlockSaved& saved, const Tensor& dout, const Tensor& dh) {
  const char* op = "mamba_block_backward";
  MS_CHECK(saved.xz.defined(), op, ": nothing saved (run mamba_block_forward with `saved`)");
  const Tensor& h = saved.h;
  check_shape(op, "dout", dout, h.shape());
  check_shape(op, "dh", dh, h.shape());
  const int64_t Bsz = h.size(0), L = h.size(1), D = dims.d_inner;
  const DType dt = h.dtype();
  const Device dev = h.device();

  // out_proj: dy = W_out^T dout^T; dW_out += dout^T y^T (summed over the batch).
  Tensor dy = Tensor::empty({Bsz, D, L}, dt, dev);
  gemm(w.out_proj, true, dout, true, dy);
  gemm(dout, true, saved.y, true, g.out_proj, 1.0, 1.0);

  // Recompute the conv output and delta (cheap next to storing them).
  const Tensor x = saved.xz.slice(1, 0, D), z = saved.xz.slice(1, D, 2 * D);
  Tensor xc = Tensor::empty({Bsz, D, L}, dt, dev);
  causal_conv1d_forward(x, w.conv_w, w.conv_b, saved.conv_init, true, xc);
  const XProjViews v = split_x_dbl(dims, saved.x_dbl);
  Tensor delta = Tensor::empty({Bsz, D, L}, dt, dev);
  gemm(w.dt_proj_w, false, v.delta_low, false, delta);

  const SelectiveScanInputs in = scan_inputs(dims, w, xc, delta, v, z, saved.ssm_init);

  // The scan writes dB, dC straight into their rows of dx_dbl, and dz into its half of dxz.
  Tensor dxz = Tensor::empty({Bsz, 2 * D, L}, dt, dev);
  Tensor dx_dbl = Tensor::empty({Bsz, dims.x_proj_rows(), L}, dt, dev);
  const XProjViews dv = split_x_dbl(dims, dx_dbl);
  Tensor dA = Tensor::zeros(in.A.shape(), in.A.dtype(), dev);
  SelectiveScanGrads sg;
  sg.du = Tensor::empty({Bsz, D, L}, dt, dev);
  sg.ddelta = Tensor::empty({Bsz, D, L}, dt, dev);
  sg.dA = dA;
  sg.dB = dv.B;
  sg.dC = dv.C;
  sg.dD = g.D;
  sg.dz = dxz.slice(1, D, 2 * D);
  sg.ddelta_bias = g.dt_proj_b;
  selective_scan_backward(in, saved.scan, dy, sg);
  ssm_a_backward(in.A, dA, g.A_log, g.A_imag);

  // dt_proj: dW_dt += ddelta delta_low^T; d(delta_low) = W_dt^T ddelta into its rows of dx_dbl.
  gemm(sg.ddelta, false, v.delta_low, true, g.dt_proj_w, 1.0, 1.0);
  gemm(w.dt_proj_w, true, sg.ddelta, false, dv.delta_low);

  // x_proj: dW_x += dx_dbl xc^T; dxc = du + W_x^T dx_dbl (accumulated into du).
  gemm(dx_dbl, false, xc, true, g.x_proj, 1.0, 1.0);
  gemm(w.x_proj, true, dx_dbl, false, sg.du, 1.0, 1.0);

  // conv1d (+SiLU): dx into its half of dxz.
  causal_conv1d_backward(x, w.conv_w, w.conv_b, saved.conv_init, true, sg.du, dxz.slice(1, 0, D), g.conv_w,
                         g.conv_b);

  // in_proj: dW_in += dxz h; dh = dxz^T W_in.
  gemm(dxz, false, h, false, g.in_proj, 1.0, 1.0);
  gemm(dxz, true, w.in_proj, false, dh);
}

BlockStepBuffers make_block_step_buffers(const BlockDims& dims, int64_t batch, DType dtype, Device device) {
  BlockStepBuffers b;
  b.xz = Tensor::empty({batch, 2 * dims.d_inner}, dtype, device);
  b.xc = Tensor::empty({batch, dims.d_inner}, dtype, device);
  b.x_dbl = Tensor::empty({batch, dims.x_proj_rows()}, dtype, device);
  b.dt = Tensor::empty({batch, dims.d_inner}, dtype, device);
  b.y = Tensor::empty({batch, dims.d_inner}, dtype, device);
  b.A = Tensor::empty(a_shape(dims), state_dtype(dtype), device);
  return b;
}

void mamba_block_step(const BlockDims& dims, const BlockTensors& w, BlockState& state, const Tensor& h,
                      const Tensor& out, BlockStepBuffers& buf) {
  const char* op = "mamba_block_step";
  check_defined(op, "h", h);
  MS_CHECK(h.ndim() == 2 && h.size(1) == dims.d_model, op, ": h must be (B, ", dims.d_model, "), got ",
           h.describe());
  const int64_t Bsz = h.size(0), D = dims.d_inner;
  MS_CHECK(state.conv.defined() && state.conv.size(0) == Bsz, op, ": state is for batch ",
           state.conv.defined() ? state.conv.size(0) : 0, ", h has batch ", Bsz);
  check_shape(op, "out", out, h.shape());

  gemm(h, false, w.in_proj, true, buf.xz);
  const Tensor x = buf.xz.slice(1, 0, D), z = buf.xz.slice(1, D, 2 * D);
  causal_conv1d_step(state.conv, x, w.conv_w, w.conv_b, true, buf.xc);
  gemm(buf.xc, false, w.x_proj, true, buf.x_dbl);
  const XProjViews v = split_x_dbl(dims, buf.x_dbl);
  gemm(v.delta_low, false, w.dt_proj_w, true, buf.dt);
  ssm_a_forward(w.A_log, w.A_imag, buf.A);
  selective_state_update(state.ssm, buf.xc, buf.dt, buf.A, v.B, v.C, w.D, z, w.dt_proj_b, true, buf.y);
  gemm(buf.y, false, w.out_proj, true, out);
}

}  // namespace ms
