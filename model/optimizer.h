// AdamW over a ParamStore: first/second moments per parameter, a step count, an optional learning-rate
// schedule, weight decay only on flagged parameters, global-norm gradient clipping, and a clear error when a
// gradient holds NaN or infinity. The state is exposed as named tensors for checkpoints
// ("optim/<param name>/m", "optim/<param name>/v"; the step count beside them).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/params.h"

namespace ms {

struct AdamWConfig {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.1;   // applied to Param::weight_decay tensors only
  double max_grad_norm = 1.0;  // global-norm clipping; <= 0 turns it off
};

// Learning rate as a function of the step about to be taken (counting from 1).
using LrSchedule = std::function<double(int64_t step)>;
// Linear warmup from 0 over `warmup` steps, then cosine decay to min_lr at `total` steps (constant after).
LrSchedule warmup_cosine_schedule(double peak_lr, int64_t warmup, int64_t total, double min_lr = 0.0);

struct AdamW {
  AdamWConfig cfg;
  LrSchedule schedule;      // empty: constant cfg.lr
  std::vector<Tensor> m, v; // parallel to ParamStore::params
  int64_t step = 0;         // steps taken
};

AdamW make_adamw(const ParamStore& store, const AdamWConfig& cfg, LrSchedule schedule = {});

struct OptimStepInfo {
  int64_t step = 0;       // the step just taken
  double lr = 0.0;
  double grad_norm = 0.0; // global L2 norm before clipping
  double clip_scale = 1.0;
};

// Global L2 norm of all gradients. A non-finite gradient is an error naming the first offending parameter.
double global_grad_norm(const ParamStore& store);
// One update of every parameter from its gradient (gradients are left as they are; zero_grad next).
OptimStepInfo adamw_step(AdamW& opt, const ParamStore& store);

// Checkpoint view: ("optim/<name>/m", m), ("optim/<name>/v", v) for every parameter, in store order.
std::vector<std::pair<std::string, Tensor>> optimizer_state(const AdamW& opt, const ParamStore& store);
// Restores m, v (from `lookup(name)`, which must return a tensor of the parameter's shape) and the step count.
void load_optimizer_state(AdamW& opt, const ParamStore& store,
                          const std::function<Tensor(const std::string&)>& lookup, int64_t step);
void to_device(AdamW& opt, Device device);

}  // namespace ms
