// `mambaseq run FILE`: several stages (pretrain, finetune, eval, generate, synth) scripted in one TOML
// pipeline file, each run as if its command had been typed, in order, stopping at the first failure.
//
//   name = "dna_full"                       # the pipeline's folder: runs/<name> (or --out DIR)
//   [[stage]]
//   name = "pretrain"                       # the stage's folder: <pipeline folder>/<stage name>
//   command = "pretrain"
//   config = "configs/dna_pretrain_small.toml"
//   set = ["train.steps=300"]
//   [[stage]]
//   name = "species"
//   command = "finetune"
//   config = "configs/species_classify.toml"
//   ckpt = "${pretrain}/last.h5"            # ${NAME}: the folder of the earlier stage NAME; ${out}: the pipeline's
//
// The file is checked before anything runs: commands, names, ${...}, config files (each training stage's
// config parsed with its --set values), checkpoints that no stage writes. --dry-run prints each stage's
// command line and stops there.
// --set on the command line applies to every stage (after the stage's own). A stage that finished writes
// stage_done in its folder; `run --resume` skips those and resumes the first unfinished training stage
// from its last.h5. <pipeline folder>/pipeline.tsv lists each stage's status and time.
#pragma once
#include <string>
#include <vector>

#include "apps/cli.h"
#include "io/config.h"

namespace ms::cli {

struct PipelineStage {
  std::string name;              // letters, digits, '_', '-', '.'; default "<index>_<command>"
  std::string command;           // pretrain | finetune | eval | generate | synth
  std::string config;            // -c (may be empty for eval / generate: the checkpoint's config)
  std::vector<std::string> set;  // --set of this stage
  std::string ckpt;              // --ckpt
  std::string out;               // --out; default <pipeline folder>/<name>
};
void bind(cfg::Binder& b, PipelineStage& s);

struct PipelineFile {
  std::string name = "pipeline";
  std::vector<PipelineStage> stage;
};
void bind(cfg::Binder& b, PipelineFile& p);

// The stage commands a pipeline may use.
const std::vector<std::string>& pipeline_commands();

// Reads and checks a pipeline file (known commands, unique names, ${NAME} only of earlier stages) and
// returns it with defaults filled in and every ${...} replaced; `out` is the pipeline folder.
PipelineFile load_pipeline(const std::string& path, const std::string& out_override);

int cmd_run(const Args& a);

}  // namespace ms::cli
