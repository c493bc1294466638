// Random genomes written as FASTA (plain, gzip, bgzip) for the DNA I/O tests: soft-masked runs, N runs,
// per-contig line widths, so every test reads a fresh file it knows the exact content of.
#pragma once
#include <htslib/bgzf.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "io/fasta_file.h"
#include "kernels/random.h"
#include "tests/test_util.h"

namespace ms::test {

struct FakeContig {
  std::string name, description;
  std::string seq;  // as written to the file (case and IUPAC letters kept)
  int line_width = 60;
};

// Random bases with runs of lowercase (soft-masked) and of N; `iupac` also sprinkles R Y S W K M B D H V.
inline std::string random_bases(Rng& rng, int64_t n, bool iupac = false) {
  static const char kBases[] = "ACGT";
  static const char kIupac[] = "RYSWKMBDHV";
  std::string s(static_cast<size_t>(n), 'A');
  for (auto& c : s) c = kBases[rng.below(4)];
  for (int64_t i = 0; i < n;) {  // runs
    int64_t len = 1 + static_cast<int64_t>(rng.below(40));
    uint64_t kind = rng.below(10);
    for (int64_t j = i; j < i + len && j < n; ++j) {
      if (kind < 3) s[j] = static_cast<char>(s[j] - 'A' + 'a');  // soft-masked run
      else if (kind == 3) s[j] = rng.below(2) ? 'N' : 'n';       // N run
    }
    i += len + static_cast<int64_t>(rng.below(120));
  }
  if (iupac)
    for (int k = 0; k < 5 && n > 0; ++k) s[rng.below(static_cast<uint64_t>(n))] = kIupac[rng.below(10)];
  return s;
}

inline std::vector<FakeContig> random_genome(Rng& rng, int n_contigs, int64_t min_len, int64_t max_len,
                                             bool iupac = false) {
  std::vector<FakeContig> g;
  for (int i = 0; i < n_contigs; ++i) {
    FakeContig c;
    c.name = "chr" + std::to_string(i + 1);
    if (i % 3 == 1) c.name = "scaffold_" + std::to_string(i) + "|x";
    c.description = i % 2 ? "random contig " + std::to_string(i) : "";
    c.seq = random_bases(rng, min_len + static_cast<int64_t>(rng.below(static_cast<uint64_t>(max_len - min_len + 1))), iupac);
    static const int kWidths[] = {60, 70, 50, 80, 61, 1000};
    c.line_width = kWidths[rng.below(6)];
    g.push_back(std::move(c));
  }
  return g;
}

inline std::string fasta_text(const std::vector<FakeContig>& g, bool crlf = false) {
  std::string out;
  const char* nl = crlf ? "\r\n" : "\n";
  for (const auto& c : g) {
    out += ">" + c.name + (c.description.empty() ? "" : " " + c.description) + nl;
    for (size_t i = 0; i < c.seq.size(); i += c.line_width) out += c.seq.substr(i, c.line_width) + nl;
  }
  return out;
}

// Writes `text` uncompressed, as one gzip stream, or as BGZF (htslib's writer, as bgzip does).
inline void write_file(const std::string& path, const std::string& text, fasta::Compression c) {
  if (c == fasta::Compression::none) {
    std::ofstream(path, std::ios::binary) << text;
    return;
  }
  BGZF* fp = bgzf_open(path.c_str(), c == fasta::Compression::gzip ? "wg" : "w");
  ASSERT_TRUE(fp) << path;
  ASSERT_EQ(bgzf_write(fp, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ASSERT_EQ(bgzf_close(fp), 0);
}

inline std::string write_genome(const std::string& dir, const std::string& name, const std::vector<FakeContig>& g,
                                fasta::Compression c, bool crlf = false) {
  std::string path = dir + "/" + name;
  write_file(path, fasta_text(g, crlf), c);
  return path;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a shell command and returns its stdout (stderr is dropped); sets *rc to its exit status.
inline std::string run_command(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return out;
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = pclose(p);
  if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// Expects `fn` to throw ms::Error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an error mentioning '" << *parts.begin() << "'";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
  }
}

}  // namespace ms::test
