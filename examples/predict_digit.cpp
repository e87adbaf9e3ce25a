// Which digit is in this picture? Loads a model saved by mnist_mlp or
// mnist_cnn (told apart by the file's "arch" metadata), prepares each image as
// MNIST's digits were prepared (data::mnist_style), and prints the top 3 with
// the 28x28 the net sees, shaded in the terminal.
//
//   predict_digit --model mnist_cnn.safetensors my_digit.png [more.jpg ...]
//                 [--save-seen DIR] [--json] [--naive] [--expect-correct N]
//
// --save-seen DIR   writes DIR/<image name>.seen.png, the 28x28 the net sees (inputs
//                   of one name in different folders get their folders in the name:
//                   a_digit.seen.png, b_digit.seen.png)
// --json            one JSON object a line: {"file": "...", "top": [{"digit": 9, "p": 0.97}, ...],
//                   "warnings": [...]}
// A warning follows the answer where the net is unsure (its top probability is
// under 60%) or the ink covers most of its box (a blob, or a background that was
// kept as ink): look at the 28x28 it saw.
// --naive           resize the whole canvas to 28x28 instead (the comparison MNIST-style beats)
// --expect-correct N  the true digit is the one after the first "d" of each file name
//                   ("d7_03.png"); prints "correct K/M" and exits 1 unless K >= N
// Exit status: 0, 1 if an image failed (each error names the file) or too few
// were correct, 2 for bad flags or a model that does not load.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <ember/ember.h>

#include "models.h"

using namespace ember;

namespace {

struct Args {
  std::string model, save_seen;
  bool json = false, naive = false;
  int expect_correct = -1;
  std::vector<std::string> images;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&]() -> std::string {
      EMBER_CHECK(i + 1 < argc, "{} needs a value", s);
      return argv[++i];
    };
    if (s == "--model") a.model = value();
    else if (s == "--save-seen") a.save_seen = value();
    else if (s == "--json") a.json = true;
    else if (s == "--naive") a.naive = true;
    else if (s == "--expect-correct") a.expect_correct = std::stoi(value());
    else if (s == "--help" || s == "-h") {
      std::printf("usage: predict_digit --model FILE.safetensors IMAGE... [--save-seen DIR] [--json] [--naive] "
                  "[--expect-correct N]\n");
      std::exit(0);
    } else if (s.rfind("--", 0) == 0) throw Error("unknown flag " + s + " (see --help)");
    else a.images.push_back(s);
  }
  EMBER_CHECK(!a.model.empty(), "--model FILE.safetensors is required (see --help)");
  EMBER_CHECK(!a.images.empty(), "no image given (see --help)");
  return a;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
    else out += static_cast<char>(c);
  }
  return out + "\"";
}

// The 28x28 in [0, 1] as terminal art: gray-level backgrounds on a terminal,
// a character ramp otherwise; two columns a pixel so it looks square.
void shade(const Tensor& seen, bool tty) {
  const auto v = seen.to_vector<float>();
  static const char ramp[] = " .:-=+*#%@";
  for (int y = 0; y < 28; ++y) {
    std::string line;
    for (int x = 0; x < 28; ++x) {
      const float p = std::clamp(v[static_cast<std::size_t>(y * 28 + x)], 0.0f, 1.0f);
      if (tty) line += fmt::format("\x1b[48;5;{}m  ", 232 + static_cast<int>(std::lround(p * 23)));
      else line += std::string(2, ramp[static_cast<int>(std::lround(p * 9))]);
    }
    std::printf("%s%s\n", line.c_str(), tty ? "\x1b[0m" : "");
  }
}

// What to doubt about an answer: an unsure net, or ink that fills its box.
std::vector<std::string> warnings_for(const Tensor& seen, const std::vector<double>& p, int top) {
  std::vector<std::string> out;
  if (p[static_cast<std::size_t>(top)] < 0.6)
    out.push_back(fmt::format("unsure: the net gives {} only {:.0f}%", top, 100.0 * p[static_cast<std::size_t>(top)]));
  const auto v = seen.to_vector<float>();
  int y0 = 28, y1 = -1, x0 = 28, x1 = -1, on = 0;
  double mass = 0.0;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      const float q = v[static_cast<std::size_t>(y * 28 + x)];
      mass += q;
      if (q <= 0.05f) continue;
      ++on, y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
    }
  // A drawn digit's ink touches about half of its bounding box (0.38-0.71 on the
  // committed drawings) and its mass is a quarter of the 20x20 (0.10-0.35).
  const double cover = on ? static_cast<double>(on) / ((y1 - y0 + 1) * (x1 - x0 + 1)) : 0.0;
  if (cover > 0.8 || mass / 400.0 > 0.45)
    out.push_back(fmt::format("the ink covers {:.0f}% of its box: a blob, or a shadow or background kept as ink? "
                              "(see the 28x28, --save-seen)",
                              100.0 * cover));
  return out;
}

// Names of the --save-seen files: the image's name, or, where inputs share it,
// with as many of its nearest folders as tell them apart (a_digit, b_digit); a
// number is added if even that is taken.
std::vector<std::string> seen_names(const std::vector<std::string>& paths) {
  // "stem", "a_stem", "x_a_stem", ... for each path, nearest folder first.
  auto candidates = [](const std::string& p) {
    const std::filesystem::path path = std::filesystem::absolute(p).lexically_normal();
    std::vector<std::string> out{path.stem().string()};
    for (std::filesystem::path dir = path.parent_path(); dir.has_filename(); dir = dir.parent_path())
      out.push_back(dir.filename().string() + "_" + out.back());
    return out;
  };
  std::vector<std::vector<std::string>> all;
  std::map<std::string, int> count;  // how many inputs each candidate name fits
  for (const auto& p : paths) {
    all.push_back(candidates(p));
    for (const auto& c : all.back()) ++count[c];
  }
  std::vector<std::string> out;
  std::set<std::string> used;
  for (const auto& c : all) {
    std::string name = c.back();
    for (const auto& n : c)
      if (count[n] == 1) {
        name = n;
        break;
      }
    std::string unique = name;
    for (int k = 2; used.count(unique); ++k) unique = fmt::format("{}-{}", name, k);
    used.insert(unique);
    out.push_back(unique + ".seen.png");
  }
  return out;
}

int label_from_name(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  const auto d = name.find('d');
  return d != std::string::npos && d + 1 < name.size() && std::isdigit(static_cast<unsigned char>(name[d + 1]))
             ? name[d + 1] - '0'
             : -1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  examples::DigitModel model;
  try {
    args = parse(argc, argv);
    model = examples::load_digit_model(args.model);
    if (!args.save_seen.empty()) std::filesystem::create_directories(args.save_seen);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "predict_digit: %s\n", e.what());
    return 2;
  }
  const bool tty = isatty(fileno(stdout)) != 0;
  int failed = 0, correct = 0, labelled = 0;
  const std::vector<std::string> names = seen_names(args.images);
  for (std::size_t n = 0; n < args.images.size(); ++n) {
    const std::string& path = args.images[n];
    try {
      const Tensor image = io::read_image(path);
      const auto opts = data::MnistStyleOptions().normalize(false).name(path);
      const Tensor seen = args.naive ? data::naive_resize(image, opts) : data::mnist_style(image, opts);
      const Tensor input = model.normalized ? (seen - 0.1307) / 0.3081 : seen;
      const auto p = model.probabilities(input.unsqueeze(0)).to_vector<double>();
      std::vector<int> order(10);
      for (int i = 0; i < 10; ++i) order[static_cast<std::size_t>(i)] = i;
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[static_cast<std::size_t>(a)] > p[static_cast<std::size_t>(b)]; });
      if (!args.save_seen.empty())
        io::write_png((std::filesystem::path(args.save_seen) / names[n]).string(), seen);
      const std::vector<std::string> warnings = warnings_for(seen, p, order[0]);
      const int label = label_from_name(path);
      if (args.expect_correct >= 0 && label >= 0) ++labelled, correct += order[0] == label;
      if (args.json) {
        std::string top;
        for (int k = 0; k < 3; ++k)
          top += fmt::format("{}{{\"digit\": {}, \"p\": {:.4f}}}", k ? ", " : "", order[static_cast<std::size_t>(k)],
                             p[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])]);
        std::string warn;
        for (const auto& w : warnings) warn += (warn.empty() ? "" : ", ") + json_string(w);
        std::printf("{\"file\": %s, \"top\": [%s], \"warnings\": [%s]}\n", json_string(path).c_str(), top.c_str(),
                    warn.c_str());
      } else {
        std::printf("%s: ", path.c_str());
        for (int k = 0; k < 3; ++k)
          std::printf("%s%d (%.1f%%)", k ? "  " : "", order[static_cast<std::size_t>(k)],
                      100.0 * p[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])]);
        if (args.expect_correct >= 0 && label >= 0) std::printf("   [%s, drawn %d]", order[0] == label ? "right" : "WRONG", label);
        std::printf("\n");
        for (const auto& w : warnings) std::printf("  warning: %s\n", w.c_str());
        shade(seen, tty);
      }
      std::fflush(stdout);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "predict_digit: %s\n", e.what());
      ++failed;
    }
  }
  if (args.expect_correct >= 0) {
    std::fprintf(args.json ? stderr : stdout, "correct %d/%d (%s, %s)\n", correct, labelled,
                 args.naive ? "naive resize" : "mnist_style", model.arch.c_str());
    if (correct < args.expect_correct) return 1;
  }
  return failed ? 1 : 0;
}
