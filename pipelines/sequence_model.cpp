#include "pipelines/sequence_model.h"

#include "kernels/cross_entropy.h"

namespace ms {

SequenceModel lm_sequence_model(MambaLM& model, int64_t eval_chunk) {
  SequenceModel m;
  m.describe = "MambaLM: " + model.cfg.describe() + ", " + std::to_string(count_parameters(model.params)) +
               " parameters";
  m.params = &model.params;
  m.vocab = model.vocab();
  m.device = model.device();
  MambaLM* p = &model;
  m.forward_backward = [p](const Tensor& inputs, const Tensor& targets) {
    return lm_forward_backward(*p, inputs, targets, kIgnoreIndex);
  };
  m.loss = [p, eval_chunk](const Tensor& inputs, const Tensor& targets) {
    const int64_t chunk = eval_chunk > 0 && inputs.size(1) > eval_chunk ? eval_chunk : 0;
    return lm_loss(*p, inputs, targets, kIgnoreIndex, chunk);
  };
  return m;
}

}  // namespace ms
