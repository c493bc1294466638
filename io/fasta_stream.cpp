#include "io/fasta_stream.h"

#include <htslib/bgzf.h>

#include <algorithm>
#include <cstring>

#include "io/dna_tokenize.h"
#include "io/dna_vocab.h"
#include "io/fasta_reader.h"
#include "kernels/check.h"

namespace ms::fasta {

// Small enough to stay in L2 and to cost few page faults per file (genomes are often many small files).
static constexpr size_t kBufferBytes = 1 << 18;

FastaStream::FastaStream(const std::string& path, int decompress_threads) : path_(path) {
  compression_ = check_fasta_file(path);
  fp_ = bgzf_open(path.c_str(), "r");
  if (!fp_) MS_FAIL("cannot open FASTA file '", path, "': ", std::strerror(errno));
  if (compression_ == Compression::bgzf) {
    // A BGZF file ends with an empty block; without it the file was cut short (e.g. an interrupted copy).
    if (bgzf_check_EOF(fp_) == 0) {
      bgzf_close(fp_);
      fp_ = nullptr;
      MS_FAIL("'", path, "' is truncated: the bgzip end-of-file block is missing (re-copy or re-create the file)");
    }
    if (decompress_threads > 0) bgzf_mt(fp_, decompress_threads, 64);
  }
  buf_.reset(new char[kBufferBytes]);
  header_next_ = true;  // check_fasta_file saw '>' as the first byte
}

FastaStream::~FastaStream() {
  if (fp_) bgzf_close(fp_);
}

bool FastaStream::refill() {
  if (eof_) return false;
  if (end_ > 0) prev_byte_ = buf_[end_ - 1];
  ssize_t r = bgzf_read(fp_, buf_.get(), kBufferBytes);
  if (r < 0)
    MS_FAIL("'", path_, "': cannot decompress past uncompressed byte ", bytes_, " (", compression_name(compression_),
            " data truncated or corrupt)");
  at_ = 0;
  end_ = static_cast<size_t>(r);
  bytes_ += r;
  if (r == 0) eof_ = true;
  return r > 0;
}

void FastaStream::read_header() {
  // at_ points at the '>' of a header line.
  std::string header;
  ++at_;
  for (;;) {
    if (at_ == end_ && !refill()) break;
    const char* b = buf_.get() + at_;
    const void* nl = std::memchr(b, '\n', end_ - at_);
    size_t take = nl ? static_cast<const char*>(nl) - b : end_ - at_;
    header.append(b, take);
    at_ += take;
    if (nl) {
      ++at_;
      break;
    }
  }
  header_line_ = line_++;
  if (!header.empty() && header.back() == '\r') header.pop_back();
  size_t sp = header.find_first_of(" \t");
  name_ = header.substr(0, sp);
  description_.clear();
  if (sp != std::string::npos) {
    size_t d = header.find_first_not_of(" \t", sp);
    if (d != std::string::npos) description_ = header.substr(d);
  }
  if (name_.empty())
    MS_FAIL("'", path_, "' line ", header_line_, ": header line has no contig name after '>'");
}

bool FastaStream::next_contig() {
  if (in_contig_) {
    static thread_local std::vector<uint8_t> scratch(1 << 16);
    while (read(scratch.data(), nullptr, static_cast<int64_t>(scratch.size())) > 0) {
    }
    if (pos_ == 0)
      MS_FAIL("'", path_, "' line ", header_line_, ": contig '", name_, "' is empty (a header with no bases); "
              "remove it from the file");
  }
  in_contig_ = false;
  if (!header_next_) return false;
  if (at_ == end_ && !refill()) return false;
  read_header();
  header_next_ = false;
  in_contig_ = true;
  contig_done_ = false;
  pos_ = 0;
  return true;
}

int64_t FastaStream::read_impl(uint8_t* tokens, uint8_t* mask, int64_t max) {
  int64_t n = 0;
  while (n < max) {
    if (at_ == end_ && !refill()) {
      contig_done_ = true;
      break;
    }
    const unsigned char* base = reinterpret_cast<const unsigned char*>(buf_.get());
    const unsigned char* p = base + at_;
    const unsigned char* const e = base + end_;
    while (p < e && n < max) {
      // One line (or what of it is in the buffer, or fits in `max`) at a time.
      const unsigned char* nl = static_cast<const unsigned char*>(std::memchr(p, '\n', static_cast<size_t>(e - p)));
      const unsigned char* seg_end = nl ? nl : e;
      if (seg_end - p > max - n) seg_end = p + (max - n);
      while (p < seg_end) {
        const int64_t k = dna::tokenize_bases(p, seg_end - p, tokens + n, mask ? mask + n : nullptr);
        n += k;
        p += k;
        if (p == seg_end) break;
        // A byte that is not a base: '\r' of a CRLF ending, the '>' of the next header, or an error.
        if (*p == '\r') {
          ++p;
          continue;
        }
        const char prev = p > base ? static_cast<char>(p[-1]) : prev_byte_;
        if (*p == '>' && prev == '\n') {
          at_ = static_cast<size_t>(p - base);
          contig_done_ = true;
          header_next_ = true;
          pos_ += n;
          return n;
        }
        fail_invalid_base(path_, name_, pos_ + n, static_cast<char>(*p), line_);
      }
      if (p == nl) {
        ++line_;
        ++p;
      }
    }
    at_ = static_cast<size_t>(p - base);
  }
  pos_ += n;
  return n;
}

int64_t FastaStream::read(uint8_t* tokens, uint8_t* mask, int64_t max) {
  MS_CHECK(in_contig_, "FastaStream::read() before next_contig()");
  if (contig_done_ || max <= 0) return 0;
  return read_impl(tokens, mask, max);
}

void FastaStream::read_all(std::vector<uint8_t>& tokens, std::vector<uint8_t>* mask) {
  // Fills the reserved capacity first (callers that know the length reserve it: no reallocation and no
  // copy), then grows; a small probe read tells whether a full buffer was the contig's end.
  constexpr int64_t kChunk = 1 << 20;
  uint8_t probe_t[4096], probe_m[4096];
  for (;;) {
    const size_t old = tokens.size();
    if (tokens.capacity() == old) {
      const int64_t n = read(probe_t, mask ? probe_m : nullptr, static_cast<int64_t>(sizeof probe_t));
      if (n == 0) break;
      tokens.insert(tokens.end(), probe_t, probe_t + n);
      if (mask) mask->insert(mask->end(), probe_m, probe_m + n);
      continue;
    }
    const int64_t room = std::max<int64_t>(static_cast<int64_t>(tokens.capacity() - old), kChunk);
    tokens.resize(old + static_cast<size_t>(room));
    if (mask) mask->resize(old + static_cast<size_t>(room));
    const int64_t n = read(tokens.data() + old, mask ? mask->data() + old : nullptr, room);
    tokens.resize(old + static_cast<size_t>(n));
    if (mask) mask->resize(old + static_cast<size_t>(n));
    if (n == 0) break;
  }
}

}  // namespace ms::fasta
