// Handlers of the DNA subcommands: pretrain, finetune, eval (of DNA checkpoints) and `data fetch`.
#pragma once
#include "apps/cli.h"

namespace ms::cli {

int cmd_pretrain(const Args& a);
int cmd_finetune(const Args& a);
int cmd_eval(const Args& a);        // dispatches on the checkpoint: classifier (head.*) or language model
int cmd_data_fetch(const Args& a);  // data fetch FASTA REGION...

// Config keys listed at the end of --help.
std::string pretrain_config_keys();
std::string finetune_config_keys();

}  // namespace ms::cli
