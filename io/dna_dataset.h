// DNA data sets ready for training: a genome with its train/valid/test intervals for next-token
// pretraining, and a classification set of N classes given by FASTA files (docs/dna-io.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/bed.h"
#include "io/dna_sampler.h"
#include "io/genome.h"

namespace ms::dna {

// ---------------------------------------------------------------- pretraining
struct LmDataOptions {
  std::vector<std::string> fasta;  // one or more (multi-)FASTA files, plain, gzip or bgzip
  std::string bed;                 // optional: intervals to use (with or without a split column)
  std::vector<std::string> valid_contigs, test_contigs;  // split by contig ...
  double valid_fraction = 0, test_fraction = 0;          // ... or by held-out tail fractions of each interval
  LoadOptions load;
};

// WindowSamplers keep a reference to `genome`: build them after the LmData is in its final place.
struct LmData {
  Genome genome;
  SplitIntervals splits;
  std::string split_rule;  // one line saying how the splits were made (for logs and run folders)
};

// Split rules, in order: a BED with a split column decides alone (contig lists or fractions given as
// well are an error); otherwise the regions (BED intervals, or whole contigs) are split by the contig
// lists when given, else by the fractions (both given is an error). With neither, everything is train.
LmData load_lm_data(const LmDataOptions& opt);

// ---------------------------------------------------------------- classification
struct ClassSource {
  std::string name;                     // label name (e.g. species or strain)
  std::vector<std::string> files;       // FASTA files of this class
  std::vector<std::string> test_files;  // held_out = files: files whose sequences are test only
};

enum class HeldOut {
  ranges,   // the last test_fraction (and before it valid_fraction) of every contig
  contigs,  // contigs named in test_contigs / valid_contigs
  files     // each class's test_files
};
const char* held_out_name(HeldOut h);
bool parse_held_out(std::string_view text, HeldOut& out);  // "ranges", "contigs", "files"

struct ClassificationOptions {
  int64_t length = 1024;  // segment length L
  uint64_t seed = 0;
  HeldOut held_out = HeldOut::ranges;
  double valid_fraction = 0.0, test_fraction = 0.2;           // ranges
  std::vector<std::string> valid_contigs, test_contigs;       // contigs
  bool reverse_complement = false;  // train-time augmentation
  LoadOptions load;
};

struct ClassSample {
  int32_t label = 0;
  Window window;  // always L bases inside one interval of the sample's split (never padded)
};
struct ClassBatch {
  Tensor tokens;  // i32 (B, L)
  Tensor labels;  // i32 (B)
  std::vector<ClassSample> samples;
};

class ClassificationDataset {
 public:
  // Loads every class's files into one genome and cuts each class's splits. Errors: no classes, a file
  // in two classes, a class with no test data, or a class whose split has no interval of L bases
  // ("contig shorter than the window").
  ClassificationDataset(std::vector<ClassSource> classes, ClassificationOptions opt);
  // Its samplers refer to its genome: neither copied nor moved (hold it in a unique_ptr if needed).
  ClassificationDataset(const ClassificationDataset&) = delete;
  ClassificationDataset& operator=(const ClassificationDataset&) = delete;

  int num_classes() const { return static_cast<int>(classes_.size()); }
  const std::string& class_name(int c) const { return classes_.at(c).name; }
  const Genome& genome() const { return genome_; }
  const ClassificationOptions& options() const { return opt_; }
  const SplitIntervals& intervals(int c) const { return splits_.at(c); }
  bool has_split(Split s) const;  // every class has data for it

  // Training: sample `index` of step `step`; the label is uniform over classes, the segment uniform over
  // the class's start positions. Pure function of (seed, step, index).
  ClassSample draw(uint64_t step, uint64_t index) const;
  ClassBatch batch(uint64_t step, int64_t batch, TensorPool* pool = nullptr) const;
  // Evaluation on valid or test: sample k has label k % N and a fixed random segment, so any prefix of
  // N * m samples is balanced and the set is the same in every run.
  ClassSample eval_sample(Split split, uint64_t k) const;
  ClassBatch eval_batch(Split split, uint64_t first, int64_t batch, TensorPool* pool = nullptr) const;

 private:
  ClassBatch make_batch(std::vector<ClassSample> samples, TensorPool* pool) const;
  const WindowSampler& sampler(int c, Split s) const;

  std::vector<ClassSource> classes_;
  ClassificationOptions opt_;
  Genome genome_;
  std::vector<SplitIntervals> splits_;
  std::vector<std::unique_ptr<WindowSampler>> samplers_;  // [class * 3 + split], null when empty
};

}  // namespace ms::dna
