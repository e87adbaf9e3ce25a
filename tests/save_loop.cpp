// Helper for atomic_save_kill_test: saves a 24 MiB safetensors file to argv[1] over and
// over until killed, each version filled with its iteration number (metadata
// "iteration") so a reader can tell a whole file from a torn one. argv[2] is
// "o_tmpfile" or "named" (the fallback's named temporaries).
#include <cstdio>
#include <cstring>
#include <string>

#include <ember/ember.h>
#include <ember/io/atomic_file.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PATH o_tmpfile|named\n", argv[0]);
    return 2;
  }
  ember::detail::use_o_tmpfile(std::strcmp(argv[2], "named") != 0);
  for (long i = 0;; ++i) {
    const auto value = static_cast<double>(i);
    ember::safetensors::save(argv[1],
                             {{"bias", ember::full({1 << 10}, value, ember::DType::Float32)},
                              {"weight", ember::full({6 << 10, 1 << 10}, value, ember::DType::Float32)}},
                             {{"iteration", std::to_string(i)}});
  }
}
