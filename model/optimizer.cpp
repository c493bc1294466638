#include "model/optimizer.h"

#include <algorithm>
#include <cmath>

#include "kernels/adamw.h"
#include "kernels/elementwise.h"

namespace ms {

LrSchedule warmup_cosine_schedule(double peak_lr, int64_t warmup, int64_t total, double min_lr) {
  return [=](int64_t step) {
    if (warmup > 0 && step <= warmup) return peak_lr * static_cast<double>(step) / static_cast<double>(warmup);
    if (step >= total || total <= warmup) return total <= warmup ? peak_lr : min_lr;
    const double progress = static_cast<double>(step - warmup) / static_cast<double>(total - warmup);
    return min_lr + 0.5 * (peak_lr - min_lr) * (1.0 + std::cos(M_PI * progress));
  };
}

AdamW make_adamw(const ParamStore& store, const AdamWConfig& cfg, LrSchedule schedule) {
  if (!(cfg.lr >= 0)) MS_FAIL("optimizer: lr = ", cfg.lr, " must be non-negative");
  if (!(cfg.beta1 >= 0 && cfg.beta1 < 1 && cfg.beta2 >= 0 && cfg.beta2 < 1))
    MS_FAIL("optimizer: betas (", cfg.beta1, ", ", cfg.beta2, ") must lie in [0, 1)");
  if (!(cfg.eps > 0)) MS_FAIL("optimizer: eps = ", cfg.eps, " must be positive");
  if (!(cfg.weight_decay >= 0)) MS_FAIL("optimizer: weight_decay = ", cfg.weight_decay, " must be non-negative");
  AdamW opt;
  opt.cfg = cfg;
  opt.schedule = std::move(schedule);
  for (const Param& p : store.params) {
    opt.m.push_back(Tensor::zeros_like(p.value));
    opt.v.push_back(Tensor::zeros_like(p.value));
  }
  return opt;
}

double global_grad_norm(const ParamStore& store) {
  double total = 0.0;
  for (const Param& p : store.params) total += sum_squares(p.grad);
  if (!std::isfinite(total)) {
    for (const Param& p : store.params)
      if (!all_finite(p.grad))
        MS_FAIL("non-finite gradient (NaN or inf) in parameter '", p.name,
                "': training diverged; lower the learning rate or check the data");
    MS_FAIL("the gradient norm overflowed (sum of squares ", total, "); lower the learning rate");
  }
  return std::sqrt(total);
}

OptimStepInfo adamw_step(AdamW& opt, const ParamStore& store) {
  MS_CHECK(opt.m.size() == store.size(), "adamw_step: optimizer built for ", opt.m.size(), " parameters, store has ",
           store.size());
  OptimStepInfo info;
  info.grad_norm = global_grad_norm(store);
  if (opt.cfg.max_grad_norm > 0 && info.grad_norm > opt.cfg.max_grad_norm)
    info.clip_scale = opt.cfg.max_grad_norm / (info.grad_norm + 1e-6);
  opt.step += 1;
  info.step = opt.step;
  info.lr = opt.schedule ? opt.schedule(opt.step) : opt.cfg.lr;
  if (!std::isfinite(info.lr) || info.lr < 0) MS_FAIL("learning-rate schedule gave ", info.lr, " at step ", opt.step);
  AdamWStep s;
  s.lr = info.lr;
  s.beta1 = opt.cfg.beta1;
  s.beta2 = opt.cfg.beta2;
  s.eps = opt.cfg.eps;
  s.step = opt.step;
  s.grad_scale = info.clip_scale;
  for (size_t i = 0; i < store.size(); ++i) {
    const Param& p = store.params[i];
    s.weight_decay = p.weight_decay ? opt.cfg.weight_decay : 0.0;
    adamw_update(p.value, p.grad, opt.m[i], opt.v[i], s);
  }
  return info;
}

std::vector<std::pair<std::string, Tensor>> optimizer_state(const AdamW& opt, const ParamStore& store) {
  MS_CHECK(opt.m.size() == store.size(), "optimizer_state: optimizer and store differ in size");
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < store.size(); ++i) {
    out.emplace_back("optim/" + store.params[i].name + "/m", opt.m[i]);
    out.emplace_back("optim/" + store.params[i].name + "/v", opt.v[i]);
  }
  return out;
}

void load_optimizer_state(AdamW& opt, const ParamStore& store,
                          const std::function<Tensor(const std::string&)>& lookup, int64_t step) {
  MS_CHECK(opt.m.size() == store.size(), "load_optimizer_state: optimizer and store differ in size");
  if (step < 0) MS_FAIL("optimizer state: step ", step, " is negative");
  for (size_t i = 0; i < store.size(); ++i) {
    for (const char* which : {"m", "v"}) {
      const std::string name = "optim/" + store.params[i].name + "/" + which;
      Tensor src = lookup(name);
      Tensor& dst = which[0] == 'm' ? opt.m[i] : opt.v[i];
      if (!src.defined()) MS_FAIL("optimizer state: '", name, "' is missing");
      if (src.shape() != dst.shape())
        MS_FAIL("optimizer state: '", name, "' has shape ", shape_str(src.shape()), ", the parameter has ",
                shape_str(dst.shape()));
      dst.copy_(src.to(Device::cpu).to(dst.dtype()).to(dst.device()));
    }
  }
  opt.step = step;
}

void to_device(AdamW& opt, Device device) {
  for (Tensor& t : opt.m) t = t.to(device);
  for (Tensor& t : opt.v) t = t.to(device);
}

}  // namespace ms
