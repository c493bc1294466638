#include "io/metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/atomic_file.h"
#include "io/number_text.h"
#include "kernels/check.h"

namespace ms {
namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void append_json_value(std::string& out, const MetricValue& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    out += "null";
  } else if (const bool* b = std::get_if<bool>(&v)) {
    out += *b ? "true" : "false";
  } else if (const int64_t* i = std::get_if<int64_t>(&v)) {
    out += std::to_string(*i);
  } else if (const double* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d)) {
      out += "null";
    } else {
      out += shortest_text(*d);
    }
  } else {
    append_json_string(out, std::get<std::string>(v));
  }
}

// ---- a parser for the flat objects we write ----

struct Parser {
  std::string_view s;
  size_t i = 0;
  std::string error;

  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool fail(const std::string& why) {
    if (error.empty()) error = why + " at column " + std::to_string(i + 1);
    return false;
  }
  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  bool hex4(uint32_t& v) {
    if (i + 4 > s.size()) return fail("short \\u escape");
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s[i++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else return fail("bad \\u escape");
    }
    return true;
  }
  bool string(std::string& out) {
    if (!eat('"')) return fail("expected a string");
    while (i < s.size() && s[i] != '"') {
      char c = s[i++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) return fail("unfinished escape");
      c = s[i++];
      switch (c) {
        case '"': case '\\': case '/': out += c; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= s.size() && s[i] == '\\' && s[i + 1] == 'u') {
            i += 2;
            uint32_t lo = 0;
            if (!hex4(lo)) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          put_utf8(out, cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
    if (i >= s.size()) return fail("unterminated string");
    ++i;
    return true;
  }
  bool value(MetricValue& v) {
    ws();
    if (i >= s.size()) return fail("expected a value");
    if (s[i] == '"') {
      std::string str;
      if (!string(str)) return false;
      v = std::move(str);
      return true;
    }
    for (const char* word : {"null", "true", "false"}) {
      const size_t n = std::strlen(word);
      if (s.substr(i, n) == word) {
        i += n;
        if (word[0] == 'n') v = std::monostate{};
        else v = word[0] == 't';
        return true;
      }
    }
    const size_t start = i;
    while (i < s.size() && std::strchr("+-0123456789.eE", s[i])) ++i;
    const std::string_view num = s.substr(start, i - start);
    if (num.empty()) return fail(s[start] == '{' || s[start] == '[' ? "nested values are not supported" : "bad value");
    if (num.find_first_of(".eE") == std::string_view::npos) {
      int64_t x;
      auto r = std::from_chars(num.data(), num.data() + num.size(), x);
      if (r.ec == std::errc() && r.ptr == num.data() + num.size()) {
        v = x;
        return true;
      }
    }
    double d;
    auto r = std::from_chars(num.data(), num.data() + num.size(), d);
    if (r.ec != std::errc() || r.ptr != num.data() + num.size()) return fail("bad number");
    v = d;
    return true;
  }
  bool object(MetricsRow& row) {
    if (!eat('{')) return fail("expected '{'");
    bool has_step = false, has_split = false;
    if (!eat('}')) {
      do {
        std::string key;
        MetricValue v;
        if (!string(key)) return false;
        if (!eat(':')) return fail("expected ':'");
        if (!value(v)) return false;
        if (key == "step") {
          if (!std::holds_alternative<int64_t>(v)) return fail("\"step\" must be an integer");
          row.step = std::get<int64_t>(v);
          has_step = true;
        } else if (key == "split") {
          if (!std::holds_alternative<std::string>(v)) return fail("\"split\" must be a string");
          row.split = std::get<std::string>(v);
          has_split = true;
        } else {
          row.fields.emplace_back(std::move(key), std::move(v));
        }
      } while (eat(','));
      if (!eat('}')) return fail("expected ',' or '}'");
    }
    ws();
    if (i != s.size()) return fail("text after the object");
    if (!has_step || !has_split) return fail("missing \"step\" or \"split\"");
    return true;
  }
};

}  // namespace

MetricsRow::MetricsRow(int64_t step_, std::string split_, double loss) : step(step_), split(std::move(split_)) {
  set("loss", loss);
}

MetricsRow& MetricsRow::set_value(const std::string& key, MetricValue v) {
  MS_CHECK(key != "step" && key != "split", "metrics: '", key, "' is set by the row's constructor");
  for (auto& [k, old] : fields)
    if (k == key) {
      old = std::move(v);
      return *this;
    }
  fields.emplace_back(key, std::move(v));
  return *this;
}
MetricsRow& MetricsRow::set(const std::string& key, double v) { return set_value(key, v); }
MetricsRow& MetricsRow::set(const std::string& key, bool v) { return set_value(key, v); }
MetricsRow& MetricsRow::set(const std::string& key, std::string_view v) { return set_value(key, std::string(v)); }

const MetricValue* MetricsRow::find(const std::string& key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

std::optional<double> MetricsRow::number(const std::string& key) const {
  const MetricValue* v = find(key);
  if (!v) return std::nullopt;
  if (const double* d = std::get_if<double>(v)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  return std::nullopt;
}

std::string MetricsRow::to_json() const {
  std::string out = "{\"step\":" + std::to_string(step) + ",\"split\":";
  append_json_string(out, split);
  for (const auto& [k, v] : fields) {
    out += ',';
    append_json_string(out, k);
    out += ':';
    append_json_value(out, v);
  }
  return out + "}";
}

MetricsWriter::MetricsWriter(const std::string& path) : path_(path) {
  const auto dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) MS_FAIL("cannot create directory '", dir.string(), "' for metrics: ", ec.message());
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) MS_FAIL("cannot open metrics file '", path, "': ", std::strerror(errno));
}

MetricsWriter::MetricsWriter(MetricsWriter&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}
MetricsWriter& MetricsWriter::operator=(MetricsWriter&& o) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = std::exchange(o.fd_, -1);
  path_ = std::move(o.path_);
  return *this;
}
MetricsWriter::~MetricsWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsWriter::write(const MetricsRow& row) {
  MS_CHECK(fd_ >= 0, "metrics writer is not open");
  const std::string line = row.to_json() + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) MS_FAIL("cannot append to metrics file '", path_, "': ", std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

std::vector<MetricsRow> read_metrics(const std::string& path) {
  const std::string text = read_text_file(path, "metrics file");
  std::vector<MetricsRow> rows;
  size_t pos = 0;
  for (int64_t line_no = 1; pos < text.size(); ++line_no) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line: the writer died mid-line
    const std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Parser p{line, 0, {}};
    MetricsRow row;
    if (!p.object(row)) MS_FAIL(path, ":", line_no, ": not a metrics row: ", p.error);
    rows.push_back(std::move(row));
  }
  return rows;
}

void truncate_metrics_after(const std::string& path, int64_t step) {
  if (!std::filesystem::exists(path)) return;
  std::string kept;
  for (const MetricsRow& row : read_metrics(path))
    if (row.step <= step) kept += row.to_json() + "\n";
  atomic_write_text(path, kept);
}

}  // namespace ms
