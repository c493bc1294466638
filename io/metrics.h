// runs/<name>/metrics.jsonl: one flat JSON object per line, appended and flushed line by line:
//   {"step":120,"split":"train","loss":2.31,"tokens_per_s":41000,"lr":0.0006}
//   {"step":500,"split":"valid","loss":2.05,"accuracy":0.412,"length":4096}
// "step", "split" and "loss" are always there (first, in that order); other fields follow in the order
// they were set. Non-finite numbers are written as null (JSON has no NaN).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ms {

using MetricValue = std::variant<std::monostate, bool, int64_t, double, std::string>;  // monostate: null

struct MetricsRow {
  int64_t step = 0;
  std::string split;
  std::vector<std::pair<std::string, MetricValue>> fields;  // "loss" first, then the rest

  MetricsRow() = default;
  MetricsRow(int64_t step, std::string split, double loss);

  // Sets (or replaces) a field: row.set("accuracy", 0.98).set("length", 4096).
  MetricsRow& set(const std::string& key, double v);
  MetricsRow& set(const std::string& key, bool v);
  MetricsRow& set(const std::string& key, std::string_view v);
  MetricsRow& set(const std::string& key, const char* v) { return set(key, std::string_view(v)); }
  template <class T, class = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
  MetricsRow& set(const std::string& key, T v) {
    return set_value(key, static_cast<int64_t>(v));
  }
  // A numeric field (integers converted), or nullopt when absent, null or not a number.
  std::optional<double> number(const std::string& key) const;
  const MetricValue* find(const std::string& key) const;

  std::string to_json() const;  // one line, no newline

 private:
  MetricsRow& set_value(const std::string& key, MetricValue v);
};

// Appends rows to a metrics.jsonl file (its directory is created). Each row is one write(2) of a whole
// line on an O_APPEND descriptor, so a crash never leaves half a line behind a complete one, and
// `tail -f` sees rows as they happen.
class MetricsWriter {
 public:
  MetricsWriter() = default;
  explicit MetricsWriter(const std::string& path);
  MetricsWriter(MetricsWriter&& o) noexcept;
  MetricsWriter& operator=(MetricsWriter&& o) noexcept;
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  ~MetricsWriter();

  void write(const MetricsRow& row);
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Parses a metrics.jsonl file. A malformed line is an error naming file and line, except a last line
// without its newline (a writer killed mid-line), which is ignored.
std::vector<MetricsRow> read_metrics(const std::string& path);

// For --resume from a checkpoint at `step`: drops the rows with a larger step (they will be logged again),
// rewriting the file atomically. A missing file is left missing. Call it before opening a MetricsWriter
// on the file (a writer opened earlier keeps appending to the replaced file).
void truncate_metrics_after(const std::string& path, int64_t step);

}  // namespace ms
