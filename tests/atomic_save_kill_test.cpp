// Atomic saves under SIGKILL (issue 17, finding 6): a child process saves a 24 MiB
// file in a loop and is killed at 20 random moments. After every kill the target, if
// present, must load whole; orphaned temporaries must not pile up (none at all with
// O_TMPFILE), and one more save must leave none. Time and disk stay bounded.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include <ember/ember.h>
#include <ember/io/atomic_file.h>

namespace {
using namespace ember;
namespace fs = std::filesystem;

constexpr int kKills = 20;
constexpr std::uintmax_t kMaxDiskBytes = 200u << 20;

struct Folder {
  std::uintmax_t bytes = 0;
  int temporaries = 0;  // names containing ".tmp."
};

Folder scan(const fs::path& dir) {
  Folder f;
  for (const auto& e : fs::directory_iterator(dir)) {
    f.bytes += e.file_size();
    if (e.path().filename().string().find(".tmp.") != std::string::npos) ++f.temporaries;
  }
  return f;
}

// The file at `path` loads, and every element holds the iteration its metadata names.
void expect_whole(const std::string& path) {
  const safetensors::File f = safetensors::load(path);
  ASSERT_EQ(f.tensors.size(), 2u);
  const float iteration = std::stof(f.metadata.at("iteration"));
  for (const auto& [name, t] : f.tensors) {
    EXPECT_EQ(t.numel(), name == "weight" ? (6 << 20) : (1 << 10)) << name;
    const float* v = t.data_ptr<float>();
    EXPECT_TRUE(std::all_of(v, v + t.numel(), [&](float x) { return x == iteration; }))
        << name << " is not all " << iteration;
  }
}

class KillDuringSave : public ::testing::TestWithParam<bool> {};

TEST_P(KillDuringSave, LeavesAWholeFileAndNoOrphans) {
  const bool o_tmpfile = GetParam();
  std::string templ = (fs::temp_directory_path() / "ember_kill_XXXXXX").string();
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  const fs::path dir = templ;
  const std::string path = (dir / "model.safetensors").string();
  const auto start = std::chrono::steady_clock::now();
  std::mt19937 rng(17);
  // Kills land at random points of a child's life: the first kill waits for its
  // first whole save, which measures how long start-up and one save take (much
  // longer under the sanitizers); later kills come after 5% to 150% of that.
  std::uniform_real_distribution<double> fraction(0.05, 1.5);
  double cycle_ms = 0;
  std::uintmax_t peak_bytes = 0;
  int saves_seen = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    const ::pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::execl(EMBER_SAVE_LOOP, EMBER_SAVE_LOOP, path.c_str(), o_tmpfile ? "o_tmpfile" : "named", nullptr);
      ::_exit(127);
    }
    if (kill == 0) {
      const auto t0 = std::chrono::steady_clock::now();
      while (!fs::exists(path) && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      cycle_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    } else {
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(fraction(rng) * cycle_ms));
    }
    peak_bytes = std::max(peak_bytes, scan(dir).bytes);
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the save loop exited by itself: " << status;
    peak_bytes = std::max(peak_bytes, scan(dir).bytes);
    if (fs::exists(path)) {
      expect_whole(path);
      ++saves_seen;
    }
  }
  const int orphans = scan(dir).temporaries;
  safetensors::save(path, {{"bias", zeros({1 << 10})}, {"weight", zeros({6 << 10, 1 << 10})}}, {{"iteration", "0"}});
  expect_whole(path);
  const Folder after = scan(dir);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%s: %d kills, %d with a saved file, %d orphan(s) left, %d after one more save; peak disk %.1f MB; "
      "%.1f s (first save after %.0f ms)\n",
      o_tmpfile ? "O_TMPFILE" : "named temporaries", kKills, saves_seen, orphans, after.temporaries,
      static_cast<double>(peak_bytes) / 1e6, seconds, cycle_ms);
  // With O_TMPFILE a kill leaves a name only between link and rename, microseconds;
  // with named temporaries each save removes its dead predecessors', so at most the last.
  EXPECT_LE(orphans, 1);
  EXPECT_EQ(after.temporaries, 0);
  EXPECT_LT(peak_bytes, kMaxDiskBytes);
  EXPECT_LT(seconds, 30.0 + 2.0 * kKills * cycle_ms / 1000);  // the kill schedule, plus the checks
  EXPECT_GT(saves_seen, 0) << "no save completed in 120 s";
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(AtomicSave, KillDuringSave, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "O_TMPFILE" : "NamedTemporary"; });

}  // namespace
