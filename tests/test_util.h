#pragma once
// Helpers shared by the test suites.
#include <functional>
#include <string>

#include <ember/core/error.h>

namespace ember::test_util {

/// The message of the ember::Error that f throws, or "<no error>".
inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace ember::test_util
