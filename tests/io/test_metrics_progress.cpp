// Progress reporter: plain periodic lines off a TTY, a redrawn bar on one, rate and ETA from a fake clock.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "io/progress.h"

namespace {

std::string read_all(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t nl; (nl = s.find('\n', pos)) != std::string::npos; pos = nl + 1) out.push_back(s.substr(pos, nl - pos));
  return out;
}

TEST(Progress, PlainLinesEveryIntervalWithRateAndEta) {
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  double t = 100.0;
  ms::ProgressOptions opt;
  opt.label = "pretrain";
  opt.total_steps = 100;
  opt.plain_every_s = 10;
  opt.tty = 0;
  opt.out = f;
  opt.clock = [&] { return t; };
  ms::Progress p(opt, 20);  // resumed at step 20
  for (int64_t step = 21; step <= 45; ++step) {
    t += 1.0;  // one step per second, 2048 tokens per step
    p.update(step, 2048, "loss " + std::to_string(step));
  }
  p.message("eval: accuracy 0.5");
  p.finish("loss 1.25");
  const auto lines = lines_of(read_all(f));
  std::fclose(f);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "pretrain: step 21/100 (21.0%), 2.05k tok/s, ETA 1m19s, loss 21");
  EXPECT_EQ(lines[1], "pretrain: step 31/100 (31.0%), 2.05k tok/s, ETA 1m09s, loss 31");
  EXPECT_EQ(lines[2], "pretrain: step 41/100 (41.0%), 2.05k tok/s, ETA 59s, loss 41");
  EXPECT_EQ(lines[3], "eval: accuracy 0.5");
  EXPECT_EQ(lines[4], "pretrain: 25 steps in 25s, 2.05k tok/s, loss 1.25");
}

TEST(Progress, RateFollowsTheLastSecondsNotTheWholeRun) {
  FILE* f = std::tmpfile();
  double t = 0;
  ms::ProgressOptions opt;
  opt.total_steps = 1100;
  opt.plain_every_s = 0;  // a line per update
  opt.tty = 0;
  opt.out = f;
  opt.clock = [&] { return t; };
  ms::Progress p(opt);
  for (int64_t s = 1; s <= 100; ++s) t += 1.0, p.update(s, 100);     // slow: 100 tok/s, 1 step/s
  for (int64_t s = 101; s <= 1100; ++s) t += 0.01, p.update(s, 100); // fast: 10k tok/s, 100 steps/s
  const auto lines = lines_of(read_all(f));
  std::fclose(f);
  ASSERT_EQ(lines.size(), 1100u);
  EXPECT_EQ(lines[0], "train: step 1/1100 (0.1%), 100 tok/s, ETA 18m19s");
  EXPECT_EQ(lines[99], "train: step 100/1100 (9.1%), 100 tok/s, ETA 16m40s");
  // 10 s into the fast phase the window holds only it.
  EXPECT_EQ(lines[1099], "train: step 1100/1100 (100.0%), 10.0k tok/s, ETA 0s");
}

TEST(Progress, BarOnATtyIsRedrawnInPlace) {
  FILE* f = std::tmpfile();
  double t = 0;
  ms::ProgressOptions opt;
  opt.label = "synth";
  opt.total_steps = 50;
  opt.tty = 1;
  opt.out = f;
  opt.unit = "seq";
  opt.clock = [&] { return t; };
  ms::Progress p(opt);
  for (int64_t s = 1; s <= 50; ++s) {
    t += 0.05;  // redraws are throttled to one per 0.1 s
    p.update(s, 8, "acc 0.9");
    if (s == 25) p.message("checkpoint saved");
  }
  p.finish();
  const std::string out = read_all(f);
  std::fclose(f);
  EXPECT_NE(out.find("\rsynth [############............] 25/50 50%  160 seq/s  ETA 1s  acc 0.9\033[K"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\r\033[Kcheckpoint saved\n\rsynth ["), std::string::npos) << out;
  EXPECT_NE(out.find("\rsynth [########################] 50/50 100%  160 seq/s  ETA 0s  acc 0.9\033[K\n"
                     "synth: 50 steps in 2s, 160 seq/s, acc 0.9\n"),
            std::string::npos)
      << out;
  // Throttled: far fewer redraws than updates.
  size_t redraws = 0;
  for (size_t pos = 0; (pos = out.find("\rsynth [", pos)) != std::string::npos; ++pos) ++redraws;
  EXPECT_LE(redraws, 30u);
  EXPECT_GE(redraws, 20u);
}

TEST(Progress, Formatting) {
  EXPECT_EQ(ms::format_count(950), "950");
  EXPECT_EQ(ms::format_count(2.5), "2.5");
  EXPECT_EQ(ms::format_count(41234), "41.2k");
  EXPECT_EQ(ms::format_count(3.05e6), "3.05M");
  EXPECT_EQ(ms::format_count(999999), "1.00M");
  EXPECT_EQ(ms::format_count(1.2e9), "1.20G");
  EXPECT_EQ(ms::format_duration(42), "42s");
  EXPECT_EQ(ms::format_duration(245), "4m05s");
  EXPECT_EQ(ms::format_duration(3720), "1h02m");
  EXPECT_EQ(ms::format_duration(3 * 86400 + 4 * 3600 + 100), "3d04h");
  EXPECT_EQ(ms::format_duration(NAN), "?");
}

}  // namespace
