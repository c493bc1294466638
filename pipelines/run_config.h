// Config sections shared by every pipeline: [model], [optim], [train]. Each pipeline's config struct
// embeds the ones it needs next to its own [task] / [data] sections (see pipelines/synthetic.h).
#pragma once
#include <cstdint>
#include <string>

#include <vector>

#include "io/checkpoint.h"
#include "io/config.h"
#include "kernels/gemm.h"
#include "model/config.h"
#include "model/optimizer.h"

namespace ms {

struct ModelSection {
  int64_t d_model = 64;
  int64_t n_layer = 2;
  int64_t d_state = 16;
  int64_t d_conv = 4;
  int64_t expand = 2;
  int64_t dt_rank = 0;  // 0: ceil(d_model / 16)
  SsmKind ssm = SsmKind::real;
  double dt_min = 1e-3, dt_max = 1e-1;
  int64_t seed = 0;     // parameter initialization
};
void bind(cfg::Binder& b, ModelSection& c);
// The model's config for a vocabulary of `vocab` tokens (validated).
MambaConfig to_mamba_config(const ModelSection& m, int64_t vocab);
// The [model] keys both model configs share (MambaConfig, UNetConfig) copied into c.
template <class ModelConfig>
void copy_model_section(const ModelSection& m, int64_t vocab, ModelConfig& c) {
  c.d_model = m.d_model;
  c.n_layer = m.n_layer;
  c.vocab_size = vocab;
  c.d_state = m.d_state;
  c.d_conv = m.d_conv;
  c.expand = m.expand;
  c.dt_rank = m.dt_rank;
  c.ssm = m.ssm;
  c.dt_min = m.dt_min;
  c.dt_max = m.dt_max;
  c.seed = static_cast<uint64_t>(m.seed);
}

struct OptimSection {
  double lr = 1e-3;
  double min_lr = 1e-4;   // cosine decay ends here
  int64_t warmup = 100;   // linear warmup steps
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double grad_clip = 1.0;  // global-norm clipping; 0 turns it off
};
void bind(cfg::Binder& b, OptimSection& c);
AdamWConfig to_adamw_config(const OptimSection& o);

struct TrainSection {
  int64_t steps = 1000;
  int64_t batch_size = 16;
  int64_t seed = 0;          // data order (batches are a function of seed and step)
  int64_t log_every = 10;    // metrics row + progress text
  int64_t eval_every = 0;    // held-out evaluation (0: only at the end)
  int64_t ckpt_every = 100;  // last.h5 (0: only at the end)
  int64_t keep_every = 0;    // also keep step_<N>.h5 copies every N steps (0: none)
  int64_t keep = 3;          // how many step copies to keep
  int64_t stop_after = 0;    // stop after this many steps of this invocation (checkpointed; 0: run to the end)
  std::string device = "auto";  // cpu | cuda | auto (cuda when a GPU is visible)
  int64_t threads = 0;          // CPU threads (0: all cores)
  int64_t gpus = 1;             // data-parallel over this many GPUs of the host (audio pretraining)
  std::string gemm_precision = "fp32";  // CUDA GEMMs of f32 tensors: fp32 | tf32 (the CPU is always fp32)
};
void bind(cfg::Binder& b, TrainSection& c);

// Resolves train.device ("auto" picks CUDA when this build has it and a GPU is visible); sets the CPU
// thread count and the CUDA GEMM precision (train.gemm_precision). A request for CUDA that cannot be met
// is an error saying why.
Device resolve_device(const TrainSection& t);

// "fp32" | "tf32" (train.gemm_precision, bench model.gemm_precision) -> the CUDA GEMM precision.
GemmPrecision parse_gemm_precision(const std::string& name);
// The names parse_gemm_precision takes, for the config validators.
std::vector<std::string> gemm_precision_names();

}  // namespace ms

namespace ms {

// What the command line asks of a pipeline (apps/ fills it from its flags; tests fill it directly).
struct RunRequest {
  std::string config_path;          // may be empty: defaults + sets
  std::vector<std::string> sets;    // --set key=value
  bool resume = false;              // continue runs/<name>/last.h5 (or `ckpt`)
  std::string ckpt;                 // --ckpt
  std::string out;                  // --out: the run folder (default runs/<name>)
  bool quiet = false;               // no progress output (tests)
};

// The run folder, prepared (config.toml written; a fresh run refuses a folder holding last.h5), and the
// checkpoint to resume from (empty for a fresh run).
struct RunSetup {
  RunFiles files;
  std::string resume_from;
  int64_t resume_step = -1;
};
RunSetup setup_run(const RunRequest& req, const std::string& name, const std::string& config_toml);
// The run folder of a request: --out, or runs/<name>.
std::string run_folder(const RunRequest& req, const std::string& name);

// The folder an evaluation of req.ckpt writes to: --out, or eval/ beside the checkpoint; created.
std::string eval_folder(const RunRequest& req);

}  // namespace ms
