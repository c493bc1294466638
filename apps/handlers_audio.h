// Handlers of the audio subcommands: generate, `data tokens` / `data detokenize`, and the audio
// pretraining and digit-classifier runs that `pretrain` / `finetune` route here when the config says
// domain = "audio" (ms::is_audio_config in pipelines/audio_config.h).
#pragma once
#include <string>

#include "apps/cli.h"

namespace ms::cli {

int cmd_generate(const Args& a);
int cmd_data_tokens(const Args& a);      // data tokens AUDIO [--mulaw|--linear]
int cmd_data_detokenize(const Args& a);  // data detokenize TOKENS WAV [--mulaw|--linear]
int cmd_audio_pretrain(const Args& a);   // pretrain -c configs/piano_*.toml (domain = "audio")
int cmd_audio_finetune(const Args& a);   // finetune -c configs/digits_classifier.toml (domain = "audio")

// pretrain / finetune / eval: audio configs (domain = "audio") and audio checkpoints go to the audio
// pipelines, everything else to the DNA ones (apps/handlers_dna.h).
int route_pretrain(const Args& a);
int route_finetune(const Args& a);
int route_eval(const Args& a);
int cmd_audio_eval(const Args& a);       // held-out bits per sample, or classifier accuracy, of an audio checkpoint

// Config keys listed at the end of --help.
std::string all_pretrain_config_keys();  // DNA keys, then the audio ones
std::string all_finetune_config_keys();
std::string audio_pretrain_config_keys();
std::string digits_config_keys();

}  // namespace ms::cli
