#include "io/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace ms {
namespace {

constexpr double kWindowS = 10.0;   // rate and ETA over the last seconds
constexpr double kRedrawS = 0.1;    // bar redraws at most this often

int terminal_columns(FILE* out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 100;
}

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

}  // namespace

std::string format_count(double x) {
  const double a = std::fabs(x);
  if (!std::isfinite(x)) return "?";
  if (a < 1e3) return fixed(x, a < 10 && a != std::floor(a) ? 1 : 0);
  const char* suffix[] = {"k", "M", "G", "T"};
  int i = 0;
  double v = x / 1e3;
  while (std::fabs(v) >= 999.5 && i < 3) v /= 1e3, ++i;
  const double av = std::fabs(v);
  return fixed(v, av < 9.995 ? 2 : av < 99.95 ? 1 : 0) + suffix[i];
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto total = static_cast<int64_t>(std::llround(s));
  const int64_t d = total / 86400, h = total / 3600 % 24, m = total / 60 % 60, sec = total % 60;
  char buf[64];
  if (d > 0) std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(d), static_cast<long long>(h));
  else if (h > 0) std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(h), static_cast<long long>(m));
  else if (m > 0) std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(m), static_cast<long long>(sec));
  else std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(sec));
  return buf;
}

Progress::Progress(ProgressOptions options, int64_t start_step)
    : opt_(std::move(options)), start_step_(start_step), step_(start_step) {
  if (!opt_.out) opt_.out = stderr;
  tty_ = opt_.tty >= 0 ? opt_.tty == 1 : isatty(fileno(opt_.out)) == 1;
  t0_ = now();
  window_.push_back({t0_, start_step_, 0});
}

double Progress::now() const {
  if (opt_.clock) return opt_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Progress::update(int64_t step, int64_t units, std::string_view status) {
  const double t = now();
  step_ = step;
  units_ += units;
  status_ = status;
  window_.push_back({t, step_, units_});
  while (window_.size() > 2 && window_[1].t <= t - kWindowS) window_.pop_front();
  const bool last = opt_.total_steps > 0 && step_ >= opt_.total_steps;
  if (tty_) {
    if (t - last_print_ >= kRedrawS || last) {
      draw_bar();
      last_print_ = t;
    }
  } else if (t - last_print_ >= opt_.plain_every_s) {
    std::fprintf(opt_.out, "%s\n", line(false).c_str());
    std::fflush(opt_.out);
    last_print_ = t;
  }
}

std::string Progress::line(bool bar) const {
  const Sample& a = window_.front();
  const Sample& b = window_.back();
  const double dt = b.t - a.t;
  const double rate = dt > 0 ? static_cast<double>(b.units - a.units) / dt : NAN;
  const double steps_per_s = dt > 0 ? static_cast<double>(b.step - a.step) / dt : NAN;
  const bool known_total = opt_.total_steps > 0;
  std::string eta;
  if (known_total) {
    const double left = static_cast<double>(opt_.total_steps - step_);
    eta = left <= 0 ? "0s" : steps_per_s > 0 ? format_duration(left / steps_per_s) : "?";
  }
  const std::string rate_text = std::isfinite(rate) ? format_count(rate) + " " + opt_.unit + "/s" : "";
  std::string out;
  if (bar) {
    out = opt_.label;
    if (known_total) {
      const double frac = std::clamp(static_cast<double>(step_) / static_cast<double>(opt_.total_steps), 0.0, 1.0);
      const int width = 24, filled = static_cast<int>(frac * width);
      out += " [" + std::string(filled, '#') + std::string(width - filled, '.') + "] " + std::to_string(step_) + "/" +
             std::to_string(opt_.total_steps) + " " + fixed(100 * frac, 0) + "%";
    } else {
      out += " step " + std::to_string(step_);
    }
    if (!rate_text.empty()) out += "  " + rate_text;
    if (known_total) out += "  ETA " + eta;
    if (!status_.empty()) out += "  " + status_;
  } else {
    out = opt_.label + ": step " + std::to_string(step_);
    if (known_total)
      out += "/" + std::to_string(opt_.total_steps) + " (" +
             fixed(100.0 * static_cast<double>(step_) / static_cast<double>(opt_.total_steps), 1) + "%)";
    if (!rate_text.empty()) out += ", " + rate_text;
    if (known_total) out += ", ETA " + eta;
    if (!status_.empty()) out += ", " + status_;
  }
  return out;
}

void Progress::draw_bar() {
  std::string text = line(true);
  const size_t cols = static_cast<size_t>(terminal_columns(opt_.out)) - 1;
  if (text.size() > cols) text.resize(cols);  // a wrapped line could not be redrawn in place
  std::fprintf(opt_.out, "\r%s\033[K", text.c_str());
  std::fflush(opt_.out);
  bar_shown_ = true;
}

void Progress::message(std::string_view text) {
  if (tty_ && bar_shown_) std::fprintf(opt_.out, "\r\033[K");
  std::fprintf(opt_.out, "%.*s\n", static_cast<int>(text.size()), text.data());
  if (tty_ && bar_shown_) draw_bar();
  std::fflush(opt_.out);
}

void Progress::finish(std::string_view status) {
  if (!status.empty()) status_ = status;
  if (tty_ && bar_shown_) {
    draw_bar();
    std::fprintf(opt_.out, "\n");
  }
  const double elapsed = now() - t0_;
  const int64_t steps = step_ - start_step_;
  std::string out = opt_.label + ": " + std::to_string(steps) + " steps in " + format_duration(elapsed);
  if (elapsed > 0 && units_ > 0) out += ", " + format_count(static_cast<double>(units_) / elapsed) + " " + opt_.unit + "/s";
  if (!status_.empty()) out += ", " + status_;
  std::fprintf(opt_.out, "%s\n", out.c_str());
  std::fflush(opt_.out);
}

}  // namespace ms
