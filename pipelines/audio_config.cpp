#include "pipelines/audio_config.h"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

namespace ms {

bool is_audio_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  return is_audio_config_text(ss.str());
}

bool is_audio_config_text(const std::string& text) {
  try {
    const toml::table t = toml::parse(text);
    const auto* d = t.get("domain");
    return d && d->is_string() && d->value<std::string>().value_or("") == "audio";
  } catch (const std::exception&) {
    return false;
  }
}

void bind_audio_format(cfg::Binder& b, AudioFormatFields& c) {
  b.field("quantization", c.quantization, cfg::one_of({"mulaw", "linear"}), "8-bit mu-law or linear tokens");
  b.field("bits", c.bits, cfg::range(2, 16), "token bits: the vocabulary is 2^bits");
  b.field("sample_rate", c.sample_rate, cfg::range(1000, 384000), "the model's sample rate (Hz)");
  b.field("resample", c.resample, "resample files at other rates (false: refuse them)");
  b.field("resample_quality", c.resample_quality,
          cfg::one_of({"best", "medium", "fastest", "linear", "zero_order_hold"}), "libsamplerate converter");
  b.field("source_bits", c.source_bits, cfg::range(0, 32), "0: any sample format; 8/16/24/32: require that PCM width");
}

void bind(cfg::Binder& b, AudioDataSection& c) {
  b.field("train", c.train, "training audio: a folder (scanned recursively) or a file list");
  b.field("valid", c.valid, "held-out audio (folder or list); empty: valid_fraction of the training files");
  b.field("test", c.test, "optional test audio, evaluated at the end");
  b.field("valid_fraction", c.valid_fraction, cfg::ge(0).lt(1), "with valid = \"\": share of files held out");
  b.field("split_seed", c.split_seed, cfg::ge(0), "with valid = \"\": seed of the split by file");
  b.field("window", c.window, cfg::range(1, 1 << 20), "tokens per training row (context length L)");
  b.field("warmup_start", c.warmup_start, cfg::range(0, 1 << 20),
          "> 0: sequence-length warmup from this window, doubling up to window; rows grow so a step keeps "
          "batch_size x window tokens (0: none)");
  b.field("warmup_stage_steps", c.warmup_stage_steps, cfg::ge(0), "warmup: steps per window length");
  bind_audio_format(b, c);
  b.field("short_files", c.short_files, cfg::one_of({"pad", "skip"}),
          "files shorter than a window: one padded window, or left out of training");
  b.field("eval_window", c.eval_window, cfg::range(0, 1 << 20), "held-out window length (0: window)");
  b.field("eval_span", c.eval_span, cfg::ge(0),
          "> 0: score only this many samples from the middle of each held-out file (0: whole files)");
  b.field("eval_batch", c.eval_batch, cfg::ge(1), "held-out windows per forward pass");
  b.field("eval_chunk", c.eval_chunk, cfg::ge(0), "> 0: evaluate longer windows in chunks of this many tokens");
}

Quantization data_quantization(const AudioDataSection& d) { return parse_quantization(d.quantization); }

AudioReadOptions data_read_options(const AudioDataSection& d) {
  AudioReadOptions r;
  r.sample_rate = static_cast<int>(d.sample_rate);
  r.resample = d.resample;
  r.quality = parse_resample_quality(d.resample_quality);
  r.require_bits = static_cast<int>(d.source_bits);
  return r;
}

TokenOptions data_token_options(const AudioDataSection& d) {
  TokenOptions t;
  t.quantization = data_quantization(d);
  t.bits = static_cast<int>(d.bits);
  t.read = data_read_options(d);
  return t;
}

AudioDatasetOptions data_options(const AudioDataSection& d, int64_t window, bool labels_from_dirs) {
  AudioDatasetOptions o;
  o.read = data_read_options(d);
  o.quantization = data_quantization(d);
  o.bits = static_cast<int>(d.bits);
  o.window = window;
  o.short_files = parse_short_file_policy(d.short_files);
  o.labels_from_dirs = labels_from_dirs;
  return o;
}

const char* audio_model_kind_name(AudioModelKind k) { return k == AudioModelKind::lm ? "lm" : "unet"; }

void bind(cfg::Binder& b, AudioModelSection& c) {
  b.choice("kind", c.kind, {{"unet", AudioModelKind::unet}, {"lm", AudioModelKind::lm}},
           "unet (Mamba-UNet, SaShiMi layout) or lm (plain Mamba stack)");
  bind(b, static_cast<ModelSection&>(c));
  b.field("pool", c.pool, cfg::range(1, 64), "unet: pooling factors, outermost first (window: a multiple of their product)");
  b.field("width_factor", c.width_factor, cfg::range(1, 16), "unet: width multiplier per level");
  b.field("down_layers", c.down_layers, cfg::range(0, 1024), "unet: blocks per down stack, per level (empty: n_layer)");
  b.field("up_layers", c.up_layers, cfg::range(0, 1024), "unet: blocks per up stack, per level (empty: n_layer)");
  b.field("center_layers", c.center_layers, cfg::range(-1, 1024), "unet: centre blocks (-1: n_layer)");
}

UNetConfig to_unet_config(const AudioModelSection& m, int64_t vocab) {
  UNetConfig u;
  copy_model_section(m, vocab, u);
  u.pool = m.pool;
  u.width_factor = m.width_factor;
  u.down_layers = m.down_layers;
  u.up_layers = m.up_layers;
  u.center_layers = m.center_layers;
  u.validate();
  return u;
}

void bind(cfg::Binder& b, SampleSection& c) {
  b.field("n_samples", c.n_samples, cfg::range(1, 1 << 20), "sequences to generate");
  b.field("batch", c.batch, cfg::range(1, 1 << 16), "sequences generated together");
  b.field("seconds", c.seconds, cfg::gt(0), "length of each generated continuation (s)");
  b.field("temperature", c.temperature, cfg::ge(0), "softmax temperature (0: greedy)");
  b.field("top_p", c.top_p, cfg::gt(0).le(1), "nucleus sampling mass (1: off)");
  b.field("top_k", c.top_k, cfg::ge(0), "sample among the k most likely tokens (0: off)");
  b.field("seed", c.seed, cfg::ge(0), "sampling seed (the same seed gives the same audio)");
  b.field("prompt", c.prompt, "audio file whose start the samples continue (empty: unconditional)");
  b.field("prompt_seconds", c.prompt_seconds, cfg::ge(0), "> 0: use only the first seconds of the prompt");
  b.field("include_prompt", c.include_prompt, "written WAV files start with the prompt");
  b.field("classifier", c.classifier, "digit classifier checkpoint: score the samples in the report");
  b.field("cuda_graph", c.cuda_graph, "on CUDA, replay the per-sample step as captured graphs");
  b.field("spectrograms", c.spectrograms, "write a spectrogram PNG next to each WAV");
}

void bind(cfg::Binder& b, AudioPretrainConfig& c) {
  b.field("domain", c.domain, cfg::one_of({"audio"}), "audio: routes `pretrain` to the audio pipeline");
  b.field("name", c.name, "run folder name under runs/");
  b.section("data", c.data);
  b.section("model", c.model);
  b.section("train", c.train);
  b.section("optim", c.optim);
  b.section("sample", c.sample);
}

}  // namespace ms
