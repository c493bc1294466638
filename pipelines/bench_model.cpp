#include "pipelines/bench_model.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdarg>
#include <cmath>
#include <cstdio>

#include "kernels/gemm.h"
#include "kernels/memory.h"
#include "kernels/random.h"
#include "model/generation.h"
#include "model/mamba_lm.h"
#include "model/optimizer.h"
#include "pipelines/run_config.h"
#include "pipelines/synthetic_data.h"

namespace ms {

void bind(cfg::Binder& b, ModelBenchSection& c) {
  b.field("d_model", c.d_model, cfg::ge(1));
  b.field("n_layer", c.n_layer, cfg::ge(1));
  b.field("vocab", c.vocab, cfg::ge(2));
  b.field("lengths", c.lengths, cfg::ge(1), "sequence lengths (empty: defaults per device)");
  b.field("batch", c.batch, cfg::ge(1));
  b.field("steps", c.steps, cfg::ge(1), "timed training steps per length");
  b.field("find_max", c.find_max, "double the length until a step no longer fits (CUDA)");
  b.field("max_length", c.max_length, cfg::ge(1), "stop the search here");
  b.field("gemm_precision", c.gemm_precision, cfg::one_of(gemm_precision_names()), "CUDA GEMMs: fp32 or tf32 tensor cores");
}

void bind(cfg::Binder& b, GenerateBenchSection& c) {
  b.field("widths", c.widths, cfg::ge(1), "d_model of each model");
  b.field("layers", c.layers, cfg::ge(1), "n_layer of each model (same count as widths)");
  b.field("batches", c.batches, cfg::ge(1));
  b.field("vocab", c.vocab, cfg::ge(2));
  b.field("prompt", c.prompt, cfg::ge(1));
  b.field("tokens", c.tokens, cfg::ge(1), "tokens generated per sequence on CUDA");
  b.field("cpu_tokens", c.cpu_tokens, cfg::ge(1), "tokens generated per sequence on the CPU");
  b.field("agree_tokens", c.agree_tokens, cfg::ge(1), "greedy tokens compared between GPU and CPU");
}

void bind(cfg::Binder& b, ParityBenchSection& c) {
  b.field("steps", c.steps, cfg::ge(1));
  b.field("batch", c.batch, cfg::ge(1));
  b.field("length", c.length, cfg::ge(4));
  b.field("d_model", c.d_model, cfg::ge(1));
  b.field("n_layer", c.n_layer, cfg::ge(1));
  b.field("vocab", c.vocab, cfg::ge(4));
  b.field("lr", c.lr, cfg::gt(0));
}

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string line(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

Tensor random_tokens(int64_t batch, int64_t length, int64_t vocab, uint64_t seed) {
  Tensor t = Tensor::empty({batch, length}, DType::i32);
  Rng rng(seed);
  int32_t* p = t.data<int32_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<int32_t>(rng.below(vocab));
  return t;
}

double peak_rss_gib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1048576.0;
}

struct StepTiming {
  double seconds_per_step = 0, peak_gib = 0;
};

// One warm-up step, then `steps` timed ones (forward, backward, AdamW), synchronized.
StepTiming time_training(const ModelBenchSection& c, int64_t L, Device dev) {
  MambaConfig mc;
  mc.d_model = c.d_model;
  mc.n_layer = c.n_layer;
  mc.vocab_size = c.vocab;
  mc.seed = 1;
  MambaLM model = make_mamba_lm(mc, DType::f32, dev);
  AdamW opt = make_adamw(model.params, AdamWConfig{});
  Tensor ids = random_tokens(c.batch, L + 1, c.vocab, 7).to(dev);
  const Tensor in = ids.slice(1, 0, L).contiguous(), tg = ids.slice(1, 1, L + 1).contiguous();
  auto step = [&] {
    zero_grad(model.params);
    lm_forward_backward(model, in, tg);
    adamw_step(opt, model.params);
  };
  step();
  cuda_synchronize();
  if (dev == Device::cuda) cuda_reset_peak_memory();
  const double t0 = now_s();
  for (int64_t i = 0; i < c.steps; ++i) step();
  cuda_synchronize();
  StepTiming t;
  t.seconds_per_step = (now_s() - t0) / c.steps;
  t.peak_gib = dev == Device::cuda ? cuda_memory_stats().peak_in_use / 1073741824.0 : peak_rss_gib();
  return t;
}

}  // namespace

std::string bench_model(const ModelBenchSection& c, bool cuda) {
  const Device dev = cuda ? Device::cuda : Device::cpu;
  std::vector<int64_t> lengths = c.lengths;
  if (lengths.empty())
    lengths = cuda ? std::vector<int64_t>{1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20}
                   : std::vector<int64_t>{1 << 10, 1 << 12, 1 << 14};
  set_gemm_precision(parse_gemm_precision(c.gemm_precision));
  std::string out = line("MambaLM training step (forward + backward + AdamW), f32 (GEMMs %s), %s: %lld layers, "
                         "d_model %lld, batch %lld\n",
                         cuda ? c.gemm_precision.c_str() : "fp32", cuda ? "CUDA" : "CPU", (long long)c.n_layer,
                         (long long)c.d_model, (long long)c.batch);
  out += line("%10s %12s %14s %16s\n", "L", "ms/step", "tokens/s", cuda ? "peak GPU GiB" : "peak RSS GiB");
  for (int64_t L : lengths) {
    StepTiming t = time_training(c, L, dev);
    out += line("%10lld %12.1f %14.0f %16.2f\n", (long long)L, 1e3 * t.seconds_per_step,
                c.batch * L / t.seconds_per_step, t.peak_gib);
    std::fputs(out.substr(out.rfind('\n', out.size() - 2) + 1).c_str(), stderr);
  }
  if (cuda && c.find_max) {
    int64_t fits = 0;
    for (int64_t L = lengths.back() * 2; L <= c.max_length; L *= 2) {
      try {
        StepTiming t = time_training(c, L, dev);
        fits = L;
        out += line("%10lld %12.1f %14.0f %16.2f\n", (long long)L, 1e3 * t.seconds_per_step,
                    c.batch * L / t.seconds_per_step, t.peak_gib);
      } catch (const Error& e) {
        out += line("%10lld   does not fit: %.120s\n", (long long)L, e.what());
        break;
      }
    }
    if (fits) out += line("longest length that trains at batch %lld: %lld (tried powers of two)\n",
                          (long long)c.batch, (long long)fits);
  }
  return out;
}

std::string bench_generate(const GenerateBenchSection& c, bool cuda) {
  MS_CHECK(c.widths.size() == c.layers.size(), "bench generate: generate.widths and generate.layers differ in length");
  const Device dev = cuda ? Device::cuda : Device::cpu;
  const int64_t n_new = cuda ? c.tokens : c.cpu_tokens;
  std::string out = line("Step-mode generation, f32, %s (%s), %lld new tokens after a %lld-token prompt\n",
                         cuda ? "CUDA" : "CPU", cuda ? "per-token step replayed as a CUDA graph" : "OpenMP",
                         (long long)n_new, (long long)c.prompt);
  out += line("%8s %8s %8s %14s %12s %s\n", "layers", "d_model", "batch", "tokens/s", "ms/token",
              cuda ? "greedy agreement with CPU" : "");
  for (size_t m = 0; m < c.widths.size(); ++m) {
    MambaConfig mc;
    mc.d_model = c.widths[m];
    mc.n_layer = c.layers[m];
    mc.vocab_size = c.vocab;
    mc.seed = 3;
    MambaLM cpu_model = make_mamba_lm(mc, DType::f32, Device::cpu);
    MambaLM model = make_mamba_lm(mc, DType::f32, Device::cpu);
    to_device(model.params, dev);
    for (int64_t B : c.batches) {
      Tensor prompt = random_tokens(B, c.prompt, c.vocab, 11).to(dev);
      GenerateOptions opt;
      opt.sampling.temperature = 1.0;
      opt.seed = 5;
      generate(model, prompt, 4, opt);  // warm-up
      cuda_synchronize();
      const double t0 = now_s();
      generate(model, prompt, n_new, opt);
      cuda_synchronize();
      const double secs = now_s() - t0;
      std::string agree;
      if (cuda) {
        // Greedy continuations of the same prompts on both devices (at most 8 rows: the CPU is slow).
        const int64_t rows = std::min<int64_t>(B, 8);
        Tensor p = prompt.to(Device::cpu).slice(0, 0, rows).contiguous();
        GenerateOptions g;
        g.sampling.temperature = 0;
        Tensor a = generate(model, p.to(dev), c.agree_tokens, g).to(Device::cpu);
        Tensor b = generate(cpu_model, p, c.agree_tokens, g);
        int64_t same = 0, first_diff = -1;
        for (int64_t i = 0; i < a.numel(); ++i) {
          if (a.item(i) == b.item(i)) ++same;
          else if (first_diff < 0) first_diff = i % c.agree_tokens;
        }
        agree = line("%lld/%lld tokens%s", (long long)same, (long long)a.numel(),
                     first_diff < 0 ? " (all)" : line(", first difference at position %lld", (long long)first_diff).c_str());
      }
      out += line("%8lld %8lld %8lld %14.0f %12.3f %s\n", (long long)mc.n_layer, (long long)mc.d_model, (long long)B,
                  B * n_new / secs, 1e3 * secs / n_new, agree.c_str());
      std::fputs(out.substr(out.rfind('\n', out.size() - 2) + 1).c_str(), stderr);
    }
  }
  return out;
}

std::string bench_parity(const ParityBenchSection& c) {
  if (!cuda_available()) MS_FAIL("bench parity compares CPU and GPU training: no CUDA GPU is visible");
  MambaConfig mc;
  mc.d_model = c.d_model;
  mc.n_layer = c.n_layer;
  mc.vocab_size = c.vocab;
  mc.seed = 2;
  MambaLM cpu = make_mamba_lm(mc, DType::f32, Device::cpu);
  MambaLM gpu = make_mamba_lm(mc, DType::f32, Device::cpu);
  to_device(gpu.params, Device::cuda);
  AdamWConfig ac;
  ac.lr = c.lr;
  AdamW ocpu = make_adamw(cpu.params, ac), ogpu = make_adamw(gpu.params, ac);
  double worst = 0, last_cpu = 0, last_gpu = 0;
  int64_t worst_step = 0;
  for (int64_t s = 0; s < c.steps; ++s) {
    TokenBatch tb = induction_heads_batch({static_cast<int>(c.vocab)}, c.length, 9, s, c.batch);
    zero_grad(cpu.params);
    zero_grad(gpu.params);
    const double lc = lm_forward_backward(cpu, tb.inputs, tb.targets).loss;
    const double lg = lm_forward_backward(gpu, tb.inputs.to(Device::cuda), tb.targets.to(Device::cuda)).loss;
    adamw_step(ocpu, cpu.params);
    adamw_step(ogpu, gpu.params);
    const double rel = std::abs(lc - lg) / std::abs(lc);
    if (rel > worst) worst = rel, worst_step = s + 1;
    last_cpu = lc, last_gpu = lg;
  }
  return line("Training parity, f32 (GEMMs in full fp32): %lld steps of a %lld-layer d_model %lld MambaLM on "
              "induction-heads batches (%lld x %lld)\n  final loss CPU %.6f  GPU %.6f\n  largest relative loss "
              "difference %.3g (step %lld)\n",
              (long long)c.steps, (long long)c.n_layer, (long long)c.d_model, (long long)c.batch,
              (long long)c.length, last_cpu, last_gpu, worst, (long long)worst_step);
}

}  // namespace ms
