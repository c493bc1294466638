// `mambaseq pretrain`: next-base prediction on a genome (configs/dna_*.toml). The data come through a
// TokenSource (pipelines/dna_token_source.h), the model through a SequenceModel (MambaLM), the loop is
// run_training (pipelines/trainer.h): AdamW + warmup-cosine, checkpoints, exact --resume.
// Held-out evaluation: loss, bits per base and perplexity on the valid (or test) split, every base scored
// once, next to order-k Markov baselines fitted on the same training split (pipelines/markov.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/evaluate.h"
#include "pipelines/run_config.h"

namespace ms {

struct DnaDataSection {
  std::vector<std::string> fasta;  // one or more (multi-)FASTA files: plain, gzip or bgzip
  std::string bed;                 // optional intervals (with or without a train/valid/test column)
  std::vector<std::string> valid_contigs, test_contigs;  // held out by contig ...
  double valid_fraction = 0.1;                           // ... or the tail of every region
  double test_fraction = 0.0;
  int64_t length = 1024;             // training window (the last stage of the warmup)
  int64_t warmup_start = 0;          // sequence-length warmup: first length (0: no warmup)
  int64_t warmup_stage_steps = 0;    // steps per length; the length doubles after each stage
  int64_t batch_tokens = 0;          // > 0: batch = batch_tokens / length (constant tokens per step)
  bool reverse_complement = true;    // augmentation: each window read on a random strand
  std::string short_intervals = "pad";  // intervals shorter than a window: pad | skip | error
  int64_t prefetch_threads = 1;      // background batch preparation (0: inline)
  int64_t decompress_threads = 0;    // extra BGZF inflate threads while loading
};
void bind(cfg::Binder& b, DnaDataSection& c);

struct LmEvalSection {
  std::string split = "valid";   // valid | test
  int64_t length = 0;            // evaluation window (0: data.length)
  int64_t batch = 8;             // windows per forward
  int64_t chunk = 0;             // > 0: forward in chunks of this many tokens (bounded memory)
  int64_t max_windows = 0;       // > 0: evaluations during training score this many windows, spread out
  int64_t final_max_windows = 0; // the same for the final evaluation and `eval` (0: the whole split)
  std::vector<int64_t> markov_orders{2};  // Markov baselines reported next to the model
  double markov_alpha = 1.0;     // additive smoothing (1: add-one, 0.5: KT)
};
void bind(cfg::Binder& b, LmEvalSection& c);

struct PretrainConfig {
  std::string name = "dna";
  DnaDataSection data;
  LmEvalSection eval;
  ModelSection model;
  TrainSection train;
  OptimSection optim;
};
void bind(cfg::Binder& b, PretrainConfig& c);

struct BaselineScore {
  std::string name;   // "order-2 Markov"
  int order = 0;
  double bits_per_base = 0;
  int64_t targets = 0;
};

struct PretrainResult {
  std::vector<double> train_losses;  // per step of this invocation
  int64_t steps_done = 0;
  double train_seconds = 0;
  bool evaluated = false;            // a final held-out evaluation ran
  LmEval eval;                       // the last held-out evaluation
  std::vector<BaselineScore> baselines;
  std::string run_dir;
};

// Trains (or resumes, req.resume) as the config says. req.ckpt without resume: initial weights.
PretrainResult run_pretrain(const RunRequest& req);

// `mambaseq eval` of a pretraining checkpoint (req.ckpt): held-out loss, bits per base and the Markov
// baselines, printed and written to req.out (default: <checkpoint's folder>/eval). With no config file
// the checkpoint's own config is used (req.sets still apply).
PretrainResult eval_pretrain(const RunRequest& req);

}  // namespace ms
