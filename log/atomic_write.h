#pragma once
/// Replaces a whole (small) file atomically: metrics.csv and hparams.json.
/// Internal to log/; a thin call into the shared atomic file writer.
#include <string>

namespace ember::logging {

/// Writes `text` to `path` through a temporary and a rename; ember::Error "<op>: <path>: ..." on failure.
void atomic_write(const std::string& path, const std::string& text, const std::string& op);

}  // namespace ember::logging
