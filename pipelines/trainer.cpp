#include "pipelines/trainer.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "kernels/data_parallel.h"
#include "kernels/elementwise.h"
#include "kernels/memory.h"

namespace ms {

namespace {

std::atomic<bool> g_stop_requested{false};
extern "C" void on_interrupt(int) { g_stop_requested = true; }

// Ctrl-C during training: finish the step, write the checkpoint, return. A second Ctrl-C kills at once.
struct InterruptGuard {
  void (*previous)(int);
  InterruptGuard() {
    g_stop_requested = false;
    previous = std::signal(SIGINT, [](int s) {
      on_interrupt(s);
      std::signal(SIGINT, SIG_DFL);
    });
  }
  ~InterruptGuard() { std::signal(SIGINT, previous); }
};

constexpr const char* kOptimPrefix = "optim/";

std::string fmt_double(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Data-parallel step (kernels/data_parallel.h): every rank computed the mean-loss gradient of its own rows;
// weighting each by its share of the valid targets and summing gives the gradient of the mean over all
// rows, exactly what one process with the whole batch computes. Returns whether any rank asks to stop,
// so that all stop after the same step.
bool combine_ranks(LossResult& r, const ParamStore& params, bool stop_requested) {
  std::vector<double> v = {r.loss_sum, static_cast<double>(r.n_valid), static_cast<double>(r.n_correct),
                           stop_requested ? 1.0 : 0.0};
  dp::all_reduce_sum(v);
  const double total = v[1];
  MS_CHECK(total > 0, "data-parallel step: no rank had a valid target");
  std::vector<Tensor> grads;
  for (const Param& p : params.params) {
    scale(p.grad, static_cast<double>(r.n_valid) / total);
    grads.push_back(p.grad);
  }
  dp::all_reduce_sum(grads);
  r.loss_sum = v[0];
  r.n_valid = static_cast<int64_t>(total);
  r.n_correct = static_cast<int64_t>(v[2]);
  r.loss = v[0] / total;
  r.accuracy = v[2] / total;
  return v[3] > 0;
}

}  // namespace

Checkpoint make_training_checkpoint(const ParamStore& params, const AdamW& opt, int64_t step,
                                    const std::string& config_toml) {
  Checkpoint ck;
  ck.params = named_values(params);
  for (auto& [name, t] : optimizer_state(opt, params)) {
    // The file's /optim group already says "optim": store "<param>/m" rather than "optim/<param>/m".
    const bool prefixed = name.rfind(kOptimPrefix, 0) == 0;
    ck.optim.emplace_back(prefixed ? name.substr(std::char_traits<char>::length(kOptimPrefix)) : name, t);
  }
  ck.step = step;
  ck.ints["optim_step"] = opt.step;
  ck.config = config_toml;
  return ck;
}

int64_t load_training_checkpoint(const std::string& path, ParamStore& params, AdamW* opt) {
  Checkpoint ck = read_checkpoint(path);
  restore_tensors(path, "parameter", ck.params, named_values(params));
  if (opt) {
    auto it = ck.ints.find("optim_step");
    if (it == ck.ints.end() || ck.optim.empty())
      MS_FAIL(path, ": has no optimizer state (written by evaluation or export?); it cannot resume training");
    load_optimizer_state(
        *opt, params,
        [&](const std::string& name) {
          const std::string key =
              name.rfind(kOptimPrefix, 0) == 0 ? name.substr(std::char_traits<char>::length(kOptimPrefix)) : name;
          const Tensor* t = find_tensor(ck.optim, key);
          if (!t) MS_FAIL(path, ": optimizer state '", key, "' is missing (the checkpoint is from another model)");
          return *t;
        },
        it->second);
  }
  return ck.step;
}

TrainOutcome run_training(TrainLoop& loop, const TrainSection& train, const OptimSection& optim,
                          const RunFiles& files, const std::string& config_toml, const std::string& resume_from) {
  MS_CHECK(loop.params && loop.step, "run_training: the loop needs parameters and a step function");
  ParamStore& params = *loop.params;
  if (train.gpus > 1 && dp::world() != train.gpus)
    MS_FAIL("train.gpus = ", train.gpus, ": data-parallel training runs in audio pretraining only (mambaseq pretrain "
            "with an audio config); set train.gpus = 1 here");
  const bool lead = dp::rank() == 0;  // writes checkpoints, metrics and progress, runs the evaluations
  AdamW opt = make_adamw(params, to_adamw_config(optim),
                         warmup_cosine_schedule(optim.lr, optim.warmup, train.steps, optim.min_lr));
  TrainOutcome out;
  if (!resume_from.empty()) {
    out.start_step = load_training_checkpoint(resume_from, params, &opt);
    to_device(opt, params.device());
  }
  if (dp::active()) {  // identical starting weights on every rank
    std::vector<Tensor> values;
    for (const Param& p : params.params) values.push_back(p.value);
    dp::broadcast_from_first(values);
  }
  out.end_step = out.start_step;
  const int64_t last_step =
      train.stop_after > 0 ? std::min(train.steps, out.start_step + train.stop_after) : train.steps;

  MetricsWriter metrics(lead ? files.metrics : "/dev/null");
  ProgressOptions popt;
  popt.label = loop.label;
  popt.total_steps = train.steps;
  if (loop.quiet || !lead) {
    static std::FILE* devnull = std::fopen("/dev/null", "w");
    popt.out = devnull;
  }
  Progress progress(popt, out.start_step);
  if (out.start_step > 0) progress.message("resumed from " + resume_from + " at step " + std::to_string(out.start_step));

  const CheckpointPolicy policy{train.keep_every, train.keep};
  int64_t last_saved = resume_from.empty() ? -1 : out.start_step;
  auto save = [&](int64_t steps_done) {
    if (steps_done == last_saved) return;
    if (lead) save_checkpoint(files.dir, make_training_checkpoint(params, opt, steps_done, config_toml), policy);
    last_saved = steps_done;
  };

  InterruptGuard guard;
  const auto t0 = std::chrono::steady_clock::now();
  double window_loss = 0, window_acc = 0;
  int64_t window_n = 0, window_tokens = 0;
  auto window_start = std::chrono::steady_clock::now();
  for (int64_t step = out.start_step; step < last_step; ++step) {
    zero_grad(params);
    LossResult r;
    OptimStepInfo info;
    bool group_stop = false;  // data-parallel: the stop all ranks agreed on
    try {
      r = loop.step(step);
      if (dp::active()) group_stop = combine_ranks(r, params, g_stop_requested);
      info = adamw_step(opt, params);
    } catch (const Error& e) {
      const std::string where = last_saved >= 0 ? "the last checkpoint (" + files.last + ", step " +
                                                      std::to_string(last_saved) + ") is intact: resume with --resume"
                                                : "no checkpoint was written yet";
      MS_FAIL("step ", step + 1, ": ", e.what(), "; ", where);
    }
    const int64_t done = step + 1;
    out.losses.push_back(r.loss);
    out.end_step = done;
    window_loss += r.loss;
    window_acc += r.accuracy;
    ++window_n;
    window_tokens += loop.tokens_per_step;
    progress.update(done, loop.tokens_per_step, "loss " + fmt_double("%.4f", r.loss));
    if (done % train.log_every == 0 || done == last_step) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      metrics.write(MetricsRow(done, "train", window_loss / window_n)
                        .set("accuracy", window_acc / window_n)
                        .set("lr", info.lr)
                        .set("grad_norm", info.grad_norm)
                        .set("tokens_per_s", secs > 0 ? window_tokens / secs : 0.0));
      window_loss = window_acc = 0;
      window_n = window_tokens = 0;
      window_start = std::chrono::steady_clock::now();
    }
    if (train.ckpt_every > 0 && done % train.ckpt_every == 0) save(done);
    if (lead && loop.evaluate && train.eval_every > 0 && done % train.eval_every == 0 && done < train.steps)
      loop.evaluate(done, false, metrics, progress);
    if (dp::active() ? group_stop : g_stop_requested.load()) {
      progress.message("interrupted: writing a checkpoint at step " + std::to_string(done));
      break;
    }
  }
  save(out.end_step);
  out.finished = out.end_step >= train.steps;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress.finish(out.finished ? "done" : "stopped at step " + std::to_string(out.end_step) + " (resume with --resume)");
  if (lead && out.finished && loop.evaluate) loop.evaluate(out.end_step, true, metrics, progress);
  return out;
}

}  // namespace ms
