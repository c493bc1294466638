// Audio pretraining (`mambaseq pretrain -c configs/piano_*.toml`, routed here by domain = "audio"):
// next-sample cross-entropy on 8-bit waveform tokens with a Mamba-UNet or a MambaLM, held-out bits per
// sample over windows that cover the held-out files, metrics rows, checkpoints and exact --resume, all
// through run_training (pipelines/trainer.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/seq_len_schedule.h"
#include "pipelines/audio_config.h"
#include "pipelines/audio_model.h"

namespace ms {

struct AudioEval {
  std::string split;            // "valid" or "test"
  int64_t window = 0;           // evaluation window length
  int64_t windows = 0;          // windows scored
  int64_t targets = 0;          // samples scored
  double loss = 0;              // nats per sample
  double bits_per_sample = 0;   // loss / ln 2
  double accuracy = 0;          // argmax == next sample
  double seconds = 0;
};

struct AudioPretrainResult {
  std::vector<double> train_losses;  // per step of this invocation
  std::vector<AudioEval> evals;      // the last evaluation (final: valid and test)
  int64_t steps_done = 0;
  double train_seconds = 0;
  std::string run_dir;
  std::string model_describe;
};

AudioPretrainResult run_audio_pretrain(const RunRequest& req);
// With train.gpus > 1 the call above launches one worker per GPU running this command line: `req` as
// `mambaseq pretrain` flags (also for a stage of a pipeline file), the run folder spelled out.
std::vector<std::string> audio_pretrain_worker_command(const RunRequest& req, const std::string& run_dir);

// `mambaseq eval --ckpt` of an audio language model: held-out (valid, test) bits per sample, printed and
// written as metrics rows to --out (default: eval/ next to the checkpoint). The config is -c's or the
// checkpoint's own.
std::vector<AudioEval> eval_audio_pretrain(const RunRequest& req);

// Loads a pretraining config from the request (file + --set) and checks what the sections alone cannot:
// the model's length multiple against the window lengths, the warmup against the window.
AudioPretrainConfig load_audio_config(const RunRequest& req);

// The training window at each step (data.warmup_start / warmup_stage_steps, up to data.window), and the
// rows of a step at window `window`: batch_size x data.window tokens per step throughout.
SeqLenSchedule audio_window_schedule(const AudioDataSection& d);
int64_t audio_rows_at(const AudioDataSection& d, int64_t batch_size, int64_t window);

// Held-out loss of `model` over `windows` of `dataset` (batches of `batch`, chunked by `chunk`).
AudioEval evaluate_audio(const AudioModel& model, const AudioDataset& dataset, const std::vector<AudioWindow>& windows,
                         int64_t batch, int64_t chunk, const std::string& split);

}  // namespace ms
