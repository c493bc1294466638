// Progress of a long loop on stderr: a redrawn bar with rate and ETA when stderr is a terminal,
// otherwise a plain line every few seconds (logs and CI stay readable):
//   TTY:   pretrain [##########..........]  1200/20000   6%  41.2k tok/s  ETA 12m05s  loss 2.314
//   plain: pretrain: step 1200/20000 (6.0%), 41.2k tok/s, ETA 12m05s, loss 2.314
// Rate and ETA are measured over the last ~10 seconds, so they follow changes in speed (sequence-length
// warmup) instead of averaging over the whole run.
#pragma once
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

namespace ms {

struct ProgressOptions {
  std::string label = "train";
  int64_t total_steps = 0;     // 0: unknown (no bar, no ETA)
  std::string unit = "tok";    // what the rate counts: "tok" -> "41.2k tok/s"
  double plain_every_s = 10;   // seconds between plain lines
  int tty = -1;                // -1: ask isatty(out); 0: plain lines; 1: bar
  FILE* out = stderr;
  std::function<double()> clock;  // seconds; a steady clock when empty (tests pass their own)
};

class Progress {
 public:
  // `start_step`: where the loop starts (a resumed run starts after its checkpoint's step).
  explicit Progress(ProgressOptions options, int64_t start_step = 0);
  // After each step: `step` is the number of steps done so far (absolute), `units` what this step
  // processed (tokens, samples), `status` extra text such as "loss 2.314".
  void update(int64_t step, int64_t units, std::string_view status = {});
  // A line of its own (an evaluation result, a checkpoint note) that does not garble the bar.
  void message(std::string_view line);
  // The closing line: steps done, elapsed time, average rate.
  void finish(std::string_view status = {});
  bool is_tty() const { return tty_; }

 private:
  struct Sample {
    double t;
    int64_t step, units;
  };
  ProgressOptions opt_;
  bool tty_;
  bool bar_shown_ = false;
  int64_t start_step_, step_;
  int64_t units_ = 0;  // since start
  double t0_, last_print_ = -1e300;
  std::string status_;
  std::deque<Sample> window_;

  double now() const;
  std::string line(bool bar) const;
  void draw_bar();
};

// "950", "41.2k", "3.05M", "1.20G"
std::string format_count(double x);
// "42s", "4m05s", "1h02m", "3d04h"; "?" when not finite or negative
std::string format_duration(double seconds);

}  // namespace ms
