#include "model/mamba_unet.h"

#include <cmath>
#include <sstream>

#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "model/init.h"
#include "model/lm_loss.h"
#include "model/pooling.h"

namespace ms {

// ---------------------------------------------------------------- config

int64_t UNetConfig::total_pool() const {
  int64_t p = 1;
  for (int64_t f : pool) p *= f;
  return p;
}

int64_t UNetConfig::width(int64_t level) const {
  MS_CHECK(level >= 0 && level <= levels(), "UNetConfig::width: level ", level, " out of range 0..", levels());
  int64_t w = d_model;
  for (int64_t i = 0; i < level; ++i) w *= width_factor;
  return w;
}

int64_t UNetConfig::n_down(int64_t level) const {
  return down_layers.empty() ? n_layer : down_layers.at(static_cast<size_t>(level));
}
int64_t UNetConfig::n_up(int64_t level) const {
  return up_layers.empty() ? n_layer : up_layers.at(static_cast<size_t>(level));
}
int64_t UNetConfig::n_center() const { return center_layers >= 0 ? center_layers : n_layer; }

int64_t UNetConfig::total_blocks() const {
  int64_t n = n_center();
  for (int64_t l = 0; l < levels(); ++l) n += n_down(l) + n_up(l);
  return n;
}

MambaConfig UNetConfig::block_config(int64_t level) const {
  MambaConfig c;
  c.d_model = width(level);
  c.n_layer = std::max<int64_t>(1, total_blocks());
  c.vocab_size = vocab_size;
  c.pad_vocab_size_multiple = 1;
  c.d_state = d_state;
  c.d_conv = d_conv;
  c.expand = expand;
  c.dt_rank = dt_rank;
  c.dt_min = dt_min;
  c.dt_max = dt_max;
  c.dt_init_floor = dt_init_floor;
  c.norm_eps = norm_eps;
  c.ssm = ssm;
  c.seed = seed;
  return c;
}

void UNetConfig::validate() const {
  auto fail = [](const auto&... args) { MS_FAIL("unet config: ", args...); };
  if (d_model <= 0) fail("d_model = ", d_model, " must be positive");
  if (width_factor < 1) fail("width_factor = ", width_factor, " must be >= 1");
  if (n_layer < 0) fail("n_layer = ", n_layer, " must not be negative");
  if (center_layers < -1) fail("center_layers = ", center_layers, " must be >= 0 (or -1 for n_layer)");
  if (vocab_size <= 0 || vocab_size > (int64_t{1} << 30)) fail("vocab_size = ", vocab_size, " out of range");
  for (size_t i = 0; i < pool.size(); ++i)
    if (pool[i] < 1) fail("pool[", i, "] = ", pool[i], " must be >= 1");
  if (pool.size() > 16) fail("pool has ", pool.size(), " factors; at most 16 levels are supported");
  if (total_pool() > (int64_t{1} << 30)) fail("the product of the pooling factors is too large");
  for (const auto* v : {&down_layers, &up_layers}) {
    const char* key = v == &down_layers ? "down_layers" : "up_layers";
    if (!v->empty() && v->size() != pool.size())
      fail(key, " has ", v->size(), " entries; it needs one per pooling factor (", pool.size(), ") or none");
    for (size_t i = 0; i < v->size(); ++i)
      if ((*v)[i] < 0) fail(key, "[", i, "] = ", (*v)[i], " must not be negative");
  }
  int64_t w = d_model;
  for (size_t i = 0; i < pool.size(); ++i) {
    if (w > (int64_t{1} << 24) / width_factor) fail("the width at level ", i + 1, " is too large");
    w *= width_factor;
  }
  // The block hyperparameters (d_state, d_conv, expand, dt range, norm_eps) are MambaConfig's.
  block_config(levels()).validate();
}

std::string UNetConfig::describe() const {
  std::ostringstream os;
  auto list = [&](const std::vector<int64_t>& v) {
    os << "[";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
    os << "]";
  };
  std::vector<int64_t> widths, down, up;
  for (int64_t l = 0; l <= levels(); ++l) widths.push_back(width(l));
  for (int64_t l = 0; l < levels(); ++l) {
    down.push_back(n_down(l));
    up.push_back(n_up(l));
  }
  os << "MambaUNet(d_model=" << d_model << ", pool=";
  list(pool);
  os << ", widths=";
  list(widths);
  os << ", blocks down=";
  list(down);
  os << " center=" << n_center() << " up=";
  list(up);
  os << ", vocab=" << vocab_size << ", d_state=" << d_state << ", d_conv=" << d_conv << ", expand=" << expand
     << ", ssm=" << ssm_kind_name(ssm) << ")";
  return os.str();
}

// ---------------------------------------------------------------- construction

static DType stream_dtype(DType act) { return act == DType::f64 ? DType::f64 : DType::f32; }

MambaUNet make_mamba_unet(const UNetConfig& cfg, DType dtype, Device device) {
  cfg.validate();
  MS_CHECK(dtype == DType::f32 || dtype == DType::f64, "make_mamba_unet: dtype must be f32 or f64, got ",
           dtype_name(dtype));
  MambaUNet m;
  m.cfg = cfg;
  ParamStore& s = m.params;
  const int64_t S = cfg.levels();
  // mamba_ssm's prenorm rescale, counting every block of the model (all of them add into residual streams
  // that end up in the output).
  const double out_scale = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(1, cfg.total_blocks())));

  auto add_blocks = [&](const std::string& prefix, int64_t n, const BlockDims& dims, const MambaConfig& bc) {
    std::vector<LayerIds> out;
    for (int64_t k = 0; k < n; ++k) {
      const std::string p = prefix + ".blocks." + std::to_string(k);
      LayerIds l;
      l.norm = s.add(p + ".norm.weight", {dims.d_model}, dtype, device, false);
      s.value(l.norm).fill_(1.0);
      l.mixer = add_mamba_block_params(s, p + ".mixer", dims, bc, out_scale, dtype, device);
      out.push_back(l);
    }
    return out;
  };
  auto add_linear = [&](const std::string& name, int64_t rows, int64_t fan_in) {
    const int id = s.add(name, {rows, fan_in}, dtype, device, true);
    Rng r = param_rng(cfg.seed, name);
    init_kaiming_uniform(s.value(id), r, fan_in);  // nn.Linear's default
    return id;
  };

  m.embedding = s.add("unet.embedding.weight", {cfg.vocab_size, cfg.d_model}, dtype, device, true);
  Rng r = param_rng(cfg.seed, "unet.embedding.weight");
  init_normal(s.value(m.embedding), r, 0.02);

  m.levels.resize(static_cast<size_t>(S + 1));
  for (int64_t l = 0; l <= S; ++l) {
    UNetLevel& lv = m.levels[l];
    const MambaConfig bc = cfg.block_config(l);
    lv.width = cfg.width(l);
    lv.pool = l < S ? cfg.pool[l] : 0;
    lv.dims = BlockDims::from(bc);
  }
  // Registered in forward order: down levels, centre, up levels from the deepest out.
  for (int64_t l = 0; l < S; ++l) {
    UNetLevel& lv = m.levels[l];
    const std::string prefix = "unet.down." + std::to_string(l);
    lv.down = add_blocks(prefix, cfg.n_down(l), lv.dims, cfg.block_config(l));
    lv.down_pool = add_linear(prefix + ".pool.weight", cfg.width(l + 1), lv.pool * lv.width);
  }
  m.levels[S].down = add_blocks("unet.center", cfg.n_center(), m.levels[S].dims, cfg.block_config(S));
  for (int64_t l = S - 1; l >= 0; --l) {
    UNetLevel& lv = m.levels[l];
    const std::string prefix = "unet.up." + std::to_string(l);
    lv.up_pool = add_linear(prefix + ".pool.weight", lv.pool * lv.width, cfg.width(l + 1));
    lv.up = add_blocks(prefix, cfg.n_up(l), lv.dims, cfg.block_config(l));
  }
  m.norm_f = s.add("unet.norm_f.weight", {cfg.d_model}, dtype, device, false);
  s.value(m.norm_f).fill_(1.0);
  m.lm_head = add_linear("lm_head.weight", cfg.vocab_size, cfg.d_model);
  return m;
}

UNetState make_unet_state(const MambaUNet& model, int64_t batch) {
  MS_CHECK(batch > 0, "make_unet_state: batch ", batch, " must be positive");
  UNetState st;
  st.batch = batch;
  const DType dt = model.dtype();
  const Device dev = model.device();
  for (const UNetLevel& lv : model.levels) {
    UNetLevelState ls;
    for (size_t k = 0; k < lv.down.size(); ++k) ls.down.push_back(make_block_state(lv.dims, batch, dt, dev));
    for (size_t k = 0; k < lv.up.size(); ++k) ls.up.push_back(make_block_state(lv.dims, batch, dt, dev));
    if (lv.pool > 0) {
      ls.pool_buf = Tensor::zeros({batch, lv.pool, lv.width}, dt, dev);
      ls.up_buf = Tensor::zeros({batch, lv.pool, lv.width}, dt, dev);
    }
    st.levels.push_back(std::move(ls));
  }
  return st;
}

// ---------------------------------------------------------------- parallel forward / backward

namespace {

// A stack of pre-norm residual Mamba blocks (MambaLM's layers): x (B, L, W) contiguous -> the residual
// stream after the last block, x + sum of the mixer outputs (x itself for an empty stack).
Tensor stack_forward(const MambaUNet& m, const BlockDims& dims, const std::vector<LayerIds>& layers, const Tensor& x,
                     std::vector<LayerSaved>* saved, std::vector<BlockState>* states) {
  if (layers.empty()) return x;
  const int64_t Bsz = x.size(0), L = x.size(1), W = x.size(2), rows = Bsz * L;
  const DType dt = x.dtype();
  const Device dev = x.device();
  const ParamStore& s = m.params;
  if (saved) saved->assign(layers.size(), LayerSaved{});
  Tensor hidden = x, residual;
  for (size_t k = 0; k < layers.size(); ++k) {
    Tensor res_out = Tensor::empty({rows, W}, dt, dev);
    Tensor normed = Tensor::empty({Bsz, L, W}, dt, dev);
    Tensor rstd = Tensor::empty({rows}, stream_dtype(dt), dev);
    rmsnorm_forward(hidden.view({rows, W}), residual, s.value(layers[k].norm), m.cfg.norm_eps, res_out,
                    normed.view({rows, W}), rstd);
    Tensor out = Tensor::empty({Bsz, L, W}, dt, dev);
    mamba_block_forward(dims, block_values(s, layers[k].mixer), normed, out, saved ? &(*saved)[k].mixer : nullptr,
                        states ? &(*states)[k] : nullptr);
    if (saved) {
      (*saved)[k].residual_out = res_out;
      (*saved)[k].rstd = rstd;
    }
    residual = res_out;
    hidden = out;
  }
  Tensor stream = Tensor::empty({Bsz, L, W}, dt, dev);
  add(hidden, residual.view({Bsz, L, W}), stream);
  return stream;
}

// Gradient of the stack's input from the gradient of its output stream (returned; dstream itself for an empty
// stack). Parameter gradients accumulate.
Tensor stack_backward(const MambaUNet& m, const BlockDims& dims, const std::vector<LayerIds>& layers,
                      const std::vector<LayerSaved>& saved, const Tensor& dstream) {
  if (layers.empty()) return dstream;
  MS_CHECK(saved.size() == layers.size(), "unet backward: a stack was not saved");
  const int64_t Bsz = dstream.size(0), L = dstream.size(1), W = dstream.size(2), rows = Bsz * L;
  const DType dt = dstream.dtype();
  const Device dev = dstream.device();
  const ParamStore& s = m.params;
  // dres: gradient of the residual stream after block k (its mixer's output was added into it).
  Tensor dres = dstream.view({rows, W});
  for (size_t k = layers.size(); k-- > 0;) {
    Tensor dnormed = Tensor::empty({Bsz, L, W}, dt, dev);
    mamba_block_backward(dims, block_values(s, layers[k].mixer), block_grads(s, layers[k].mixer), saved[k].mixer,
                         dres.view({Bsz, L, W}), dnormed);
    Tensor dprev = Tensor::empty({rows, W}, dt, dev);
    rmsnorm_backward(saved[k].residual_out, s.value(layers[k].norm), saved[k].rstd, dnormed.view({rows, W}), dres,
                     dprev, s.grad(layers[k].norm));
    dres = dprev;
  }
  return dres.view({Bsz, L, W});
}

// F_l: x (B, L_l, W_l) -> (B, L_l, W_l).
Tensor level_forward(const MambaUNet& m, size_t l, const Tensor& x, UNetSaved* saved, UNetState* state) {
  const UNetLevel& lv = m.levels[l];
  UNetLevelSaved* sv = saved ? &saved->levels[l] : nullptr;
  UNetLevelState* st = state ? &state->levels[l] : nullptr;
  const int64_t Bsz = x.size(0), L = x.size(1), W = x.size(2);
  Tensor y = stack_forward(m, lv.dims, lv.down, x, sv ? &sv->down : nullptr, st ? &st->down : nullptr);
  if (st) st->position += L;
  if (lv.pool == 0) return y;  // the centre

  const ParamStore& s = m.params;
  const int64_t p = lv.pool, Lc = L / p, Wc = m.levels[l + 1].width;
  Tensor v = Tensor::empty({Bsz, Lc, Wc}, x.dtype(), x.device());
  down_pool_forward(s.value(lv.down_pool), p, y, v);
  Tensor c = level_forward(m, l + 1, v, saved, state);
  Tensor u = Tensor::empty({Bsz, L, W}, x.dtype(), x.device());
  up_pool_forward(s.value(lv.up_pool), p, c, y, u, st ? st->up_buf : Tensor());
  if (sv) {
    sv->skip = y;
    sv->coarse = c;
  }
  return stack_forward(m, lv.dims, lv.up, u, sv ? &sv->up : nullptr, st ? &st->up : nullptr);
}

// Gradient of F_l's input from the gradient of its output (dout may be overwritten).
Tensor level_backward(const MambaUNet& m, size_t l, const UNetSaved& saved, const Tensor& dout) {
  const UNetLevel& lv = m.levels[l];
  const UNetLevelSaved& sv = saved.levels[l];
  if (lv.pool == 0) return stack_backward(m, lv.dims, lv.down, sv.down, dout);
  const ParamStore& s = m.params;
  // du: gradient of u = skip + shifted up-pool; it is also the skip's gradient, to which the down-pool's
  // gradient is added below to give the down stack's output gradient.
  Tensor du = stack_backward(m, lv.dims, lv.up, sv.up, dout);
  Tensor dc = Tensor::empty_like(sv.coarse);
  up_pool_backward(s.value(lv.up_pool), lv.pool, sv.coarse, du, dc, s.grad(lv.up_pool));
  Tensor dv = level_backward(m, l + 1, saved, dc);
  down_pool_backward(s.value(lv.down_pool), lv.pool, sv.skip, dv, du, s.grad(lv.down_pool), /*accumulate_dx=*/true);
  return stack_backward(m, lv.dims, lv.down, sv.down, du);
}

void check_ids(const char* op, const MambaUNet& model, const Tensor& ids) {
  check_defined(op, "ids", ids);
  MS_CHECK(ids.ndim() == 2 && ids.size(1) > 0, op, ": ids must be (B, L) with L > 0, got ", ids.describe());
  check_dtype(op, "ids", ids, DType::i32);
  MS_CHECK(ids.is_contiguous(), op, ": ids must be contiguous, got ", ids.describe());
  MS_CHECK(ids.device() == model.device(), op, ": ids on ", device_name(ids.device()), ", model on ",
           device_name(model.device()));
}

void check_length(const char* op, const MambaUNet& model, int64_t L, const char* what) {
  const int64_t P = model.cfg.total_pool();
  if (L % P != 0) {
    std::ostringstream pool;
    for (size_t i = 0; i < model.cfg.pool.size(); ++i) pool << (i ? ", " : "") << model.cfg.pool[i];
    MS_FAIL(op, ": ", what, " ", L, " is not a multiple of ", P, ", the product of the UNet's pooling factors [",
            pool.str(), "]; use windows (and chunks) whose length is a multiple of ", P);
  }
}

}  // namespace

Tensor unet_backbone_forward(const MambaUNet& model, const Tensor& ids, UNetSaved* saved, UNetState* state) {
  const char* op = "unet_backbone_forward";
  check_ids(op, model, ids);
  const int64_t Bsz = ids.size(0), L = ids.size(1), dm = model.cfg.d_model, rows = Bsz * L;
  check_length(op, model, L, "sequence length");
  if (state) {
    MS_CHECK(state->batch == Bsz && state->levels.size() == model.levels.size(), op, ": state is for batch ",
             state->batch, " and ", state->levels.size(), " levels; ids have batch ", Bsz);
    MS_CHECK(state->position % model.cfg.total_pool() == 0, op, ": the state stands at token ", state->position,
             ", not on a pooled block boundary (a multiple of ", model.cfg.total_pool(),
             "); advance it with unet_step first");
  }
  const DType dt = model.dtype();
  const Device dev = model.device();
  const ParamStore& s = model.params;
  if (saved) {
    saved->ids = ids;
    saved->levels.assign(model.levels.size(), UNetLevelSaved{});
  }
  Tensor x = Tensor::empty({Bsz, L, dm}, dt, dev);
  embedding_forward(s.value(model.embedding), ids, x);
  Tensor stream = level_forward(model, 0, x, saved, state);
  Tensor hidden = Tensor::empty({Bsz, L, dm}, dt, dev);
  Tensor rstd = Tensor::empty({rows}, stream_dtype(dt), dev);
  rmsnorm_forward(stream.view({rows, dm}), Tensor(), s.value(model.norm_f), model.cfg.norm_eps, Tensor(),
                  hidden.view({rows, dm}), rstd);
  if (saved) {
    saved->stream = stream;
    saved->rstd_f = rstd;
    saved->hidden = hidden;
  }
  if (state) state->position += L;
  return hidden;
}

void unet_backbone_backward(const MambaUNet& model, const UNetSaved& saved, const Tensor& dhidden) {
  const char* op = "unet_backbone_backward";
  MS_CHECK(saved.ids.defined() && saved.levels.size() == model.levels.size(), op,
           ": nothing saved (run unet_backbone_forward with `saved`)");
  const int64_t Bsz = saved.ids.size(0), L = saved.ids.size(1), dm = model.cfg.d_model, rows = Bsz * L;
  check_shape(op, "dhidden", dhidden, {Bsz, L, dm});
  MS_CHECK(dhidden.is_contiguous(), op, ": dhidden must be contiguous, got ", dhidden.describe());
  const ParamStore& s = model.params;
  Tensor dstream = Tensor::empty({Bsz, L, dm}, model.dtype(), model.device());
  rmsnorm_backward(saved.stream.view({rows, dm}), s.value(model.norm_f), saved.rstd_f, dhidden.view({rows, dm}),
                   Tensor(), dstream.view({rows, dm}), s.grad(model.norm_f));
  Tensor dx = level_backward(model, 0, saved, dstream);
  embedding_backward(saved.ids, dx, s.grad(model.embedding));
}

void unet_head_forward(const MambaUNet& model, const Tensor& hidden, const Tensor& logits) {
  gemm(hidden, false, model.params.value(model.lm_head), true, logits);
}

LossResult unet_forward_backward(const MambaUNet& model, const Tensor& ids, const Tensor& targets, int ignore_index,
                                 double grad_scale) {
  const char* op = "unet_forward_backward";
  check_ids(op, model, ids);
  check_targets(op, ids, targets);
  const int64_t Bsz = ids.size(0), L = ids.size(1), dm = model.cfg.d_model, rows = Bsz * L;

  UNetSaved saved;
  Tensor hidden = unet_backbone_forward(model, ids, &saved, nullptr);
  Tensor dhidden = Tensor::empty({Bsz, L, dm}, model.dtype(), model.device());
  const LossResult r = head_loss_backward(model.params, model.lm_head, hidden.view({rows, dm}), targets.view({rows}),
                                          ignore_index, grad_scale, dhidden.view({rows, dm}));
  if (r.n_valid == 0) return r;
  unet_backbone_backward(model, saved, dhidden);
  return r;
}

void unet_forward_chunked(const MambaUNet& model, const Tensor& ids, int64_t chunk_len,
                          const std::function<void(int64_t, const Tensor&)>& fn, UNetState* state) {
  const char* op = "unet_forward_chunked";
  check_ids(op, model, ids);
  const int64_t Bsz = ids.size(0), L = ids.size(1), dm = model.cfg.d_model, V = model.vocab();
  if (chunk_len <= 0) chunk_len = L;
  check_length(op, model, L, "sequence length");
  check_length(op, model, chunk_len, "chunk length");
  UNetState local;
  if (!state && chunk_len < L) {
    local = make_unet_state(model, Bsz);
    state = &local;
  }
  for_each_chunk(ids, chunk_len, [&](const Tensor& chunk) {
    const int64_t len = chunk.size(1);
    Tensor hidden = unet_backbone_forward(model, chunk, nullptr, state);
    Tensor logits = Tensor::empty({Bsz, len, V}, model.dtype(), model.device());
    unet_head_forward(model, hidden.view({Bsz * len, dm}), logits.view({Bsz * len, V}));
    return logits;
  }, fn);
}

LossResult unet_loss(const MambaUNet& model, const Tensor& ids, const Tensor& targets, int ignore_index,
                     int64_t chunk_len) {
  check_ids("unet_loss", model, ids);
  check_targets("unet_loss", ids, targets);
  return loss_over_chunks([&](const ChunkSink& sink) { unet_forward_chunked(model, ids, chunk_len, sink); }, targets,
                          ignore_index);
}

Tensor unet_logits(const MambaUNet& model, const Tensor& ids, int64_t chunk_len) {
  check_ids("unet_logits", model, ids);
  return logits_over_chunks([&](const ChunkSink& sink) { unet_forward_chunked(model, ids, chunk_len, sink); },
                            ids.size(0), ids.size(1), model.vocab(), model.dtype(), model.device());
}

}  // namespace ms
