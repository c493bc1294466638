#include "io/fasta_region.h"

#include <algorithm>

#include "io/dna_vocab.h"
#include "io/fasta_reader.h"
#include "kernels/check.h"

namespace ms::fasta {

static int find_contig(const std::vector<dna::ContigSize>& contigs, std::string_view name) {
  for (size_t i = 0; i < contigs.size(); ++i)
    if (contigs[i].name == name) return static_cast<int>(i);
  return -1;
}

// A 1-based position with optional thousands commas; false when `s` is not one.
static bool parse_position(std::string_view s, int64_t& v) {
  if (s.empty()) return false;
  v = 0;
  bool digit = false;
  for (char ch : s) {
    if (ch == ',') continue;
    if (ch < '0' || ch > '9') return false;
    if (v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (ch - '0');
    digit = true;
  }
  return digit;
}

// "start", "start-end", "-end", "start-" into 1-based [beg, end] (end = INT64_MAX when open).
static bool parse_range(std::string_view r, int64_t& beg, int64_t& end) {
  size_t dash = r.find('-');
  if (dash == std::string_view::npos) {
    end = INT64_MAX;
    return parse_position(r, beg);
  }
  std::string_view a = r.substr(0, dash), b = r.substr(dash + 1);
  if (a.empty()) beg = 1;
  else if (!parse_position(a, beg)) return false;
  if (b.empty()) end = INT64_MAX;
  else if (!parse_position(b, end)) return false;
  return !(a.empty() && b.empty());
}

Region parse_region(std::string_view text, const std::vector<dna::ContigSize>& contigs) {
  Region reg;
  reg.text = std::string(text);
  std::string_view name, range;
  bool has_range = false;
  if (!text.empty() && text.front() == '{') {
    size_t close = text.find('}');
    if (close == std::string_view::npos) MS_FAIL("region '", text, "': '{' without a closing '}'");
    name = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') MS_FAIL("region '", text, "': expected ':' after '}'");
      range = rest.substr(1);
      has_range = true;
    }
  } else {
    const bool whole = find_contig(contigs, text) >= 0;
    size_t colon = text.rfind(':');
    bool split_ok = false;
    int64_t b = 0, e = 0;
    if (colon != std::string_view::npos)
      split_ok = find_contig(contigs, text.substr(0, colon)) >= 0 && parse_range(text.substr(colon + 1), b, e);
    if (whole && split_ok)
      MS_FAIL("region '", text, "' is ambiguous: it is a contig name and also a range of contig '",
              text.substr(0, colon), "'; write {", text, "} or {", text.substr(0, colon), "}", text.substr(colon));
    if (whole || colon == std::string_view::npos) {
      name = text;
    } else {
      name = text.substr(0, colon);
      range = text.substr(colon + 1);
      has_range = true;
    }
  }
  reg.contig = find_contig(contigs, name);
  if (reg.contig < 0) {
    std::string some;
    for (size_t i = 0; i < contigs.size() && i < 5; ++i) some += (i ? ", " : "") + contigs[i].name;
    if (contigs.size() > 5) some += ", ...";
    MS_FAIL("region '", text, "': no contig named '", name, "' (contigs: ", some, ")");
  }
  const int64_t len = contigs[reg.contig].length;
  int64_t beg = 1, end = INT64_MAX;
  if (has_range && !parse_range(range, beg, end))
    MS_FAIL("region '", text, "': cannot read the range '", range, "'; expected START-END, START, -END or START- "
            "(1-based, inclusive)");
  if (beg < 1) MS_FAIL("region '", text, "': positions are 1-based, so the start must be at least 1");
  if (end < beg) MS_FAIL("region '", text, "': the end (", end, ") is before the start (", beg, ")");
  if (beg > len)
    MS_FAIL("region '", text, "': starts past the end of contig '", name, "' (", len, " bases)");
  reg.start = beg - 1;
  reg.end = std::min(end, len);
  return reg;
}

std::string format_fasta_record(std::string_view header, std::string_view seq, int line_width) {
  MS_CHECK(line_width > 0, "FASTA line width must be positive, got ", line_width);
  std::string out;
  out.reserve(header.size() + 2 + seq.size() + seq.size() / line_width + 1);
  out += '>';
  out += header;
  out += '\n';
  for (size_t i = 0; i < seq.size(); i += line_width) {
    out += seq.substr(i, line_width);
    out += '\n';
  }
  return out;
}

std::string fetch_regions(const std::string& fasta, const std::vector<std::string>& regions, const FetchOptions& opt) {
  IndexedFasta fa(fasta, opt.cache_dir);
  std::vector<dna::ContigSize> sizes;
  for (const auto& e : fa.contigs()) sizes.push_back({e.name, e.length});
  std::string out;
  std::vector<uint8_t> tokens, mask;
  for (const auto& text : regions) {
    Region r = parse_region(text, sizes);
    const int64_t n = r.end - r.start;
    tokens.resize(static_cast<size_t>(n));
    mask.resize(static_cast<size_t>(n));
    fa.fetch(r.contig, r.start, r.end, tokens.data(), mask.data());
    out += format_fasta_record(r.text, dna::decode(tokens.data(), opt.fold_case ? nullptr : mask.data(), n), opt.line_width);
  }
  return out;
}

}  // namespace ms::fasta
