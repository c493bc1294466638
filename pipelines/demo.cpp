#include "pipelines/demo.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "model/generation.h"
#include "model/mamba_lm.h"
#include "model/optimizer.h"

namespace ms {
namespace {

// Token t of the progression (x0 + k t) mod V.
int32_t progression(int64_t x0, int64_t k, int64_t t, int64_t vocab) { return static_cast<int32_t>((x0 + k * t) % vocab); }

std::string join(const Tensor& row) {
  std::ostringstream os;
  for (int64_t i = 0; i < row.numel(); ++i) os << (i ? " " : "") << static_cast<int64_t>(row.item(i));
  return os.str();
}

}  // namespace

void demo_batch(Rng& rng, const DemoOptions& opt, Tensor& ids, Tensor& targets) {
  ids = Tensor::empty({opt.batch, opt.seq_len}, DType::i32);
  targets = Tensor::empty({opt.batch, opt.seq_len}, DType::i32);
  int32_t* pi = ids.data<int32_t>();
  int32_t* pt = targets.data<int32_t>();
  for (int64_t b = 0; b < opt.batch; ++b) {
    const int64_t x0 = static_cast<int64_t>(rng.below(static_cast<uint64_t>(opt.vocab)));
    const int64_t k = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(opt.max_stride)));
    for (int64_t t = 0; t < opt.seq_len; ++t) {
      pi[b * opt.seq_len + t] = progression(x0, k, t, opt.vocab);
      pt[b * opt.seq_len + t] = progression(x0, k, t + 1, opt.vocab);
    }
  }
}

DemoResult run_demo(const DemoOptions& opt) {
  std::ostream& out = opt.out ? *opt.out : std::cout;
  if (opt.steps < 1 || opt.batch < 1 || opt.seq_len < 4 || opt.vocab < 2 || opt.max_stride < 1 ||
      opt.max_stride >= opt.vocab)
    MS_FAIL("demo: need steps >= 1, batch >= 1, seq_len >= 4, vocab >= 2 and 1 <= max_stride < vocab");
  MambaConfig cfg;
  cfg.d_model = opt.d_model;
  cfg.n_layer = opt.n_layer;
  cfg.vocab_size = opt.vocab;
  cfg.ssm = opt.ssm;
  cfg.seed = opt.seed;
  MambaLM model = make_mamba_lm(cfg);
  AdamWConfig ocfg;
  ocfg.lr = opt.lr;
  AdamW optim = make_adamw(model.params, ocfg, warmup_cosine_schedule(opt.lr, opt.warmup, opt.steps, opt.lr * 0.1));

  DemoResult res;
  res.baseline_loss = std::log(static_cast<double>(opt.max_stride)) / static_cast<double>(opt.seq_len);
  out << "demo: " << cfg.describe() << ", " << count_parameters(model.params) << " parameters\n"
      << "demo: task: arithmetic progressions mod " << opt.vocab << " (stride 1.." << opt.max_stride << "), batch "
      << opt.batch << " x " << opt.seq_len << " tokens, " << opt.steps << " AdamW steps on the CPU\n"
      << "demo: loss starts near log(" << opt.vocab << ") = " << std::log(static_cast<double>(opt.vocab))
      << " nats/token; the best achievable is " << res.baseline_loss << "\n";
  Rng train_rng(opt.seed, 1), eval_rng(opt.seed, 2);
  const auto t0 = std::chrono::steady_clock::now();
  double window_loss = 0, window_acc = 0;
  int64_t window = 0;
  for (int64_t step = 1; step <= opt.steps; ++step) {
    Tensor ids, targets;
    demo_batch(train_rng, opt, ids, targets);
    zero_grad(model.params);
    const LossResult r = lm_forward_backward(model, ids, targets);
    const OptimStepInfo info = adamw_step(optim, model.params);
    res.losses.push_back(r.loss);
    window_loss += r.loss;
    window_acc += r.accuracy;
    ++window;
    if (step % opt.log_every == 0 || step == 1 || step == opt.steps) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      char line[200];
      std::snprintf(line, sizeof line, "step %4lld  loss %.4f  accuracy %5.1f%%  lr %.2e  grad-norm %.3f  %6.0f tokens/s\n",
                    static_cast<long long>(step), window_loss / window, 100.0 * window_acc / window, info.lr,
                    info.grad_norm, static_cast<double>(step * opt.batch * opt.seq_len) / secs);
      out << line << std::flush;
      window_loss = window_acc = 0;
      window = 0;
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Held-out evaluation on fresh sequences, and a greedy continuation in step mode.
  Tensor ids, targets;
  demo_batch(eval_rng, opt, ids, targets);
  const LossResult ev = lm_loss(model, ids, targets);
  res.final_eval_loss = ev.loss;
  res.final_eval_accuracy = ev.accuracy;
  const int64_t plen = 4, n_new = 12;
  Tensor prompt = ids.slice(0, 0, 1).slice(1, 0, plen).contiguous();
  GenerateOptions g;
  g.sampling.temperature = 0;
  Tensor gen = generate(model, prompt, n_new, g);
  res.prompt = join(prompt);
  res.continuation = join(gen);
  res.continuation_correct = true;
  for (int64_t i = 0; i < n_new; ++i)
    res.continuation_correct = res.continuation_correct && gen.item(i) == ids.item(plen + i);
  char line[200];
  std::snprintf(line, sizeof line, "demo: held-out loss %.4f nats/token, accuracy %.1f%% (trained in %.1f s)\n",
                res.final_eval_loss, 100.0 * res.final_eval_accuracy, res.seconds);
  out << line << "demo: prompt [" << res.prompt << "] -> step-mode continuation [" << res.continuation << "] ("
      << (res.continuation_correct ? "correct" : "not yet exact") << ")\n";
  return res;
}

}  // namespace ms
