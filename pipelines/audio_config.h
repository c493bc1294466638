// Config sections of the audio pipelines (pretraining, generation, the digit classifier):
//   domain = "audio"     top-level key that tells `mambaseq pretrain` / `finetune` to route here
//   [data]               waveform files, splits, window length, quantization, resampling
//   [model]              kind = "unet" (Mamba-UNet: pooling, widths, blocks per stage) or "lm" (MambaLM),
//                        plus the Mamba block settings shared with run_config.h's [model] (real|complex SSM)
//   [sample]             generation settings (`mambaseq generate`), ignored by training
// [train] and [optim] are run_config.h's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/audio_dataset.h"
#include "io/audio_tokens.h"
#include "model/mamba_unet.h"
#include "pipelines/run_config.h"

namespace ms {

// True when the TOML file at `path` sets the top-level key domain = "audio" (a missing file, a syntax
// error or another domain give false; the pipeline that loads the file reports those properly).
bool is_audio_config(const std::string& path);
bool is_audio_config_text(const std::string& toml_text);

// How audio files become tokens: the [data] keys shared by the audio pretraining and classifier configs.
struct AudioFormatFields {
  std::string quantization = "mulaw";            // mulaw | linear
  int64_t bits = 8;                              // tokens 0 .. 2^bits - 1 (the model's vocabulary)
  int64_t sample_rate = 16000;
  bool resample = true;                          // false: files at another rate are an error
  std::string resample_quality = "best";
  int64_t source_bits = 0;                       // 0: any sample format; 16: require 16-bit PCM
};
void bind_audio_format(cfg::Binder& b, AudioFormatFields& c);

struct AudioDataSection : AudioFormatFields {
  std::string train = "data/audio/piano/train";  // folder (scanned) or file list
  std::string valid = "data/audio/piano/valid";  // held-out; empty: split off the training files
  std::string test;                              // optional extra held-out set (final evaluation)
  double valid_fraction = 0.05;                  // with valid = "": share of training files held out
  int64_t split_seed = 0;
  int64_t window = 16384;                        // L: tokens the model reads per training row
  int64_t warmup_start = 0;                      // > 0: sequence-length warmup, first window (0: none)
  int64_t warmup_stage_steps = 0;                // warmup: steps per window length; it doubles after each
  std::string short_files = "pad";              // pad | skip (training windows)
  int64_t eval_window = 0;                       // held-out window length (0: = window)
  int64_t eval_span = 0;                         // > 0: evaluate only this many samples from the middle of each held-out file
  int64_t eval_batch = 4;                        // held-out windows per forward
  int64_t eval_chunk = 0;                        // > 0: longer windows are evaluated chunk by chunk (bounded memory)
};
void bind(cfg::Binder& b, AudioDataSection& c);
Quantization data_quantization(const AudioDataSection& d);
AudioReadOptions data_read_options(const AudioDataSection& d);
// How a single file becomes tokens under these keys (prompts, reference clips): as the data loader does.
TokenOptions data_token_options(const AudioDataSection& d);
AudioDatasetOptions data_options(const AudioDataSection& d, int64_t window, bool labels_from_dirs = false);

enum class AudioModelKind { unet, lm };

// run_config.h's [model] (d_model, n_layer, d_state, d_conv, expand, dt_rank, ssm, dt_min, dt_max, seed)
// plus the model kind and the UNet's layout. For the UNet, n_layer is the number of blocks per stack.
struct AudioModelSection : ModelSection {
  AudioModelKind kind = AudioModelKind::unet;
  std::vector<int64_t> pool{4, 4};           // UNet pooling factors, outermost first
  int64_t width_factor = 2;                  // UNet width multiplier per level
  std::vector<int64_t> down_layers, up_layers;  // UNet per-level block counts (empty: n_layer each)
  int64_t center_layers = -1;                // UNet centre blocks (-1: n_layer)
};
void bind(cfg::Binder& b, AudioModelSection& c);
UNetConfig to_unet_config(const AudioModelSection& m, int64_t vocab);
const char* audio_model_kind_name(AudioModelKind k);

struct SampleSection {
  int64_t n_samples = 4;          // how many sequences to generate
  int64_t batch = 4;              // sequences generated together
  double seconds = 1.0;           // length of each generated continuation
  double temperature = 1.0;       // <= 0: greedy
  double top_p = 1.0;             // nucleus sampling (1: off)
  int64_t top_k = 0;              // 0: off
  int64_t seed = 0;
  std::string prompt;             // WAV (or any audio) file to continue; empty: unconditional
  double prompt_seconds = 0;      // > 0: only the first seconds of the prompt file
  bool include_prompt = true;     // written WAVs start with the prompt
  std::string classifier;         // digit classifier checkpoint: score the samples (share > 0.5, entropy)
  bool cuda_graph = true;         // on CUDA, replay the per-sample step as captured graphs
  bool spectrograms = true;       // one PNG per sample
};
void bind(cfg::Binder& b, SampleSection& c);

struct AudioPretrainConfig {
  std::string domain = "audio";
  std::string name = "audio";
  AudioDataSection data;
  AudioModelSection model;
  TrainSection train;
  OptimSection optim;
  SampleSection sample;
};
void bind(cfg::Binder& b, AudioPretrainConfig& c);

}  // namespace ms
