// Binder implementation: reading (TOML++ tree + --set overrides -> struct, with validation), writing
// (struct -> commented TOML text) and describing (struct -> key list).
#include "io/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>

#include "io/atomic_file.h"
#include "io/closest_name.h"
#include "io/number_text.h"
#include "kernels/check.h"

namespace ms::cfg {

// ---------------------------------------------------------------------------------------------------
// Check

Check Check::gt(double v) const { Check c = *this; c.lo = v; c.lo_open = true; return c; }
Check Check::ge(double v) const { Check c = *this; c.lo = v; c.lo_open = false; return c; }
Check Check::lt(double v) const { Check c = *this; c.hi = v; c.hi_open = true; return c; }
Check Check::le(double v) const { Check c = *this; c.hi = v; c.hi_open = false; return c; }
Check Check::required() const { Check c = *this; c.is_required = true; return c; }
Check gt(double v) { return Check{}.gt(v); }
Check ge(double v) { return Check{}.ge(v); }
Check lt(double v) { return Check{}.lt(v); }
Check le(double v) { return Check{}.le(v); }
Check range(double lo, double hi) { return Check{}.ge(lo).le(hi); }
Check one_of(std::vector<std::string> choices) { Check c; c.choices = std::move(choices); return c; }
Check required() { return Check{}.required(); }

namespace {

std::string number_text(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return shortest_text(x);
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (ch < 0x20 || ch == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          out += buf;
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string Check::describe() const {
  std::string out;
  if (lo && hi) {
    out = "in " + std::string(lo_open ? "(" : "[") + number_text(*lo) + ", " + number_text(*hi) +
          (hi_open ? ")" : "]");
  } else if (lo) {
    out = (lo_open ? "> " : ">= ") + number_text(*lo);
  } else if (hi) {
    out = (hi_open ? "< " : "<= ") + number_text(*hi);
  }
  if (!choices.empty()) {
    if (!out.empty()) out += ", ";
    out += "one of ";
    for (size_t i = 0; i < choices.size(); ++i) out += (i ? ", " : "") + quoted(choices[i]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// TOML text of values (write mode and defaults in describe mode)

namespace {

std::string toml_text(bool v) { return v ? "true" : "false"; }
std::string toml_text(int v) { return std::to_string(v); }
std::string toml_text(int64_t v) { return std::to_string(v); }
std::string toml_text(double v) {
  std::string s = number_text(v);
  // TOML needs a '.' or an exponent to read a float back as a float.
  if (std::isfinite(v) && s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}
std::string toml_text(float v) { return toml_text(static_cast<double>(v)); }
std::string toml_text(const std::string& v) { return quoted(v); }
template <class T>
std::string toml_text(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + toml_text(v[i]);
  return out + "]";
}

template <class T> const char* type_name();
template <> const char* type_name<bool>() { return "boolean"; }
template <> const char* type_name<int>() { return "integer"; }
template <> const char* type_name<int64_t>() { return "integer"; }
template <> const char* type_name<double>() { return "float"; }
template <> const char* type_name<float>() { return "float"; }
template <> const char* type_name<std::string>() { return "string"; }
template <> const char* type_name<std::vector<int>>() { return "array of integers"; }
template <> const char* type_name<std::vector<int64_t>>() { return "array of integers"; }
template <> const char* type_name<std::vector<double>>() { return "array of floats"; }
template <> const char* type_name<std::vector<std::string>>() { return "array of strings"; }

std::string a_or_an(const std::string& noun) {
  return (std::string("aeiou").find(noun[0]) != std::string::npos ? "an " : "a ") + noun;
}

std::string shorten(std::string s, size_t n = 40) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

// "a string (\"abc\")", "a float (0.5)", "an array", ...: what the file actually holds.
std::string describe_node(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string (" + shorten(quoted(n.as_string()->get())) + ")";
    case toml::node_type::integer: return "an integer (" + std::to_string(n.as_integer()->get()) + ")";
    case toml::node_type::floating_point: return "a float (" + number_text(n.as_floating_point()->get()) + ")";
    case toml::node_type::boolean: return std::string("a boolean (") + toml_text(n.as_boolean()->get()) + ")";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

// The declared key closest to an unknown one, when it is close enough to be a typo; else "".
std::string closest(const std::string& unknown, const std::vector<std::string>& known) {
  return closest_name(unknown, known, std::max<size_t>(2, unknown.size() / 3));
}

// ---------------------------------------------------------------------------------------------------
// Write-mode tree: kept in declaration order, printed scalars first, then tables, then lists.

struct WNode {
  enum Kind { value, table, list } kind = table;
  std::string key, doc, text;
  std::vector<std::unique_ptr<WNode>> children;  // table: members; list: items (tables)
};

void emit_comment(std::ostringstream& os, const std::string& doc) {
  if (!doc.empty()) os << "# " << doc << "\n";
}

std::string key_text(const std::string& k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? k : quoted(k);
}

void emit_table(std::ostringstream& os, const WNode& t, const std::string& path) {
  for (const auto& c : t.children) {
    if (c->kind != WNode::value) continue;
    emit_comment(os, c->doc);
    os << key_text(c->key) << " = " << c->text << "\n";
  }
  for (const auto& c : t.children) {
    if (c->kind == WNode::value) continue;
    const std::string sub = path.empty() ? key_text(c->key) : path + "." + key_text(c->key);
    if (c->kind == WNode::table) {
      os << "\n";
      emit_comment(os, c->doc);
      os << "[" << sub << "]\n";
      emit_table(os, *c, sub);
    } else {
      for (const auto& item : c->children) {
        os << "\n";
        if (item == c->children.front()) emit_comment(os, c->doc);
        os << "[[" << sub << "]]\n";
        emit_table(os, *item, sub);
      }
    }
  }
}

struct Override {
  std::string key, value, text;  // text: "--set key=value" as given, for messages
  bool used = false;
};

// "a.b=value" -> Override; the key is trimmed and checked for empty components.
Override parse_override(const std::string& arg) {
  const std::string shown = "--set " + arg;
  const size_t eq = arg.find('=');
  if (eq == std::string::npos)
    MS_FAIL(shown, ": expected KEY=VALUE (e.g. --set train.lr=0.001)");
  auto trim = [](std::string s) {
    const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  Override o{trim(arg.substr(0, eq)), trim(arg.substr(eq + 1)), shown, false};
  if (o.key.empty()) MS_FAIL(shown, ": the key before '=' is empty (e.g. --set train.lr=0.001)");
  if (o.key.front() == '.' || o.key.back() == '.' || o.key.find("..") != std::string::npos)
    MS_FAIL(shown, ": '", o.key, "' is not a valid dotted key (e.g. train.lr)");
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Binder state

struct Frame {
  bool is_list = false;
  const toml::table* table = nullptr;  // read: the table (null when the file does not have it)
  const toml::array* array = nullptr;  // read, list frames: the array of tables (null when absent)
  std::string prefix;                  // dotted prefix of keys in this table: "", "model.", "stage.0."
  std::string name;                    // for messages: "model", "stage[0]"; "" for the root
  std::vector<std::string> declared;   // read: keys declared here
  WNode* w = nullptr;                  // write
};

struct Binder::Impl {
  Mode mode = Mode::read;
  std::string source;
  std::vector<Override> overrides;
  std::vector<Frame> stack;
  std::vector<std::string> all_keys;  // read: every declared dotted key, for suggestions
  WNode root;
  std::vector<FieldInfo> fields;

  Frame& top() { return stack.back(); }
  std::string full(const char* key) { return top().prefix + key; }

  std::string where(const toml::node& n) const {
    const auto& b = n.source().begin;
    if (b.line == 0) return source;
    return source + ":" + std::to_string(b.line) + ":" + std::to_string(b.column);
  }
  std::string where(const toml::key& k) const {
    const auto& b = k.source().begin;
    if (b.line == 0) return source;
    return source + ":" + std::to_string(b.line) + ":" + std::to_string(b.column);
  }

  Override* find_override(const std::string& key) {
    Override* found = nullptr;
    for (auto& o : overrides)
      if (o.key == key) found = &o;  // the last --set of a key wins
    return found;
  }

  void declare(const char* key) {
    top().declared.emplace_back(key);
    all_keys.push_back(full(key));
  }

  // Unknown keys of the current table: the first one is an error at its line.
  void check_unknown() {
    const Frame& f = top();
    if (!f.table) return;
    for (auto&& [k, v] : *f.table) {
      const std::string name(k.str());
      if (std::find(f.declared.begin(), f.declared.end(), name) != f.declared.end()) continue;
      std::string accepted;
      for (const auto& d : f.declared) accepted += (accepted.empty() ? "" : ", ") + d;
      const std::string scope = f.name.empty() ? "top-level keys" : "[" + f.name + "] accepts";
      const std::string best = closest(name, f.declared);
      MS_FAIL(where(k), ": unknown key '", f.prefix, name, "' (",
              best.empty() ? "" : "did you mean '" + f.prefix + best + "'? ", scope, ": ",
              accepted.empty() ? "nothing" : shorten(accepted, 160), ")");
    }
  }

  // Read mode: the node for `key` in the current table, from --set when overridden. `holder` keeps an
  // override's parsed node alive. Returns null when the key is absent.
  template <class T>
  const toml::node* lookup(const char* key, toml::table& holder, std::string& loc) {
    declare(key);
    const std::string k = full(key);
    if (Override* o = find_override(k)) {
      for (auto& other : overrides)
        if (other.key == k) other.used = true;
      loc = o->text;
      holder = override_node<T>(o->value);
      return holder.get("v");
    }
    if (!top().table) return nullptr;
    const toml::node* n = top().table->get(key);
    if (n) loc = where(*n);
    return n;
  }

  // An override's value as TOML; strings may be given without quotes, string arrays as a,b,c.
  template <class T>
  toml::table override_node(const std::string& value) {
    toml::table t;
    const bool quoted_str = !value.empty() && (value[0] == '"' || value[0] == '\'');
    if constexpr (std::is_same_v<T, std::string>) {
      if (!quoted_str) {
        t.insert_or_assign("v", value);
        return t;
      }
    }
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (value.empty() || value[0] != '[') {
        toml::array arr;
        std::string item;
        std::istringstream ss(value);
        while (std::getline(ss, item, ',')) arr.push_back(item);
        t.insert_or_assign("v", std::move(arr));
        return t;
      }
    }
    try {
      toml::table parsed = toml::parse("v = " + value + "\n");
      if (parsed.size() == 1 && parsed.get("v")) return parsed;
    } catch (const toml::parse_error&) {
    }
    t.insert_or_assign("v", value);  // not a TOML value: reported as a string of the wrong type
    return t;
  }
};

namespace {

using Impl = Binder::Impl;

[[noreturn]] void wrong_type(const std::string& loc, const std::string& key, const char* want,
                             const toml::node& n, const char* hint = "") {
  MS_FAIL(loc, ": '", key, "' must be ", a_or_an(want), ", got ", describe_node(n), hint);
}

void check_number(const std::string& loc, const std::string& key, double x, const std::string& text,
                  const Check& c) {
  if (!c.has_range()) return;
  bool ok = !std::isnan(x);
  if (ok && c.lo) ok = c.lo_open ? x > *c.lo : x >= *c.lo;
  if (ok && c.hi) ok = c.hi_open ? x < *c.hi : x <= *c.hi;
  if (!ok) MS_FAIL(loc, ": '", key, "' = ", text, " is out of range: it must be ", c.describe());
}

void check_string(const std::string& loc, const std::string& key, const std::string& s, const Check& c) {
  if (c.choices.empty()) return;
  if (std::find(c.choices.begin(), c.choices.end(), s) != c.choices.end()) return;
  MS_FAIL(loc, ": '", key, "' = ", quoted(s), " is not allowed: it must be ", c.describe());
}

// One scalar from a node: type check, conversion and the value check.
void convert(const toml::node& n, const std::string& loc, const std::string& key, const Check&, bool& out) {
  if (!n.is_boolean()) wrong_type(loc, key, "boolean", n, " (write true or false)");
  out = n.as_boolean()->get();
}

void convert(const toml::node& n, const std::string& loc, const std::string& key, const Check& c, int64_t& out) {
  if (n.is_floating_point())
    wrong_type(loc, key, "integer", n, " (write it without a decimal point or exponent)");
  if (!n.is_integer()) wrong_type(loc, key, "integer", n);
  out = n.as_integer()->get();
  check_number(loc, key, static_cast<double>(out), std::to_string(out), c);
}

void convert(const toml::node& n, const std::string& loc, const std::string& key, const Check& c, int& out) {
  int64_t v = 0;
  convert(n, loc, key, Check{}, v);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    MS_FAIL(loc, ": '", key, "' = ", v, " does not fit a 32-bit integer");
  check_number(loc, key, static_cast<double>(v), std::to_string(v), c);
  out = static_cast<int>(v);
}

void convert(const toml::node& n, const std::string& loc, const std::string& key, const Check& c, double& out) {
  if (n.is_integer()) out = static_cast<double>(n.as_integer()->get());
  else if (n.is_floating_point()) out = n.as_floating_point()->get();
  else wrong_type(loc, key, "float", n);
  check_number(loc, key, out, number_text(out), c);
}

void convert(const toml::node& n, const std::string& loc, const std::string& key, const Check& c, float& out) {
  double v = 0;
  convert(n, loc, key, c, v);
  if (std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max())
    MS_FAIL(loc, ": '", key, "' = ", number_text(v), " does not fit a 32-bit float");
  out = static_cast<float>(v);
}

void convert(const toml::node& n, const std::string& loc, const std::string& key, const Check& c,
             std::string& out) {
  if (!n.is_string()) wrong_type(loc, key, "string", n, " (put it in quotes)");
  out = n.as_string()->get();
  check_string(loc, key, out, c);
}

// "file.toml:3:7" -> "file.toml" (the position is always the last two ':' fields).
std::string source_of(const std::string& loc) {
  size_t p = loc.rfind(':');
  if (p != std::string::npos && p > 0) p = loc.rfind(':', p - 1);
  return p == std::string::npos ? loc : loc.substr(0, p);
}

template <class T>
void convert(const toml::node& n, const std::string& loc, const std::string& key, const Check& c,
             std::vector<T>& out) {
  if (!n.is_array()) wrong_type(loc, key, type_name<std::vector<T>>(), n, " (write [a, b, ...])");
  const toml::array& arr = *n.as_array();
  std::vector<T> v(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    const toml::node& e = *arr.get(i);
    // Elements from a file carry their own position; those from --set share the override's text.
    const bool from_file = e.source().begin.line != 0 && loc.rfind("--set ", 0) != 0;
    const std::string eloc = from_file ? source_of(loc) + ":" + std::to_string(e.source().begin.line) + ":" +
                                             std::to_string(e.source().begin.column)
                                       : loc;
    convert(e, eloc, key + "[" + std::to_string(i) + "]", c, v[i]);
  }
  out = std::move(v);
}

// The default of an absent key must satisfy its own check: anything else is a bug in a bind() function.
template <class T>
void check_default(const std::string& key, const T& v, const Check& c) {
  try {
    if constexpr (std::is_same_v<T, std::string>) {
      check_string("(default)", key, v, c);
    } else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      check_number("(default)", key, static_cast<double>(v), toml_text(v), c);
    } else if constexpr (!std::is_same_v<T, bool>) {
      for (const auto& e : v) check_default(key, e, c);
    }
  } catch (const Error& e) {
    MS_CHECK(false, "config declaration bug: ", e.what());
  }
}

template <class T>
void bind_value(Impl& im, const char* key, T& v, const Check& c, const char* doc) {
  const std::string k = im.full(key);
  switch (im.mode) {
    case Binder::Mode::read: {
      toml::table holder;
      std::string loc;
      const toml::node* n = im.lookup<T>(key, holder, loc);
      if (!n) {
        if (c.is_required) {
          MS_FAIL(im.source, ": missing required key '", k, "' (", a_or_an(type_name<T>()),
                  c.describe().empty() ? "" : ", " + c.describe(), doc ? std::string("; ") + doc : "", ")");
        }
        check_default(k, v, c);
        return;
      }
      convert(*n, loc, k, c, v);
      return;
    }
    case Binder::Mode::write: {
      auto node = std::make_unique<WNode>();
      node->kind = WNode::value;
      node->key = key;
      node->text = toml_text(v);
      const std::string allowed = c.describe();
      node->doc = doc ? doc : "";
      if (!allowed.empty()) node->doc += (node->doc.empty() ? "" : "; ") + allowed;
      im.top().w->children.push_back(std::move(node));
      return;
    }
    case Binder::Mode::describe:
      im.fields.push_back({k, type_name<T>(), c.describe(), toml_text(v), doc ? doc : "", c.is_required});
      return;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Binder members

Binder::Mode Binder::mode() const { return impl_.mode; }

void Binder::field(const char* key, bool& v, const char* doc) { bind_value(impl_, key, v, Check{}, doc); }
void Binder::field(const char* key, int& v, const Check& c, const char* doc) { bind_value(impl_, key, v, c, doc); }
void Binder::field(const char* key, int64_t& v, const Check& c, const char* doc) {
  bind_value(impl_, key, v, c, doc);
}
void Binder::field(const char* key, double& v, const Check& c, const char* doc) {
  bind_value(impl_, key, v, c, doc);
}
void Binder::field(const char* key, float& v, const Check& c, const char* doc) {
  bind_value(impl_, key, v, c, doc);
}
void Binder::field(const char* key, std::string& v, const Check& c, const char* doc) {
  bind_value(impl_, key, v, c, doc);
}
void Binder::field(const char* key, std::vector<int>& v, const Check& c, const char* doc) {
  bind_value(impl_, key, v, c, doc);
}
void Binder::field(const char* key, std::vector<int64_t>& v, const Check& c, const char* doc) {
  bind_value(impl_, key, v, c, doc);
}
void Binder::field(const char* key, std::vector<double>& v, const Check& c, const char* doc) {
  bind_value(impl_, key, v, c, doc);
}
void Binder::field(const char* key, std::vector<std::string>& v, const Check& c, const char* doc) {
  bind_value(impl_, key, v, c, doc);
}

bool Binder::present(const char* key) const {
  auto& im = impl_;
  if (im.mode != Mode::read) return false;
  const std::string k = im.stack.back().prefix + key;
  for (const auto& o : im.overrides)
    if (o.key == k) return true;
  return im.stack.back().table && im.stack.back().table->contains(key);
}

void Binder::declare(const char* key) {
  if (impl_.mode == Mode::read) impl_.declare(key);
}

void Binder::mark_last_optional() {
  if (impl_.mode != Mode::describe || impl_.fields.empty()) return;
  impl_.fields.back().type += " (optional)";
  impl_.fields.back().default_value.clear();
}

std::string Binder::unnamed_enum(const char* key, const std::vector<std::string>& allowed) {
  std::string names;
  for (const auto& a : allowed) names += " " + a;
  MS_CHECK(false, "config declaration bug: the value of '", impl_.full(key), "' has no name among", names);
}

void Binder::begin_section(const char* key, const char* doc) {
  auto& im = impl_;
  const std::string k = im.full(key);
  Frame f;
  f.prefix = k + ".";
  f.name = k;
  switch (im.mode) {
    case Mode::read: {
      im.declare(key);
      if (Override* o = im.find_override(k))
        MS_FAIL(o->text, ": '", k, "' is a table; set its keys one by one (--set ", k, ".KEY=VALUE)");
      if (im.top().table) {
        if (const toml::node* n = im.top().table->get(key)) {
          if (!n->is_table()) wrong_type(im.where(*n), k, "table", *n, (" (write [" + k + "])").c_str());
          f.table = n->as_table();
        }
      }
      break;
    }
    case Mode::write: {
      auto node = std::make_unique<WNode>();
      node->kind = WNode::table;
      node->key = key;
      node->doc = doc ? doc : "";
      f.w = node.get();
      im.top().w->children.push_back(std::move(node));
      break;
    }
    case Mode::describe:
      im.fields.push_back({k, "table", "", "", doc ? doc : "", false});
      break;
  }
  im.stack.push_back(std::move(f));
}

void Binder::end_section() {
  if (impl_.mode == Mode::read) impl_.check_unknown();
  impl_.stack.pop_back();
}

int64_t Binder::begin_list(const char* key, const char* doc, int64_t write_count) {
  auto& im = impl_;
  const std::string k = im.full(key);
  Frame f;
  f.is_list = true;
  f.prefix = k + ".";
  f.name = k;
  int64_t n = write_count;
  switch (im.mode) {
    case Mode::read: {
      im.declare(key);
      n = -1;
      if (Override* o = im.find_override(k))
        MS_FAIL(o->text, ": '", k, "' is an array of tables; set keys of one element (--set ", k,
                ".0.KEY=VALUE)");
      if (im.top().table) {
        if (const toml::node* node = im.top().table->get(key)) {
          if (!node->is_array_of_tables())
            wrong_type(im.where(*node), k, "array of tables", *node, (" (write [[" + k + "]])").c_str());
          f.array = node->as_array();
          n = static_cast<int64_t>(f.array->size());
        }
      }
      break;
    }
    case Mode::write: {
      auto node = std::make_unique<WNode>();
      node->kind = WNode::list;
      node->key = key;
      node->doc = doc ? doc : "";
      f.w = node.get();
      im.top().w->children.push_back(std::move(node));
      break;
    }
    case Mode::describe:
      im.fields.push_back({k, "array of tables", "", "", doc ? doc : "", false});
      break;
  }
  im.stack.push_back(std::move(f));
  return n;
}

void Binder::begin_item(int64_t index) {
  auto& im = impl_;
  const Frame& list = im.top();
  Frame f;
  const std::string base = list.prefix.substr(0, list.prefix.size() - 1);
  if (index < 0) {  // describe
    f.prefix = base + "[].";
    f.name = base + "[]";
  } else {
    f.prefix = list.prefix + std::to_string(index) + ".";
    f.name = base + "[" + std::to_string(index) + "]";
  }
  if (im.mode == Mode::read && list.array) f.table = list.array->get(static_cast<size_t>(index))->as_table();
  if (im.mode == Mode::write) {
    auto node = std::make_unique<WNode>();
    f.w = node.get();
    im.top().w->children.push_back(std::move(node));
  }
  im.stack.push_back(std::move(f));
}

void Binder::end_item() { end_section(); }
void Binder::end_list() { impl_.stack.pop_back(); }

// ---------------------------------------------------------------------------------------------------
// Entry points

namespace detail {

void read(std::string_view text, const std::string& source, const std::vector<std::string>& overrides,
          const BindFn& bind_root) {
  Impl im;
  im.mode = Binder::Mode::read;
  im.source = source;
  for (const auto& o : overrides) im.overrides.push_back(parse_override(o));

  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    MS_FAIL(source, ":", b.line, ":", b.column, ": TOML syntax error: ", e.description());
  }
  Frame f;
  f.table = &root;
  im.stack.push_back(std::move(f));
  Binder b(im);
  bind_root(b);
  im.check_unknown();
  for (const auto& o : im.overrides) {
    if (o.used) continue;
    const std::string best = closest(o.key, im.all_keys);
    MS_FAIL(o.text, ": unknown key '", o.key, "'", best.empty() ? "" : " (did you mean '" + best + "'?)");
  }
}

std::string write(const BindFn& bind_root) {
  Impl im;
  im.mode = Binder::Mode::write;
  Frame f;
  f.w = &im.root;
  im.stack.push_back(std::move(f));
  Binder b(im);
  bind_root(b);
  std::ostringstream os;
  emit_table(os, im.root, "");
  return os.str();
}

std::vector<FieldInfo> describe(const BindFn& bind_root) {
  Impl im;
  im.mode = Binder::Mode::describe;
  im.stack.emplace_back();
  Binder b(im);
  bind_root(b);
  return im.fields;
}

}  // namespace detail

std::string format_fields(const std::vector<FieldInfo>& fields) {
  size_t width = 0;
  for (const auto& f : fields) width = std::max(width, f.key.size());
  std::ostringstream os;
  for (const auto& f : fields) {
    os << "  " << f.key << std::string(width - f.key.size() + 2, ' ') << f.type;
    if (!f.allowed.empty()) os << ", " << f.allowed;
    if (f.required) os << ", required";
    else if (!f.default_value.empty()) os << " (default " << shorten(f.default_value, 60) << ")";
    if (!f.doc.empty()) os << ": " << f.doc;
    os << "\n";
  }
  return os.str();
}

std::string read_config_file(const std::string& path) { return read_text_file(path, "config file"); }

void save_text(const std::string& path, std::string_view toml_text) { atomic_write_text(path, toml_text); }

}  // namespace ms::cfg
