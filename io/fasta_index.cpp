#include "io/fasta_index.h"

#include <htslib/faidx.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "kernels/check.h"

namespace ms::fasta {
namespace fs = std::filesystem;

int FastaIndex::find(std::string_view name) const {
  for (size_t i = 0; i < contigs.size(); ++i)
    if (contigs[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string default_cache_dir() {
  if (const char* d = std::getenv("MAMBASEQ_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/mambaseq";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/mambaseq";
  return (fs::temp_directory_path() / "mambaseq-cache").string();
}

static bool parse_i64(std::string_view s, int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<FaiEntry> read_fai(const std::string& fai_path) {
  std::ifstream in(fai_path);
  if (!in) MS_FAIL("cannot read FASTA index '", fai_path, "'");
  std::vector<FaiEntry> out;
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    if (line.empty()) continue;
    std::vector<std::string_view> f;
    std::string_view rest(line);
    for (size_t tab; (tab = rest.find('\t')) != std::string_view::npos; rest.remove_prefix(tab + 1))
      f.push_back(rest.substr(0, tab));
    f.push_back(rest);
    FaiEntry e;
    if (f.size() != 5 || f[0].empty() || !parse_i64(f[1], e.length) || !parse_i64(f[2], e.offset) ||
        !parse_i64(f[3], e.line_bases) || !parse_i64(f[4], e.line_bytes))
      MS_FAIL("FASTA index '", fai_path, "' line ", lineno,
              ": expected 5 tab-separated fields NAME LENGTH OFFSET LINEBASES LINEWIDTH (delete the file to rebuild it)");
    e.name = std::string(f[0]);
    out.push_back(std::move(e));
  }
  return out;
}

// The index is usable when it exists and is not older than the FASTA.
static bool fresh(const std::string& index, fs::file_time_type fasta_time) {
  std::error_code ec;
  auto t = fs::last_write_time(index, ec);
  return !ec && t >= fasta_time;
}

static std::string hex64(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Builds into temporary names and renames, so a reader never sees a half-written index and two
// processes indexing the same file at once both end with a complete one.
static bool build_index(const std::string& fasta, const std::string& fai, const std::string& gzi) {
  static std::atomic<int> counter{0};
  std::string tag = ".tmp" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  std::string tfai = fai + tag, tgzi = gzi.empty() ? std::string() : gzi + tag;
  int rc = fai_build3(fasta.c_str(), tfai.c_str(), tgzi.empty() ? nullptr : tgzi.c_str());
  std::error_code ec;
  if (rc == 0 && !gzi.empty()) fs::rename(tgzi, gzi, ec);
  if (rc == 0 && !ec) fs::rename(tfai, fai, ec);
  fs::remove(tfai, ec);
  if (!tgzi.empty()) fs::remove(tgzi, ec);
  return rc == 0 && fresh(fai, fs::file_time_type::min());
}

// Where the cache keeps the index of `fasta`: <cache>/faidx/<file name>.<hash of the absolute path>.
static fs::path cache_index_base(const std::string& fasta, const std::string& cache_dir) {
  std::string cache = cache_dir.empty() ? default_cache_dir() : cache_dir;
  std::string abs = fs::weakly_canonical(fs::absolute(fasta)).string();
  uint64_t h = 1469598103934665603ULL;
  for (char c : abs) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return fs::path(cache) / "faidx" / (fs::path(fasta).filename().string() + "." + hex64(h));
}

std::vector<FaiEntry> existing_index_contigs(const std::string& fasta, const std::string& cache_dir) {
  std::error_code ec;
  const auto fasta_time = fs::last_write_time(fasta, ec);
  if (ec) return {};
  for (const std::string& fai : {fasta + ".fai", cache_index_base(fasta, cache_dir).string() + ".fai"}) {
    if (!fresh(fai, fasta_time)) continue;
    try {
      return read_fai(fai);
    } catch (const Error&) {
      return {};  // a damaged index is rebuilt by ensure_fasta_index when random access needs it
    }
  }
  return {};
}

FastaIndex ensure_fasta_index(const std::string& fasta, const std::string& cache_dir_in) {
  FastaIndex idx;
  idx.fasta = fasta;
  idx.compression = check_fasta_file(fasta);
  if (idx.compression == Compression::gzip)
    MS_FAIL("'", fasta, "' is plain gzip, which has no random access (it can only be streamed); ",
            bgzip_advice(fasta, Compression::gzip));
  const bool bgzf = idx.compression == Compression::bgzf;
  const auto fasta_time = fs::last_write_time(fasta);
  auto usable = [&](const std::string& fai, const std::string& gzi) {
    return fresh(fai, fasta_time) && (!bgzf || fresh(gzi, fasta_time));
  };

  // 1. next to the FASTA
  std::string fai = fasta + ".fai", gzi = bgzf ? fasta + ".gzi" : "";
  fs::path dir = fs::absolute(fasta).parent_path();
  bool dir_writable = access(dir.c_str(), W_OK) == 0;
  if (!usable(fai, gzi) && dir_writable) {
    if (!build_index(fasta, fai, gzi))
      MS_FAIL("htslib could not index '", fasta, "' (see its message above): every line of a contig but its last "
              "must have the same length, and no line may be empty inside a contig");
  }
  // 2. in the cache folder, named by the absolute path's hash
  if (!usable(fai, gzi)) {
    const fs::path base = cache_index_base(fasta, cache_dir_in);
    fai = base.string() + ".fai";
    gzi = bgzf ? base.string() + ".gzi" : "";
    if (!usable(fai, gzi)) {
      std::error_code ec;
      fs::create_directories(base.parent_path(), ec);
      if (ec) MS_FAIL("cannot create the FASTA index cache folder '", base.parent_path().string(), "': ", ec.message(),
                      " (the folder of '", fasta, "' is read-only; set MAMBASEQ_CACHE_DIR to a writable folder)");
      if (!build_index(fasta, fai, gzi))
        MS_FAIL("htslib could not index '", fasta, "' into the cache folder '", base.parent_path().string(),
                "' (see its message above)");
    }
    idx.in_cache = true;
  }
  idx.fai = fai;
  idx.gzi = gzi;
  idx.contigs = read_fai(fai);
  return idx;
}

}  // namespace ms::fasta
