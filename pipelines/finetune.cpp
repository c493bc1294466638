#include "pipelines/finetune.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "io/atomic_file.h"
#include "io/dna_dataset.h"
#include "io/dna_vocab.h"
#include "io/genome_manifest.h"
#include "io/prefetch.h"
#include "model/classifier.h"
#include "pipelines/dna_files.h"
#include "pipelines/trainer.h"

namespace ms {

void bind(cfg::Binder& b, ClassEntry& c) {
  b.field("name", c.name, cfg::Check{}.required(), "class label");
  b.field("files", c.files, "FASTA files of the class");
  b.field("test_files", c.test_files, "held_out = \"files\": FASTA files held out for testing");
}

void bind(cfg::Binder& b, ClassDataSection& c) {
  b.field("task", c.task, cfg::one_of({"species", "strain", "files"}),
          "species: one class per species of the manifest; strain: one per strain of data.species; files: "
          "[[data.class]] tables");
  b.field("manifest", c.manifest, "genome manifest of scripts/prepare-genomes.sh (species and strain tasks)");
  b.field("species", c.species, "species task: species to use (empty: all); strain task: the one species");
  b.field("strains", c.strains, "strain task: strains to use (empty: every strain of the species)");
  b.field("test_strains", c.test_strains, "species task: strains held out for testing (held_out = \"files\")");
  b.list("class", c.classes, "files task: one table per class (name, files, test_files)");
  b.field("held_out", c.held_out, cfg::one_of({"files", "ranges", "contigs"}),
          "what is held out for testing: files (strains), ranges (the tail of every contig) or contigs");
  b.field("valid_fraction", c.valid_fraction, cfg::ge(0).lt(1), "held_out = ranges: validation tail fraction");
  b.field("test_fraction", c.test_fraction, cfg::ge(0).lt(1), "held_out = ranges: test tail fraction");
  b.field("valid_contigs", c.valid_contigs, "held_out = contigs: validation contigs");
  b.field("test_contigs", c.test_contigs, "held_out = contigs: test contigs");
  b.field("length", c.length, cfg::range(1, int64_t{1} << 24), "segment length L in bases");
  b.field("lengths", c.lengths, cfg::range(1, int64_t{1} << 24),
          "a length sweep: one sub-run per length in <run>/L<length>/ (overrides length)");
  b.field("batch_tokens", c.batch_tokens, cfg::ge(0), "> 0: segments per step = batch_tokens / length");
  b.field("reverse_complement", c.reverse_complement, "augment: read each training segment on a random strand");
  b.field("prefetch_threads", c.prefetch_threads, cfg::range(0, 64), "threads preparing batches ahead (0: inline)");
}

void bind(cfg::Binder& b, HeadSection& c) {
  b.field("pooling", c.pooling, cfg::one_of({"mean", "last"}), "pool the backbone's outputs: mean, or the last token");
  b.field("seed", c.seed, cfg::ge(0), "head initialization seed");
}

void bind(cfg::Binder& b, ClassEvalSection& c) {
  b.field("samples", c.samples, cfg::ge(1), "test segments scored at the end (balanced over classes)");
  b.field("during_samples", c.during_samples, cfg::ge(1), "segments of the evaluations every train.eval_every steps");
  b.field("batch", c.batch, cfg::ge(1), "segments per evaluation forward");
  b.field("chunk", c.chunk, cfg::ge(0), "> 0: run the backbone in chunks of this many tokens (bounded memory)");
}

void bind(cfg::Binder& b, FinetuneConfig& c) {
  b.field("name", c.name, "run folder name under runs/");
  b.section("data", c.data);
  b.section("head", c.head);
  b.section("eval", c.eval);
  b.section("model", c.model);
  b.section("train", c.train);
  b.section("optim", c.optim);
}

namespace {

std::string known_list(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

std::vector<dna::ClassSource> classes_of(const ClassDataSection& d) {
  if (d.task == "files") {
    if (d.classes.empty()) MS_FAIL("data.task = \"files\" needs [[data.class]] tables (name, files, test_files)");
    std::vector<dna::ClassSource> out;
    for (const auto& c : d.classes) {
      dna::ClassSource s{c.name, {}, {}};
      for (const auto& f : c.files) s.files.push_back(require_dna_file(f, "data.class '" + c.name + "' files"));
      for (const auto& f : c.test_files)
        s.test_files.push_back(require_dna_file(f, "data.class '" + c.name + "' test_files"));
      out.push_back(std::move(s));
    }
    return out;
  }
  if (!d.classes.empty()) MS_FAIL("[[data.class]] tables are used only with data.task = \"files\" (it is \"", d.task, "\")");
  const std::vector<dna::ManifestGenome> all = dna::read_genome_manifest(require_dna_file(d.manifest, "data.manifest"));
  std::set<std::string> species_known;
  for (const auto& g : all) species_known.insert(g.species);
  for (const auto& sp : d.species)
    if (!species_known.count(sp))
      MS_FAIL("data.species: unknown species '", sp, "' (", d.manifest, " has: ", known_list(species_known), ")");
  if (d.task == "species") {
    if (!d.strains.empty()) MS_FAIL("data.strains is for the strain task; the species task holds out data.test_strains");
    std::vector<dna::ManifestGenome> chosen;
    for (const auto& g : all)
      if (d.species.empty() || std::count(d.species.begin(), d.species.end(), g.species)) chosen.push_back(g);
    return dna::species_classes(chosen, d.test_strains);
  }
  // strain
  if (d.species.size() != 1)
    MS_FAIL("data.task = \"strain\" needs exactly one species in data.species (", d.manifest, " has: ",
            known_list(species_known), ")");
  if (!d.test_strains.empty()) MS_FAIL("data.test_strains is for the species task; strains are held out by range or contig");
  std::vector<dna::ClassSource> out = dna::strain_classes(all, d.species[0]);
  if (d.strains.empty()) return out;
  std::set<std::string> have;
  for (const auto& c : out) have.insert(c.name);
  std::vector<dna::ClassSource> picked;
  for (const auto& s : d.strains) {
    if (!have.count(s)) MS_FAIL("data.strains: unknown strain '", s, "' of ", d.species[0], " (it has: ", known_list(have), ")");
    for (const auto& c : out)
      if (c.name == s) picked.push_back(c);
  }
  return picked;
}

std::unique_ptr<dna::ClassificationDataset> make_dataset(const FinetuneConfig& cfg) {
  const ClassDataSection& d = cfg.data;
  dna::ClassificationOptions o;
  o.length = d.length;
  o.seed = static_cast<uint64_t>(cfg.train.seed);
  dna::parse_held_out(d.held_out, o.held_out);
  o.valid_fraction = d.valid_fraction;
  o.test_fraction = d.test_fraction;
  o.valid_contigs = d.valid_contigs;
  o.test_contigs = d.test_contigs;
  o.reverse_complement = d.reverse_complement;
  return std::make_unique<dna::ClassificationDataset>(classes_of(d), o);
}

struct Setup {
  FinetuneConfig cfg;
  std::unique_ptr<dna::ClassificationDataset> data;
  MambaLM model;
  ClassifierHead head;
  Device device = Device::cpu;
};

std::unique_ptr<Setup> make_setup(const FinetuneConfig& cfg) {
  auto s = std::make_unique<Setup>();
  s->cfg = cfg;
  s->device = resolve_device(cfg.train);
  s->data = make_dataset(cfg);
  s->model = make_mamba_lm(to_mamba_config(cfg.model, dna::kVocabSize), DType::f32, s->device);
  s->head = add_classifier_head(s->model, s->data->num_classes(), parse_pooling(cfg.head.pooling),
                                static_cast<uint64_t>(cfg.head.seed));
  return s;
}

// Pretrained weights: every backbone.* tensor from the checkpoint (by name, shapes checked); the head
// stays as initialized. Other tensors of the checkpoint (an LM's, or another head) are not used.
void load_backbone(const std::string& path, MambaLM& model) {
  Checkpoint ck = read_checkpoint(path);
  NamedTensors into;
  for (auto& [name, t] : named_values(model.params))
    if (name.rfind("backbone.", 0) == 0) into.emplace_back(name, t);
  RestoreOptions ro;
  ro.allow_unused = true;
  restore_tensors(path, "parameter", ck.params, into, ro);
}

Confusion evaluate_classes(const Setup& s, dna::Split split, int64_t samples) {
  const int64_t C = s.data->num_classes();
  samples = (samples + C - 1) / C * C;  // balanced: sample k has label k % C
  std::vector<std::string> names;
  for (int c = 0; c < C; ++c) names.push_back(s.data->class_name(c));
  Confusion conf(names);
  for (int64_t first = 0; first < samples; first += s.cfg.eval.batch) {
    const int64_t n = std::min(s.cfg.eval.batch, samples - first);
    dna::ClassBatch b = s.data->eval_batch(split, static_cast<uint64_t>(first), n);
    ClassifyResult r = classifier_evaluate(s.model, s.head, b.tokens.to(s.device), b.labels.to(s.device), s.cfg.eval.chunk);
    Tensor pred = r.pred.to(Device::cpu);
    for (int64_t i = 0; i < n; ++i) conf.add(b.labels.data<int32_t>()[i], pred.data<int32_t>()[i]);
    conf.loss_sum += r.loss.loss_sum;
  }
  return conf;
}

MetricsRow confusion_row(int64_t step, const char* split, const Confusion& c, int64_t length) {
  MetricsRow row(step, split, c.loss());
  row.set("accuracy", c.accuracy()).set("samples", c.total()).set("length", length);
  for (size_t i = 0; i < c.classes.size(); ++i) row.set("accuracy_" + c.classes[i], c.class_accuracy(static_cast<int>(i)));
  return row;
}

std::string accuracy_line(const char* split, const Confusion& c, int64_t length) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s: accuracy %.2f%% (%lld segments of %lld bases), loss %.4f", split, 100 * c.accuracy(),
                static_cast<long long>(c.total()), static_cast<long long>(length), c.loss());
  return buf;
}

FinetuneResult run_one(const RunRequest& req, const FinetuneConfig& cfg) {
  const std::string toml = cfg::to_toml(cfg);
  std::unique_ptr<Setup> s = make_setup(cfg);  // bad input fails here, before the run folder is touched
  const bool from_pretrained = !req.resume && !req.ckpt.empty();
  if (from_pretrained) load_backbone(req.ckpt, s->model);
  RunSetup run = setup_run(req, cfg.name, toml);

  FinetuneResult result;
  result.length = cfg.data.length;
  result.run_dir = run.files.dir;
  if (!req.quiet) {
    std::printf("classes (%d):", s->data->num_classes());
    for (int c = 0; c < s->data->num_classes(); ++c) std::printf(" %s", s->data->class_name(c).c_str());
    std::printf("\nsegments of %lld bases; held out: %s; backbone: %s\n", static_cast<long long>(cfg.data.length),
                cfg.data.held_out.c_str(), from_pretrained ? ("pretrained, " + req.ckpt).c_str() : "from scratch");
    std::fflush(stdout);
  }
  const int64_t L = cfg.data.length;
  const int64_t B = cfg.data.batch_tokens > 0 ? std::max<int64_t>(1, cfg.data.batch_tokens / L) : cfg.train.batch_size;
  std::unique_ptr<Prefetcher<dna::ClassBatch>> prefetch;
  TensorPool pool(32);
  auto make_batch = [&s, &pool, B](uint64_t step) { return s->data->batch(step, B, &pool); };

  TrainLoop loop;
  loop.label = "finetune " + cfg.name;
  loop.params = &s->model.params;
  loop.quiet = req.quiet;
  loop.tokens_per_step = B * L;
  loop.step = [&](int64_t step) {
    if (!prefetch || prefetch->next_step() != static_cast<uint64_t>(step))
      prefetch = std::make_unique<Prefetcher<dna::ClassBatch>>(make_batch, static_cast<uint64_t>(step),
                                                               static_cast<int>(cfg.data.prefetch_threads), 4);
    dna::ClassBatch b = prefetch->next();
    return classifier_forward_backward(s->model, s->head, b.tokens.to(s->device), b.labels.to(s->device)).loss;
  };
  // During training: the valid split when there is one, else a smaller test sample; the final
  // evaluation scores eval.samples test segments and writes the confusion matrix.
  const bool has_valid = s->data->has_split(dna::Split::valid);
  loop.evaluate = [&](int64_t steps_done, bool final, MetricsWriter& metrics, Progress& progress) {
    const dna::Split split = final || !has_valid ? dna::Split::test : dna::Split::valid;
    const char* name = dna::split_name(split);
    Confusion c = evaluate_classes(*s, split, final ? cfg.eval.samples : cfg.eval.during_samples);
    metrics.write(confusion_row(steps_done, name, c, L));
    progress.message(accuracy_line(name, c, L));
    if (!final) return;
    result.confusion = c;
    result.evaluated = true;
    write_confusion(run.files.dir, c);
    if (!req.quiet) std::printf("\ntest confusion matrix after %lld steps, L = %lld:\n%s", static_cast<long long>(steps_done),
                                static_cast<long long>(L), format_confusion(c).c_str());
  };
  TrainOutcome o = run_training(loop, cfg.train, cfg.optim, run.files, toml, run.resume_from);
  prefetch.reset();
  result.train_losses = o.losses;
  result.steps_done = o.end_step;
  result.train_seconds = o.seconds;
  if (!req.quiet) std::printf("run folder: %s (%.1f s of training)\n", run.files.dir.c_str(), o.seconds);
  return result;
}

}  // namespace

std::vector<FinetuneResult> run_finetune(const RunRequest& req) {
  const FinetuneConfig cfg = cfg::load<FinetuneConfig>(req.config_path, req.sets);
  if (cfg.data.lengths.empty()) return {run_one(req, cfg)};

  // A length sweep: sub-run <dir>/L<length> per length, each a complete run of its own (--resume picks up
  // the ones that have a checkpoint and starts the others).
  const std::string dir = run_folder(req, cfg.name);
  std::vector<FinetuneResult> results;
  for (int64_t L : cfg.data.lengths) {
    FinetuneConfig one = cfg;
    one.data.length = L;
    one.data.lengths.clear();
    one.name = cfg.name + "_L" + std::to_string(L);
    // For a sweep, --ckpt always names the pretrained backbone, and --resume continues the sub-runs that
    // have a checkpoint (others start, from --ckpt when given).
    RunRequest sub = req;
    sub.out = dir + "/L" + std::to_string(L);
    sub.resume = req.resume && std::filesystem::exists(sub.out + "/last.h5");
    if (sub.resume) sub.ckpt.clear();
    if (!req.quiet) std::printf("\n=== %s: segment length %lld ===\n", cfg.name.c_str(), static_cast<long long>(L));
    results.push_back(run_one(sub, one));
  }
  std::string tsv = "length\tsamples\taccuracy\tloss\tsteps\ttrain_seconds\trun\n";
  for (const auto& r : results) {
    char line[512];
    std::snprintf(line, sizeof line, "%lld\t%lld\t%.6f\t%.6f\t%lld\t%.1f\t%s\n", static_cast<long long>(r.length),
                  static_cast<long long>(r.confusion.total()), r.confusion.accuracy(), r.confusion.loss(),
                  static_cast<long long>(r.steps_done), r.train_seconds, r.run_dir.c_str());
    tsv += line;
  }
  atomic_write_text(dir + "/sweep.tsv", tsv);
  if (!req.quiet) {
    std::printf("\n%s: test accuracy by segment length\n%10s %10s %10s %10s\n", cfg.name.c_str(), "length", "samples",
                "accuracy", "loss");
    for (const auto& r : results)
      std::printf("%10lld %10lld %9.2f%% %10.4f\n", static_cast<long long>(r.length),
                  static_cast<long long>(r.confusion.total()), 100 * r.confusion.accuracy(), r.confusion.loss());
    std::printf("summary: %s/sweep.tsv\n", dir.c_str());
  }
  return results;
}

FinetuneResult eval_finetune(const RunRequest& req) {
  if (req.ckpt.empty()) MS_FAIL("eval needs a checkpoint: --ckpt PATH");
  FinetuneConfig cfg =
      req.config_path.empty()
          ? cfg::parse<FinetuneConfig>(read_checkpoint_config(req.ckpt), req.ckpt + ":/config", req.sets)
          : cfg::load<FinetuneConfig>(req.config_path, req.sets);
  if (!cfg.data.lengths.empty()) {
    // A sweep config: evaluate at the length of the checkpoint's own config.
    const FinetuneConfig own = cfg::parse<FinetuneConfig>(read_checkpoint_config(req.ckpt), req.ckpt + ":/config");
    cfg.data.length = own.data.length;
    cfg.data.lengths.clear();
  }
  std::unique_ptr<Setup> s = make_setup(cfg);
  const int64_t step = load_training_checkpoint(req.ckpt, s->model.params, nullptr);
  const std::string dir = eval_folder(req);
  FinetuneResult r;
  r.length = cfg.data.length;
  r.run_dir = dir;
  r.steps_done = step;
  r.confusion = evaluate_classes(*s, dna::Split::test, cfg.eval.samples);
  r.evaluated = true;
  write_confusion(dir, r.confusion);
  MetricsRow row = confusion_row(step, "test", r.confusion, cfg.data.length);
  row.set("checkpoint", req.ckpt);
  MetricsWriter(dir + "/metrics.jsonl").write(row);
  if (!req.quiet)
    std::printf("%s\n%swritten to %s (confusion.tsv, per_class.tsv, metrics.jsonl)\n",
                accuracy_line("test", r.confusion, cfg.data.length).c_str(), format_confusion(r.confusion).c_str(),
                dir.c_str());
  return r;
}

}  // namespace ms
