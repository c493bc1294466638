// `mambaseq finetune`: classify DNA segments (species, strains, or any classes given as FASTA files) with a
// Mamba backbone + classifier head (model/classifier.h), from scratch or from a pretrained checkpoint
// (--ckpt: backbone.* loaded by name, head fresh). Data: io's ClassificationDataset; train and test segments
// come from disjoint regions (held-out files = strains, contigs or ranges). Writes accuracy, per-class
// accuracy and the confusion matrix into the run folder. data.lengths runs a length sweep, one sub-run per
// length (<run>/L<length>/), with a summary table (configs/strain_classify.toml).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/evaluate.h"
#include "pipelines/run_config.h"

namespace ms {

struct ClassEntry {
  std::string name;
  std::vector<std::string> files;       // FASTA files of the class
  std::vector<std::string> test_files;  // held_out = "files": the class's held-out files
};
void bind(cfg::Binder& b, ClassEntry& c);

struct ClassDataSection {
  std::string task = "species";  // species | strain | files
  std::string manifest = "data/genomes/manifest.tsv";  // species / strain: scripts/prepare-genomes.sh's manifest
  std::vector<std::string> species;       // species: which (empty: all); strain: exactly one
  std::vector<std::string> strains;       // strain: which strains (empty: all of the species)
  std::vector<std::string> test_strains;  // species: strains held out for testing (held_out = "files")
  std::vector<ClassEntry> classes;        // files: [[data.class]] name, files, test_files
  std::string held_out = "files";         // files | ranges | contigs
  double valid_fraction = 0.0, test_fraction = 0.2;   // ranges
  std::vector<std::string> valid_contigs, test_contigs;  // contigs
  int64_t length = 1024;                  // segment length L
  std::vector<int64_t> lengths;           // non-empty: a sweep, one sub-run per length (overrides length)
  int64_t batch_tokens = 0;               // > 0: batch = batch_tokens / length
  bool reverse_complement = true;         // training augmentation
  int64_t prefetch_threads = 1;
};
void bind(cfg::Binder& b, ClassDataSection& c);

struct HeadSection {
  std::string pooling = "mean";  // mean | last
  int64_t seed = 0;
};
void bind(cfg::Binder& b, HeadSection& c);

struct ClassEvalSection {
  int64_t samples = 1000;       // test segments at the end (rounded up to a multiple of the classes)
  int64_t during_samples = 200; // segments of the evaluations every train.eval_every steps
  int64_t batch = 16;
  int64_t chunk = 0;            // > 0: backbone forward in chunks (bounded memory for long segments)
};
void bind(cfg::Binder& b, ClassEvalSection& c);

struct FinetuneConfig {
  std::string name = "classify";
  ClassDataSection data;
  HeadSection head;
  ClassEvalSection eval;
  ModelSection model;
  TrainSection train;
  OptimSection optim;
};
void bind(cfg::Binder& b, FinetuneConfig& c);

struct FinetuneResult {
  int64_t length = 0;
  std::vector<double> train_losses;  // per step of this invocation
  int64_t steps_done = 0;
  double train_seconds = 0;
  bool evaluated = false;
  Confusion confusion;               // the final test evaluation
  std::string run_dir;
};

// One result per length (a single one without data.lengths).
std::vector<FinetuneResult> run_finetune(const RunRequest& req);

// `mambaseq eval` of a classifier checkpoint (req.ckpt): test accuracy and confusion matrix, printed and
// written to req.out (default: <checkpoint's folder>/eval).
FinetuneResult eval_finetune(const RunRequest& req);

}  // namespace ms
