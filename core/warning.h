#pragma once
/// Warnings, as PyTorch gives them for calls that run but are likely wrong:
/// printed to stderr once per message ("ember: warning: ..."), or passed to a
/// handler the program sets (tests capture them this way).
#include <functional>
#include <string>

namespace ember {

/// Reports `message` unless this exact message was reported before.
void warn_once(const std::string& message);

/// Replaces where warnings go (null: back to stderr); returns the old handler.
using WarningHandler = std::function<void(const std::string&)>;
WarningHandler set_warning_handler(WarningHandler handler);

}  // namespace ember
