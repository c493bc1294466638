// The training loop every pipeline shares: AdamW with warmup + cosine decay, progress output, metrics rows,
// atomic checkpoints, exact resume, held-out evaluations, and a clean stop on Ctrl-C (checkpoint first).
// A pipeline supplies what differs: how to run one step on the batch of step t, and how to evaluate.
// Batches must be a pure function of (seed, step) so that a resumed run sees the data an uninterrupted
// run would have: the checkpoint's step is then the whole data cursor.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/metrics.h"
#include "io/progress.h"
#include "model/mamba_lm.h"
#include "model/optimizer.h"
#include "pipelines/run_config.h"

namespace ms {

struct TrainLoop {
  std::string label = "train";
  ParamStore* params = nullptr;
  // Runs forward + backward on the batch of `step` (0-based), accumulating into the (zeroed) gradients.
  std::function<LossResult(int64_t step)> step;
  int64_t tokens_per_step = 0;  // for the rate shown; `step` may update it (e.g. under a length curriculum)
  bool quiet = false;           // no progress output (tests)
  // Optional: held-out evaluation after `steps_done` steps; writes its own metrics rows and messages.
  // `final` is true once, after the last step (a pipeline may evaluate more thoroughly then).
  std::function<void(int64_t steps_done, bool final, MetricsWriter& metrics, Progress& progress)> evaluate;
};

struct TrainOutcome {
  int64_t start_step = 0, end_step = 0;  // steps done before and after this invocation
  std::vector<double> losses;            // training loss of each step of this invocation
  double seconds = 0;
  bool finished = false;                 // reached train.steps (not stopped early)
};

// Trains `loop` for train.steps steps (or until train.stop_after / Ctrl-C), starting from the checkpoint
// `resume_from` when it is not empty (parameters, AdamW moments and step; the data follows the step).
// `config_toml` is stored in every checkpoint. Files go to `files` (see prepare_run in io/checkpoint.h).
// In a data-parallel group (kernels/data_parallel.h; train.gpus > 1) every rank runs this with its own
// rows of each step; gradients are combined across ranks before the optimizer step, and only rank 0
// writes checkpoints, metrics and progress and runs the evaluations.
TrainOutcome run_training(TrainLoop& loop, const TrainSection& train, const OptimSection& optim,
                          const RunFiles& files, const std::string& config_toml, const std::string& resume_from);

// The checkpoint of a ParamStore + AdamW at `step` (what run_training writes).
Checkpoint make_training_checkpoint(const ParamStore& params, const AdamW& opt, int64_t step,
                                    const std::string& config_toml);
// Loads parameters (and, when `opt` is given, the optimizer state) from a checkpoint; returns its step.
int64_t load_training_checkpoint(const std::string& path, ParamStore& params, AdamW* opt);

}  // namespace ms
