#include "apps/handlers_audio.h"

#include <iostream>

#include "apps/handlers.h"
#include "apps/handlers_dna.h"
#include "io/audio_tokens.h"
#include "io/checkpoint.h"
#include "pipelines/audio_pretrain.h"
#include "pipelines/digits.h"
#include "pipelines/generate.h"

namespace ms::cli {

namespace {

TokenOptions token_options(const Args& a) {
  if (a.has("--mulaw") && a.has("--linear")) throw UsageError("give either --mulaw or --linear, not both");
  TokenOptions o;
  o.quantization = a.has("--linear") ? Quantization::linear : Quantization::mulaw;
  return o;
}

// An audio checkpoint stores a config with domain = "audio".
bool is_audio_checkpoint(const std::string& path) {
  std::string text;
  try {
    text = read_checkpoint_config(path);
  } catch (const std::exception&) {
    return false;  // the DNA pipeline reports a missing or broken file
  }
  return is_audio_config_text(text);
}

bool routes_to_audio(const Args& a) {
  if (!a.config.empty()) return is_audio_config(a.config);
  return !a.ckpt.empty() && is_audio_checkpoint(a.ckpt);
}

void expect_args(const Args& a, size_t n, const char* usage) {
  if (a.positional.size() != n) throw UsageError(std::string("usage: ") + usage);
}

}  // namespace

int cmd_generate(const Args& a) {
  if (a.ckpt.empty())
    throw UsageError("generate needs a trained model: mambaseq generate -c CONFIG --ckpt runs/<name>/last.h5");
  run_generate(request_of(a));
  return 0;
}

int cmd_data_tokens(const Args& a) {
  expect_args(a, 2, "mambaseq data tokens AUDIO [--mulaw|--linear]");
  std::ios::sync_with_stdio(false);
  write_audio_tokens(a.positional[1], std::cout, token_options(a));
  std::cout.flush();
  return 0;
}

int cmd_data_detokenize(const Args& a) {
  expect_args(a, 3, "mambaseq data detokenize TOKENS WAV [--mulaw|--linear]");
  const int64_t n = detokenize_file(a.positional[1], a.positional[2], token_options(a));
  std::cerr << "wrote " << n << " samples to " << a.positional[2] << "\n";
  return 0;
}

int cmd_audio_pretrain(const Args& a) {
  run_audio_pretrain(request_of(a));
  return 0;
}

int cmd_audio_finetune(const Args& a) {
  run_digit_classifier(request_of(a));
  return 0;
}

int cmd_audio_eval(const Args& a) {
  if (a.ckpt.empty()) throw UsageError("eval needs a checkpoint: mambaseq eval --ckpt runs/<name>/last.h5");
  if (is_classifier_checkpoint(a.ckpt))
    eval_digit_classifier(request_of(a));
  else
    eval_audio_pretrain(request_of(a));
  return 0;
}

int route_pretrain(const Args& a) { return is_audio_config(a.config) ? cmd_audio_pretrain(a) : cmd_pretrain(a); }
int route_finetune(const Args& a) { return is_audio_config(a.config) ? cmd_audio_finetune(a) : cmd_finetune(a); }
int route_eval(const Args& a) { return routes_to_audio(a) ? cmd_audio_eval(a) : cmd_eval(a); }

std::string all_pretrain_config_keys() {
  return pretrain_config_keys() + "\nAudio configs (domain = \"audio\"):\n" + audio_pretrain_config_keys();
}
std::string all_finetune_config_keys() {
  return finetune_config_keys() + "\nAudio configs (domain = \"audio\"):\n" + digits_config_keys();
}

std::string audio_pretrain_config_keys() {
  return ms::cfg::format_fields(ms::cfg::describe<AudioPretrainConfig>());
}

std::string digits_config_keys() { return ms::cfg::format_fields(ms::cfg::describe<DigitsConfig>()); }

}  // namespace ms::cli
