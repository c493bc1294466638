// Typed TOML configs. A config section is a plain struct plus one free function, found by ADL:
//
//   struct TrainConfig { int64_t steps = 1000; double lr = 1e-3; std::string optimizer = "adamw"; };
//   void bind(ms::cfg::Binder& b, TrainConfig& c) {
//     b.field("steps", c.steps, ms::cfg::gt(0), "optimizer steps");
//     b.field("lr", c.lr, ms::cfg::gt(0).le(1), "peak learning rate");
//     b.field("optimizer", c.optimizer, ms::cfg::one_of({"adamw", "sgd"}));
//   }
//   struct RunConfig { std::string name = "run"; TrainConfig train; };
//   void bind(ms::cfg::Binder& b, RunConfig& c) { b.field("name", c.name); b.section("train", c.train); }
//
//   RunConfig cfg = ms::cfg::load<RunConfig>("run.toml", {"train.lr=3e-4"});   // file + --set overrides
//   std::string text = ms::cfg::to_toml(cfg);                                  // parses back to the same
//
// The same bind() function reads (with validation), writes (resolved TOML with comments) and describes
// (key list for --help and docs) the struct. Unknown keys, wrong types and out-of-range values are
// one-line ms::Error messages: "run.toml:7:1: unknown key 'train.lrr' (did you mean 'train.lr'? ...)".
// This header does not include TOML++ (slow to compile); only io/config.cpp does.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ms::cfg {

// What a field accepts beyond its type: a numeric range (applied to each element of a vector), a set of
// allowed strings, and whether the key must be present. Build with gt/ge/lt/le/range/one_of/required
// and chain: gt(0).le(1), one_of({"a", "b"}).required().
struct Check {
  std::optional<double> lo, hi;
  bool lo_open = false, hi_open = false;
  std::vector<std::string> choices;
  bool is_required = false;

  Check gt(double v) const;
  Check ge(double v) const;
  Check lt(double v) const;
  Check le(double v) const;
  Check required() const;
  bool has_range() const { return lo.has_value() || hi.has_value(); }
  std::string describe() const;  // "> 0", "in [1, 128]", "in (0, 1]", "one of \"real\", \"complex\""
};
Check gt(double v);
Check ge(double v);
Check lt(double v);
Check le(double v);
Check range(double lo, double hi);  // closed interval [lo, hi]
Check one_of(std::vector<std::string> choices);
Check required();

// One declared key, as bind() describes it (for --help, docs and error suggestions).
struct FieldInfo {
  std::string key;            // dotted: "model.d_model"; items of a list of tables: "stage[].steps"
  std::string type;           // "integer", "float", "string", "boolean", "array of integers", "table", ...
  std::string allowed;        // Check::describe(), empty when anything of the type goes
  std::string default_value;  // as TOML text; empty for sections and unset optionals
  std::string doc;
  bool required = false;
};

class Binder {
 public:
  enum class Mode { read, write, describe };
  struct Impl;
  explicit Binder(Impl& impl) : impl_(impl) {}
  Mode mode() const;

  // Scalars and arrays of scalars. `doc` is one short line; it becomes a comment in written configs.
  void field(const char* key, bool& v, const char* doc = nullptr);
  void field(const char* key, int& v, const char* doc = nullptr) { field(key, v, Check{}, doc); }
  void field(const char* key, int& v, const Check& check, const char* doc = nullptr);
  void field(const char* key, int64_t& v, const char* doc = nullptr) { field(key, v, Check{}, doc); }
  void field(const char* key, int64_t& v, const Check& check, const char* doc = nullptr);
  void field(const char* key, double& v, const char* doc = nullptr) { field(key, v, Check{}, doc); }
  void field(const char* key, double& v, const Check& check, const char* doc = nullptr);
  void field(const char* key, float& v, const char* doc = nullptr) { field(key, v, Check{}, doc); }
  void field(const char* key, float& v, const Check& check, const char* doc = nullptr);
  void field(const char* key, std::string& v, const char* doc = nullptr) { field(key, v, Check{}, doc); }
  void field(const char* key, std::string& v, const Check& check, const char* doc = nullptr);
  void field(const char* key, std::vector<int>& v, const char* doc = nullptr) { field(key, v, Check{}, doc); }
  void field(const char* key, std::vector<int>& v, const Check& check, const char* doc = nullptr);
  void field(const char* key, std::vector<int64_t>& v, const char* doc = nullptr) { field(key, v, Check{}, doc); }
  void field(const char* key, std::vector<int64_t>& v, const Check& check, const char* doc = nullptr);
  void field(const char* key, std::vector<double>& v, const char* doc = nullptr) { field(key, v, Check{}, doc); }
  void field(const char* key, std::vector<double>& v, const Check& check, const char* doc = nullptr);
  void field(const char* key, std::vector<std::string>& v, const char* doc = nullptr) {
    field(key, v, Check{}, doc);
  }
  void field(const char* key, std::vector<std::string>& v, const Check& check, const char* doc = nullptr);

  // A key that may be absent: stays std::nullopt when the file does not set it, and is not written then.
  template <class T>
  void field(const char* key, std::optional<T>& v, const char* doc = nullptr) {
    field(key, v, Check{}, doc);
  }
  template <class T>
  void field(const char* key, std::optional<T>& v, const Check& check, const char* doc = nullptr) {
    if (mode() == Mode::describe) {
      T tmp{};
      field(key, tmp, check, doc);
      mark_last_optional();
    } else if (mode() == Mode::read) {
      if (!present(key)) {
        v.reset();
        declare(key);
        return;
      }
      v.emplace();
      field(key, *v, check, doc);
    } else if (v) {
      field(key, *v, check, doc);
    }
  }

  // An enum written as a string: b.choice("ssm", c.ssm, {{"real", Ssm::real}, {"complex", Ssm::complex}}).
  template <class E>
  void choice(const char* key, E& v, const std::vector<std::pair<std::string, E>>& names,
              const char* doc = nullptr) {
    std::vector<std::string> allowed;
    std::string current;
    for (const auto& [name, value] : names) {
      allowed.push_back(name);
      if (value == v && current.empty()) current = name;
    }
    if (current.empty()) current = unnamed_enum(key, allowed);
    field(key, current, one_of(allowed), doc);
    for (const auto& [name, value] : names)
      if (name == current) v = value;
  }

  // A nested table [key] whose fields are declared by bind(Binder&, T&).
  template <class T>
  void section(const char* key, T& sub, const char* doc = nullptr) {
    begin_section(key, doc);
    bind(*this, sub);
    end_section();
  }

  // An array of tables [[key]], each element declared by bind(Binder&, T&). Absent: keeps the default.
  template <class T>
  void list(const char* key, std::vector<T>& items, const char* doc = nullptr) {
    const int64_t n = begin_list(key, doc, static_cast<int64_t>(items.size()));
    if (mode() == Mode::read && n >= 0) items.assign(static_cast<size_t>(n), T{});
    if (mode() == Mode::describe) {
      T tmp{};
      begin_item(-1);
      bind(*this, tmp);
      end_item();
    } else {
      for (size_t i = 0; i < items.size(); ++i) {
        begin_item(static_cast<int64_t>(i));
        bind(*this, items[i]);
        end_item();
      }
    }
    end_list();
  }

  // Read mode: whether `key` is set in the current table (by the file or by --set).
  bool present(const char* key) const;
  // Declares a key without binding it (for keys handled by hand); keeps it from being "unknown".
  void declare(const char* key);

 private:
  Impl& impl_;
  void begin_section(const char* key, const char* doc);
  void end_section();
  int64_t begin_list(const char* key, const char* doc, int64_t write_count);  // read: -1 when absent
  void begin_item(int64_t index);
  void end_item();
  void end_list();
  void mark_last_optional();
  std::string unnamed_enum(const char* key, const std::vector<std::string>& allowed);
};

namespace detail {
using BindFn = std::function<void(Binder&)>;
// Parses `text` (from `source`: a file name, used in messages), applies `overrides` ("a.b=value") and
// runs `bind_root` in read mode.
void read(std::string_view text, const std::string& source, const std::vector<std::string>& overrides,
          const BindFn& bind_root);
std::string write(const BindFn& bind_root);
std::vector<FieldInfo> describe(const BindFn& bind_root);
}  // namespace detail

// Reads a config file into a T (defaults for absent keys) and applies --set overrides ("a.b=value", the
// value parsed as TOML; strings may be unquoted). An empty path means "no file": defaults + overrides.
template <class T>
T load(const std::string& path, const std::vector<std::string>& overrides = {});

// Same from TOML text; `source` names it in error messages.
template <class T>
T parse(std::string_view text, const std::string& source, const std::vector<std::string>& overrides = {}) {
  T cfg{};
  detail::read(text, source, overrides, [&](Binder& b) { bind(b, cfg); });
  return cfg;
}

// The resolved config as TOML text (every key, with its doc as a comment); parse() gives back the same T.
template <class T>
std::string to_toml(const T& cfg) {
  T copy = cfg;  // bind() takes a non-const reference; writing does not modify it
  return detail::write([&](Binder& b) { bind(b, copy); });
}

// Every key T declares, in declaration order.
template <class T>
std::vector<FieldInfo> describe() {
  T cfg{};
  return detail::describe([&](Binder& b) { bind(b, cfg); });
}

// A table of keys for --help and docs: "  model.d_model   integer > 0 (default 64)  width of ...".
std::string format_fields(const std::vector<FieldInfo>& fields);

// Text of a config file; a one-line error when missing or unreadable.
std::string read_config_file(const std::string& path);

// Writes to_toml(cfg) to `path` atomically (e.g. runs/<name>/config.toml).
void save_text(const std::string& path, std::string_view toml_text);
template <class T>
void save(const std::string& path, const T& cfg) {
  save_text(path, to_toml(cfg));
}

template <class T>
T load(const std::string& path, const std::vector<std::string>& overrides) {
  if (path.empty()) return parse<T>("", "(defaults)", overrides);
  return parse<T>(read_config_file(path), path, overrides);
}

}  // namespace ms::cfg
