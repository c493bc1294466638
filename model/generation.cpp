#include "model/generation.h"

#include <utility>

#include "kernels/cuda_graph.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/rmsnorm.h"

namespace ms {

InferenceState make_inference_state(const MambaLM& model, int64_t batch) {
  InferenceState st;
  st.backbone = make_backbone_state(model, batch);
  const DType dt = model.dtype(), rdt = dt == DType::f64 ? DType::f64 : DType::f32;
  const Device dev = model.device();
  const int64_t dm = model.cfg.d_model;
  st.block = make_block_step_buffers(model.dims, batch, dt, dev);
  st.hidden = Tensor::empty({batch, dm}, dt, dev);
  st.mixer_out = Tensor::empty({batch, dm}, dt, dev);
  st.normed = Tensor::empty({batch, dm}, dt, dev);
  st.residual[0] = Tensor::empty({batch, dm}, rdt, dev);
  st.residual[1] = Tensor::empty({batch, dm}, rdt, dev);
  st.rstd = Tensor::empty({batch}, rdt, dev);
  st.logits = Tensor::empty({batch, model.vocab()}, dt, dev);
  st.logits_f32 = dt == DType::f32 ? st.logits : Tensor::empty({batch, model.vocab()}, DType::f32, dev);
  st.tokens = Tensor::empty({batch}, DType::i32, dev);
  return st;
}

Tensor lm_prefill(const MambaLM& model, InferenceState& state, const Tensor& prompt) {
  check_defined("lm_prefill", "prompt", prompt);
  MS_CHECK(prompt.ndim() == 2 && prompt.size(0) == state.backbone.batch, "lm_prefill: prompt must be (",
           state.backbone.batch, ", Lp), got ", prompt.describe());
  const int64_t L = prompt.size(1);
  Tensor hidden = backbone_forward(model, prompt, nullptr, &state.backbone);
  lm_head_forward(model, hidden.select(1, L - 1), state.logits);
  return state.logits;
}

Tensor lm_step(const MambaLM& model, InferenceState& state, const Tensor& tokens) {
  const char* op = "lm_step";
  check_shape(op, "tokens", tokens, {state.backbone.batch});
  check_dtype(op, "tokens", tokens, DType::i32);
  const ParamStore& s = model.params;
  embedding_forward(s.value(model.embedding), tokens, state.hidden);
  Tensor residual;  // undefined before the first layer
  int next = 0;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const LayerIds& ids = model.layers[i];
    const Tensor& res_out = state.residual[next];
    rmsnorm_forward(state.hidden, residual, s.value(ids.norm), model.cfg.norm_eps, res_out, state.normed, state.rstd);
    mamba_block_step(model.dims, block_values(s, ids.mixer), state.backbone.layers[i], state.normed, state.mixer_out,
                     state.block);
    residual = res_out;
    next ^= 1;
    std::swap(state.hidden, state.mixer_out);
  }
  rmsnorm_forward(state.hidden, residual, s.value(model.norm_f), model.cfg.norm_eps, state.residual[next],
                  state.normed, state.rstd);
  lm_head_forward(model, state.normed, state.logits);
  state.backbone.position += 1;
  return state.logits;
}

Tensor generate(const MambaLM& model, const Tensor& prompt, int64_t n_new, const GenerateOptions& opt) {
  check_defined("generate", "prompt", prompt);
  MS_CHECK(prompt.ndim() == 2 && prompt.size(1) >= 1, "generate: prompt must be (B, Lp) with Lp >= 1, got ",
           prompt.describe());
  MS_CHECK(n_new >= 0, "generate: n_new = ", n_new, " must not be negative");
  const int64_t Bsz = prompt.size(0);
  InferenceState st = make_inference_state(model, Bsz);
  Tensor out = Tensor::empty({Bsz, n_new}, DType::i32, model.device());
  lm_prefill(model, st, prompt);
  // On CUDA the model's step (embedding -> layers -> logits) is captured once into a graph and replayed;
  // sampling stays outside it because its random numbers depend on the position.
  const bool use_graph = opt.cuda_graph && model.device() == Device::cuda;
  CudaGraph graph;
  for (int64_t i = 0; i < n_new; ++i) {
    if (model.dtype() != DType::f32) cast(st.logits, st.logits_f32);
    sample_tokens(st.logits_f32, opt.sampling, opt.seed, static_cast<uint64_t>(i), st.tokens);
    out.select(1, i).copy_(st.tokens);
    if (i + 1 == n_new) break;
    if (!use_graph || i == 0) {
      lm_step(model, st, st.tokens);  // the first step runs eagerly: lazy set-up happens outside capture
    } else {
      if (!graph.captured()) {
        graph = capture_cuda_graph([&] { lm_step(model, st, st.tokens); });
        st.backbone.position -= 1;  // capture only recorded the kernels; each replay runs them
      }
      replay_cuda_graph(graph);
      st.backbone.position += 1;
    }
  }
  return out;
}

}  // namespace ms
