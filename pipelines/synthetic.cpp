#include "pipelines/synthetic.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "io/seq_len_schedule.h"
#include "kernels/random.h"
#include "pipelines/trainer.h"

namespace ms {

void bind(cfg::Binder& b, SynthTaskSection& c) {
  b.choice("kind", c.kind,
           {{"induction_heads", SynthTask::induction_heads}, {"selective_copying", SynthTask::selective_copying}},
           "which synthetic task");
  b.field("vocab", c.vocab, cfg::range(4, 65536), "vocabulary size (special tokens included)");
  b.field("train_length", c.train_length, cfg::ge(4), "sequence length during training");
  b.field("n_memorize", c.n_memorize, cfg::ge(1), "selective copying: tokens to memorize and recall");
  b.field("warmup_length", c.warmup_length, cfg::ge(0),
          "length curriculum: train at this length first, doubling up to train_length (0: off)");
  b.field("warmup_stage_steps", c.warmup_stage_steps, cfg::ge(0), "steps per curriculum length");
  b.field("eval_lengths", c.eval_lengths, cfg::ge(4), "sequence lengths evaluated at the end");
  b.field("periodic_eval_lengths", c.periodic_eval_lengths, cfg::ge(4),
          "lengths evaluated every train.eval_every steps (default: train_length only)");
  b.field("eval_tokens", c.eval_tokens, cfg::ge(1), "tokens evaluated per length (bounded by the next two)");
  b.field("eval_min_sequences", c.eval_min_sequences, cfg::ge(1));
  b.field("eval_max_sequences", c.eval_max_sequences, cfg::ge(1));
  b.field("eval_batch", c.eval_batch, cfg::ge(1), "sequences per evaluation batch");
  b.field("eval_chunk", c.eval_chunk, cfg::ge(16), "longer sequences are evaluated in chunks of this length");
}

void bind(cfg::Binder& b, SynthConfig& c) {
  b.field("name", c.name, "run folder name under runs/");
  b.section("task", c.task);
  b.section("model", c.model);
  b.section("train", c.train);
  b.section("optim", c.optim);
}

namespace {

TokenBatch task_batch(const SynthTaskSection& t, int64_t length, uint64_t seed, uint64_t step, int64_t batch) {
  if (t.kind == SynthTask::induction_heads)
    return induction_heads_batch({static_cast<int>(t.vocab)}, length, seed, step, batch);
  return selective_copying_batch({static_cast<int>(t.vocab), static_cast<int>(t.n_memorize), length}, seed, step,
                                 batch);
}

// Held-out data never collides with training batches: another seed, derived from the training one.
uint64_t eval_seed(int64_t train_seed) { return mix64(static_cast<uint64_t>(train_seed) ^ 0xE7A15EEDULL); }

SynthEval evaluate_length(const MambaLM& model, const SynthTaskSection& t, int64_t length, int64_t train_seed) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n_seq = std::clamp(t.eval_tokens / length, t.eval_min_sequences, t.eval_max_sequences);
  const int64_t batch = std::min(t.eval_batch, n_seq);
  const int64_t chunk = length > t.eval_chunk ? t.eval_chunk : 0;
  double loss_sum = 0;
  int64_t n_valid = 0, n_correct = 0;
  for (int64_t first = 0, i = 0; first < n_seq; first += batch, ++i) {
    const int64_t b = std::min(batch, n_seq - first);
    TokenBatch tb = task_batch(t, length, eval_seed(train_seed), static_cast<uint64_t>(length) * 1000003 + i, b);
    LossResult r = lm_loss(model, tb.inputs.to(model.device()), tb.targets.to(model.device()), kIgnoreIndex, chunk);
    loss_sum += r.loss_sum;
    n_valid += r.n_valid;
    n_correct += r.n_correct;
  }
  SynthEval e;
  e.length = length;
  e.sequences = n_seq;
  e.loss = n_valid ? loss_sum / n_valid : 0;
  e.accuracy = n_valid ? static_cast<double>(n_correct) / n_valid : 0;
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

std::string eval_line(const SynthEval& e) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "eval  length %8lld  sequences %4lld  loss %.4f  accuracy %6.2f%%  (%.1f s)",
                static_cast<long long>(e.length), static_cast<long long>(e.sequences), e.loss, 100 * e.accuracy,
                e.seconds);
  return buf;
}

}  // namespace

SynthResult run_synth(const RunRequest& req) {
  const SynthConfig cfg = cfg::load<SynthConfig>(req.config_path, req.sets);
  const SynthTaskSection& task = cfg.task;
  if (task.kind == SynthTask::selective_copying && task.train_length < 2 * task.n_memorize)
    MS_FAIL("task.train_length (", task.train_length, ") must be at least twice task.n_memorize (", task.n_memorize,
            ")");
  const SeqLenSchedule schedule{task.train_length, task.warmup_length, task.warmup_stage_steps};
  if (task.warmup_length > 0) {
    if (task.warmup_stage_steps < 1) MS_FAIL("task.warmup_stage_steps must be >= 1 when task.warmup_length is set");
    if (task.warmup_length > task.train_length)
      MS_FAIL("task.warmup_length (", task.warmup_length, ") must not exceed task.train_length (", task.train_length,
              ")");
    if (task.kind == SynthTask::selective_copying && task.warmup_length < 2 * task.n_memorize)
      MS_FAIL("task.warmup_length (", task.warmup_length, ") must be at least twice task.n_memorize (",
              task.n_memorize, ")");
  }
  const Device device = resolve_device(cfg.train);
  MambaLM model = make_mamba_lm(to_mamba_config(cfg.model, task.vocab), DType::f32, device);
  const std::string toml = cfg::to_toml(cfg);
  RunSetup run = setup_run(req, cfg.name, toml);

  SynthResult result;
  result.run_dir = run.files.dir;
  const std::vector<int64_t> lengths =
      task.kind == SynthTask::induction_heads ? task.eval_lengths : std::vector<int64_t>{task.train_length};
  std::vector<SynthEval> last_evals;

  TrainLoop loop;
  loop.label = task.kind == SynthTask::induction_heads ? "induction heads" : "selective copying";
  loop.params = &model.params;
  loop.tokens_per_step = cfg.train.batch_size * task.train_length;
  loop.quiet = req.quiet;
  // With a length curriculum the batch keeps its sequence count and gets shorter sequences.
  loop.step = [&](int64_t step) {
    const int64_t length = seq_len_at(schedule, step);
    loop.tokens_per_step = cfg.train.batch_size * length;
    TokenBatch tb = task_batch(task, length, static_cast<uint64_t>(cfg.train.seed),
                               static_cast<uint64_t>(step), cfg.train.batch_size);
    return lm_forward_backward(model, tb.inputs.to(device), tb.targets.to(device));
  };
  // Evaluations during training use the training length (or task.periodic_eval_lengths); the final one every
  // length.
  const std::vector<int64_t> periodic = task.kind == SynthTask::induction_heads && !task.periodic_eval_lengths.empty()
                                            ? task.periodic_eval_lengths
                                            : std::vector<int64_t>{task.train_length};
  loop.evaluate = [&](int64_t steps_done, bool final, MetricsWriter& metrics, Progress& progress) {
    last_evals.clear();
    for (int64_t L : final ? lengths : periodic) {
      SynthEval e = evaluate_length(model, task, L, cfg.train.seed);
      metrics.write(MetricsRow(steps_done, "eval", e.loss).set("accuracy", e.accuracy).set("length", L));
      progress.message(eval_line(e));
      last_evals.push_back(e);
    }
  };
  TrainOutcome o = run_training(loop, cfg.train, cfg.optim, run.files, toml, run.resume_from);
  result.train_losses = o.losses;
  result.train_seconds = o.seconds;
  result.steps_done = o.end_step;
  result.evals = last_evals;
  if (!req.quiet && !result.evals.empty()) {
    std::printf("\n%s after %lld steps (%.1f s of training): accuracy by sequence length\n", loop.label.c_str(),
                static_cast<long long>(o.end_step), o.seconds);
    std::printf("%10s %10s %10s %10s\n", "length", "sequences", "loss", "accuracy");
    for (const SynthEval& e : result.evals)
      std::printf("%10lld %10lld %10.4f %9.2f%%\n", static_cast<long long>(e.length),
                  static_cast<long long>(e.sequences), e.loss, 100 * e.accuracy);
    std::printf("run folder: %s\n", run.files.dir.c_str());
  }
  return result;
}

}  // namespace ms
