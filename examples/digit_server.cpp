// A page to draw a digit on, and the net's answer while you draw. Serves one
// page (examples/web/index.html, compiled in: nothing comes from the internet)
// and POST /predict, on cpp-httplib.
//
//   digit_server --model mnist_cnn.safetensors [--port 8080] [--host 127.0.0.1] [--max-body 4000000]
//
// POST /predict: a PNG/JPEG/PGM body, or JSON {"width": W, "height": H, "pixels": [0..255, ...]}.
// Answers {"top": [{"digit": 9, "p": 0.97}, x3], "probs": [10], "seen": [784 bytes], "ms": 1.2,
// "arch": "..."}; a bad body gets 400 {"error": "..."}, one over --max-body 413.
// --port 0 picks a free port; the first line printed says which.
#include <chrono>
#include <cstdio>
#include <string>

#include <httplib.h>

#include <ember/ember.h>

#include "digit_request.h"
#include "digit_server_page.h"  // kIndexHtml, generated from web/index.html
#include "models.h"

using namespace ember;

namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

std::string error_json(const std::string& msg) { return "{\"error\": \"" + json_escape(msg) + "\"}"; }

std::string predict_json(const examples::DigitModel& model, const Tensor& image) {
  const auto start = std::chrono::steady_clock::now();
  const Tensor seen = data::mnist_style(image, data::MnistStyleOptions().normalize(false).name("the drawing"));
  const Tensor input = model.normalized ? (seen - 0.1307) / 0.3081 : seen;
  const auto p = model.probabilities(input.unsqueeze(0)).to_vector<double>();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::vector<int> order{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[static_cast<std::size_t>(a)] > p[static_cast<std::size_t>(b)]; });
  std::string out = "{\"top\": [";
  for (int k = 0; k < 3; ++k)
    out += fmt::format("{}{{\"digit\": {}, \"p\": {:.4f}}}", k ? ", " : "", order[static_cast<std::size_t>(k)],
                       p[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])]);
  out += "], \"probs\": [";
  for (int d = 0; d < 10; ++d) out += fmt::format("{}{:.4f}", d ? ", " : "", p[static_cast<std::size_t>(d)]);
  out += "], \"seen\": [";
  const auto v = seen.to_vector<float>();
  for (std::size_t i = 0; i < v.size(); ++i)
    out += fmt::format("{}{}", i ? "," : "", static_cast<int>(std::lround(std::clamp(v[i], 0.0f, 1.0f) * 255)));
  out += fmt::format("], \"ms\": {:.3f}, \"arch\": \"{}\"}}", ms, json_escape(model.arch));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, host = "127.0.0.1";
  int port = 8080;
  std::size_t max_body = 4'000'000;
  examples::DigitModel model;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string s = argv[i];
      auto value = [&]() -> std::string {
        EMBER_CHECK(i + 1 < argc, "{} needs a value", s);
        return argv[++i];
      };
      if (s == "--model") model_path = value();
      else if (s == "--port") port = std::stoi(value());
      else if (s == "--host") host = value();
      else if (s == "--max-body") max_body = std::stoull(value());
      else if (s == "--help" || s == "-h") {
        std::printf("usage: digit_server --model FILE.safetensors [--port 8080] [--host 127.0.0.1] [--max-body BYTES]\n");
        return 0;
      } else throw Error("unknown flag " + s + " (see --help)");
    }
    EMBER_CHECK(!model_path.empty(), "--model FILE.safetensors is required (see --help)");
    EMBER_CHECK(port >= 0 && port <= 65535, "--port {} is not a port", port);
    model = examples::load_digit_model(model_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "digit_server: %s\n", e.what());
    return 2;
  }

  httplib::Server server;
  server.set_payload_max_length(max_body);
  // The answer goes out as headers and body in separate writes; without TCP_NODELAY, Nagle holds the
  // body back until the client's delayed ACK, some 40 ms per request.
  server.set_tcp_nodelay(true);  // longer bodies get 413 before they are read
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(examples::kIndexHtml, "text/html; charset=utf-8");
  });
  server.Post("/predict", [&model](const httplib::Request& req, httplib::Response& res) {
    try {
      const Tensor image = examples::parse_predict_body(req.get_header_value("Content-Type"), req.body);
      res.set_content(predict_json(model, image), "application/json");
    } catch (const Error& e) {  // the client's input: say what is wrong with it
      res.status = 400;
      res.set_content(error_json(e.what()), "application/json");
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(error_json(std::string("internal error: ") + e.what()), "application/json");
    }
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(error_json("internal error"), "application/json");
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      res.set_content(error_json(res.status == 413 ? "body too large" : fmt::format("HTTP {}", res.status)),
                      "application/json");
  });
  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    std::fprintf(stderr, "digit_server: cannot listen on %s:%d\n", host.c_str(), port);
    return 1;
  }
  std::printf("digit_server: listening on http://%s:%d/ (model %s: %s)\n", host.c_str(), bound, model_path.c_str(),
              model.arch.c_str());
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
