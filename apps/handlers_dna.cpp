#include "apps/handlers_dna.h"

#include <cstdio>

#include "apps/handlers.h"
#include "io/config.h"
#include "io/fasta_region.h"
#include "pipelines/finetune.h"
#include "pipelines/pretrain.h"

namespace ms::cli {

int cmd_pretrain(const Args& a) {
  if (a.config.empty()) throw UsageError("pretrain needs a config: mambaseq pretrain -c configs/dna_pretrain_small.toml");
  run_pretrain(request_of(a));
  return 0;
}

int cmd_finetune(const Args& a) {
  if (a.config.empty()) throw UsageError("finetune needs a config: mambaseq finetune -c configs/species_classify.toml");
  run_finetune(request_of(a));
  return 0;
}

int cmd_eval(const Args& a) {
  if (a.ckpt.empty()) throw UsageError("eval needs a checkpoint: mambaseq eval -c CONFIG --ckpt PATH");
  if (is_classifier_checkpoint(a.ckpt))
    eval_finetune(request_of(a));
  else
    eval_pretrain(request_of(a));
  return 0;
}

int cmd_data_fetch(const Args& a) {
  if (a.positional.size() < 3) throw UsageError("data fetch needs a FASTA file and at least one region: mambaseq data fetch FASTA chr:start-end");
  const std::vector<std::string> regions(a.positional.begin() + 2, a.positional.end());
  const std::string text = fasta::fetch_regions(a.positional[1], regions);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

std::string pretrain_config_keys() { return cfg::format_fields(cfg::describe<PretrainConfig>()); }
std::string finetune_config_keys() { return cfg::format_fields(cfg::describe<FinetuneConfig>()); }

}  // namespace ms::cli
