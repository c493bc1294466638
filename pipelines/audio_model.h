// The waveform model of the audio pipelines: a Mamba-UNet or a MambaLM behind one small facade, so that
// pretraining, evaluation, generation and the digit classifier do not care which one the config picked.
// Both follow the next-token convention: logits[t] predict ids[t + 1].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/generation.h"
#include "model/mamba_lm.h"
#include "model/mamba_unet.h"
#include "pipelines/audio_config.h"

namespace ms {

struct AudioModel {
  AudioModelKind kind = AudioModelKind::unet;
  MambaUNet unet;  // kind == unet
  MambaLM lm;      // kind == lm

  ParamStore& params() { return kind == AudioModelKind::unet ? unet.params : lm.params; }
  const ParamStore& params() const { return kind == AudioModelKind::unet ? unet.params : lm.params; }
  Device device() const { return params().device(); }
  int64_t vocab() const { return kind == AudioModelKind::unet ? unet.vocab() : lm.vocab(); }
  int64_t d_model() const { return kind == AudioModelKind::unet ? unet.cfg.d_model : lm.cfg.d_model; }
  // Sequence lengths (and chunk lengths) must be multiples of this: the UNet's total pooling, 1 for the LM.
  int64_t length_multiple() const { return kind == AudioModelKind::unet ? unet.cfg.total_pool() : 1; }
  std::string describe() const;  // one line: kind, sizes, parameter count
};

// Builds the model of the config's [model] for a vocabulary of `vocab` tokens, initialized from model.seed.
AudioModel make_audio_model(const AudioModelSection& m, int64_t vocab, Device device, DType dtype = DType::f32);

// Checks that a length fits the model (a multiple of length_multiple()); `what` names the config key.
void check_model_length(const AudioModel& model, int64_t length, const std::string& what);

// ids, targets (B, L) i32 on the model's device; targets == kIgnoreIndex are not scored.
LossResult audio_forward_backward(const AudioModel& model, const Tensor& ids, const Tensor& targets);
// Without gradients; chunk_len > 0 runs the sequence chunk by chunk carrying the recurrent state.
LossResult audio_loss(const AudioModel& model, const Tensor& ids, const Tensor& targets, int64_t chunk_len = 0);
// Final hidden states (B, L, d_model) (the output of norm_f), for heads other than the LM head.
Tensor audio_hidden_forward(const AudioModel& model, const Tensor& ids, UNetSaved* unet_saved, BackboneSaved* lm_saved);
void audio_hidden_backward(const AudioModel& model, const UNetSaved* unet_saved, const BackboneSaved* lm_saved,
                           const Tensor& dhidden);

// Step mode (recurrent generation), with buffers allocated once: a decoding loop allocates no tensors.
struct AudioStepper {
  const AudioModel* model = nullptr;
  int64_t batch = 0;
  UNetInferenceState unet;
  InferenceState lm;

  // Consumes prompt (B, Lp) i32 and returns the next-token logits (B, V) (a view of the state's buffer).
  Tensor prefill(const Tensor& prompt);
  // Consumes one token per row and returns the next-token logits (B, V).
  Tensor step(const Tensor& tokens);
  // The sampling buffers: logits as f32 (B, V) and tokens (B) i32.
  const Tensor& logits_f32() const { return model->kind == AudioModelKind::unet ? unet.logits_f32 : lm.logits_f32; }
  const Tensor& logits() const { return model->kind == AudioModelKind::unet ? unet.logits : lm.logits; }
  const Tensor& tokens() const { return model->kind == AudioModelKind::unet ? unet.tokens : lm.tokens; }
  int64_t position() const;
  // Every position counter of the state (the UNet's levels included), for CUDA-graph replays: a captured
  // step records kernels but the host-side counters must still advance once per replay.
  std::vector<int64_t> counters() const;
  void set_counters(const std::vector<int64_t>& c);
};
AudioStepper make_audio_stepper(const AudioModel& model, int64_t batch);

}  // namespace ms
