#pragma once
/// Ember's one exception type, and the EMBER_CHECK macro that throws it.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace ember {

/// Thrown for every user-facing failure: bad shapes, dtypes, dims, files.
/// The message names the op (or file) and the shapes or bytes at fault.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ember

/// EMBER_CHECK(cond, "fmt string", args...): throw ember::Error unless cond.
#define EMBER_CHECK(cond, ...)                                      \
  do {                                                              \
    if (!(cond)) throw ::ember::Error(::fmt::format(__VA_ARGS__));  \
  } while (0)
