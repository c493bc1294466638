// `mambaseq synth`: the Mamba paper's synthetic tasks (Selective Copying, Induction Heads) trained and
// evaluated end to end from a TOML config (configs/induction_heads.toml, configs/selective_copying*.toml).
// Induction heads are evaluated at every length in task.eval_lengths (up to 2^20 and beyond), in chunks
// of task.eval_chunk tokens carrying the recurrent state, so memory stays bounded.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/run_config.h"
#include "pipelines/synthetic_data.h"

namespace ms {

enum class SynthTask { induction_heads, selective_copying };

struct SynthTaskSection {
  SynthTask kind = SynthTask::induction_heads;
  int64_t vocab = 16;
  int64_t train_length = 256;   // sequence length during training
  int64_t n_memorize = 16;      // selective copying: tokens to recall
  int64_t warmup_length = 0;    // length curriculum: start here, double every warmup_stage_steps (0: off)
  int64_t warmup_stage_steps = 0;
  std::vector<int64_t> eval_lengths{256};
  std::vector<int64_t> periodic_eval_lengths;  // lengths of the evaluations during training (empty: train_length)
  int64_t eval_tokens = 1 << 22;      // per length: about this many tokens are evaluated ...
  int64_t eval_min_sequences = 16;    // ... but at least this many sequences ...
  int64_t eval_max_sequences = 512;   // ... and at most this many
  int64_t eval_batch = 64;            // sequences per evaluation batch (fewer for long ones, see eval_tokens)
  int64_t eval_chunk = 8192;          // longer sequences are evaluated chunk by chunk
};

struct SynthConfig {
  std::string name = "synth";
  SynthTaskSection task;
  ModelSection model;
  TrainSection train;
  OptimSection optim;
};
void bind(cfg::Binder& b, SynthTaskSection& c);
void bind(cfg::Binder& b, SynthConfig& c);

struct SynthEval {
  int64_t length = 0, sequences = 0;
  double loss = 0, accuracy = 0, seconds = 0;
};
struct SynthResult {
  std::vector<double> train_losses;  // per step of this invocation
  std::vector<SynthEval> evals;      // final evaluation, one per length
  double train_seconds = 0;
  int64_t steps_done = 0;
  std::string run_dir;
};

SynthResult run_synth(const RunRequest& req);

}  // namespace ms
