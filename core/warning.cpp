#include "ember/core/warning.h"

#include <cstdio>
#include <mutex>
#include <set>
#include <utility>

namespace ember {
namespace {
struct Warnings {
  std::mutex mu;
  std::set<std::string> seen;
  WarningHandler handler;
};
Warnings& warnings() {
  static Warnings w;
  return w;
}
}  // namespace

void warn_once(const std::string& message) {
  Warnings& w = warnings();
  WarningHandler handler;
  {
    std::lock_guard<std::mutex> lock(w.mu);
    if (!w.seen.insert(message).second) return;
    handler = w.handler;
  }
  if (handler) handler(message);
  else std::fprintf(stderr, "ember: warning: %s\n", message.c_str());
}

WarningHandler set_warning_handler(WarningHandler handler) {
  Warnings& w = warnings();
  std::lock_guard<std::mutex> lock(w.mu);
  w.seen.clear();  // a new handler hears every warning once
  return std::exchange(w.handler, std::move(handler));
}

}  // namespace ember
