// The spoken-digit classifier (issue 6): a Mamba-UNet (or MambaLM) backbone + mean-pooled linear head,
// fine-tuned (or trained from scratch) on the SC09-like espeak-ng digits of scripts/prepare-audio.sh,
// whose train/valid/test splits are by speaker; evaluated on the held-out speakers and on the real
// recordings (csmash, Asterisk's Allison). The trained classifier then scores generated digits in the
// spirit of SC09's Inception-style metrics (score_generated_digits).
//   mambaseq finetune -c configs/digits_classifier.toml            (routed here by domain = "audio")
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pipelines/audio_config.h"

namespace ms {

struct DigitsDataSection : AudioFormatFields {
  std::string train = "data/audio/sc09/train";  // <split>/<class>/*.wav: the class is the parent folder
  std::string valid = "data/audio/sc09/valid";
  std::string test = "data/audio/sc09/test";
  std::string test_speakers;            // optional: held-out speakers of the training accents (SC09's protocol)
  std::string real_test = "data/audio/sc09-real/test";  // optional ("" skips it)
  int64_t window = 16000;              // samples per clip fed to the model (longer clips: the first window)
  int64_t eval_batch = 16;             // clips per evaluation forward
  int64_t eval_max_files = 0;          // > 0: evaluations during training use this many valid clips (spread evenly)
  int64_t shift = 0;                   // training augmentation: random time shift of up to +-shift samples
  double gain_db = 0;                  // training augmentation: random gain in +-gain_db dB (before quantization)
  double speed = 0;                    // training augmentation: play at a random speed in [1/(1+speed), 1+speed]
};
void bind(cfg::Binder& b, DigitsDataSection& c);
// The [data] of the audio pipelines with these settings (for the dataset options).
AudioDataSection as_audio_data(const DigitsDataSection& d);

struct ClassifierSection {
  std::string pooling = "mean";         // mean | last
  std::string init;                     // checkpoint whose backbone initializes the model (e.g. audio pretraining)
  std::vector<std::string> classes;     // filled from the training folders; stored so the checkpoint knows them
  int64_t seed = 0;                     // head initialization
};
void bind(cfg::Binder& b, ClassifierSection& c);

struct DigitsConfig {
  std::string domain = "audio";
  std::string task = "classify";        // tells `finetune` configs from `pretrain` ones
  std::string name = "digits_classifier";
  DigitsDataSection data;
  AudioModelSection model;
  ClassifierSection classifier;
  TrainSection train;
  OptimSection optim;
};
void bind(cfg::Binder& b, DigitsConfig& c);

struct ClassifierEval {
  std::string split;
  int64_t n = 0, correct = 0;
  double loss = 0, accuracy = 0, seconds = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  // Clips and correct ones per speaker group: a file name's part before its first '_' (the espeak-ng
  // voice, i.e. the accent, in the files of scripts/prepare-audio.sh), sorted by name.
  std::map<std::string, std::pair<int64_t, int64_t>> groups;
};

// The model's input for one clip: `window` tokens of `pcm` played at `speed` (1: as is; linear
// interpolation otherwise), delayed by `shift` samples, scaled by `gain`, quantized through `table`
// (indexed by the 16-bit sample + 32768); `silence` where there is no sample.
void digit_clip_tokens(const std::vector<int16_t>& pcm, int64_t window, int64_t shift, double gain, double speed,
                       const std::vector<int32_t>& table, int32_t silence, int32_t* out);
// The speaker group of a clip file (see ClassifierEval::groups).
std::string speaker_group(const std::string& path);

struct DigitsResult {
  std::vector<double> train_losses, train_accuracies;
  std::vector<ClassifierEval> evals;  // last evaluation (final: valid, test, real)
  std::vector<std::string> classes;
  int64_t steps_done = 0;
  double train_seconds = 0;
  std::string run_dir;
};

// Trains (or resumes) the classifier; writes metrics rows, checkpoints, and at the end
// confusion_<split>.tsv and per_class.tsv in the run folder.
DigitsResult run_digit_classifier(const RunRequest& req);

// Evaluates a trained classifier checkpoint (`mambaseq eval --ckpt`) on the held-out splits of its config
// (valid, test, test_speakers, real_test; --set data.test=DIR etc. points at other clips, -c at another
// config): prints them, writes metrics.jsonl, confusion_<split>.tsv, per_class.tsv and per_group.tsv in
// req.out (default: the checkpoint's folder/eval).
std::vector<ClassifierEval> eval_digit_classifier(const RunRequest& req);

// SC09-style scores of generated clips under a trained classifier.
struct DigitScores {
  int64_t n = 0;
  double confident_share = 0;   // share of clips whose top class has probability > 0.5
  double mean_confidence = 0;   // mean top-class probability
  double class_entropy = 0;     // entropy (bits) of the batch's mean class distribution (max log2(C))
  double argmax_entropy = 0;    // entropy (bits) of the histogram of predicted classes
  double inception_score = 0;   // exp(mean KL(p(y|x) || p(y)))
  std::vector<std::string> classes;
  std::vector<int64_t> histogram;  // predicted classes
  std::vector<int> predicted;
  std::vector<double> confidence;
};
// Scores waveforms (floats in [-1, 1), each at `sample_rate` Hz; resampled when the classifier's rate
// differs, cut or padded with silence to its window) with the classifier checkpoint at `ckpt`, on `device`.
DigitScores score_generated_digits(const std::string& ckpt, const std::vector<std::vector<float>>& waveforms,
                                   int sample_rate, Device device = Device::cpu);

}  // namespace ms
