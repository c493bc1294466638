#include "pipelines/run_config.h"

#include <omp.h>

#include <filesystem>

#include "kernels/memory.h"

namespace ms {

void bind(cfg::Binder& b, ModelSection& c) {
  b.field("d_model", c.d_model, cfg::range(1, 65536), "width of the residual stream");
  b.field("n_layer", c.n_layer, cfg::range(1, 1024), "number of Mamba blocks");
  b.field("d_state", c.d_state, cfg::range(1, 256), "SSM state size N (complex: N complex states)");
  b.field("d_conv", c.d_conv, cfg::range(1, 16), "causal conv1d kernel width");
  b.field("expand", c.expand, cfg::range(1, 16), "d_inner = expand * d_model");
  b.field("dt_rank", c.dt_rank, cfg::ge(0), "rank of the delta projection (0: ceil(d_model / 16))");
  b.choice("ssm", c.ssm, {{"real", SsmKind::real}, {"complex", SsmKind::complex}},
           "real (S4D-Real A) or complex (S4D-Lin A) state space");
  b.field("dt_min", c.dt_min, cfg::gt(0), "smallest initial step size");
  b.field("dt_max", c.dt_max, cfg::gt(0), "largest initial step size");
  b.field("seed", c.seed, cfg::ge(0), "parameter initialization seed");
}

MambaConfig to_mamba_config(const ModelSection& m, int64_t vocab) {
  MambaConfig c;
  copy_model_section(m, vocab, c);
  c.validate();
  return c;
}

void bind(cfg::Binder& b, OptimSection& c) {
  b.field("lr", c.lr, cfg::gt(0).le(1), "peak learning rate (AdamW)");
  b.field("min_lr", c.min_lr, cfg::ge(0).le(1), "learning rate at the end of the cosine decay");
  b.field("warmup", c.warmup, cfg::ge(0), "linear warmup steps");
  b.field("weight_decay", c.weight_decay, cfg::ge(0), "decoupled weight decay (matrices and embeddings only)");
  b.field("beta1", c.beta1, cfg::ge(0).lt(1));
  b.field("beta2", c.beta2, cfg::ge(0).lt(1));
  b.field("eps", c.eps, cfg::gt(0));
  b.field("grad_clip", c.grad_clip, cfg::ge(0), "global gradient-norm clipping (0: off)");
}

AdamWConfig to_adamw_config(const OptimSection& o) {
  AdamWConfig c;
  c.lr = o.lr;
  c.beta1 = o.beta1;
  c.beta2 = o.beta2;
  c.eps = o.eps;
  c.weight_decay = o.weight_decay;
  c.max_grad_norm = o.grad_clip;
  return c;
}

void bind(cfg::Binder& b, TrainSection& c) {
  b.field("steps", c.steps, cfg::ge(0), "optimizer steps in total");
  b.field("batch_size", c.batch_size, cfg::ge(1), "sequences per step");
  b.field("seed", c.seed, cfg::ge(0), "data seed: batch t is a function of (seed, t)");
  b.field("log_every", c.log_every, cfg::ge(1), "steps between training metrics rows");
  b.field("eval_every", c.eval_every, cfg::ge(0), "steps between held-out evaluations (0: at the end only)");
  b.field("ckpt_every", c.ckpt_every, cfg::ge(0), "steps between checkpoints to last.h5 (0: at the end only)");
  b.field("keep_every", c.keep_every, cfg::ge(0), "keep a step_<N>.h5 copy every N steps (0: none)");
  b.field("keep", c.keep, cfg::ge(0), "number of step copies kept (0: all)");
  b.field("stop_after", c.stop_after, cfg::ge(0),
          "stop after this many steps of this invocation, checkpointed (0: run to train.steps)");
  b.field("device", c.device, cfg::one_of({"auto", "cpu", "cuda"}), "where to train");
  b.field("threads", c.threads, cfg::ge(0), "CPU threads (0: all cores)");
  b.field("gpus", c.gpus, cfg::ge(1),
          "data-parallel training over this many GPUs of the host, one process each (audio pretraining; "
          "train.batch_size is per GPU)");
  b.field("gemm_precision", c.gemm_precision, cfg::one_of(gemm_precision_names()),
          "CUDA GEMMs of f32 tensors: fp32 (exact) or tf32 (tensor cores, ~1e-3 relative per product, "
          "f32 accumulation); the CPU always computes fp32");
}

std::vector<std::string> gemm_precision_names() { return {"fp32", "tf32"}; }

GemmPrecision parse_gemm_precision(const std::string& name) {
  if (name == "fp32") return GemmPrecision::fp32;
  if (name == "tf32") return GemmPrecision::tf32;
  MS_FAIL("gemm precision '", name, "' is not one of fp32, tf32");
}

Device resolve_device(const TrainSection& t) {
  if (t.threads > 0) omp_set_num_threads(static_cast<int>(t.threads));
  set_gemm_precision(parse_gemm_precision(t.gemm_precision));
  if (t.device == "cpu") return Device::cpu;
  if (t.device == "cuda") {
    if (!cuda_built()) MS_FAIL("train.device = \"cuda\", but this build has no CUDA backend (rebuild with -DMAMBASEQ_CUDA=ON)");
    if (!cuda_available()) MS_FAIL("train.device = \"cuda\", but no CUDA GPU is visible (use train.device = \"cpu\")");
    return Device::cuda;
  }
  return cuda_available() ? Device::cuda : Device::cpu;
}

}  // namespace ms

namespace ms {

std::string run_folder(const RunRequest& req, const std::string& name) {
  return req.out.empty() ? "runs/" + name : req.out;
}

RunSetup setup_run(const RunRequest& req, const std::string& name, const std::string& config_toml) {
  RunSetup s;
  const std::string dir = run_folder(req, name);
  if (req.resume) {
    s.resume_from = resume_checkpoint_path(dir, req.ckpt);
    s.resume_step = read_checkpoint(s.resume_from).step;
  }
  s.files = prepare_run(dir, config_toml, s.resume_step, false);
  return s;
}

std::string eval_folder(const RunRequest& req) {
  const std::string dir = !req.out.empty() ? req.out : (std::filesystem::path(req.ckpt).parent_path() / "eval").string();
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace ms
