#include "ember/log/atomic_write.h"

#include "ember/io/atomic_file.h"

namespace ember::logging {

void atomic_write(const std::string& path, const std::string& text, const std::string& op) {
  AtomicFile file(path, op);
  file.write(text.data(), text.size());
  file.commit();
}

}  // namespace ember::logging
