#include "io/fasta_file.h"

#include <htslib/bgzf.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "kernels/check.h"

namespace ms::fasta {

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "uncompressed";
    case Compression::gzip: return "gzip";
    case Compression::bgzf: return "bgzip (BGZF)";
  }
  return "?";
}

std::string bgzip_advice(const std::string& path, Compression c) {
  if (c == Compression::gzip) {
    std::string stem = path;
    if (stem.size() > 3 && stem.compare(stem.size() - 3, 3, ".gz") == 0) stem.resize(stem.size() - 3);
    return "recompress it with bgzip (package tabix):  gunzip '" + path + "' && bgzip '" + stem +
           "'  (or  zcat '" + path + "' | bgzip > NEW.fa.gz)";
  }
  return "compress it with bgzip (package tabix):  bgzip -k '" + path + "'";
}

static std::string printable_prefix(const unsigned char* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && i < 16 && p[i] != '\n'; ++i) s += std::isprint(p[i]) ? char(p[i]) : '?';
  return s;
}

Compression check_fasta_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (!fs::exists(st)) MS_FAIL("FASTA file '", path, "' does not exist");
  if (fs::is_directory(st)) MS_FAIL("FASTA path '", path, "' is a directory, not a file");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) MS_FAIL("cannot open FASTA file '", path, "': ", std::strerror(errno));
  unsigned char m[18] = {};
  size_t n = std::fread(m, 1, sizeof m, f.get());
  if (n == 0) MS_FAIL("FASTA file '", path, "' is empty");

  Compression c = Compression::none;
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
    // BGZF: a gzip member with FEXTRA holding the 'BC' subfield of length 2 (SAM spec, section 4.1).
    bool bgzf = n == 18 && (m[3] & 4) && m[12] == 'B' && m[13] == 'C' && m[14] == 2 && m[15] == 0;
    c = bgzf ? Compression::bgzf : Compression::gzip;
  } else if (n >= 6 && std::memcmp(m, "\xfd" "7zXZ", 5) == 0) {
    MS_FAIL("'", path, "' is xz-compressed: convert it with  xz -dc '", path, "' | bgzip > OUT.fa.gz");
  } else if (n >= 3 && std::memcmp(m, "BZh", 3) == 0) {
    MS_FAIL("'", path, "' is bzip2-compressed: convert it with  bzip2 -dc '", path, "' | bgzip > OUT.fa.gz");
  } else if (n >= 4 && std::memcmp(m, "\x28\xb5\x2f\xfd", 4) == 0) {
    MS_FAIL("'", path, "' is zstd-compressed: convert it with  zstd -dc '", path, "' | bgzip > OUT.fa.gz");
  }

  // First bytes of the text, through htslib (which reads plain, gzip and BGZF alike).
  unsigned char head[64] = {};
  ssize_t got = 0;
  if (c == Compression::none) {
    std::memcpy(head, m, n);
    got = static_cast<ssize_t>(n);
  } else {
    BGZF* fp = bgzf_open(path.c_str(), "r");
    if (!fp) MS_FAIL("cannot open '", path, "' with htslib: ", std::strerror(errno));
    got = bgzf_read(fp, head, sizeof head);
    bgzf_close(fp);
    if (got < 0) MS_FAIL("'", path, "' is ", compression_name(c), " data that cannot be decompressed (truncated or corrupt)");
    if (got == 0) MS_FAIL("'", path, "' decompresses to nothing: the FASTA file is empty");
  }
  if (head[0] != '>') {
    if (head[0] == '@')
      MS_FAIL("'", path, "' looks like FASTQ (it starts with '@'), not FASTA: convert it with  samtools fasta");
    MS_FAIL("'", path, "' is not FASTA: it starts with \"", printable_prefix(head, static_cast<size_t>(got)),
            "\" instead of a '>' header line");
  }
  return c;
}

}  // namespace ms::fasta
