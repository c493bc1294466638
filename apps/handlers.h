// Handlers of the subcommands that have landed; each turns the parsed flags into a pipeline call.
#pragma once
#include "apps/cli.h"
#include "pipelines/run_config.h"

namespace ms::cli {

// The run flags every training command shares (-c, --set, --resume, --ckpt, --out).
RunRequest request_of(const Args& a);
// A classifier checkpoint (DNA or audio) holds head.* tensors; a language model's does not.
bool is_classifier_checkpoint(const std::string& path);

int cmd_synth(const Args& a);
int cmd_demo(const Args& a);
int cmd_bench(const Args& a);

}  // namespace ms::cli
