// `mambaseq generate -c CONFIG --ckpt PATH`: batched autoregressive sampling (temperature, top-k, top-p)
// from a trained audio model (Mamba-UNet or MambaLM) in step mode, unconditionally or continuing a WAV
// prompt; writes one 16-bit WAV and one spectrogram PNG per sample and a report (report.md) with the
// settings, the speed (samples/s) and the files, plus SC09-style scores when a digit classifier is named.
//
// The config is an audio pretraining config (pipelines/audio_config.h) whose [sample] section holds the
// sampling settings; its [model] must match the checkpoint. Without -c the checkpoint's own config is used
// (with --set applied), so `mambaseq generate --ckpt runs/piano/last.h5 --set sample.n_samples=8` works.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/generation.h"
#include "pipelines/audio_model.h"
#include "pipelines/digits.h"

namespace ms {

struct SamplingTiming {
  double prefill_seconds = 0;
  double sampling_seconds = 0;  // the per-sample loop (step + sampling), prefill excluded
  int64_t steps = 0;            // generated positions
  int64_t graphs = 0;           // CUDA graphs captured (0 on the CPU)
};

// Samples n_new tokens per row after `prompt` (B, Lp) (Lp >= 1) with the stepper's buffers: nothing is
// allocated per sample. On CUDA with opt.cuda_graph, the step of each phase (position modulo the UNet's total
// pooling; one phase for the LM) is captured once and replayed. Returns (B, n_new) i32 on the CPU.
Tensor sample_audio(const AudioModel& model, AudioStepper& stepper, const Tensor& prompt, int64_t n_new,
                    const GenerateOptions& opt, SamplingTiming* timing = nullptr);

struct GeneratedSample {
  std::string wav, png;      // paths
  int64_t prompt_samples = 0, generated_samples = 0;
  double level_dbfs = 0;     // RMS level of the generated part, dB relative to full scale
  double silent_share = 0;   // share of its 100 ms frames quieter than kNearSilenceDbfs
};

// RMS level of samples in [-1, 1] in dBFS (a full-scale square wave: 0 dB); -120 for silence or no samples.
double rms_dbfs(const std::vector<float>& x);
// Generated clips quieter than this are counted as near-silent in the report (a model stuck on the
// silence token writes such clips, and a classifier gives them all one class).
constexpr double kNearSilenceDbfs = -50;
// Share of the whole `frame`-sample frames of x (x itself if shorter than a frame) quieter than
// kNearSilenceDbfs. A spoken digit is mostly silence around the word; a model that drifts into noise after
// the first sound writes clips with almost no silent frames, which a classifier may still label with
// confidence, so the report compares this with the training clips.
double silent_frame_share(const std::vector<float>& x, int64_t frame);

// Levels of a set of clips: range and median of the RMS levels, mean share of silent frames.
struct LevelSummary {
  int64_t clips = 0;
  double lo = 0, hi = 0, median = 0;  // dBFS
  double silent_share = 0;            // mean over the clips
};
LevelSummary summarize_levels(const std::vector<double>& levels_dbfs, const std::vector<double>& silent_shares);

struct GenerateResult {
  std::string out_dir, report_path;
  std::vector<GeneratedSample> files;
  std::vector<std::vector<int32_t>> tokens;  // generated tokens of each sample (the prompt excluded)
  double samples_per_second = 0;             // generated samples of all rows / sampling time
  double real_time_factor = 0;               // samples_per_second / sample rate
  SamplingTiming timing;
  std::optional<DigitScores> scores;
  std::string model_describe;
  // The same levels for up to n_samples training clips of the model's data.train (evenly spaced over the
  // sorted file list, cut to the generated length), as the model saw them (quantized); empty when that
  // path does not exist here, with the reason in reference_note.
  std::optional<LevelSummary> reference;
  std::string reference_note;
};

GenerateResult run_generate(const RunRequest& req);

}  // namespace ms
