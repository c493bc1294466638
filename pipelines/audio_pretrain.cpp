#include "pipelines/audio_pretrain.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "kernels/data_parallel.h"
#include "pipelines/audio_data.h"
#include "pipelines/data_parallel_launch.h"
#include "pipelines/trainer.h"

namespace ms {

namespace {

int64_t product(const std::vector<int64_t>& v) {
  return std::accumulate(v.begin(), v.end(), int64_t{1}, [](int64_t a, int64_t b) { return a * b; });
}

std::string eval_line(const AudioEval& e) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s: %.4f bits/sample (loss %.4f nats, accuracy %.2f%%) over %lld samples in %lld windows of %lld (%.1f s)",
                e.split.c_str(), e.bits_per_sample, e.loss, 100 * e.accuracy, static_cast<long long>(e.targets),
                static_cast<long long>(e.windows), static_cast<long long>(e.window), e.seconds);
  return buf;
}

void init_from_checkpoint(AudioModel& model, const std::string& path) {
  Checkpoint ck = read_checkpoint(path);
  restore_tensors(path, "parameter", ck.params, named_values(model.params()));
}

}  // namespace

// A pipeline file's other stages must not run again in the workers: they get the stage's own command.
std::vector<std::string> audio_pretrain_worker_command(const RunRequest& req, const std::string& run_dir) {
  std::vector<std::string> cmd = {own_command_line().at(0), "pretrain"};
  if (!req.config_path.empty()) cmd.insert(cmd.end(), {"-c", req.config_path});
  for (const std::string& kv : req.sets) cmd.insert(cmd.end(), {"--set", kv});
  if (req.resume) cmd.push_back("--resume");
  if (!req.ckpt.empty()) cmd.insert(cmd.end(), {"--ckpt", req.ckpt});
  cmd.insert(cmd.end(), {"--out", run_dir});
  return cmd;
}

AudioPretrainConfig load_audio_config(const RunRequest& req) {
  AudioPretrainConfig cfg = cfg::load<AudioPretrainConfig>(req.config_path, req.sets);
  const std::string src = req.config_path.empty() ? "(config)" : req.config_path;
  if (cfg.model.kind == AudioModelKind::unet) {
    const int64_t p = product(cfg.model.pool);
    auto check = [&](int64_t v, const char* key) {
      if (v > 0 && v % p != 0)
        MS_FAIL(src, ": ", key, " = ", v, " must be a multiple of ", p, " (the product of model.pool) for the Mamba-UNet");
    };
    check(cfg.data.window, "data.window");
    check(cfg.data.eval_window, "data.eval_window");
    check(cfg.data.eval_chunk, "data.eval_chunk");
    check(cfg.data.warmup_start, "data.warmup_start");
  }
  check_schedule(audio_window_schedule(cfg.data), {src, "data.window", "data.warmup_start", "data.warmup_stage_steps"});
  return cfg;
}

SeqLenSchedule audio_window_schedule(const AudioDataSection& d) {
  return SeqLenSchedule{d.window, d.warmup_start, d.warmup_stage_steps};
}

int64_t audio_rows_at(const AudioDataSection& d, int64_t batch_size, int64_t window) {
  return std::max<int64_t>(1, batch_size * d.window / window);
}

AudioEval evaluate_audio(const AudioModel& model, const AudioDataset& dataset, const std::vector<AudioWindow>& windows,
                         int64_t batch, int64_t chunk, const std::string& split) {
  const auto t0 = std::chrono::steady_clock::now();
  AudioEval e;
  e.split = split;
  e.window = dataset.options().window;
  e.windows = static_cast<int64_t>(windows.size());
  double loss_sum = 0;
  int64_t n_valid = 0, n_correct = 0;
  for (size_t first = 0; first < windows.size(); first += static_cast<size_t>(batch)) {
    const size_t last = std::min(windows.size(), first + static_cast<size_t>(batch));
    const std::vector<AudioWindow> rows(windows.begin() + static_cast<std::ptrdiff_t>(first),
                                        windows.begin() + static_cast<std::ptrdiff_t>(last));
    // Rows only as long as the batch's longest window (rounded up to what the model and the chunking
    // accept): a held-out span shorter than the window costs its own length, not the window's. The
    // model is causal, so the padding after a window never changes the losses of its targets.
    int64_t longest = 0;
    for (const AudioWindow& w : rows) longest = std::max(longest, w.length);
    const int64_t multiple = chunk > 0 ? std::lcm(model.length_multiple(), chunk) : model.length_multiple();
    const int64_t L = std::min(dataset.options().window, (std::max<int64_t>(longest - 1, 1) + multiple - 1) / multiple * multiple);
    AudioBatch ab = dataset.make_batch(rows, L + 1);
    TokenBatch tb = window_inputs_targets(ab);
    LossResult r = audio_loss(model, tb.inputs.to(model.device()), tb.targets.to(model.device()), chunk);
    loss_sum += r.loss_sum;
    n_valid += r.n_valid;
    n_correct += r.n_correct;
  }
  e.targets = n_valid;
  e.loss = n_valid ? loss_sum / static_cast<double>(n_valid) : 0;
  e.bits_per_sample = e.loss / std::log(2.0);
  e.accuracy = n_valid ? static_cast<double>(n_correct) / static_cast<double>(n_valid) : 0;
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

std::vector<AudioEval> eval_audio_pretrain(const RunRequest& req) {
  if (req.ckpt.empty()) MS_FAIL("eval needs a checkpoint: --ckpt runs/<name>/last.h5");
  AudioPretrainConfig cfg;
  if (!req.config_path.empty()) {
    cfg = load_audio_config(req);
  } else {
    const std::string text = read_checkpoint_config(req.ckpt);
    try {
      cfg = cfg::parse<AudioPretrainConfig>(text, req.ckpt + ":/config", req.sets);
    } catch (const std::exception& e) {
      MS_FAIL("checkpoint '", req.ckpt, "' holds no audio pretraining config (", e.what(),
              "); `mambaseq eval --ckpt` evaluates digit classifiers too");
    }
  }
  const AudioDataSection& d = cfg.data;
  AudioModel model = make_audio_model(cfg.model, int64_t{1} << d.bits, resolve_device(cfg.train));
  init_from_checkpoint(model, req.ckpt);
  const AudioFiles files = resolve_data_files(d);
  const int64_t eval_window = d.eval_window > 0 ? d.eval_window : d.window;
  std::vector<AudioEval> out;
  auto one = [&](const std::vector<std::string>& list, const std::string& split) {
    if (list.empty()) return;
    AudioDataset ds(list, data_options(d, eval_window));
    out.push_back(evaluate_audio(model, ds, heldout_windows(ds, d.eval_span), d.eval_batch, d.eval_chunk, split));
    if (!req.quiet) std::printf("%s\n", eval_line(out.back()).c_str());
  };
  one(files.valid, "valid");
  one(files.test, "test");
  const std::string dir = eval_folder(req);
  MetricsWriter metrics(dir + "/metrics.jsonl");
  for (const AudioEval& e : out)
    metrics.write(MetricsRow(0, e.split, e.loss)
                      .set("bits_per_sample", e.bits_per_sample)
                      .set("accuracy", e.accuracy)
                      .set("length", e.window)
                      .set("targets", static_cast<double>(e.targets)));
  return out;
}

AudioPretrainResult run_audio_pretrain(const RunRequest& req_in) {
  const AudioPretrainConfig cfg = load_audio_config(req_in);
  const AudioDataSection& d = cfg.data;
  const Device device = resolve_device(cfg.train);
  const int gpus = static_cast<int>(cfg.train.gpus);
  if (gpus > 1 && device != Device::cuda)
    MS_FAIL("train.gpus = ", gpus, " needs CUDA (train.device = cuda or auto, and ", gpus,
            " visible GPUs); this run resolved to the CPU");
  if (gpus > 1 && !dp::is_worker()) {  // this process only launches the group and waits for it
    AudioPretrainResult launched;
    launched.run_dir = run_folder(req_in, cfg.name);
    run_data_parallel_workers(gpus, audio_pretrain_worker_command(req_in, launched.run_dir));
    return launched;
  }
  follow_launcher();
  const dp::Env group = dp::env_from_environment();
  if (group.world != gpus)
    MS_FAIL("data-parallel worker of a group of ", group.world, " GPUs, but train.gpus = ", gpus);
  dp::init(group);
  const bool lead = group.rank == 0;
  RunRequest req = req_in;
  if (!lead) req.quiet = true;
  const int64_t vocab = int64_t{1} << d.bits;
  AudioModel model = make_audio_model(cfg.model, vocab, device);
  if (!req.resume && !req.ckpt.empty()) init_from_checkpoint(model, req.ckpt);

  const AudioFiles files = resolve_data_files(d);
  const int64_t eval_window = d.eval_window > 0 ? d.eval_window : d.window;
  AudioDataset train(files.train, data_options(d, d.window));
  AudioDataset valid(files.valid, data_options(d, eval_window));
  std::unique_ptr<AudioDataset> test;
  if (!files.test.empty()) test = std::make_unique<AudioDataset>(files.test, data_options(d, eval_window));
  const std::vector<AudioWindow> valid_windows = heldout_windows(valid, d.eval_span);
  std::vector<AudioWindow> test_windows;
  if (test) test_windows = heldout_windows(*test, d.eval_span);

  const std::string toml = cfg::to_toml(cfg);
  RunSetup run;
  if (lead) {
    run = setup_run(req, cfg.name, toml);
  } else {  // the other ranks write nothing; they read the checkpoint rank 0 resumes from
    run.files = run_files(run_folder(req, cfg.name));
    if (req.resume) run.resume_from = resume_checkpoint_path(run.files.dir, req.ckpt);
  }
  AudioPretrainResult result;
  result.run_dir = run.files.dir;
  result.model_describe = model.describe();
  const SeqLenSchedule sched = audio_window_schedule(d);
  if (!req.quiet) {
    std::printf("audio pretraining: %s\n  model: %s on %s\n  data: %s\n  train audio %.1f min, held-out %.1f min; "
                "window %lld, %lld x %lld tokens per step",
                cfg.name.c_str(), result.model_describe.c_str(), device_name(device), files.describe.c_str(),
                train.seconds() / 60, valid.seconds() / 60, static_cast<long long>(d.window),
                static_cast<long long>(cfg.train.batch_size * gpus), static_cast<long long>(d.window));
    if (gpus > 1) std::printf(" over %d GPUs (%lld rows each)", gpus, static_cast<long long>(cfg.train.batch_size));
    if (seq_len_at(sched, 0) < d.window)
      std::printf(" (warmup from %lld, doubling every %lld steps)", static_cast<long long>(d.warmup_start),
                  static_cast<long long>(d.warmup_stage_steps));
    std::printf("\n");
    std::fflush(stdout);
  }

  TrainLoop loop;
  loop.label = "pretrain " + cfg.name;
  loop.params = &model.params();
  loop.tokens_per_step = cfg.train.batch_size * d.window * gpus;
  loop.quiet = req.quiet;
  int64_t last_window = d.window;
  loop.step = [&](int64_t step) {
    const int64_t L = seq_len_at(sched, step), rows = audio_rows_at(d, cfg.train.batch_size, L);
    if (L != last_window && !req.quiet)
      std::fprintf(stderr, "pretrain: step %lld: windows of %lld samples, %lld per step\n",
                   static_cast<long long>(step + 1), static_cast<long long>(L), static_cast<long long>(rows));
    last_window = L;
    // Rank r trains on rows [r rows, (r + 1) rows) of the batch one process with gpus x rows would draw.
    AudioBatch ab = train.batch(static_cast<uint64_t>(cfg.train.seed), static_cast<uint64_t>(step), rows, L,
                                group.rank * rows);
    TokenBatch tb = window_inputs_targets(ab);
    return audio_forward_backward(model, tb.inputs.to(device), tb.targets.to(device));
  };
  loop.evaluate = [&](int64_t steps_done, bool final, MetricsWriter& metrics, Progress& progress) {
    result.evals.clear();
    auto one = [&](const AudioDataset& ds, const std::vector<AudioWindow>& w, const std::string& split) {
      AudioEval e = evaluate_audio(model, ds, w, d.eval_batch, d.eval_chunk, split);
      metrics.write(MetricsRow(steps_done, split, e.loss)
                        .set("bits_per_sample", e.bits_per_sample)
                        .set("accuracy", e.accuracy)
                        .set("length", e.window)
                        .set("targets", static_cast<double>(e.targets)));
      progress.message(eval_line(e));
      result.evals.push_back(e);
    };
    one(valid, valid_windows, "valid");
    if (final && test) one(*test, test_windows, "test");
  };
  TrainOutcome o = run_training(loop, cfg.train, cfg.optim, run.files, toml, run.resume_from);
  result.train_losses = o.losses;
  result.steps_done = o.end_step;
  result.train_seconds = o.seconds;
  if (!req.quiet) {
    for (const AudioEval& e : result.evals) std::printf("%s\n", eval_line(e).c_str());
    std::printf("run folder: %s\n", run.files.dir.c_str());
  }
  return result;
}

}  // namespace ms
