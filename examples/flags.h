#pragma once
// Typed command-line flags for the examples, in the manner of Python's
// argparse: each flag is bound to a variable whose value is its default, has
// a one-line description, and is checked when parsed, before any work starts.
//
//   std::int64_t epochs = 10;
//   examples::Flags flags("mnist_mlp", "MNIST with a multi-layer perceptron.");
//   flags.add("epochs", epochs, "passes over the training set", examples::Check::Positive);
//   flags.parse(argc, argv);  // --help prints every flag and exits; a bad value throws UsageError
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace examples {

/// A bad command line: the message names the flag and the value.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What a numeric flag's value must satisfy.
enum class Check {
  Any,
  Positive,     // > 0
  NonNegative,  // >= 0
  Fraction,     // in [0, 1): a dropout probability
  Probability,  // in [0, 1]
};

class Flags {
 public:
  Flags(std::string program, std::string about) : program_(std::move(program)), about_(std::move(about)) {}

  /// An integer flag (decimal digits only: "1.5", "3e2" and "abc" are refused).
  Flags& add(const std::string& name, std::int64_t& value, std::string help, Check check = Check::Any) {
    return add_flag(name, std::to_string(value), std::move(help), true, [&value, name, check](const std::string& text) {
      std::int64_t v = 0;
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, v);
      if (ec != std::errc() || ptr != end || text.empty())
        throw UsageError(fmt::format("--{}: '{}' is not an integer", name, text));
      check_range(name, text, static_cast<double>(v), check);
      value = v;
    });
  }
  Flags& add(const std::string& name, int& value, std::string help, Check check = Check::Any) {
    return add_flag(name, std::to_string(value), std::move(help), true, [&value, name, check](const std::string& text) {
      int v = 0;
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, v);
      if (ec != std::errc() || ptr != end || text.empty())
        throw UsageError(fmt::format("--{}: '{}' is not an integer", name, text));
      check_range(name, text, v, check);
      value = v;
    });
  }
  /// A real-valued flag ("1e-3", "0.5"); "nan" and "inf" are refused.
  Flags& add(const std::string& name, double& value, std::string help, Check check = Check::Any) {
    return add_flag(name, fmt::format("{}", value), std::move(help), true, [&value, name, check](const std::string& text) {
      char* end = nullptr;
      const double v = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v))
        throw UsageError(fmt::format("--{}: '{}' is not a number", name, text));
      check_range(name, text, v, check);
      value = v;
    });
  }
  /// A string flag; with `choices`, the value must be one of them.
  Flags& add(const std::string& name, std::string& value, std::string help, std::vector<std::string> choices = {}) {
    if (!choices.empty()) help += fmt::format(" ({})", fmt::join(choices, ", "));
    return add_flag(name, value.empty() ? "none" : value, std::move(help), true,
                    [&value, name, choices](const std::string& text) {
                      bool ok = choices.empty();
                      for (const auto& c : choices) ok = ok || c == text;
                      if (!ok)
                        throw UsageError(fmt::format("--{}: '{}' is not one of {}", name, text, fmt::join(choices, ", ")));
                      value = text;
                    });
  }
  /// A switch: `--name` sets it (also `--name=true|false|1|0`).
  Flags& add(const std::string& name, bool& value, std::string help) {
    return add_flag(name, value ? "on" : "off", std::move(help), false, [&value, name](const std::string& text) {
      if (text == "true" || text == "1") value = true;
      else if (text == "false" || text == "0") value = false;
      else throw UsageError(fmt::format("--{}: '{}' is not true or false", name, text));
    });
  }

  /// Parses `--name value` and `--name=value`. `--help` prints the flags and exits 0.
  /// Every example reports a line at a time (an epoch, a prediction), so stdout
  /// is line-buffered from here on: under tee, nohup or `| tail` each line
  /// appears when it is printed, not at exit (or never, if the run is killed).
  void parse(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, BUFSIZ);
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        print_help();
        std::exit(0);
      }
      if (arg.rfind("--", 0) != 0) throw UsageError(fmt::format("unexpected argument '{}'", arg));
      std::string name = arg.substr(2), text;
      bool has_text = false;
      if (const auto eq = name.find('='); eq != std::string::npos) {
        text = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_text = true;
      }
      Flag* flag = find(name);
      if (flag == nullptr) throw UsageError(fmt::format("unknown flag --{}", name));
      if (!has_text && flag->takes_value) {
        if (i + 1 >= argc) throw UsageError(fmt::format("--{} needs a value", name));
        text = argv[++i];
        has_text = true;
      }
      flag->set(has_text ? text : "true");
      flag->given = true;
    }
  }

  /// Whether `--name` was on the command line (rather than left at its default).
  bool given(const std::string& name) const {
    for (const auto& f : flags_)
      if (f.name == name) return f.given;
    return false;
  }

  void print_help() const {
    std::printf("%s\n\nusage: %s [flags]\n\n", about_.c_str(), program_.c_str());
    std::size_t width = 0;
    for (const auto& f : flags_) width = std::max(width, f.name.size() + (f.takes_value ? 6 : 0));
    for (const auto& f : flags_) {
      const std::string left = f.takes_value ? f.name + " VALUE" : f.name;
      std::printf("  --%-*s  %s (default: %s)\n", static_cast<int>(width), left.c_str(), f.help.c_str(),
                  f.default_text.c_str());
    }
  }

 private:
  struct Flag {
    std::string name, default_text, help;
    bool takes_value;
    std::function<void(const std::string&)> set;
    bool given = false;
  };

  Flags& add_flag(const std::string& name, std::string default_text, std::string help, bool takes_value,
                  std::function<void(const std::string&)> set) {
    flags_.push_back({name, std::move(default_text), std::move(help), takes_value, std::move(set), false});
    return *this;
  }
  Flag* find(const std::string& name) {
    for (auto& f : flags_)
      if (f.name == name) return &f;
    return nullptr;
  }
  static void check_range(const std::string& name, const std::string& text, double v, Check check) {
    const char* need = nullptr;
    switch (check) {
      case Check::Any: break;
      case Check::Positive: need = v > 0 ? nullptr : "must be positive"; break;
      case Check::NonNegative: need = v >= 0 ? nullptr : "must not be negative"; break;
      case Check::Fraction: need = v >= 0 && v < 1 ? nullptr : "must be in [0, 1)"; break;
      case Check::Probability: need = v >= 0 && v <= 1 ? nullptr : "must be in [0, 1]"; break;
    }
    if (need != nullptr) throw UsageError(fmt::format("--{}: {} {}", name, text, need));
  }

  std::string program_, about_;
  std::vector<Flag> flags_;
};

}  // namespace examples
