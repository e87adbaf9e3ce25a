// log/: CRC-32C and TFRecord framing, the event bytes, metrics.csv and
// hparams.json, histograms, images, bad log folders, the writer thread's
// flushing, and the progress display both ways. The event files are also
// decoded by protobuf itself in tests/log/check_events.py.
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <ember/core/factory.h>
#include <ember/log/log.h>
#include <ember/log/crc32c.h>
#include <ember/log/event_proto.h>

#include "test_util.h"

using namespace ember;
using namespace ember::logging;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "ember_log_XXXXXX").string();
    EXPECT_NE(::mkdtemp(templ.data()), nullptr);
    path_ = templ;
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uint64_t le(const std::string& s, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}

// The records of a TFRecord file, every CRC checked (a test-side reader).
std::vector<std::string> records(const std::string& bytes) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_GE(bytes.size() - at, 12u) << "truncated header at " << at;
    const std::uint64_t n = le(bytes, at, 8);
    EXPECT_EQ(le(bytes, at + 8, 4), masked_crc32c(bytes.data() + at, 8)) << "length CRC at " << at;
    EXPECT_GE(bytes.size() - at - 12, n + 4) << "truncated record at " << at;
    out.push_back(bytes.substr(at + 12, n));
    EXPECT_EQ(le(bytes, at + 12 + n, 4), masked_crc32c(bytes.data() + at + 12, n)) << "data CRC at " << at;
    at += 12 + n + 4;
  }
  return out;
}

std::string only_event_file(const std::string& dir) {
  std::string found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) {
      EXPECT_TRUE(found.empty()) << "two event files in " << dir;
      found = e.path().string();
    }
  return found;
}

std::string bytes_of(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

}  // namespace

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  // RFC 3720 B.4: 32 bytes of zeros, and of 0xFF.
  const std::string zeros(32, '\0'), ones(32, '\xff');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  // Unaligned tails go through the byte loop: every length agrees with a bitwise CRC.
  std::string s;
  for (int i = 0; i < 41; ++i) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : s) {
      c ^= b;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    EXPECT_EQ(crc32c(s.data(), s.size()), c ^ 0xFFFFFFFFu) << "length " << s.size();
    s.push_back(static_cast<char>(i * 37 + 11));
  }
  const std::uint32_t crc = crc32c("123456789", 9);
  EXPECT_EQ(masked_crc32c("123456789", 9), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(EventFile, FramingIsLengthCrcDataCrc) {
  const std::string rec = frame_record("abc");
  ASSERT_EQ(rec.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(le(rec, 0, 8), 3u);
  EXPECT_EQ(le(rec, 8, 4), masked_crc32c(rec.data(), 8));
  EXPECT_EQ(rec.substr(12, 3), "abc");
  EXPECT_EQ(le(rec, 15, 4), masked_crc32c("abc", 3));
}

TEST(EventFile, ScalarEventBytes) {
  // Event{wall_time: 1.5 (0x09), step: 3 (0x10), summary (0x2A): Summary{value (0x0A):
  // Value{tag "loss" (0x0A), simple_value 0.5f (0x15)}}}, by hand from the proto field numbers.
  const std::string e = event_proto::summary_event(1.5, 3, {event_proto::scalar_value("loss", 0.5f)});
  const std::string want = bytes_of({0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x10, 0x03, 0x2A, 0x0D, 0x0A, 0x0B, 0x0A, 0x04,
                                     'l', 'o', 's', 's', 0x15, 0, 0, 0, 0x3F});
  EXPECT_EQ(e, want);
  // Negative steps are ten-byte varints, as protobuf encodes int64.
  const std::string neg = event_proto::summary_event(0, -1, {});
  EXPECT_EQ(neg.substr(9, 11), bytes_of({0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  EXPECT_EQ(event_proto::file_version_event(2.0).substr(9), bytes_of({0x1A, 13}) + "brain.Event:2");
}

TEST(SummaryWriter, WritesEventsCsvAndHparams) {
  TempDir dir;
  const std::string run = dir / "runs/adam_lr0.1";  // parents are created
  {
    SummaryWriter w(run);
    w.add_scalar("loss/train", 0.25, 1);
    w.add_scalar("accuracy/test", 0.5, 1);
    w.add_scalar("loss/train", std::nan(""), 2);
    w.add_scalar("loss/train", INFINITY, 3);
    w.add_scalar("accuracy/test", 0.75, 3);
    w.add_text("notes", "hello, *world*", 3);
    w.add_hparams({{"optimizer", "adam"}, {"lr", 0.1}, {"dropout", 0.2}, {"epochs", 3}, {"amsgrad", false}},
                  {{"hparam/accuracy", 0.75}}, ".");
  }
  const std::string file = only_event_file(run);
  ASSERT_FALSE(file.empty());
  EXPECT_NE(file.find("/events.out.tfevents."), std::string::npos);
  const std::vector<std::string> recs = records(read_file(file));
  ASSERT_EQ(recs.size(), 1u + 6 + 3 + 1);  // version, scalars and text, hparams, the hparam metric
  EXPECT_NE(recs[0].find("brain.Event:2"), std::string::npos);
  // The NaN and inf scalars are stored as the float bits TensorBoard reads.
  float nan_bits, inf_bits;
  std::memcpy(&nan_bits, recs[3].data() + recs[3].size() - 4, 4);
  std::memcpy(&inf_bits, recs[4].data() + recs[4].size() - 4, 4);
  EXPECT_TRUE(std::isnan(nan_bits));
  EXPECT_EQ(inf_bits, INFINITY);

  EXPECT_EQ(std::regex_replace(read_file(run + "/metrics.csv"), std::regex(",[0-9]+\\.[0-9]{3},"), ",T,"),
            "step,wall_time,loss/train,accuracy/test,hparam/accuracy\n"
            "0,T,,,0.75\n"
            "1,T,0.25,0.5,\n"
            "2,T,nan,,\n"
            "3,T,inf,0.75,\n");
  EXPECT_EQ(read_file(run + "/hparams.json"),
            "{\n  \"hparams\": {\n    \"amsgrad\": false,\n    \"dropout\": 0.2,\n    \"epochs\": 3,\n"
            "    \"lr\": 0.1,\n    \"optimizer\": \"adam\"\n  },\n  \"metrics\": {\n    \"hparam/accuracy\": 0.75\n  }\n}\n");
}

TEST(SummaryWriter, AddScalarsAndHparamsGoToSubRunsAsPyTorch) {
  TempDir dir;
  {
    SummaryWriter w(dir.str());
    w.add_scalars("loss", {{"train", 0.5}, {"test", 0.6}}, 1);
    w.add_hparams({{"lr", 1e-3}}, {{"hparam/accuracy", 0.9}}, "session");
  }
  EXPECT_FALSE(only_event_file(dir / "loss_train").empty());
  EXPECT_FALSE(only_event_file(dir / "loss_test").empty());
  EXPECT_FALSE(only_event_file(dir / "session").empty());
  EXPECT_EQ(records(read_file(only_event_file(dir / "loss_test"))).size(), 2u);
  EXPECT_NE(read_file(dir / "metrics.csv").find("step,wall_time,loss/test,loss/train\n1,"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "hparams.json"));
}

TEST(SummaryWriter, FlushesOnItsOwnWithinFlushSecs) {
  TempDir dir;
  SummaryWriter w(dir.str(), SummaryWriterOptions().flush_secs(0.1).max_queue(1000));
  w.add_scalar("x", 1.0, 1);
  const std::string file = w.event_file();
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {  // up to 5 s on a loaded machine
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen = records(read_file(file)).size() == 2 && fs::exists(dir / "metrics.csv");
  }
  EXPECT_TRUE(seen) << "the scalar was not written without an explicit flush";
  w.add_scalar("x", 2.0, 2);
  w.flush();  // an explicit flush returns once it is on disk
  EXPECT_EQ(records(read_file(file)).size(), 3u);
  EXPECT_NE(read_file(dir / "metrics.csv").find("\n2,"), std::string::npos);
  w.close();
  w.add_scalar("x", 3.0, 3);  // ignored after close, no crash
  w.flush();
  EXPECT_EQ(records(read_file(file)).size(), 3u);
}

TEST(SummaryWriter, ThreadsLogAtOnce) {
  TempDir dir;
  {
    SummaryWriter w(dir.str(), SummaryWriterOptions().max_queue(3));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&w, t] {
        for (int i = 0; i < 250; ++i) w.add_scalar(fmt::format("t{}", t), i, i);
      });
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(records(read_file(only_event_file(dir.str()))).size(), 1001u);
  const std::string csv = read_file(dir / "metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 251);
}

TEST(SummaryWriter, UnwritableFolderIsAnErrorNamingIt) {
  TempDir dir;
  { std::ofstream(dir / "file") << "x"; }
  const std::string bad = dir / "file/run";
  const std::string msg = test_util::message_of([&] { SummaryWriter w(bad); });
  EXPECT_NE(msg.find("SummaryWriter: cannot create log directory " + bad), std::string::npos) << msg;
  EXPECT_NE(msg.find("is not a directory"), std::string::npos) << msg;
  const std::string msg2 = test_util::message_of([] { SummaryWriter w("/proc/self/ember_cannot_be_here"); });
  EXPECT_NE(msg2.find("/proc/self/ember_cannot_be_here"), std::string::npos) << msg2;
  EXPECT_NE(test_util::message_of([&] { SummaryWriter w(dir.str(), SummaryWriterOptions().flush_secs(0)); }).find("flush_secs"),
            std::string::npos);
}

TEST(Histogram, TensorflowBucketsAsPyTorch) {
  const std::vector<double> v = {-2.0, -0.5, 0.0, 0.0, 1e-3, 0.5, 0.5, 3.0, NAN, INFINITY};
  const Histogram h = histogram_tensorflow(v);
  EXPECT_EQ(h.num, 8);
  EXPECT_EQ(h.non_finite, 2);
  EXPECT_EQ(h.min, -2.0);
  EXPECT_EQ(h.max, 3.0);
  EXPECT_DOUBLE_EQ(h.sum, 1.501);
  EXPECT_DOUBLE_EQ(h.sum_squares, 4 + 0.25 + 1e-6 + 0.5 + 9);
  ASSERT_EQ(h.bucket.size(), h.bucket_limit.size());
  EXPECT_EQ(h.bucket.front(), 0.0);  // one empty bucket before the first value, as PyTorch keeps
  EXPECT_GT(h.bucket[1], 0.0);
  EXPECT_GT(h.bucket.back(), 0.0);
  double total = 0;
  for (double c : h.bucket) total += c;
  EXPECT_EQ(total, 8);
  // Each value sits in the bucket whose limits enclose it: [limit[i-1], limit[i]).
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    std::size_t i = 0;
    while (i < h.bucket_limit.size() && !(x < h.bucket_limit[i])) ++i;
    ASSERT_LT(i, h.bucket.size()) << x;
    EXPECT_GT(h.bucket[i], 0.0) << x;
    if (i > 0) {
      EXPECT_GE(x, h.bucket_limit[i - 1]);
    }
  }
  EXPECT_NEAR(h.bucket_limit.back() / 3.0, 1.0, 0.1);  // edges 1.1 apart
}

TEST(Histogram, UniformAsNumpy) {
  // np.histogram([0, 1, 1, 2, 3, 4], bins=4) -> counts [1, 2, 1, 2], edges [0, 1, 2, 3, 4]
  const Histogram h = histogram_uniform({0, 1, 1, 2, 3, 4}, 4);
  EXPECT_EQ(h.bucket, (std::vector<double>{1, 2, 1, 2}));
  EXPECT_EQ(h.bucket_limit, (std::vector<double>{1, 2, 3, 4}));
  const Histogram one = histogram_uniform({5, 5}, 2);  // numpy: range [4.5, 5.5]
  EXPECT_EQ(one.bucket, (std::vector<double>{0, 2}));
  EXPECT_EQ(histogram_uniform({}, 3).num, 0);
  EXPECT_NE(test_util::message_of([] { histogram_uniform({1}, 0); }).find("bins must be positive"), std::string::npos);
}

TEST(Images, PixelsInEveryLayout) {
  Tensor img = from_vector<float>({0.0f, 0.5f, 1.0f, 2.0f, -1.0f, NAN}, Shape{1, 2, 3});
  Pixels px = to_pixels(img, "CHW");
  EXPECT_EQ(px.height, 2);
  EXPECT_EQ(px.width, 3);
  EXPECT_EQ(px.channels, 1);
  EXPECT_EQ(px.data, (std::vector<std::uint8_t>{0, 128, 255, 255, 0, 0}));
  Tensor rgb = from_vector<std::uint8_t>({1, 2, 3, 4, 5, 6}, Shape{1, 2, 3});  // HWC: one row, two RGB pixels
  EXPECT_EQ(to_pixels(rgb, "HWC").data, (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6}));
  Tensor two = from_vector<float>({0, 0, 0, 0}, Shape{1, 2, 2});
  EXPECT_NE(test_util::message_of([&] { to_pixels(two, "HWC"); }).find("2 channels"), std::string::npos);
  EXPECT_NE(test_util::message_of([&] { to_pixels(img, "NCHW"); }).find("dataformats"), std::string::npos);

  // add_image writes PNG through io::encode_png; check_events.py decodes it and compares the pixels.
  TempDir dir;
  {
    SummaryWriter w(dir.str());
    w.add_image("grey", img, 1);
    EXPECT_NE(test_util::message_of([&] { w.add_image("bad", two, 1, "HWC"); }).find("add_image: 2 channels"), std::string::npos);
  }
  EXPECT_EQ(records(read_file(only_event_file(dir.str()))).size(), 2u);
}

TEST(Progress, OneLinePerEpochWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(5, ProgressOptions().stream(f).title("Epoch 1/2").tty(0));
    EXPECT_FALSE(p.redraws());
    for (int i = 1; i <= 5; ++i) p.update(i, {{"loss", 1.0 * i}, {"accuracy", 0.5}}, i == 5 ? 2 : 4);
    EXPECT_EQ(std::ftell(f), 0L) << "nothing before the epoch ends";
    EXPECT_DOUBLE_EQ(p.average("loss"), (4 * (1 + 2 + 3 + 4) + 2 * 5.0) / 18);  // weighted by samples
    p.finish({{"test_accuracy", 0.97}});
  }
  { Progress p(3, ProgressOptions().stream(f).title("Epoch 2/2").tty(0)); p.update(3, {{"loss", 0.1}}, 10); }  // finished by its destructor
  std::rewind(f);
  std::string out(4096, '\0');
  out.resize(std::fread(out.data(), 1, out.size(), f));
  std::fclose(f);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  const std::regex line1(R"(Epoch 1/2  5/5 \[=+\] - \d+s \d+us/step - \d+ samples/s - loss: 2\.7778 - accuracy: 0\.5000 - test_accuracy: 0\.9700\n)");
  const std::regex line2(R"(Epoch 2/2  3/3 \[=+\] - \d+s \d+us/step - \d+ samples/s - loss: 0\.1000\n)");
  std::smatch m;
  EXPECT_TRUE(std::regex_search(out, m, line1)) << out;
  EXPECT_TRUE(std::regex_search(out, m, line2)) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
}

TEST(Progress, RedrawsInPlaceOnATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(4, ProgressOptions().stream(f).tty(1).interval(0).width(8));
    for (int i = 1; i <= 4; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      p.update(i, {{"loss", 0.5}}, 8);
    }
    p.finish();
  }
  std::rewind(f);
  std::string out(4096, '\0');
  out.resize(std::fread(out.data(), 1, out.size(), f));
  std::fclose(f);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 5) << out;  // four steps and the final line
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("\r1/4 [=>......] - ETA: -"), std::string::npos) << out;  // no rate from the first step alone
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\r2/4 \[===>\.\.\.\.\] - ETA: \ds - \d+ samples/s - loss: 0\.5000)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\r4/4 \[========\] - \ds \d+ms/step - \d+ samples/s - loss: 0\.5000 *\n$)"))) << out;
}

// On a terminal every redraw fits its width, read again at each redraw: the bar
// shrinks, then the line is cut, so an 80-column terminal never wraps it, and a
// resize is followed.
TEST(Progress, FitsTheTerminalAndFollowsItsResizes) {
  int master = -1, slave = -1;
  winsize ws{};
  ws.ws_col = 80;
  ws.ws_row = 24;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, &ws), 0);
  std::FILE* f = fdopen(slave, "w");
  ASSERT_NE(f, nullptr);
  std::string out;
  std::thread reader([&] {  // the pty's buffer is small: drain it while the bar draws, until EIO at close
    char buf[4096];
    for (;;) {
      const ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
  });
  const Progress::Values many{{"loss", 0.25}, {"accuracy", 0.9}, {"learning_rate", 0.001}, {"gradient_norm", 1.5}};
  {
    Progress p(469, ProgressOptions().stream(f).title("Epoch 10/10").interval(0));
    ASSERT_TRUE(p.redraws());
    EXPECT_GT(p.line(false).size(), 0u);
    for (int i = 1; i <= 200; ++i) p.update(i, many, 64);
    ws.ws_col = 40;
    ASSERT_EQ(ioctl(master, TIOCSWINSZ, &ws), 0);
    for (int i = 201; i <= 469; ++i) p.update(i, many, 64);
    p.finish({{"test_loss", 0.1}, {"test_accuracy", 0.98}});
  }
  std::fclose(f);
  reader.join();
  close(master);
  std::size_t drawn = 0, at_40 = 0;
  std::string seg;
  for (char c : out + "\r") {
    if (c == '\r' || c == '\n') {
      if (!seg.empty()) {
        ++drawn;
        EXPECT_LE(seg.size(), 79u) << seg;
        if (seg.find("469/469") != std::string::npos || seg.find("300/469") != std::string::npos) {
          ++at_40;
          EXPECT_LE(seg.size(), 39u) << seg;
        }
      }
      seg.clear();
    } else {
      seg += c;
    }
  }
  EXPECT_GE(drawn, 469u);
  EXPECT_GE(at_40, 2u);
  // Wide enough: the whole line and the full bar.
  Progress q(10, ProgressOptions().stream(nullptr).width(30));
  q.update(5, {{"loss", 0.5}});
  const std::string wide = q.fitted_line(false, {}, 200);
  EXPECT_NE(wide.find("[==============>...............]"), std::string::npos) << wide;  // the full 30
  EXPECT_NE(wide.find("loss: 0.5000"), std::string::npos) << wide;
  const std::string narrow = q.fitted_line(false, {}, 40);
  EXPECT_LE(narrow.size(), 39u) << narrow;
  EXPECT_NE(narrow.find("5/10 ["), std::string::npos) << narrow;
}

// In a pipe a program that prints its own summary line can keep the bar silent.
TEST(Progress, SilentInAPipeWhenAsked) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(3, ProgressOptions().stream(f).tty(0).lines_when_piped(false));
    for (int i = 1; i <= 3; ++i) p.update(i, {{"loss", 0.5}});
    p.finish({{"test_accuracy", 0.9}});
  }
  EXPECT_EQ(std::ftell(f), 0L);
  std::fclose(f);
}
