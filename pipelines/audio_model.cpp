#include "pipelines/audio_model.h"

#include <sstream>

namespace ms {

std::string AudioModel::describe() const {
  std::ostringstream os;
  if (kind == AudioModelKind::unet)
    os << unet.cfg.describe();
  else
    os << lm.cfg.describe();
  os << ", " << count_parameters(params()) << " parameters";
  return os.str();
}

AudioModel make_audio_model(const AudioModelSection& m, int64_t vocab, Device device, DType dtype) {
  AudioModel a;
  a.kind = m.kind;
  if (m.kind == AudioModelKind::unet) {
    a.unet = make_mamba_unet(to_unet_config(m, vocab), dtype, device);
  } else {
    MambaConfig c = to_mamba_config(m, vocab);
    c.pad_vocab_size_multiple = 1;  // exactly 2^bits logits: every sampled token decodes
    a.lm = make_mamba_lm(c, dtype, device);
  }
  return a;
}

void check_model_length(const AudioModel& model, int64_t length, const std::string& what) {
  const int64_t p = model.length_multiple();
  if (length % p != 0)
    MS_FAIL(what, " = ", length, " must be a multiple of ", p,
            " (the product of model.pool) for the Mamba-UNet; e.g. ", (length / p + 1) * p);
}

LossResult audio_forward_backward(const AudioModel& model, const Tensor& ids, const Tensor& targets) {
  if (model.kind == AudioModelKind::unet) return unet_forward_backward(model.unet, ids, targets);
  return lm_forward_backward(model.lm, ids, targets);
}

LossResult audio_loss(const AudioModel& model, const Tensor& ids, const Tensor& targets, int64_t chunk_len) {
  if (chunk_len >= ids.size(1)) chunk_len = 0;
  if (model.kind == AudioModelKind::unet) return unet_loss(model.unet, ids, targets, kIgnoreIndex, chunk_len);
  return lm_loss(model.lm, ids, targets, kIgnoreIndex, chunk_len);
}

Tensor audio_hidden_forward(const AudioModel& model, const Tensor& ids, UNetSaved* unet_saved,
                            BackboneSaved* lm_saved) {
  if (model.kind == AudioModelKind::unet) return unet_backbone_forward(model.unet, ids, unet_saved, nullptr);
  return backbone_forward(model.lm, ids, lm_saved, nullptr);
}

void audio_hidden_backward(const AudioModel& model, const UNetSaved* unet_saved, const BackboneSaved* lm_saved,
                           const Tensor& dhidden) {
  if (model.kind == AudioModelKind::unet)
    unet_backbone_backward(model.unet, *unet_saved, dhidden);
  else
    backbone_backward(model.lm, *lm_saved, dhidden);
}

AudioStepper make_audio_stepper(const AudioModel& model, int64_t batch) {
  AudioStepper s;
  s.model = &model;
  s.batch = batch;
  if (model.kind == AudioModelKind::unet)
    s.unet = make_unet_inference_state(model.unet, batch);
  else
    s.lm = make_inference_state(model.lm, batch);
  return s;
}

Tensor AudioStepper::prefill(const Tensor& prompt) {
  if (model->kind == AudioModelKind::unet) return unet_prefill(model->unet, unet, prompt);
  return lm_prefill(model->lm, lm, prompt);
}

Tensor AudioStepper::step(const Tensor& tok) {
  if (model->kind == AudioModelKind::unet) return unet_step(model->unet, unet, tok);
  return lm_step(model->lm, lm, tok);
}

int64_t AudioStepper::position() const {
  return model->kind == AudioModelKind::unet ? unet.state.position : lm.backbone.position;
}

std::vector<int64_t> AudioStepper::counters() const {
  if (model->kind == AudioModelKind::lm) return {lm.backbone.position};
  std::vector<int64_t> c{unet.state.position};
  for (const UNetLevelState& l : unet.state.levels) c.push_back(l.position);
  return c;
}

void AudioStepper::set_counters(const std::vector<int64_t>& c) {
  if (model->kind == AudioModelKind::lm) {
    lm.backbone.position = c.at(0);
    return;
  }
  MS_CHECK(c.size() == unet.state.levels.size() + 1, "set_counters: expected ", unet.state.levels.size() + 1,
           " counters, got ", c.size());
  unet.state.position = c[0];
  for (size_t i = 0; i < unet.state.levels.size(); ++i) unet.state.levels[i].position = c[i + 1];
}

}  // namespace ms
