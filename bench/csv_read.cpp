// Reads a CSV file with data::read_csv `--rounds` times and prints one line per
// round: seconds, MB/s, rows and columns. The time is the whole read_csv call:
// opening and mapping the file, parsing, allocating and filling the columns.
// bench/compare_csv.py runs it beside pandas.read_csv; with --serve it stays up
// and reads the file once per line on stdin, so that, like pandas in its
// Python process, every round after the first runs in a warm process.
//   ember_csv_read FILE [--threads N] [--rounds R] [--numbers] [--serve]
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include <ember/ember.h>

int main(int argc, char** argv) {
  using namespace ember;
  if (argc < 2) {
    fmt::print(stderr, "usage: {} FILE [--threads N] [--rounds R] [--numbers] [--serve]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  int threads = 0, rounds = 3;
  bool numbers = false, serve = false;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--numbers")) numbers = true;
    else if (!std::strcmp(argv[i], "--serve")) serve = true;
    else {
      fmt::print(stderr, "unknown argument {}\n", argv[i]);
      return 2;
    }
  }
  try {
    const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
    data::CsvOptions opt = data::CsvOptions().threads(threads);
    if (numbers) opt.default_type(data::CsvType::Number);
    auto once = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      const data::CsvTable t = data::read_csv(path, opt);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      fmt::print("ember read_csv {:.3f}s {:.1f} MB/s rows {} cols {}\n", s, mb / s, t.rows(), t.cols());
      std::fflush(stdout);
    };
    if (serve) {
      for (std::string line; std::getline(std::cin, line);) once();
    } else {
      for (int r = 0; r < rounds; ++r) once();
    }
  } catch (const Error& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 1;
  }
  return 0;
}
