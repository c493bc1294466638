#include "apps/handlers.h"

#include <cstdio>

#include "io/checkpoint.h"
#include "pipelines/bench.h"
#include "pipelines/run_config.h"
#include "pipelines/synthetic.h"

namespace ms::cli {

RunRequest request_of(const Args& a) {
  RunRequest r;
  r.config_path = a.config;
  r.sets = a.sets;
  r.resume = a.resume;
  r.ckpt = a.ckpt;
  r.out = a.out;
  return r;
}

bool is_classifier_checkpoint(const std::string& path) {
  for (const std::string& name : read_checkpoint_param_names(path))
    if (name.rfind("head.", 0) == 0) return true;
  return false;
}

int cmd_synth(const Args& a) {
  if (a.config.empty()) throw UsageError("synth needs a config: mambaseq synth -c configs/induction_heads.toml");
  run_synth(request_of(a));
  return 0;
}

// The demo's built-in config: induction heads, short enough for a couple of minutes on 2 CPU cores.
// The user's --set values come after these and win.
int cmd_demo(const Args& a) {
  RunRequest r = request_of(a);
  r.sets.insert(r.sets.begin(), {"name=demo", "task.kind=induction_heads", "task.train_length=64",
                                 "task.eval_lengths=[64,256,1024,4096]", "task.eval_tokens=65536",
                                 "model.d_model=64", "model.n_layer=2", "train.steps=600", "train.batch_size=64",
                                 "train.log_every=20", "train.ckpt_every=100", "optim.lr=1e-3", "optim.warmup=50",
                                 "optim.weight_decay=0.0", "train.device=cpu"});
  run_synth(r);
  return 0;
}

int cmd_bench(const Args& a) {
  BenchRequest r;
  r.what = a.positional.at(0);
  r.sets = a.sets;
  r.out = a.out;
  std::fputs(run_bench(r).c_str(), stdout);
  return 0;
}

}  // namespace ms::cli
