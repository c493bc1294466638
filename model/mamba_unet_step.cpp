// Step mode of the Mamba-UNet: one sample at a time through every level with bounded state.
// At level l with pooling factor p, step t (counted at that level):
//   y_t = down stack step (x_t), written into row t % p of pool_buf (y_t is also the skip);
//   when t % p == p - 1 the pooled step is complete: pooled = pool_buf (B, p*W) @ W_down^T, level l+1 takes
//   one step on it, and its output is up-pooled into up_buf (B, p, W);
//   u_t = y_t + up_buf[up_pool_row(t, p)]  (zeros before the first coarse output, as the parallel shift's zero fill);
//   out_t = up stack step (u_t).
// This is the parallel forward's arithmetic row by row (model/pooling.h), so the two agree to rounding.
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "model/mamba_unet.h"
#include "model/pooling.h"

namespace ms {

UNetInferenceState make_unet_inference_state(const MambaUNet& model, int64_t batch) {
  UNetInferenceState st;
  st.state = make_unet_state(model, batch);
  const DType dt = model.dtype(), rdt = dt == DType::f64 ? DType::f64 : DType::f32;
  const Device dev = model.device();
  for (size_t l = 0; l < model.levels.size(); ++l) {
    const UNetLevel& lv = model.levels[l];
    const int64_t W = lv.width;
    UNetLevelWork w;
    w.block = make_block_step_buffers(lv.dims, batch, dt, dev);
    w.normed = Tensor::empty({batch, W}, dt, dev);
    w.rstd = Tensor::empty({batch}, rdt, dev);
    for (int i = 0; i < 2; ++i) {
      w.mixer_out[i] = Tensor::empty({batch, W}, dt, dev);
      w.residual[i] = Tensor::empty({batch, W}, rdt, dev);
    }
    w.u = Tensor::empty({batch, W}, dt, dev);
    if (lv.pool > 0) {
      const int64_t Wc = model.levels[l + 1].width;
      w.pooled = Tensor::empty({batch, Wc}, dt, dev);
      w.coarse = Tensor::empty({batch, Wc}, dt, dev);
    }
    st.work.push_back(std::move(w));
  }
  const int64_t dm = model.cfg.d_model, V = model.vocab();
  st.embedded = Tensor::empty({batch, dm}, dt, dev);
  st.top = Tensor::empty({batch, dm}, dt, dev);
  st.normed = Tensor::empty({batch, dm}, dt, dev);
  st.rstd = Tensor::empty({batch}, rdt, dev);
  st.logits = Tensor::empty({batch, V}, dt, dev);
  st.logits_f32 = dt == DType::f32 ? st.logits : Tensor::empty({batch, V}, DType::f32, dev);
  st.tokens = Tensor::empty({batch}, DType::i32, dev);
  return st;
}

namespace {

// One step of a stack: x (B, W) -> out (B, W) (out may be a strided row view; it must not alias x or w's tensors).
void stack_step(const MambaUNet& m, const BlockDims& dims, const std::vector<LayerIds>& layers,
                std::vector<BlockState>& states, UNetLevelWork& w, const Tensor& x, const Tensor& out) {
  if (layers.empty()) {
    out.copy_(x);
    return;
  }
  const ParamStore& s = m.params;
  Tensor hidden = x, residual;
  int next = 0;
  for (size_t k = 0; k < layers.size(); ++k) {
    rmsnorm_forward(hidden, residual, s.value(layers[k].norm), m.cfg.norm_eps, w.residual[next], w.normed, w.rstd);
    mamba_block_step(dims, block_values(s, layers[k].mixer), states[k], w.normed, w.mixer_out[next], w.block);
    residual = w.residual[next];
    hidden = w.mixer_out[next];
    next ^= 1;
  }
  add(hidden, residual, out);
}

void level_step(const MambaUNet& m, size_t l, UNetInferenceState& inf, const Tensor& x, const Tensor& out) {
  const UNetLevel& lv = m.levels[l];
  UNetLevelState& ls = inf.state.levels[l];
  UNetLevelWork& w = inf.work[l];
  if (lv.pool == 0) {  // the centre
    stack_step(m, lv.dims, lv.down, ls.down, w, x, out);
    ls.position += 1;
    return;
  }
  const ParamStore& s = m.params;
  const int64_t p = lv.pool, k = ls.position % p, Bsz = inf.state.batch;
  const Tensor y = ls.pool_buf.select(1, k);
  stack_step(m, lv.dims, lv.down, ls.down, w, x, y);
  if (k == p - 1) {
    gemm(ls.pool_buf.view({Bsz, p * lv.width}), false, s.value(lv.down_pool), true, w.pooled);
    level_step(m, l + 1, inf, w.pooled, w.coarse);
    gemm(w.coarse, false, s.value(lv.up_pool), true, ls.up_buf.view({Bsz, p * lv.width}));
  }
  add(ls.up_buf.select(1, up_pool_row(ls.position, p)), y, w.u);
  stack_step(m, lv.dims, lv.up, ls.up, w, w.u, out);
  ls.position += 1;
}

}  // namespace

Tensor unet_step(const MambaUNet& model, UNetInferenceState& st, const Tensor& tokens) {
  const char* op = "unet_step";
  check_shape(op, "tokens", tokens, {st.state.batch});
  check_dtype(op, "tokens", tokens, DType::i32);
  MS_CHECK(tokens.device() == model.device(), op, ": tokens on ", device_name(tokens.device()), ", model on ",
           device_name(model.device()));
  const ParamStore& s = model.params;
  embedding_forward(s.value(model.embedding), tokens, st.embedded);
  level_step(model, 0, st, st.embedded, st.top);
  rmsnorm_forward(st.top, Tensor(), s.value(model.norm_f), model.cfg.norm_eps, Tensor(), st.normed, st.rstd);
  unet_head_forward(model, st.normed, st.logits);
  st.state.position += 1;
  return st.logits;
}

Tensor unet_prefill(const MambaUNet& model, UNetInferenceState& st, const Tensor& prompt) {
  const char* op = "unet_prefill";
  check_defined(op, "prompt", prompt);
  MS_CHECK(prompt.ndim() == 2 && prompt.size(0) == st.state.batch && prompt.size(1) >= 1, op, ": prompt must be (",
           st.state.batch, ", Lp) with Lp >= 1, got ", prompt.describe());
  const int64_t P = model.cfg.total_pool(), Lp = prompt.size(1);
  auto step_range = [&](int64_t from, int64_t to) {
    for (int64_t t = from; t < to; ++t) unet_step(model, st, prompt.select(1, t).contiguous());
  };
  // Steps up to the next pooled block boundary, the whole blocks in parallel, the remainder in steps.
  const int64_t head = std::min(Lp, (P - st.state.position % P) % P);
  const int64_t body = (Lp - head) / P * P;
  step_range(0, head);
  if (body > 0) {
    Tensor ids = prompt.slice(1, head, head + body).contiguous();
    Tensor hidden = unet_backbone_forward(model, ids, nullptr, &st.state);
    if (head + body == Lp) unet_head_forward(model, hidden.select(1, body - 1), st.logits);
  }
  step_range(head + body, Lp);
  return st.logits;
}

Tensor unet_generate(const MambaUNet& model, const Tensor& prompt, int64_t n_new, const GenerateOptions& opt) {
  check_defined("unet_generate", "prompt", prompt);
  MS_CHECK(prompt.ndim() == 2 && prompt.size(1) >= 1, "unet_generate: prompt must be (B, Lp) with Lp >= 1, got ",
           prompt.describe());
  MS_CHECK(n_new >= 0, "unet_generate: n_new = ", n_new, " must not be negative");
  const int64_t Bsz = prompt.size(0);
  UNetInferenceState st = make_unet_inference_state(model, Bsz);
  Tensor out = Tensor::empty({Bsz, n_new}, DType::i32, model.device());
  Tensor logits = unet_prefill(model, st, prompt);
  for (int64_t i = 0; i < n_new; ++i) {
    if (model.dtype() != DType::f32) cast(logits, st.logits_f32);
    sample_tokens(st.logits_f32, opt.sampling, opt.seed, static_cast<uint64_t>(i), st.tokens);
    out.select(1, i).copy_(st.tokens);
    if (i + 1 < n_new) logits = unet_step(model, st, st.tokens);
  }
  return out;
}

}  // namespace ms
