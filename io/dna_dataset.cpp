#include "io/dna_dataset.h"

#include <set>
#include <unordered_map>
#include <unordered_set>

#include "io/prefetch.h"
#include "kernels/check.h"
#include "kernels/random.h"

namespace ms::dna {

// ---------------------------------------------------------------- pretraining

LmData load_lm_data(const LmDataOptions& opt) {
  if (opt.fasta.empty()) MS_FAIL("no FASTA files given for the DNA data");
  LmData d;
  d.genome = load_genome(opt.fasta, opt.load);
  const bool by_contigs = !opt.valid_contigs.empty() || !opt.test_contigs.empty();
  const bool by_fractions = opt.valid_fraction > 0 || opt.test_fraction > 0;
  if (by_contigs && by_fractions)
    MS_FAIL("give held-out contigs or held-out fractions, not both (contigs: ", opt.valid_contigs.size() + opt.test_contigs.size(),
            ", fractions: valid ", opt.valid_fraction, " test ", opt.test_fraction, ")");

  std::vector<Interval> regions;
  std::string what = "whole contigs";
  if (!opt.bed.empty()) {
    BedFile bed = read_bed(opt.bed, d.genome);
    if (bed.has_split_column) {
      if (by_contigs || by_fractions)
        MS_FAIL("BED file '", opt.bed, "' has a split column, so held-out contigs or fractions cannot be given as well");
      d.splits = bed_splits(bed);
      d.split_rule = "split column of BED file " + opt.bed;
      return d;
    }
    regions = bed_intervals(bed);
    what = "intervals of BED file " + opt.bed;
  } else {
    regions = whole_contigs(d.genome);
  }
  if (by_contigs) {
    d.splits = split_by_contigs(d.genome, regions, opt.valid_contigs, opt.test_contigs);
    d.split_rule = what + ", split by contig (" + std::to_string(opt.valid_contigs.size()) + " valid, " +
                   std::to_string(opt.test_contigs.size()) + " test)";
  } else {
    d.splits = split_by_fractions(regions, opt.valid_fraction, opt.test_fraction);
    d.split_rule = what + (by_fractions ? ", each cut into train | valid " + std::to_string(opt.valid_fraction) +
                                              " | test " + std::to_string(opt.test_fraction) + " (tail fractions)"
                                        : ", all train (no held-out data)");
  }
  return d;
}

// ---------------------------------------------------------------- classification

const char* held_out_name(HeldOut h) {
  switch (h) {
    case HeldOut::ranges: return "ranges";
    case HeldOut::contigs: return "contigs";
    case HeldOut::files: return "files";
  }
  return "?";
}

bool parse_held_out(std::string_view t, HeldOut& out) {
  if (t == "ranges") out = HeldOut::ranges;
  else if (t == "contigs") out = HeldOut::contigs;
  else if (t == "files") out = HeldOut::files;
  else return false;
  return true;
}

ClassificationDataset::ClassificationDataset(std::vector<ClassSource> classes, ClassificationOptions opt)
    : classes_(std::move(classes)), opt_(std::move(opt)) {
  if (classes_.size() < 2) MS_FAIL("a classification data set needs at least 2 classes, got ", classes_.size());
  if (opt_.length < 1) MS_FAIL("segment length must be positive, got ", opt_.length);
  const int C = num_classes();

  // Load every file once, remembering which class (and role) it belongs to.
  std::unordered_map<std::string, std::string> owner;
  std::set<std::string> names;
  std::vector<std::vector<int>> train_files(C), test_files(C);
  for (int c = 0; c < C; ++c) {
    const ClassSource& cs = classes_[c];
    if (!names.insert(cs.name).second) MS_FAIL("class name '", cs.name, "' is used twice");
    if (cs.files.empty()) MS_FAIL("class '", cs.name, "' has no FASTA files");
    if (opt_.held_out == HeldOut::files && cs.test_files.empty())
      MS_FAIL("class '", cs.name, "' has no test files (held_out = \"files\" needs some for every class)");
    if (opt_.held_out != HeldOut::files && !cs.test_files.empty())
      MS_FAIL("class '", cs.name, "' lists test files, but held_out is \"", held_out_name(opt_.held_out),
              "\" (set held_out = \"files\" to use them)");
    auto add = [&](const std::string& f, std::vector<int>& into) {
      auto [it, fresh] = owner.emplace(f, cs.name);
      if (!fresh) MS_FAIL("FASTA file '", f, "' is listed twice (classes '", it->second, "' and '", cs.name, "')");
      into.push_back(static_cast<int>(genome_.files.size()));
      append_fasta(genome_, f, opt_.load);
    };
    for (const auto& f : cs.files) add(f, train_files[c]);
    for (const auto& f : cs.test_files) add(f, test_files[c]);
  }

  auto contigs_of = [&](const std::vector<int>& files) {
    std::vector<Interval> out;
    for (size_t i = 0; i < genome_.contigs.size(); ++i)
      for (int f : files)
        if (genome_.contigs[i].file_index == f) out.push_back({static_cast<int32_t>(i), 0, genome_.contigs[i].length()});
    return out;
  };

  std::unordered_set<std::string> valid_names(opt_.valid_contigs.begin(), opt_.valid_contigs.end()), used;
  std::unordered_set<std::string> test_names(opt_.test_contigs.begin(), opt_.test_contigs.end());
  for (const auto& n : valid_names)
    if (test_names.count(n)) MS_FAIL("contig '", n, "' is listed both as valid and as test");

  splits_.resize(C);
  for (int c = 0; c < C; ++c) {
    SplitIntervals& s = splits_[c];
    switch (opt_.held_out) {
      case HeldOut::ranges:
        s = split_by_fractions(contigs_of(train_files[c]), opt_.valid_fraction, opt_.test_fraction);
        break;
      case HeldOut::contigs:
        for (const auto& iv : contigs_of(train_files[c])) {
          const std::string& n = genome_.contigs[iv.contig].name;
          Split sp = test_names.count(n) ? Split::test : valid_names.count(n) ? Split::valid : Split::train;
          if (sp != Split::train && !used.insert(n).second)
            MS_FAIL("held-out contig name '", n, "' occurs in more than one file: rename it or hold out files instead");
          s[sp].push_back(iv);
        }
        break;
      case HeldOut::files:
        s[Split::train] = contigs_of(train_files[c]);
        s[Split::test] = contigs_of(test_files[c]);
        break;
    }
  }
  if (opt_.held_out == HeldOut::contigs)
    for (const auto* list : {&opt_.valid_contigs, &opt_.test_contigs})
      for (const auto& n : *list)
        if (!used.count(n)) MS_FAIL("held-out contig '", n, "' is in none of the classes' FASTA files");

  // One sampler per (class, split); segments never leave their interval (no padding), so a test segment
  // cannot contain a training base.
  samplers_.resize(static_cast<size_t>(C) * 3);
  for (int c = 0; c < C; ++c) {
    if (!splits_are_disjoint(splits_[c])) MS_FAIL("class '", class_name(c), "': train and test regions overlap");
    for (Split sp : kSplits) {
      const auto& ivs = splits_[c][sp];
      bool empty = true;
      for (const auto& iv : ivs) empty = empty && iv.length() == 0;
      if (empty) {
        if (sp == Split::test) MS_FAIL("class '", class_name(c), "' has no test data");
        if (sp == Split::train) MS_FAIL("class '", class_name(c), "' has no training data");
        continue;
      }
      WindowOptions wo;
      wo.seed = opt_.seed;
      wo.stream = static_cast<uint64_t>(c) * 3 + static_cast<uint64_t>(sp) + 1;
      wo.reverse_complement = sp == Split::train && opt_.reverse_complement;
      wo.short_intervals = ShortIntervals::skip;
      auto smp = std::make_unique<WindowSampler>(genome_, ivs, wo);
      if (smp->num_windows(opt_.length) == 0) {
        const Interval* longest = &ivs[0];
        for (const auto& iv : ivs)
          if (iv.length() > longest->length()) longest = &iv;
        MS_FAIL("class '", class_name(c), "': no ", split_name(sp), " sequence holds a segment of ", opt_.length,
                " bases (the longest is ", region_string(genome_, *longest), " of '", genome_.contigs[longest->contig].file,
                "', ", longest->length(), " bases): use shorter segments or a smaller held-out fraction");
      }
      samplers_[static_cast<size_t>(c) * 3 + static_cast<size_t>(sp)] = std::move(smp);
    }
  }
}

bool ClassificationDataset::has_split(Split s) const {
  for (int c = 0; c < num_classes(); ++c)
    if (!samplers_[static_cast<size_t>(c) * 3 + static_cast<size_t>(s)]) return false;
  return true;
}

const WindowSampler& ClassificationDataset::sampler(int c, Split s) const {
  const auto& p = samplers_.at(static_cast<size_t>(c) * 3 + static_cast<size_t>(s));
  if (!p) MS_FAIL("class '", class_name(c), "' has no ", split_name(s), " data");
  return *p;
}

ClassSample ClassificationDataset::draw(uint64_t step, uint64_t index) const {
  ClassSample s;
  const uint64_t label_stream = mix64(step ^ 0x1abe15ULL) + 0x1abe15ULL;
  s.label = static_cast<int32_t>(random_bits(opt_.seed, label_stream, index) % static_cast<uint64_t>(num_classes()));
  s.window = sampler(s.label, Split::train).draw(step, index, opt_.length);
  return s;
}

ClassSample ClassificationDataset::eval_sample(Split split, uint64_t k) const {
  MS_CHECK(split != Split::train, "eval_sample is for the valid and test splits");
  ClassSample s;
  const uint64_t C = static_cast<uint64_t>(num_classes());
  s.label = static_cast<int32_t>(k % C);
  s.window = sampler(s.label, split).draw(k / C, 0, opt_.length);
  return s;
}

ClassBatch ClassificationDataset::make_batch(std::vector<ClassSample> samples, TensorPool* pool) const {
  const int64_t B = static_cast<int64_t>(samples.size()), L = opt_.length;
  ClassBatch b;
  b.tokens = pool ? pool->get({B, L}, DType::i32) : Tensor::empty({B, L}, DType::i32);
  b.labels = pool ? pool->get({B}, DType::i32) : Tensor::empty({B}, DType::i32);
  int32_t* t = b.tokens.data<int32_t>();
  int32_t* y = b.labels.data<int32_t>();
  for (int64_t i = 0; i < B; ++i) {
    const ClassSample& s = samples[i];
    sampler(s.label, Split::train).fill(s.window, L, t + i * L);  // any sampler of the genome fills
    y[i] = s.label;
  }
  b.samples = std::move(samples);
  return b;
}

ClassBatch ClassificationDataset::batch(uint64_t step, int64_t batch, TensorPool* pool) const {
  MS_CHECK(batch >= 1, "batch size must be positive");
  std::vector<ClassSample> s;
  for (int64_t i = 0; i < batch; ++i) s.push_back(draw(step, static_cast<uint64_t>(i)));
  return make_batch(std::move(s), pool);
}

ClassBatch ClassificationDataset::eval_batch(Split split, uint64_t first, int64_t batch, TensorPool* pool) const {
  MS_CHECK(batch >= 1, "batch size must be positive");
  std::vector<ClassSample> s;
  for (int64_t i = 0; i < batch; ++i) s.push_back(eval_sample(split, first + static_cast<uint64_t>(i)));
  return make_batch(std::move(s), pool);
}

}  // namespace ms::dna
