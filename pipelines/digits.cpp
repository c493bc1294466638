#include "pipelines/digits.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "io/atomic_file.h"
#include "io/resample.h"
#include "kernels/random.h"
#include "pipelines/audio_classifier.h"
#include "pipelines/trainer.h"

namespace ms {

void bind(cfg::Binder& b, DigitsDataSection& c) {
  b.field("train", c.train, "training clips: <folder>/<class>/*.wav (class = parent folder name)");
  b.field("valid", c.valid, "held-out speakers, evaluated during training");
  b.field("test", c.test, "held-out speakers, evaluated at the end");
  b.field("test_speakers", c.test_speakers,
          "held-out speakers of the training accents, evaluated at the end (\"\": none)");
  b.field("real_test", c.real_test, "real recordings, evaluated at the end (\"\": none)");
  b.field("window", c.window, cfg::range(16, 1 << 20), "samples per clip fed to the model");
  bind_audio_format(b, c);
  b.field("eval_batch", c.eval_batch, cfg::ge(1), "clips per evaluation forward");
  b.field("eval_max_files", c.eval_max_files, cfg::ge(0), "> 0: evaluations during training use this many valid clips");
  b.field("shift", c.shift, cfg::ge(0), "augmentation: random time shift of up to +-shift samples");
  b.field("gain_db", c.gain_db, cfg::ge(0), "augmentation: random gain within +-gain_db dB");
  b.field("speed", c.speed, cfg::range(0.0, 1.0),
          "augmentation: random playback speed in [1/(1+speed), 1+speed] (pitch and tempo together)");
}

AudioDataSection as_audio_data(const DigitsDataSection& d) {
  AudioDataSection a;
  a.train = d.train;
  a.valid = d.valid;
  a.test = d.test;
  a.window = d.window;
  static_cast<AudioFormatFields&>(a) = d;
  a.short_files = "pad";
  return a;
}

void bind(cfg::Binder& b, ClassifierSection& c) {
  b.field("pooling", c.pooling, cfg::one_of({"mean", "last"}), "how the sequence is pooled before the head");
  b.field("init", c.init, "checkpoint whose backbone initializes the model (\"\": from scratch)");
  b.field("classes", c.classes, "class names (filled from the training folders)");
  b.field("seed", c.seed, cfg::ge(0), "head initialization seed");
}

void bind(cfg::Binder& b, DigitsConfig& c) {
  b.field("domain", c.domain, cfg::one_of({"audio"}), "audio: routes `finetune` to the audio pipelines");
  b.field("task", c.task, cfg::one_of({"classify"}), "classify: the spoken-digit classifier");
  b.field("name", c.name, "run folder name under runs/");
  b.section("data", c.data);
  b.section("model", c.model);
  b.section("classifier", c.classifier);
  b.section("train", c.train);
  b.section("optim", c.optim);
}

namespace {

struct ClipSet {
  std::string split, path;
  std::unique_ptr<AudioDataset> ds;
};

ClipSet load_clips(const std::string& split, const std::string& path, const DigitsDataSection& d) {
  ClipSet c;
  c.split = split;
  c.path = path;
  if (!std::filesystem::exists(path))
    MS_FAIL("data.", split, " = \"", path, "\": no such folder or file list (build the digits with scripts/prepare-audio.sh)");
  c.ds = std::make_unique<AudioDataset>(resolve_audio_files(path), data_options(as_audio_data(d), d.window, true));
  return c;
}

// Labels of `set` in the training classes' numbering; a class the training set lacks is an error.
std::vector<int> map_labels(const AudioDataset& ds, const std::vector<std::string>& classes, const std::string& what) {
  std::vector<int> out(static_cast<size_t>(ds.num_files()));
  for (int64_t i = 0; i < ds.num_files(); ++i) {
    const std::string& name = ds.classes().at(static_cast<size_t>(ds.label(i)));
    auto it = std::find(classes.begin(), classes.end(), name);
    if (it == classes.end())
      MS_FAIL(what, ": class '", name, "' (folder of ", ds.path(i), ") is not one of the training classes");
    out[static_cast<size_t>(i)] = static_cast<int>(it - classes.begin());
  }
  return out;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// How clips become model input: the window and the quantization table of the config.
struct ClipQuantizer {
  int64_t window = 0;
  std::vector<int32_t> table;  // token of each 16-bit sample (index: sample + 32768)
  int32_t silence = 0;         // token where there is no sample
};

ClipQuantizer clip_quantizer(const DigitsDataSection& d) {
  const Quantization q = data_quantization(as_audio_data(d));
  return {d.window, pcm16_token_table(q, static_cast<int>(d.bits)), silence_token(q, static_cast<int>(d.bits))};
}

// Tokens (n, window) and labels (n) of the clips `files` of `ds`; empty shifts / gains / speeds: as recorded.
void clip_batch(const ClipQuantizer& cq, const AudioDataset& ds, const std::vector<int>& labels,
                const std::vector<int64_t>& files, const std::vector<int64_t>& shifts, const std::vector<double>& gains,
                const std::vector<double>& speeds, Tensor& ids, Tensor& lab) {
  const int64_t n = static_cast<int64_t>(files.size()), L = cq.window;
  ids = Tensor::empty({n, L}, DType::i32);
  lab = Tensor::empty({n}, DType::i32);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t f = files[static_cast<size_t>(r)];
    const size_t i = static_cast<size_t>(r);
    digit_clip_tokens(ds.pcm(f), L, shifts.empty() ? 0 : shifts[i], gains.empty() ? 1.0 : gains[i],
                      speeds.empty() ? 1.0 : speeds[i], cq.table, cq.silence, ids.data<int32_t>() + r * L);
    lab.data<int32_t>()[r] = labels[static_cast<size_t>(f)];
  }
}

// The held-out splits the config names, in this order: valid, test, test_speakers, real.
std::vector<ClipSet> load_heldout(const DigitsDataSection& d) {
  std::vector<ClipSet> out;
  out.push_back(load_clips("valid", d.valid, d));
  if (!d.test.empty()) out.push_back(load_clips("test", d.test, d));
  if (!d.test_speakers.empty()) out.push_back(load_clips("test_speakers", d.test_speakers, d));
  if (!d.real_test.empty()) out.push_back(load_clips("real", d.real_test, d));
  return out;
}

// Accuracy, loss, confusion and per-group counts of the classifier on (up to `max_files` evenly spread,
// 0: all) clips of `set`.
ClassifierEval evaluate_clips(const AudioModel& model, const ClassifierHead& head, const ClipSet& set,
                              const std::vector<int>& labels, const ClipQuantizer& cq, int64_t eval_batch,
                              int64_t max_files) {
  const auto t0 = std::chrono::steady_clock::now();
  const AudioDataset& ds = *set.ds;
  const size_t C = static_cast<size_t>(head.n_classes);
  const int64_t n_all = ds.num_files();
  const int64_t n = max_files > 0 ? std::min(max_files, n_all) : n_all;
  ClassifierEval e;
  e.split = set.split;
  e.confusion.assign(C, std::vector<int64_t>(C, 0));
  double loss_sum = 0;
  for (int64_t first = 0; first < n; first += eval_batch) {
    std::vector<int64_t> files;
    for (int64_t i = first; i < std::min(n, first + eval_batch); ++i) files.push_back(i * n_all / n);
    Tensor ids, lab;
    clip_batch(cq, ds, labels, files, {}, {}, {}, ids, lab);
    ClassifyResult r = audio_classifier_evaluate(model, head, ids.to(model.device()), lab.to(model.device()));
    loss_sum += r.loss.loss_sum;
    e.n += r.loss.n_valid;
    e.correct += r.loss.n_correct;
    Tensor pred = r.pred.to(Device::cpu);
    for (size_t k = 0; k < files.size(); ++k) {
      const int truth = labels[static_cast<size_t>(files[k])], guess = pred.data<int32_t>()[k];
      ++e.confusion[static_cast<size_t>(truth)][static_cast<size_t>(guess)];
      auto& [clips, correct] = e.groups[speaker_group(ds.path(files[k]))];
      ++clips;
      correct += truth == guess;
    }
  }
  e.loss = e.n ? loss_sum / static_cast<double>(e.n) : 0;
  e.accuracy = e.n ? static_cast<double>(e.correct) / static_cast<double>(e.n) : 0;
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

void write_eval_metrics(MetricsWriter& metrics, int64_t step, const ClassifierEval& e) {
  metrics.write(MetricsRow(step, e.split, e.loss).set("accuracy", e.accuracy).set("clips", static_cast<double>(e.n)));
}

// confusion_<split>.tsv, per_class.tsv and per_group.tsv of the evaluations in `dir`.
void write_classifier_tables(const std::string& dir, const std::vector<std::string>& classes,
                             const std::vector<ClassifierEval>& evals) {
  const int64_t C = static_cast<int64_t>(classes.size());
  std::ostringstream per;
  per << "split\tclass\tclips\tcorrect\taccuracy\n";
  for (const ClassifierEval& e : evals) {
    std::ostringstream cm;
    cm << "true\\predicted";
    for (const auto& c : classes) cm << '\t' << c;
    cm << '\n';
    for (int64_t t = 0; t < C; ++t) {
      cm << classes[static_cast<size_t>(t)];
      int64_t row = 0;
      for (int64_t p = 0; p < C; ++p) {
        cm << '\t' << e.confusion[static_cast<size_t>(t)][static_cast<size_t>(p)];
        row += e.confusion[static_cast<size_t>(t)][static_cast<size_t>(p)];
      }
      cm << '\n';
      const int64_t ok = e.confusion[static_cast<size_t>(t)][static_cast<size_t>(t)];
      per << e.split << '\t' << classes[static_cast<size_t>(t)] << '\t' << row << '\t' << ok << '\t'
          << (row ? fmt("%.4f", static_cast<double>(ok) / static_cast<double>(row)) : "") << '\n';
    }
    atomic_write_text(dir + "/confusion_" + e.split + ".tsv", cm.str());
  }
  atomic_write_text(dir + "/per_class.tsv", per.str());
  std::ostringstream groups;
  groups << "split\tgroup\tclips\tcorrect\taccuracy\n";
  for (const ClassifierEval& e : evals)
    for (const auto& [g, nc] : e.groups)
      groups << e.split << '\t' << g << '\t' << nc.first << '\t' << nc.second << '\t'
             << fmt("%.4f", static_cast<double>(nc.second) / static_cast<double>(nc.first)) << '\n';
  atomic_write_text(dir + "/per_group.tsv", groups.str());
}

// One line per split (and per speaker group where there are a few).
void print_classifier_evals(const std::vector<ClassifierEval>& evals) {
  for (const ClassifierEval& e : evals) {
    std::printf("  %-13s accuracy %6.2f%% (%lld/%lld), loss %.4f\n", e.split.c_str(), 100 * e.accuracy,
                static_cast<long long>(e.correct), static_cast<long long>(e.n), e.loss);
    if (e.groups.size() > 1 && e.groups.size() <= 12)
      for (const auto& [g, nc] : e.groups)
        std::printf("                %-20s %6.2f%% (%lld/%lld)\n", g.c_str(), 100.0 * nc.second / nc.first,
                    static_cast<long long>(nc.second), static_cast<long long>(nc.first));
  }
}

// The config a classifier checkpoint was trained with (with `sets` applied), or the one at `config_path`
// (then classifier.classes, when it lists none, from the checkpoint's).
DigitsConfig classifier_config(const std::string& ckpt, const std::string& config_path,
                               const std::vector<std::string>& sets) {
  const std::string text = read_checkpoint_config(ckpt);
  DigitsConfig cfg;
  try {
    cfg = cfg::parse<DigitsConfig>(text, ckpt + ":/config");
  } catch (const Error& e) {
    MS_FAIL("'", ckpt, "' is not a digit classifier checkpoint (its config does not parse as one: ", e.what(), ")");
  }
  if (!config_path.empty()) {
    const std::vector<std::string> classes = cfg.classifier.classes;
    cfg = cfg::load<DigitsConfig>(config_path, sets);
    if (cfg.classifier.classes.empty()) cfg.classifier.classes = classes;
  } else if (!sets.empty()) {
    cfg = cfg::parse<DigitsConfig>(text, ckpt + ":/config", sets);  // a bad --set is reported as such
  }
  if (cfg.classifier.classes.size() < 2) MS_FAIL("'", ckpt, "': its config lists no classifier.classes");
  return cfg;
}

struct LoadedClassifier {
  AudioModel model;
  ClassifierHead head;
};

// The model and head of `cfg`, with the parameters of the checkpoint (names and shapes must match).
LoadedClassifier load_classifier(const std::string& ckpt, const DigitsConfig& cfg, Device device) {
  LoadedClassifier c{make_audio_model(cfg.model, int64_t{1} << cfg.data.bits, device), {}};
  c.head = add_audio_classifier_head(c.model, static_cast<int64_t>(cfg.classifier.classes.size()),
                                     parse_pooling(cfg.classifier.pooling), 0);
  load_training_checkpoint(ckpt, c.model.params(), nullptr);
  return c;
}

}  // namespace

void digit_clip_tokens(const std::vector<int16_t>& pcm, int64_t window, int64_t shift, double gain, double speed,
                       const std::vector<int32_t>& table, int32_t silence, int32_t* out) {
  const int64_t n = static_cast<int64_t>(pcm.size());
  for (int64_t t = 0; t < window; ++t) {
    // Linear interpolation at position (t - shift) * speed: crude resampling (some aliasing when sped up),
    // but only augmentation; at speed 1 the positions are whole and the samples exact.
    const double pos = static_cast<double>(t - shift) * speed;
    const int64_t i = static_cast<int64_t>(std::floor(pos));
    if (i < 0 || i >= n) {
      out[t] = silence;
      continue;
    }
    const double a = pcm[static_cast<size_t>(i)], b = i + 1 < n ? pcm[static_cast<size_t>(i + 1)] : a;
    const double v = (a + (pos - static_cast<double>(i)) * (b - a)) * gain;
    const int32_t s = static_cast<int32_t>(std::clamp(std::lround(v), -32768L, 32767L));
    out[t] = table[static_cast<size_t>(s + 32768)];
  }
}

std::string speaker_group(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  return name.substr(0, name.find('_'));
}

DigitsResult run_digit_classifier(const RunRequest& req) {
  DigitsConfig cfg = cfg::load<DigitsConfig>(req.config_path, req.sets);
  const DigitsDataSection& d = cfg.data;
  const Device device = resolve_device(cfg.train);
  AudioModel model = make_audio_model(cfg.model, int64_t{1} << d.bits, device);
  check_model_length(model, d.window, "data.window");

  ClipSet train = load_clips("train", d.train, d);
  const std::vector<std::string> classes = train.ds->classes();
  if (!cfg.classifier.classes.empty() && cfg.classifier.classes != classes) {
    std::string have;
    for (const auto& c : classes) have += (have.empty() ? "" : ", ") + c;
    MS_FAIL("classifier.classes differ from the training folders' classes (", have,
            "): the config belongs to another data set");
  }
  cfg.classifier.classes = classes;
  const int64_t C = static_cast<int64_t>(classes.size());
  const std::vector<int> train_labels = map_labels(*train.ds, classes, "data.train");
  const std::vector<ClipSet> heldout = load_heldout(d);
  std::vector<std::vector<int>> heldout_labels;
  for (const ClipSet& h : heldout) heldout_labels.push_back(map_labels(*h.ds, classes, "data." + h.split));

  const ClassifierHead head =
      add_audio_classifier_head(model, C, parse_pooling(cfg.classifier.pooling), static_cast<uint64_t>(cfg.classifier.seed));
  const std::string init = !req.resume && !req.ckpt.empty() ? req.ckpt : cfg.classifier.init;
  if (!req.resume && !init.empty()) {
    Checkpoint ck = read_checkpoint(init);
    std::vector<std::pair<std::string, Tensor>> backbone;
    for (auto& nv : named_values(model.params()))
      if (nv.first.rfind("head.", 0) != 0) backbone.push_back(nv);
    restore_tensors(init, "parameter", ck.params, backbone, {.allow_missing = false, .allow_unused = true});
  }

  const std::string toml = cfg::to_toml(cfg);
  RunSetup run = setup_run(req, cfg.name, toml);
  DigitsResult result;
  result.run_dir = run.files.dir;
  result.classes = classes;
  if (!req.quiet) {
    std::printf("digit classifier: %s\n  model: %s + head (%lld classes, %s pooling) on %s\n", cfg.name.c_str(),
                model.describe().c_str(), static_cast<long long>(C), cfg.classifier.pooling.c_str(), device_name(device));
    std::printf("  data: %lld training clips (%s)", static_cast<long long>(train.ds->num_files()), d.train.c_str());
    for (const ClipSet& h : heldout)
      std::printf(", %lld %s (%s)", static_cast<long long>(h.ds->num_files()), h.split.c_str(), h.path.c_str());
    std::printf("\n");
    std::fflush(stdout);
  }

  const ClipQuantizer cq = clip_quantizer(d);
  const int64_t L = d.window, B = cfg.train.batch_size;
  const uint64_t seed = mix64(static_cast<uint64_t>(cfg.train.seed) ^ 0xD161755ULL);
  const uint64_t speed_seed = mix64(seed ^ 0x5BEEDULL);  // its own stream: the other draws stay as they were

  TrainLoop loop;
  loop.label = "classify " + cfg.name;
  loop.params = &model.params();
  loop.tokens_per_step = B * L;
  loop.quiet = req.quiet;
  loop.step = [&](int64_t step) {
    std::vector<int64_t> files(static_cast<size_t>(B)), shifts(static_cast<size_t>(B));
    std::vector<double> gains(static_cast<size_t>(B)), speeds(static_cast<size_t>(B));
    const uint64_t n = static_cast<uint64_t>(train.ds->num_files());
    for (int64_t r = 0; r < B; ++r) {
      const uint64_t s = static_cast<uint64_t>(step), rr = static_cast<uint64_t>(r) * 3;
      files[static_cast<size_t>(r)] = static_cast<int64_t>(random_bits(seed, s, rr) % n);
      shifts[static_cast<size_t>(r)] =
          d.shift > 0 ? static_cast<int64_t>(random_bits(seed, s, rr + 1) % static_cast<uint64_t>(2 * d.shift + 1)) - d.shift : 0;
      gains[static_cast<size_t>(r)] =
          d.gain_db > 0 ? std::pow(10.0, (2 * random_uniform(seed, s, rr + 2) - 1) * d.gain_db / 20) : 1.0;
      // Log-uniform, so slowing down and speeding up are equally likely.
      speeds[static_cast<size_t>(r)] =
          d.speed > 0 ? std::pow(1.0 + d.speed, 2 * random_uniform(speed_seed, s, static_cast<uint64_t>(r)) - 1) : 1.0;
    }
    Tensor ids, lab;
    clip_batch(cq, *train.ds, train_labels, files, shifts, gains, speeds, ids, lab);
    ClassifyResult r = audio_classifier_forward_backward(model, head, ids.to(device), lab.to(device));
    result.train_accuracies.push_back(r.loss.accuracy);
    return r.loss;
  };
  loop.evaluate = [&](int64_t steps_done, bool final, MetricsWriter& metrics, Progress& progress) {
    result.evals.clear();
    for (size_t i = 0; i < (final ? heldout.size() : 1); ++i) {
      ClassifierEval e = evaluate_clips(model, head, heldout[i], heldout_labels[i], cq, d.eval_batch,
                                        final ? 0 : d.eval_max_files);
      write_eval_metrics(metrics, steps_done, e);
      progress.message(e.split + ": accuracy " + fmt("%.2f%%", 100 * e.accuracy) + " (" + std::to_string(e.correct) + "/" +
                       std::to_string(e.n) + "), loss " + fmt("%.4f", e.loss) + " (" + fmt("%.1f s", e.seconds) + ")");
      result.evals.push_back(e);
    }
  };
  TrainOutcome o = run_training(loop, cfg.train, cfg.optim, run.files, toml, run.resume_from);
  result.train_losses = o.losses;
  result.steps_done = o.end_step;
  result.train_seconds = o.seconds;

  if (o.finished) write_classifier_tables(run.files.dir, classes, result.evals);  // the final evaluation ran
  if (!req.quiet) {
    std::printf("\ndigit classifier after %lld steps (%.1f s of training)\n", static_cast<long long>(o.end_step), o.seconds);
    print_classifier_evals(result.evals);
    std::printf("run folder: %s\n", run.files.dir.c_str());
  }
  return result;
}

std::vector<ClassifierEval> eval_digit_classifier(const RunRequest& req) {
  if (req.ckpt.empty()) MS_FAIL("eval needs a checkpoint: --ckpt runs/<name>/last.h5");
  const DigitsConfig cfg = classifier_config(req.ckpt, req.config_path, req.sets);
  const DigitsDataSection& d = cfg.data;
  const LoadedClassifier c = load_classifier(req.ckpt, cfg, resolve_device(cfg.train));
  const ClipQuantizer cq = clip_quantizer(d);
  const std::vector<ClipSet> heldout = load_heldout(d);
  const std::string dir = eval_folder(req);
  MetricsWriter metrics(dir + "/metrics.jsonl");
  std::vector<ClassifierEval> evals;
  for (const ClipSet& h : heldout) {
    const std::vector<int> labels = map_labels(*h.ds, cfg.classifier.classes, "data." + h.split);
    evals.push_back(evaluate_clips(c.model, c.head, h, labels, cq, d.eval_batch, 0));
    write_eval_metrics(metrics, 0, evals.back());
  }
  write_classifier_tables(dir, cfg.classifier.classes, evals);
  if (!req.quiet) {
    std::printf("digit classifier %s (%s) on %s\n", req.ckpt.c_str(), c.model.describe().c_str(),
                device_name(c.model.device()));
    print_classifier_evals(evals);
    std::printf("tables and metrics.jsonl in %s\n", dir.c_str());
  }
  return evals;
}

DigitScores score_generated_digits(const std::string& ckpt, const std::vector<std::vector<float>>& waveforms,
                                   int sample_rate, Device device) {
  const DigitsConfig cfg = classifier_config(ckpt, "", {});
  const DigitsDataSection& d = cfg.data;
  const LoadedClassifier c = load_classifier(ckpt, cfg, device);
  const AudioModel& model = c.model;
  const ClassifierHead& head = c.head;
  const int64_t C = head.n_classes;
  const ClipQuantizer cq = clip_quantizer(d);
  const int64_t L = d.window, N = static_cast<int64_t>(waveforms.size());
  DigitScores s;
  s.n = N;
  s.classes = cfg.classifier.classes;
  s.histogram.assign(static_cast<size_t>(C), 0);
  std::vector<double> probs(static_cast<size_t>(N * C));
  for (int64_t first = 0; first < N; first += d.eval_batch) {
    const int64_t n = std::min<int64_t>(d.eval_batch, N - first);
    Tensor ids = Tensor::empty({n, L}, DType::i32);
    for (int64_t r = 0; r < n; ++r) {
      const std::vector<float>& w = waveforms[static_cast<size_t>(first + r)];
      std::vector<float> x = sample_rate == d.sample_rate
                                 ? w
                                 : resample(w.data(), static_cast<int64_t>(w.size()), sample_rate,
                                            static_cast<int>(d.sample_rate), parse_resample_quality(d.resample_quality));
      digit_clip_tokens(to_pcm16(x), L, 0, 1.0, 1.0, cq.table, cq.silence, ids.data<int32_t>() + r * L);
    }
    ClassifyResult r = audio_classifier_evaluate(model, head, ids.to(device), Tensor());
    Tensor logits = r.logits.to(Device::cpu).contiguous();
    for (int64_t i = 0; i < n; ++i) {
      const float* row = logits.data<float>() + i * C;
      const double mx = *std::max_element(row, row + C);
      double z = 0;
      for (int64_t c = 0; c < C; ++c) z += std::exp(row[c] - mx);
      for (int64_t c = 0; c < C; ++c) probs[static_cast<size_t>((first + i) * C + c)] = std::exp(row[c] - mx) / z;
    }
  }
  std::vector<double> marginal(static_cast<size_t>(C), 0.0);
  for (int64_t i = 0; i < N; ++i) {
    const double* p = &probs[static_cast<size_t>(i * C)];
    const int64_t top = std::max_element(p, p + C) - p;
    s.predicted.push_back(static_cast<int>(top));
    s.confidence.push_back(p[top]);
    ++s.histogram[static_cast<size_t>(top)];
    if (p[top] > 0.5) s.confident_share += 1;
    s.mean_confidence += p[top];
    for (int64_t c = 0; c < C; ++c) marginal[static_cast<size_t>(c)] += p[c] / static_cast<double>(N);
  }
  if (N == 0) return s;
  s.confident_share /= static_cast<double>(N);
  s.mean_confidence /= static_cast<double>(N);
  double kl = 0;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c) {
      const double p = probs[static_cast<size_t>(i * C + c)];
      if (p > 0) kl += p * std::log(p / marginal[static_cast<size_t>(c)]);
    }
  s.inception_score = std::exp(kl / static_cast<double>(N));
  for (int64_t c = 0; c < C; ++c) {
    const double m = marginal[static_cast<size_t>(c)], h = static_cast<double>(s.histogram[static_cast<size_t>(c)]) / N;
    if (m > 0) s.class_entropy -= m * std::log2(m);
    if (h > 0) s.argmax_entropy -= h * std::log2(h);
  }
  return s;
}

}  // namespace ms
