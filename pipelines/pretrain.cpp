#include "pipelines/pretrain.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "io/atomic_file.h"
#include "io/dna_dataset.h"
#include "io/prefetch.h"
#include "io/seq_len_schedule.h"
#include "pipelines/dna_files.h"
#include "pipelines/dna_token_source.h"
#include "pipelines/markov.h"
#include "pipelines/sequence_model.h"
#include "pipelines/trainer.h"

namespace ms {

void bind(cfg::Binder& b, DnaDataSection& c) {
  b.field("fasta", c.fasta, "FASTA files of the genome (plain, gzip or bgzip; relative to the working folder)");
  b.field("bed", c.bed, "optional BED of intervals to use; a 4th column train/valid/test decides the splits");
  b.field("valid_contigs", c.valid_contigs, "contigs held out for validation (instead of fractions)");
  b.field("test_contigs", c.test_contigs, "contigs held out for testing (instead of fractions)");
  b.field("valid_fraction", c.valid_fraction, cfg::ge(0).lt(1), "validation: this tail fraction of every region");
  b.field("test_fraction", c.test_fraction, cfg::ge(0).lt(1), "test: this tail fraction of every region (after valid)");
  b.field("length", c.length, cfg::range(1, int64_t{1} << 24), "training window in bases (last warmup stage)");
  b.field("warmup_start", c.warmup_start, cfg::ge(0), "sequence-length warmup: first window length (0: none)");
  b.field("warmup_stage_steps", c.warmup_stage_steps, cfg::ge(0), "warmup: steps per length; it doubles after each");
  b.field("batch_tokens", c.batch_tokens, cfg::ge(0),
          "> 0: windows per step = batch_tokens / length (constant tokens per step); 0: train.batch_size");
  b.field("reverse_complement", c.reverse_complement, "augment: read each training window on a random strand");
  b.field("short_intervals", c.short_intervals, cfg::one_of({"pad", "skip", "error"}),
          "intervals shorter than a window: pad them, skip them, or stop with an error");
  b.field("prefetch_threads", c.prefetch_threads, cfg::range(0, 64), "threads preparing batches ahead (0: inline)");
  b.field("decompress_threads", c.decompress_threads, cfg::range(0, 64), "extra BGZF inflate threads while loading");
}

void bind(cfg::Binder& b, LmEvalSection& c) {
  b.field("split", c.split, cfg::one_of({"valid", "test"}), "held-out split evaluated");
  b.field("length", c.length, cfg::ge(0), "evaluation window (0: data.length)");
  b.field("batch", c.batch, cfg::ge(1), "windows per evaluation forward");
  b.field("chunk", c.chunk, cfg::ge(0), "> 0: run long windows in chunks of this many tokens (bounded memory)");
  b.field("max_windows", c.max_windows, cfg::ge(0),
          "> 0: evaluations during training score this many windows spread over the split (0: all)");
  b.field("final_max_windows", c.final_max_windows, cfg::ge(0),
          "the same for the final evaluation and `mambaseq eval` (0: every base of the split)");
  b.field("markov_orders", c.markov_orders, cfg::range(0, 12), "orders of the Markov baselines fitted on the train split");
  b.field("markov_alpha", c.markov_alpha, cfg::gt(0), "Markov additive smoothing (1: add-one, 0.5: KT)");
}

void bind(cfg::Binder& b, PretrainConfig& c) {
  b.field("name", c.name, "run folder name under runs/");
  b.section("data", c.data);
  b.section("eval", c.eval);
  b.section("model", c.model);
  b.section("train", c.train);
  b.section("optim", c.optim);
}

namespace {

dna::Split parse_eval_split(const std::string& s) { return s == "test" ? dna::Split::test : dna::Split::valid; }

std::shared_ptr<const dna::LmData> load_data(const DnaDataSection& d) {
  if (d.fasta.empty()) MS_FAIL("data.fasta is empty: name the genome's FASTA file(s)");
  dna::LmDataOptions o;
  for (const auto& f : d.fasta) o.fasta.push_back(require_dna_file(f, "data.fasta"));
  if (!d.bed.empty()) o.bed = require_dna_file(d.bed, "data.bed");
  o.valid_contigs = d.valid_contigs;
  o.test_contigs = d.test_contigs;
  const bool by_contigs = !d.valid_contigs.empty() || !d.test_contigs.empty();
  // Contig lists replace the default held-out fraction (giving both is io's error).
  o.valid_fraction = by_contigs ? 0.0 : d.valid_fraction;
  o.test_fraction = by_contigs ? 0.0 : d.test_fraction;
  if (d.valid_fraction + d.test_fraction >= 1) MS_FAIL("data.valid_fraction + data.test_fraction must be below 1");
  o.load.decompress_threads = static_cast<int>(d.decompress_threads);
  return std::make_shared<const dna::LmData>(dna::load_lm_data(o));
}

// Everything a pretraining run or an evaluation of one holds.
struct Setup {
  PretrainConfig cfg;
  std::shared_ptr<const dna::LmData> data;
  TokenSource source;
  MambaLM model;
  SequenceModel seq;
  Device device = Device::cpu;
};

std::unique_ptr<Setup> make_setup(const PretrainConfig& cfg) {
  auto s = std::make_unique<Setup>();
  s->cfg = cfg;
  SeqLenSchedule sched{cfg.data.length, cfg.data.warmup_start, cfg.data.warmup_stage_steps};
  check_schedule(sched, {"", "data.length", "data.warmup_start", "data.warmup_stage_steps"});
  s->device = resolve_device(cfg.train);
  s->data = load_data(cfg.data);
  DnaSourceOptions so;
  so.seed = static_cast<uint64_t>(cfg.train.seed);
  so.reverse_complement = cfg.data.reverse_complement;
  dna::parse_short_intervals(cfg.data.short_intervals, so.short_intervals);
  so.max_length = cfg.data.length;
  so.eval_split = parse_eval_split(cfg.eval.split);
  if (s->data->splits.bases(so.eval_split) == 0)
    MS_FAIL("the held-out ", cfg.eval.split, " split is empty (", s->data->split_rule, "): set data.",
            cfg.eval.split, "_fraction or data.", cfg.eval.split, "_contigs, or evaluate the other split (eval.split)");
  s->source = dna_token_source(s->data, so);
  s->model = make_mamba_lm(to_mamba_config(cfg.model, s->source.vocab), DType::f32, s->device);
  s->seq = lm_sequence_model(s->model, cfg.eval.chunk);
  return s;
}

EvalSpec eval_spec(const PretrainConfig& c, bool final) {
  EvalSpec e;
  e.length = c.eval.length > 0 ? c.eval.length : c.data.length;
  e.batch = c.eval.batch;
  e.max_windows = final ? c.eval.final_max_windows : c.eval.max_windows;
  return e;
}

// Markov baselines scored on exactly the windows of the model's evaluation `spec`.
std::vector<BaselineScore> markov_baselines(const Setup& s, const EvalSpec& spec) {
  std::vector<BaselineScore> out;
  const auto windows = dna_eval_windows(*s.data, parse_eval_split(s.cfg.eval.split), spec.length, spec.max_windows);
  for (int64_t order : s.cfg.eval.markov_orders) {
    MarkovModel m = fit_markov(s.data->genome, s.data->splits[dna::Split::train], static_cast<int>(order),
                               s.cfg.eval.markov_alpha, s.cfg.data.reverse_complement);
    MarkovScore sc = score_markov(m, s.data->genome, windows);
    out.push_back({"order-" + std::to_string(order) + " Markov", static_cast<int>(order), sc.bits_per_base(), sc.targets});
  }
  return out;
}

std::string eval_line(const std::string& split, const LmEval& e) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s: %.4f bits/base, perplexity %.4f, loss %.4f, accuracy %.2f%% (%lld bases, %.1f s)",
                split.c_str(), e.bits(), e.perplexity(), e.loss, 100 * e.accuracy, static_cast<long long>(e.targets),
                e.seconds);
  return buf;
}

MetricsRow eval_row(int64_t step, const std::string& split, const LmEval& e) {
  return MetricsRow(step, split, e.loss)
      .set("bits_per_base", e.bits())
      .set("perplexity", e.perplexity())
      .set("accuracy", e.accuracy)
      .set("length", e.length)
      .set("bases", e.targets);
}

// The closing table and <dir>/heldout.tsv: the model next to the uniform and Markov baselines.
void report_heldout(const std::string& dir, const std::string& split, int64_t step, const LmEval& e,
                    const std::vector<BaselineScore>& baselines, bool print) {
  std::string tsv = "model\tsplit\tstep\tbases\tbits_per_base\tperplexity\n";
  char line[256];
  auto add = [&](const std::string& name, int64_t bases, double bits) {
    std::snprintf(line, sizeof line, "%s\t%s\t%lld\t%lld\t%.6f\t%.6f\n", name.c_str(), split.c_str(),
                  static_cast<long long>(step), static_cast<long long>(bases), bits, std::exp2(bits));
    tsv += line;
  };
  add("mamba", e.targets, e.bits());
  for (const auto& b : baselines) add(b.name, b.targets, b.bits_per_base);
  add("uniform", e.targets, 2.0);
  atomic_write_text(dir + "/heldout.tsv", tsv);
  if (!print) return;
  std::printf("\nheld-out %s split after %lld steps: %lld bases scored\n", split.c_str(), static_cast<long long>(step),
              static_cast<long long>(e.targets));
  std::printf("  %-18s %14s %12s\n", "model", "bits/base", "perplexity");
  std::printf("  %-18s %14.4f %12.4f\n", "mamba", e.bits(), e.perplexity());
  for (const auto& b : baselines) std::printf("  %-18s %14.4f %12.4f\n", b.name.c_str(), b.bits_per_base, std::exp2(b.bits_per_base));
  std::printf("  %-18s %14.4f %12.4f\n", "uniform", 2.0, 4.0);
}

}  // namespace

PretrainResult run_pretrain(const RunRequest& req) {
  const PretrainConfig cfg = cfg::load<PretrainConfig>(req.config_path, req.sets);
  const std::string toml = cfg::to_toml(cfg);
  std::unique_ptr<Setup> s = make_setup(cfg);  // bad input fails here, before the run folder is touched
  RunSetup run = setup_run(req, cfg.name, toml);
  if (!req.resume && !req.ckpt.empty()) load_training_checkpoint(req.ckpt, s->model.params, nullptr);

  PretrainResult result;
  result.run_dir = run.files.dir;
  if (!req.quiet) {
    std::printf("data: %s\nmodel: %s\n", s->source.describe.c_str(), s->seq.describe.c_str());
    std::fflush(stdout);
  }
  atomic_write_text(run.files.dir + "/data.txt", s->source.describe + "\n");

  const SeqLenSchedule sched{cfg.data.length, cfg.data.warmup_start, cfg.data.warmup_stage_steps};
  auto batch_at = [&cfg](int64_t length) {
    return cfg.data.batch_tokens > 0 ? std::max<int64_t>(1, cfg.data.batch_tokens / length) : cfg.train.batch_size;
  };
  // Batches are a pure function of the step, so prefetching ahead never changes what a step sees; the
  // prefetcher starts at the first step this invocation runs (a resumed run's checkpoint step).
  std::unique_ptr<Prefetcher<TokenBatch>> prefetch;
  auto make_batch = [&s, sched, batch_at](uint64_t step) {
    const int64_t L = seq_len_at(sched, static_cast<int64_t>(step));
    return s->source.train_batch(static_cast<int64_t>(step), batch_at(L), L);
  };

  TrainLoop loop;
  loop.label = "pretrain " + cfg.name;
  loop.params = &s->model.params;
  loop.quiet = req.quiet;
  loop.tokens_per_step = batch_at(seq_len_at(sched, std::max<int64_t>(run.resume_step, 0))) *
                         seq_len_at(sched, std::max<int64_t>(run.resume_step, 0));
  int64_t last_length = -1;
  std::string length_note;
  loop.step = [&](int64_t step) {
    if (!prefetch || prefetch->next_step() != static_cast<uint64_t>(step))
      prefetch = std::make_unique<Prefetcher<TokenBatch>>(make_batch, static_cast<uint64_t>(step),
                                                          static_cast<int>(cfg.data.prefetch_threads), 4);
    TokenBatch b = prefetch->next();
    const int64_t L = b.inputs.size(1);
    loop.tokens_per_step = b.inputs.size(0) * L;
    if (L != last_length && !req.quiet && sched.start_len > 0)
      std::fprintf(stderr, "pretrain: step %lld: windows of %lld bases, %lld per step\n",
                   static_cast<long long>(step + 1), static_cast<long long>(L), static_cast<long long>(b.inputs.size(0)));
    last_length = L;
    return s->seq.forward_backward(b.inputs.to(s->device), b.targets.to(s->device));
  };
  loop.evaluate = [&](int64_t steps_done, bool final, MetricsWriter& metrics, Progress& progress) {
    const EvalSpec spec = eval_spec(cfg, final);
    LmEval e = evaluate_lm(s->seq, s->source, spec);
    MetricsRow row = eval_row(steps_done, cfg.eval.split, e);
    progress.message(eval_line(cfg.eval.split, e));
    result.eval = e;
    result.evaluated = true;
    if (final) {
      result.baselines = markov_baselines(*s, spec);
      for (const auto& b : result.baselines)
        row.set("markov" + std::to_string(b.order) + "_bits_per_base", b.bits_per_base);
      report_heldout(run.files.dir, cfg.eval.split, steps_done, e, result.baselines, !req.quiet);
    }
    metrics.write(row);
  };
  TrainOutcome o = run_training(loop, cfg.train, cfg.optim, run.files, toml, run.resume_from);
  prefetch.reset();
  result.train_losses = o.losses;
  result.steps_done = o.end_step;
  result.train_seconds = o.seconds;
  if (!req.quiet) std::printf("run folder: %s (%.1f s of training)\n", run.files.dir.c_str(), o.seconds);
  return result;
}

PretrainResult eval_pretrain(const RunRequest& req) {
  if (req.ckpt.empty()) MS_FAIL("eval needs a checkpoint: --ckpt PATH");
  const PretrainConfig cfg =
      req.config_path.empty()
          ? cfg::parse<PretrainConfig>(read_checkpoint_config(req.ckpt), req.ckpt + ":/config", req.sets)
          : cfg::load<PretrainConfig>(req.config_path, req.sets);
  std::unique_ptr<Setup> s = make_setup(cfg);
  const int64_t step = load_training_checkpoint(req.ckpt, s->model.params, nullptr);
  const std::string dir = eval_folder(req);

  PretrainResult result;
  result.run_dir = dir;
  result.steps_done = step;
  const EvalSpec spec = eval_spec(cfg, true);
  result.eval = evaluate_lm(s->seq, s->source, spec);
  result.evaluated = true;
  result.baselines = markov_baselines(*s, spec);
  MetricsRow row = eval_row(step, cfg.eval.split, result.eval);
  for (const auto& b : result.baselines) row.set("markov" + std::to_string(b.order) + "_bits_per_base", b.bits_per_base);
  row.set("checkpoint", req.ckpt);
  MetricsWriter(dir + "/metrics.jsonl").write(row);
  report_heldout(dir, cfg.eval.split, step, result.eval, result.baselines, !req.quiet);
  if (!req.quiet) std::printf("written to %s (heldout.tsv, metrics.jsonl)\n", dir.c_str());
  return result;
}

}  // namespace ms
