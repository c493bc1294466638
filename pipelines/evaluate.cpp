#include "pipelines/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "io/atomic_file.h"
#include "kernels/check.h"

namespace ms {

double LmEval::bits() const { return loss / std::log(2.0); }
double LmEval::perplexity() const { return std::exp(loss); }

LmEval evaluate_lm(const SequenceModel& model, const TokenSource& source, const EvalSpec& spec) {
  MS_CHECK(model.loss && source.eval_batches && source.eval_batch, "evaluate_lm: incomplete model or source");
  MS_CHECK(spec.length >= 1 && spec.batch >= 1, "evaluate_lm: length ", spec.length, " and batch ", spec.batch,
           " must be positive");
  const auto t0 = std::chrono::steady_clock::now();
  LmEval e;
  e.length = spec.length;
  double loss_sum = 0;
  int64_t correct = 0;
  const int64_t n = source.eval_batches(spec);
  for (int64_t i = 0; i < n; ++i) {
    TokenBatch b = source.eval_batch(i, spec);
    LossResult r = model.loss(b.inputs.to(model.device), b.targets.to(model.device));
    loss_sum += r.loss_sum;
    e.targets += r.n_valid;
    correct += r.n_correct;
    e.windows += b.inputs.size(0);
  }
  if (e.targets > 0) {
    e.loss = loss_sum / static_cast<double>(e.targets);
    e.accuracy = static_cast<double>(correct) / static_cast<double>(e.targets);
  }
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

// ---------------------------------------------------------------- classification

Confusion::Confusion(std::vector<std::string> names) : classes(std::move(names)) {
  counts.assign(classes.size(), std::vector<int64_t>(classes.size(), 0));
}

void Confusion::add(int truth, int predicted) {
  const int n = static_cast<int>(classes.size());
  MS_CHECK(truth >= 0 && truth < n && predicted >= 0 && predicted < n, "Confusion::add: classes ", truth, ", ",
           predicted, " of ", n);
  ++counts[truth][predicted];
}

int64_t Confusion::total() const {
  int64_t t = 0;
  for (const auto& row : counts)
    for (int64_t v : row) t += v;
  return t;
}

int64_t Confusion::correct() const {
  int64_t t = 0;
  for (size_t i = 0; i < counts.size(); ++i) t += counts[i][i];
  return t;
}

double Confusion::accuracy() const {
  const int64_t t = total();
  return t ? static_cast<double>(correct()) / static_cast<double>(t) : 0.0;
}

double Confusion::class_accuracy(int c) const {
  int64_t n = 0;
  for (int64_t v : counts.at(c)) n += v;
  return n ? static_cast<double>(counts[c][c]) / static_cast<double>(n) : 0.0;
}

std::string format_confusion(const Confusion& c) {
  const size_t n = c.classes.size();
  size_t w = 10;  // column width: the longest class name, at least 10
  for (const auto& s : c.classes) w = std::max(w, s.size() + 1);
  auto cell = [&](const std::string& s, size_t width) {
    return std::string(width > s.size() ? width - s.size() : 1, ' ') + s;
  };
  std::string out = cell("true \\ predicted", w + 8);
  for (const auto& s : c.classes) out += cell(s, w);
  out += cell("accuracy", 10) + "\n";
  for (size_t i = 0; i < n; ++i) {
    out += cell(c.classes[i], w + 8);
    for (size_t j = 0; j < n; ++j) out += cell(std::to_string(c.counts[i][j]), w);
    char acc[32];
    std::snprintf(acc, sizeof acc, "%.2f%%", 100 * c.class_accuracy(static_cast<int>(i)));
    out += cell(acc, 10) + "\n";
  }
  char tail[96];
  std::snprintf(tail, sizeof tail, "overall accuracy %.2f%% (%lld of %lld)\n", 100 * c.accuracy(),
                static_cast<long long>(c.correct()), static_cast<long long>(c.total()));
  return out + tail;
}

void write_confusion(const std::string& dir, const Confusion& c) {
  std::string conf = "true\\predicted";
  for (const auto& s : c.classes) conf += "\t" + s;
  conf += "\n";
  std::string per = "class\tsamples\tcorrect\taccuracy\n";
  for (size_t i = 0; i < c.classes.size(); ++i) {
    conf += c.classes[i];
    int64_t n = 0;
    for (int64_t v : c.counts[i]) {
      conf += '\t';
      conf += std::to_string(v);
      n += v;
    }
    conf += "\n";
    char acc[32];
    std::snprintf(acc, sizeof acc, "%.6f", c.class_accuracy(static_cast<int>(i)));
    per += c.classes[i] + "\t" + std::to_string(n) + "\t" + std::to_string(c.counts[i][i]) + "\t" + acc + "\n";
  }
  atomic_write_text(dir + "/confusion.tsv", conf);
  atomic_write_text(dir + "/per_class.tsv", per);
}

}  // namespace ms
