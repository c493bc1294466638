// metrics.jsonl: rows written one line each, read back equal, torn last lines ignored, resume truncation.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/metrics.h"
#include "tests/test_util.h"

namespace {

using ms::test::error_of;

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Metrics, RowsAreOneJsonObjectPerLine) {
  ms::MetricsRow row(120, "train", 2.5);
  row.set("tokens_per_s", 41000.25).set("length", 4096).set("lr", 6e-4).set("note", "a \"b\"\n\\").set("ok", true);
  EXPECT_EQ(row.to_json(),
            "{\"step\":120,\"split\":\"train\",\"loss\":2.5,\"tokens_per_s\":41000.25,\"length\":4096,\"lr\":0.0006,"
            "\"note\":\"a \\\"b\\\"\\n\\\\\",\"ok\":true}");
  ms::MetricsRow nan_row(3, "valid", std::nan(""));
  nan_row.set("accuracy", INFINITY);
  EXPECT_EQ(nan_row.to_json(), "{\"step\":3,\"split\":\"valid\",\"loss\":null,\"accuracy\":null}");
  row.set("length", 8192);  // replaces, keeps its place
  EXPECT_EQ(row.number("length"), 8192.0);
  EXPECT_EQ(row.fields.size(), 6u);
  EXPECT_FALSE(row.number("note").has_value());
  EXPECT_FALSE(row.number("missing").has_value());
}

TEST(Metrics, WriteAppendReadBack) {
  ms::Rng rng(ms::test::test_seed());
  const std::string path = ms::test::temp_dir() + "/runs/x/metrics.jsonl";  // directories are created
  std::vector<ms::MetricsRow> rows;
  {
    ms::MetricsWriter w(path);
    for (int64_t s = 1; s <= 30; ++s) {
      ms::MetricsRow r(s, s % 10 == 0 ? "valid" : "train", rng.uniform() * 5);
      if (s % 10 == 0) r.set("accuracy", rng.uniform()).set("length", int64_t{1} << (s / 10 + 8));
      r.set("lr", rng.uniform() * 1e-3).set("name", "é \x01");
      w.write(r);
      rows.push_back(r);
      // Flushed per line: the file holds every row written so far.
      if (s == 7) {
        EXPECT_EQ(ms::read_metrics(path).size(), 7u);
      }
    }
  }
  {
    ms::MetricsWriter again(path);  // appends
    ms::MetricsRow r(31, "test", 0.25);
    again.write(r);
    rows.push_back(r);
  }
  const auto back = ms::read_metrics(path);
  ASSERT_EQ(back.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(back[i].to_json(), rows[i].to_json());
    EXPECT_EQ(back[i].step, rows[i].step);
    EXPECT_EQ(back[i].split, rows[i].split);
    EXPECT_EQ(back[i].number("loss"), rows[i].number("loss"));  // exact: shortest round-trip text
  }
}

TEST(Metrics, TornLastLineIsIgnoredAndBadLinesAreErrors) {
  const std::string dir = ms::test::temp_dir(), path = dir + "/metrics.jsonl";
  std::ofstream(path) << "{\"step\":1,\"split\":\"train\",\"loss\":1}\n{\"step\":2,\"split\":\"tr";
  EXPECT_EQ(ms::read_metrics(path).size(), 1u);
  std::ofstream(path) << "{\"step\":1,\"split\":\"train\",\"loss\":1}\n{\"step\":2,\"loss\":1}\n";
  EXPECT_EQ(error_of([&] { ms::read_metrics(path); }),
            path + ":2: not a metrics row: missing \"step\" or \"split\" at column 20");
  std::ofstream(path) << "{\"step\":1.5,\"split\":\"train\"}\n";
  EXPECT_EQ(error_of([&] { ms::read_metrics(path); }),
            path + ":1: not a metrics row: \"step\" must be an integer at column 12");
  EXPECT_EQ(error_of([&] { ms::read_metrics(dir + "/none.jsonl"); }),
            "metrics file '" + dir + "/none.jsonl' does not exist");
}

TEST(Metrics, TruncateAfterResumeStepDropsLaterRows) {
  const std::string path = ms::test::temp_dir() + "/metrics.jsonl";
  {
    ms::MetricsWriter w(path);
    for (int64_t s = 1; s <= 15; ++s) w.write(ms::MetricsRow(s, "train", 1.0 / static_cast<double>(s)));
  }
  const std::string before = file_text(path);
  ms::truncate_metrics_after(path, 10);
  const auto rows = ms::read_metrics(path);
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows.back().step, 10);
  EXPECT_EQ(file_text(path), before.substr(0, file_text(path).size()));  // the same bytes, cut
  ms::truncate_metrics_after(path + ".absent", 3);                         // nothing to do
  EXPECT_FALSE(std::filesystem::exists(path + ".absent"));
}

}  // namespace
