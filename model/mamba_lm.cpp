#include "model/mamba_lm.h"

#include <cmath>
#include <string>

#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "model/init.h"
#include "model/lm_loss.h"

namespace ms {

static DType residual_dtype(DType act) { return act == DType::f64 ? DType::f64 : DType::f32; }

MambaLM make_mamba_lm(const MambaConfig& cfg, DType dtype, Device device) {
  cfg.validate();
  MS_CHECK(dtype == DType::f32 || dtype == DType::f64, "make_mamba_lm: dtype must be f32 or f64, got ",
           dtype_name(dtype));
  MambaLM m;
  m.cfg = cfg;
  m.dims = BlockDims::from(cfg);
  ParamStore& s = m.params;
  m.embedding = s.add("backbone.embedding.weight", {cfg.padded_vocab_size(), cfg.d_model}, dtype, device, true);
  Rng r = param_rng(cfg.seed, "backbone.embedding.weight");
  init_normal(s.value(m.embedding), r, 0.02);
  const double out_scale = 1.0 / std::sqrt(static_cast<double>(cfg.n_layer));
  for (int64_t i = 0; i < cfg.n_layer; ++i) {
    const std::string prefix = "backbone.layers." + std::to_string(i);
    LayerIds l;
    l.mixer = add_mamba_block_params(s, prefix + ".mixer", m.dims, cfg, out_scale, dtype, device);
    l.norm = s.add(prefix + ".norm.weight", {cfg.d_model}, dtype, device, false);
    s.value(l.norm).fill_(1.0);
    m.layers.push_back(l);
  }
  m.norm_f = s.add("backbone.norm_f.weight", {cfg.d_model}, dtype, device, false);
  s.value(m.norm_f).fill_(1.0);
  s.add_alias("lm_head.weight", "backbone.embedding.weight");
  return m;
}

BackboneState make_backbone_state(const MambaLM& model, int64_t batch) {
  MS_CHECK(batch > 0, "make_backbone_state: batch ", batch, " must be positive");
  BackboneState st;
  st.batch = batch;
  for (size_t i = 0; i < model.layers.size(); ++i)
    st.layers.push_back(make_block_state(model.dims, batch, model.dtype(), model.device()));
  return st;
}

static void check_ids(const char* op, const MambaLM& model, const Tensor& ids) {
  check_defined(op, "ids", ids);
  MS_CHECK(ids.ndim() == 2 && ids.size(1) > 0, op, ": ids must be (B, L) with L > 0, got ", ids.describe());
  check_dtype(op, "ids", ids, DType::i32);
  MS_CHECK(ids.is_contiguous(), op, ": ids must be contiguous, got ", ids.describe());
  MS_CHECK(ids.device() == model.device(), op, ": ids on ", device_name(ids.device()), ", model on ",
           device_name(model.device()));
}

Tensor backbone_forward(const MambaLM& model, const Tensor& ids, BackboneSaved* saved, BackboneState* state) {
  check_ids("backbone_forward", model, ids);
  const int64_t Bsz = ids.size(0), L = ids.size(1), dm = model.cfg.d_model, rows = Bsz * L;
  const DType dt = model.dtype(), rdt = residual_dtype(dt);
  const Device dev = model.device();
  const ParamStore& s = model.params;
  if (state) {
    MS_CHECK(state->batch == Bsz && state->layers.size() == model.layers.size(), "backbone_forward: state is for batch ",
             state->batch, " and ", state->layers.size(), " layers; ids have batch ", Bsz);
  }
  if (saved) {
    saved->ids = ids;
    saved->layers.assign(model.layers.size(), LayerSaved{});
  }

  Tensor hidden = Tensor::empty({Bsz, L, dm}, dt, dev);
  embedding_forward(s.value(model.embedding), ids, hidden);
  Tensor residual;  // (rows, dm); undefined before the first layer (the embedding is the residual stream)
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const LayerIds& ids_i = model.layers[i];
    Tensor res_out = Tensor::empty({rows, dm}, rdt, dev);
    Tensor normed = Tensor::empty({Bsz, L, dm}, dt, dev);
    Tensor rstd = Tensor::empty({rows}, rdt, dev);
    rmsnorm_forward(hidden.view({rows, dm}), residual, s.value(ids_i.norm), model.cfg.norm_eps, res_out,
                    normed.view({rows, dm}), rstd);
    Tensor out = Tensor::empty({Bsz, L, dm}, dt, dev);
    mamba_block_forward(model.dims, block_values(s, ids_i.mixer), normed, out, saved ? &saved->layers[i].mixer : nullptr,
                        state ? &state->layers[i] : nullptr);
    if (saved) {
      saved->layers[i].residual_out = res_out;
      saved->layers[i].rstd = rstd;
    }
    residual = res_out;
    hidden = out;
  }
  Tensor res_f = Tensor::empty({rows, dm}, rdt, dev);
  Tensor normed_f = Tensor::empty({Bsz, L, dm}, dt, dev);
  Tensor rstd_f = Tensor::empty({rows}, rdt, dev);
  rmsnorm_forward(hidden.view({rows, dm}), residual, s.value(model.norm_f), model.cfg.norm_eps, res_f,
                  normed_f.view({rows, dm}), rstd_f);
  if (saved) {
    saved->residual_f = res_f;
    saved->rstd_f = rstd_f;
  }
  if (state) state->position += L;
  return normed_f;
}

void backbone_backward(const MambaLM& model, const BackboneSaved& saved, const Tensor& dhidden) {
  const char* op = "backbone_backward";
  MS_CHECK(saved.ids.defined() && saved.layers.size() == model.layers.size(), op,
           ": nothing saved (run backbone_forward with `saved`)");
  const int64_t Bsz = saved.ids.size(0), L = saved.ids.size(1), dm = model.cfg.d_model, rows = Bsz * L;
  check_shape(op, "dhidden", dhidden, {Bsz, L, dm});
  MS_CHECK(dhidden.is_contiguous(), op, ": dhidden must be contiguous, got ", dhidden.describe());
  const DType dt = model.dtype(), rdt = residual_dtype(dt);
  MS_CHECK(dt == rdt, op, ": activations in ", dtype_name(dt), " need a cast to the ", dtype_name(rdt),
           " residual stream (not implemented yet)");
  const Device dev = model.device();
  const ParamStore& s = model.params;

  // dres: gradient of the residual stream after the current point (= gradient of the next layer's input sum).
  Tensor dres = Tensor::empty({rows, dm}, rdt, dev);
  rmsnorm_backward(saved.residual_f, s.value(model.norm_f), saved.rstd_f, dhidden.view({rows, dm}), Tensor(), dres,
                   s.grad(model.norm_f));
  for (size_t i = model.layers.size(); i-- > 0;) {
    const LayerIds& ids_i = model.layers[i];
    const LayerSaved& ls = saved.layers[i];
    // The block's output was added into the residual stream, so its gradient is dres.
    Tensor dnormed = Tensor::empty({Bsz, L, dm}, dt, dev);
    mamba_block_backward(model.dims, block_values(s, ids_i.mixer), block_grads(s, ids_i.mixer), ls.mixer,
                         dres.view({Bsz, L, dm}), dnormed);
    Tensor dprev = Tensor::empty({rows, dm}, rdt, dev);
    rmsnorm_backward(ls.residual_out, s.value(ids_i.norm), ls.rstd, dnormed.view({rows, dm}), dres, dprev,
                     s.grad(ids_i.norm));
    dres = dprev;
  }
  embedding_backward(saved.ids, dres.view({Bsz, L, dm}), s.grad(model.embedding));
}

void lm_head_forward(const MambaLM& model, const Tensor& hidden, const Tensor& logits) {
  gemm(hidden, false, model.params.value(model.embedding), true, logits);
}

LossResult lm_forward_backward(const MambaLM& model, const Tensor& ids, const Tensor& targets, int ignore_index,
                               double grad_scale) {
  const char* op = "lm_forward_backward";
  check_ids(op, model, ids);
  check_targets(op, ids, targets);
  const int64_t Bsz = ids.size(0), L = ids.size(1), dm = model.cfg.d_model, rows = Bsz * L;

  BackboneSaved saved;
  Tensor hidden = backbone_forward(model, ids, &saved, nullptr);
  // Tied head: the weight gradient goes into the embedding.
  Tensor dhidden = Tensor::empty({Bsz, L, dm}, model.dtype(), model.device());
  const LossResult r = head_loss_backward(model.params, model.embedding, hidden.view({rows, dm}),
                                          targets.view({rows}), ignore_index, grad_scale, dhidden.view({rows, dm}));
  if (r.n_valid == 0) return r;
  backbone_backward(model, saved, dhidden);
  return r;
}

void lm_forward_chunked(const MambaLM& model, const Tensor& ids, int64_t chunk_len,
                        const std::function<void(int64_t, const Tensor&)>& fn, BackboneState* state) {
  check_ids("lm_forward_chunked", model, ids);
  const int64_t Bsz = ids.size(0), dm = model.cfg.d_model, V = model.vocab();
  BackboneState local;
  if (!state) {
    local = make_backbone_state(model, Bsz);
    state = &local;
  }
  for_each_chunk(ids, chunk_len, [&](const Tensor& chunk) {
    const int64_t len = chunk.size(1);
    Tensor hidden = backbone_forward(model, chunk, nullptr, state);
    Tensor logits = Tensor::empty({Bsz, len, V}, model.dtype(), model.device());
    lm_head_forward(model, hidden.view({Bsz * len, dm}), logits.view({Bsz * len, V}));
    return logits;
  }, fn);
}

LossResult lm_loss(const MambaLM& model, const Tensor& ids, const Tensor& targets, int ignore_index,
                   int64_t chunk_len) {
  check_ids("lm_loss", model, ids);
  check_targets("lm_loss", ids, targets);
  return loss_over_chunks([&](const ChunkSink& sink) { lm_forward_chunked(model, ids, chunk_len, sink); }, targets,
                          ignore_index);
}

Tensor lm_logits(const MambaLM& model, const Tensor& ids, int64_t chunk_len) {
  check_ids("lm_logits", model, ids);
  return logits_over_chunks([&](const ChunkSink& sink) { lm_forward_chunked(model, ids, chunk_len, sink); },
                            ids.size(0), ids.size(1), model.vocab(), model.dtype(), model.device());
}

}  // namespace ms
