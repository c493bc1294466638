#include "pipelines/generate.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "io/atomic_file.h"
#include "io/audio_dataset.h"
#include "io/audio_tokens.h"
#include "io/checkpoint.h"
#include "io/spectrogram.h"
#include "kernels/cuda_graph.h"
#include "kernels/elementwise.h"
#include "kernels/memory.h"
#include "kernels/random.h"
#include "pipelines/audio_pretrain.h"
#include "pipelines/trainer.h"

namespace ms {

namespace fs = std::filesystem;

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Tensor sample_audio(const AudioModel& model, AudioStepper& st, const Tensor& prompt, int64_t n_new,
                    const GenerateOptions& opt, SamplingTiming* timing) {
  check_defined("sample_audio", "prompt", prompt);
  MS_CHECK(prompt.ndim() == 2 && prompt.size(0) == st.batch && prompt.size(1) >= 1, "sample_audio: prompt must be (",
           st.batch, ", Lp) with Lp >= 1, got ", prompt.describe());
  MS_CHECK(n_new >= 0, "sample_audio: n_new = ", n_new, " must not be negative");
  const Device dev = model.device();
  Tensor out = Tensor::empty({st.batch, n_new}, DType::i32, dev);
  const double t0 = now_s();
  Tensor logits = st.prefill(prompt.to(dev));
  cuda_synchronize();
  const double t1 = now_s();

  // A UNet step's kernels depend on the position modulo the total pooling (which levels step, which buffer
  // rows they use), so each phase gets its own graph; the host-side counters advance as an eager step would.
  const bool graphs = opt.cuda_graph && dev == Device::cuda;
  const int64_t P = model.length_multiple();
  std::vector<CudaGraph> graph(static_cast<size_t>(P));
  std::vector<std::vector<int64_t>> advance(static_cast<size_t>(P));
  int64_t captured = 0;
  for (int64_t i = 0; i < n_new; ++i) {
    if (st.logits().dtype() != DType::f32) cast(st.logits(), st.logits_f32());
    sample_tokens(st.logits_f32(), opt.sampling, opt.seed, static_cast<uint64_t>(i), st.tokens());
    out.select(1, i).copy_(st.tokens());
    if (i + 1 == n_new) break;
    if (!graphs || i < P) {  // the first P steps run eagerly: lazy set-up happens outside capture
      st.step(st.tokens());
      continue;
    }
    const size_t phase = static_cast<size_t>(st.position() % P);
    const std::vector<int64_t> before = st.counters();
    if (!graph[phase].captured()) {
      graph[phase] = capture_cuda_graph([&] { st.step(st.tokens()); });
      const std::vector<int64_t> after = st.counters();
      advance[phase].resize(after.size());
      for (size_t k = 0; k < after.size(); ++k) advance[phase][k] = after[k] - before[k];
      ++captured;
    }
    replay_cuda_graph(graph[phase]);
    std::vector<int64_t> next = before;
    for (size_t k = 0; k < next.size(); ++k) next[k] += advance[phase][k];
    st.set_counters(next);
  }
  Tensor host = out.to(Device::cpu);  // waits for the device
  const double t2 = now_s();
  if (timing) {
    timing->prefill_seconds += t1 - t0;
    timing->sampling_seconds += t2 - t1;
    timing->steps += n_new;
    timing->graphs += captured;
  }
  return host;
}

namespace {

AudioPretrainConfig generate_config(const RunRequest& req) {
  if (req.ckpt.empty()) MS_FAIL("generate needs a trained model: --ckpt runs/<name>/last.h5");
  if (!fs::exists(req.ckpt)) MS_FAIL("checkpoint '", req.ckpt, "' does not exist");
  if (!req.config_path.empty()) return load_audio_config(req);
  const std::string text = read_checkpoint_config(req.ckpt);
  try {
    return cfg::parse<AudioPretrainConfig>(text, req.ckpt + ":/config", req.sets);
  } catch (const Error& e) {
    MS_FAIL("checkpoint '", req.ckpt, "' was not written by audio pretraining (its stored config does not parse as "
            "one: ", e.what(), "); name the config with -c");
  }
}

void load_generator(AudioModel& model, const std::string& ckpt, bool config_given) {
  Checkpoint ck = read_checkpoint(ckpt);
  if (find_tensor(ck.params, "head.weight"))
    MS_FAIL("checkpoint '", ckpt, "' is a classifier (it has head.weight), not a generative model; give a "
            "pretraining checkpoint to --ckpt (a classifier goes to sample.classifier)");
  try {
    restore_tensors(ckpt, "parameter", ck.params, named_values(model.params()));
  } catch (const Error& e) {
    if (!config_given) throw;
    MS_FAIL(e.what(), "; the -c config's [model] must be the one the checkpoint was trained with (or omit -c to "
                      "use the checkpoint's own config)");
  }
}

}  // namespace

double rms_dbfs(const std::vector<float>& x) {
  double sum = 0;
  for (float v : x) sum += static_cast<double>(v) * v;
  const double rms = x.empty() ? 0 : std::sqrt(sum / static_cast<double>(x.size()));
  return rms > 1e-6 ? 20 * std::log10(rms) : -120;
}

double silent_frame_share(const std::vector<float>& x, int64_t frame) {
  MS_CHECK(frame > 0, "silent_frame_share: frame must be positive, got ", frame);
  const int64_t n = static_cast<int64_t>(x.size());
  if (n == 0) return 1;
  const int64_t frames = std::max<int64_t>(1, n / frame), len = std::min(frame, n);
  int64_t silent = 0;
  for (int64_t f = 0; f < frames; ++f) {
    const auto first = x.begin() + f * len;
    silent += rms_dbfs(std::vector<float>(first, first + len)) < kNearSilenceDbfs;
  }
  return static_cast<double>(silent) / static_cast<double>(frames);
}

LevelSummary summarize_levels(const std::vector<double>& levels_dbfs, const std::vector<double>& silent_shares) {
  MS_CHECK(levels_dbfs.size() == silent_shares.size(), "summarize_levels: ", levels_dbfs.size(), " levels but ",
           silent_shares.size(), " silent shares");
  LevelSummary s;
  s.clips = static_cast<int64_t>(levels_dbfs.size());
  if (levels_dbfs.empty()) return s;
  std::vector<double> sorted = levels_dbfs;
  std::sort(sorted.begin(), sorted.end());
  s.lo = sorted.front();
  s.hi = sorted.back();
  const size_t m = sorted.size() / 2;
  s.median = sorted.size() % 2 ? sorted[m] : 0.5 * (sorted[m - 1] + sorted[m]);
  for (double v : silent_shares) s.silent_share += v;
  s.silent_share /= static_cast<double>(silent_shares.size());
  return s;
}

namespace {

// 100 ms frames for the silent-frame share.
int64_t level_frame(int rate) { return std::max(1, rate / 10); }

// The reference levels of GenerateResult: up to `count` training clips, evenly spaced over the sorted list
// (so every class folder of a digits set is represented), quantized as in training, cut to `length` samples.
// Failures leave the reference out with a note: the generated files are already written.
void reference_levels(const AudioPretrainConfig& cfg, int64_t count, int64_t length, GenerateResult& r) {
  const std::string& train = cfg.data.train;
  if (train.empty() || !fs::exists(train)) {
    r.reference_note = "no reference levels: data.train \"" + train + "\" does not exist here";
    return;
  }
  try {
    const std::vector<std::string> files = resolve_audio_files(train);
    const int64_t n = std::min<int64_t>(count, static_cast<int64_t>(files.size()));
    const TokenOptions topt = data_token_options(cfg.data);
    std::vector<double> levels, silent;
    for (int64_t i = 0; i < n; ++i) {
      const size_t k = static_cast<size_t>(i * static_cast<int64_t>(files.size()) / n);
      std::vector<int32_t> tokens = audio_to_tokens(files[k], topt);
      if (static_cast<int64_t>(tokens.size()) > length) tokens.resize(static_cast<size_t>(length));
      const std::vector<float> x = dequantize(tokens, topt.quantization, topt.bits);
      levels.push_back(rms_dbfs(x));
      silent.push_back(silent_frame_share(x, level_frame(static_cast<int>(cfg.data.sample_rate))));
    }
    r.reference = summarize_levels(levels, silent);
  } catch (const Error& e) {
    r.reference_note = std::string("no reference levels: ") + e.what();
  }
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string report_text(const AudioPretrainConfig& cfg, const RunRequest& req, const GenerateResult& r,
                        int64_t ckpt_step, Device device, int64_t prompt_samples) {
  const SampleSection& s = cfg.sample;
  std::ostringstream os;
  os << "# Generation report\n\n";
  os << "| setting | value |\n|---|---|\n";
  os << "| checkpoint | `" << req.ckpt << "` (step " << ckpt_step << ") |\n";
  os << "| config | " << (req.config_path.empty() ? "the checkpoint's own" : "`" + req.config_path + "`") << " |\n";
  os << "| model | " << r.model_describe << " |\n";
  os << "| device | " << device_name(device);
  if (device == Device::cpu) os << ", " << omp_get_max_threads() << " threads";
  os << " |\n";
  os << "| tokens | " << cfg.data.quantization << " " << cfg.data.bits << "-bit, " << cfg.data.sample_rate << " Hz |\n";
  os << "| samples | " << s.n_samples << " in batches of " << s.batch << ", " << s.seconds << " s each ("
     << (r.tokens.empty() ? 0 : r.tokens[0].size()) << " samples) |\n";
  os << "| sampling | temperature " << s.temperature << ", top_p " << s.top_p << ", top_k " << s.top_k << ", seed "
     << s.seed << " |\n";
  os << "| prompt | "
     << (s.prompt.empty() ? "none (unconditional: the start token only)"
                          : "`" + s.prompt + "`, " + std::to_string(prompt_samples) + " samples" +
                                (s.include_prompt ? " (included in the WAVs)" : " (not included in the WAVs)"))
     << " |\n";
  os << "| CUDA graphs | " << (r.timing.graphs > 0 ? std::to_string(r.timing.graphs) + " captured" : "not used") << " |\n\n";
  os << "## Speed\n\n";
  os << "| what | value |\n|---|---|\n";
  os << "| prefill (prompt) | " << fmt("%.3f", r.timing.prefill_seconds) << " s |\n";
  os << "| sampling loop | " << fmt("%.3f", r.timing.sampling_seconds) << " s for " << r.timing.steps
     << " steps (each advances every row of its batch) |\n";
  os << "| generated samples/s (all rows) | " << fmt("%.0f", r.samples_per_second) << " |\n";
  os << "| real-time factor | " << fmt("%.4f", r.real_time_factor) << "x |\n";
  os << "| steps/s (one row's speed) | " << fmt("%.1f", r.timing.sampling_seconds > 0 ? r.timing.steps / r.timing.sampling_seconds : 0)
     << " steps/s |\n\n";
  if (!r.files.empty()) {
    std::vector<double> levels, silent;
    int64_t quiet = 0;
    for (const GeneratedSample& g : r.files) {
      quiet += g.level_dbfs < kNearSilenceDbfs;
      levels.push_back(g.level_dbfs);
      silent.push_back(g.silent_share);
    }
    const LevelSummary gen = summarize_levels(levels, silent);
    os << "Levels of the generated audio: " << fmt("%.1f", gen.lo) << " to " << fmt("%.1f", gen.hi)
       << " dBFS RMS (median " << fmt("%.1f", gen.median) << "); near-silent (< " << fmt("%.0f", kNearSilenceDbfs)
       << " dBFS): " << quiet << " of " << r.files.size() << " clips; silent 100 ms frames: "
       << fmt("%.0f", 100 * gen.silent_share) << "%.\n";
    if (r.reference) {
      const LevelSummary& ref = *r.reference;
      os << "Training clips for comparison (" << ref.clips << " of `" << cfg.data.train
         << "`, evenly spaced, as quantized for training, cut to the generated length): " << fmt("%.1f", ref.lo)
         << " to " << fmt("%.1f", ref.hi) << " dBFS RMS (median " << fmt("%.1f", ref.median)
         << "); silent 100 ms frames: " << fmt("%.0f", 100 * ref.silent_share) << "%.\n";
    } else {
      os << r.reference_note << ".\n";
    }
    os << "\n";
  }
  if (r.scores) {
    const DigitScores& d = *r.scores;
    os << "## Digit classifier scores (`" << s.classifier << "`)\n\n";
    os << "| score | value |\n|---|---|\n";
    os << "| clips | " << d.n << " |\n";
    os << "| share with confidence > 0.5 | " << fmt("%.3f", d.confident_share) << " |\n";
    os << "| mean top-class probability | " << fmt("%.3f", d.mean_confidence) << " |\n";
    os << "| class entropy of the batch (bits, max " << fmt("%.3f", std::log2(static_cast<double>(d.classes.size())))
       << ") | " << fmt("%.3f", d.class_entropy) << " |\n";
    os << "| entropy of predicted classes (bits) | " << fmt("%.3f", d.argmax_entropy) << " |\n";
    os << "| Inception-style score exp(E KL) | " << fmt("%.3f", d.inception_score) << " |\n\n";
    os << "Predicted classes:";
    for (size_t c = 0; c < d.classes.size(); ++c) os << ' ' << d.classes[c] << ' ' << d.histogram[c] << (c + 1 < d.classes.size() ? "," : "");
    os << "\n\n";
  }
  os << "## Files\n\n| wav | png | prompt samples | generated samples | level (dBFS)";
  os << " | silent frames";
  if (r.scores) os << " | class | confidence";
  os << " |\n|---|---|---|---|---|---";
  if (r.scores) os << "|---|---";
  os << "|\n";
  for (size_t i = 0; i < r.files.size(); ++i) {
    const GeneratedSample& g = r.files[i];
    os << "| " << fs::path(g.wav).filename().string() << " | " << (g.png.empty() ? "-" : fs::path(g.png).filename().string())
       << " | " << g.prompt_samples << " | " << g.generated_samples << " | " << fmt("%.1f", g.level_dbfs) << " | "
       << fmt("%.0f", 100 * g.silent_share) << "%";
    if (r.scores)
      os << " | " << r.scores->classes[static_cast<size_t>(r.scores->predicted[i])] << " | "
         << fmt("%.3f", r.scores->confidence[i]);
    os << " |\n";
  }
  return os.str();
}

}  // namespace

GenerateResult run_generate(const RunRequest& req) {
  const AudioPretrainConfig cfg = generate_config(req);
  const SampleSection& s = cfg.sample;
  const Device device = resolve_device(cfg.train);
  const int bits = static_cast<int>(cfg.data.bits);
  const Quantization q = data_quantization(cfg.data);
  const int rate = static_cast<int>(cfg.data.sample_rate);
  AudioModel model = make_audio_model(cfg.model, int64_t{1} << bits, device);
  load_generator(model, req.ckpt, !req.config_path.empty());
  const int64_t ckpt_step = read_checkpoint(req.ckpt).step;
  if (!s.classifier.empty() && !fs::exists(s.classifier))
    MS_FAIL("sample.classifier = \"", s.classifier, "\": checkpoint does not exist");

  // The prompt row: the start token (as the data loader puts before every file), then the prompt's tokens.
  std::vector<int32_t> prompt_tokens;
  if (!s.prompt.empty()) {
    prompt_tokens = audio_to_tokens(s.prompt, data_token_options(cfg.data));
    if (s.prompt_seconds > 0)
      prompt_tokens.resize(std::min(prompt_tokens.size(), static_cast<size_t>(std::llround(s.prompt_seconds * rate))));
    if (prompt_tokens.empty()) MS_FAIL("sample.prompt = \"", s.prompt, "\": no samples to use as a prompt");
  }
  const int64_t Lp = 1 + static_cast<int64_t>(prompt_tokens.size());
  const int64_t n_new = std::max<int64_t>(1, std::llround(s.seconds * rate));

  GenerateResult r;
  r.model_describe = model.describe();
  r.out_dir = req.out.empty() ? "runs/" + cfg.name + "/samples" : req.out;
  fs::create_directories(r.out_dir);
  GenerateOptions opt;
  opt.sampling.temperature = s.temperature;
  opt.sampling.top_p = s.top_p;
  opt.sampling.top_k = static_cast<int>(s.top_k);
  opt.cuda_graph = s.cuda_graph;
  const int32_t start = silence_token(q, bits);
  for (int64_t first = 0, k = 0; first < s.n_samples; first += s.batch, ++k) {
    const int64_t B = std::min(s.batch, s.n_samples - first);
    Tensor prompt = Tensor::empty({B, Lp}, DType::i32);
    for (int64_t b = 0; b < B; ++b) {
      int32_t* row = prompt.data<int32_t>() + b * Lp;
      row[0] = start;
      std::copy(prompt_tokens.begin(), prompt_tokens.end(), row + 1);
    }
    AudioStepper st = make_audio_stepper(model, B);
    opt.seed = mix64(static_cast<uint64_t>(s.seed) * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(k));
    Tensor gen = sample_audio(model, st, prompt, n_new, opt, &r.timing);
    for (int64_t b = 0; b < B; ++b) {
      const int32_t* g = gen.data<int32_t>() + b * n_new;
      r.tokens.emplace_back(g, g + n_new);
    }
  }
  const double total = static_cast<double>(s.n_samples) * static_cast<double>(n_new);
  r.samples_per_second = r.timing.sampling_seconds > 0 ? total / r.timing.sampling_seconds : 0;
  r.real_time_factor = r.samples_per_second / rate;

  std::vector<std::vector<float>> generated;
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    char stem[32];
    std::snprintf(stem, sizeof stem, "sample_%03zu", i);
    GeneratedSample g;
    g.wav = (fs::path(r.out_dir) / (std::string(stem) + ".wav")).string();
    g.generated_samples = n_new;
    std::vector<float> gen = dequantize(r.tokens[i], q, bits);
    g.level_dbfs = rms_dbfs(gen);
    g.silent_share = silent_frame_share(gen, level_frame(rate));
    std::vector<float> wav;
    if (s.include_prompt && !prompt_tokens.empty()) {
      wav = dequantize(prompt_tokens, q, bits);
      g.prompt_samples = static_cast<int64_t>(prompt_tokens.size());
    }
    wav.insert(wav.end(), gen.begin(), gen.end());
    write_wav16(g.wav, wav, rate);
    if (s.spectrograms) {
      g.png = (fs::path(r.out_dir) / (std::string(stem) + ".png")).string();
      write_spectrogram_png(g.png, wav);
    }
    r.files.push_back(g);
    generated.push_back(std::move(gen));
  }
  if (!s.classifier.empty()) r.scores = score_generated_digits(s.classifier, generated, rate, device);
  reference_levels(cfg, s.n_samples, n_new, r);

  const std::string report = report_text(cfg, req, r, ckpt_step, device, static_cast<int64_t>(prompt_tokens.size()));
  r.report_path = (fs::path(r.out_dir) / "report.md").string();
  atomic_write_text(r.report_path, report);
  if (!req.quiet) {
    std::fputs(report.c_str(), stdout);
    std::printf("\nwrote %zu WAV files%s and %s\n", r.files.size(), s.spectrograms ? " + spectrogram PNGs" : "",
                r.report_path.c_str());
  }
  return r;
}

}  // namespace ms
