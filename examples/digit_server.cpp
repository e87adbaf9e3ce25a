// A page to draw a digit on, and the net's answer while you draw. Serves one
// page (examples/web/index.html, compiled in: nothing comes from the internet)
// and POST /predict, on cpp-httplib.
//
//   digit_server --model mnist_cnn.safetensors [--port 8080] [--host 127.0.0.1] [--max-body 4000000]
//
// POST /predict: a PNG/JPEG/PGM body (plain, or as the file of a multipart/form-data upload), or JSON
// {"width": W, "height": H, "pixels": [0..255, ...]}. Answers {"top": [{"digit": 9, "p": 0.97}, x3],
// "probs": [10], "seen": [784 bytes], "ms": 1.2, "arch": "..."}; a bad body gets 400 {"error": "..."},
// one over --max-body 413 (Content-Length or chunked, refused as soon as the limit is passed).
// --port 0 picks a free port; the first line printed says which.
//
// A guard owns each connection before httplib sees it (GuardedServer below): one thread a connection
// (capped overall and per client address), deadlines for the head and a minimum rate for the body, the
// head parsed strictly and the body's framing decoded by digit_request.h. httplib then routes the
// checked request and writes the answer.
#include <poll.h>
#include <sys/socket.h>
#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <semaphore>
#include <string>
#include <thread>

#include <httplib.h>

#include <ember/ember.h>

#include "digit_request.h"
#include "digit_server_page.h"  // kIndexHtml, generated from web/index.html
#include "flags.h"
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

using Clock = std::chrono::steady_clock;

/// How long and how slowly a client may send.
struct Deadlines {
  std::chrono::milliseconds idle{5000};   // for the first byte of a request (keep-alive included)
  std::chrono::milliseconds head{10000};  // for the whole head, from its first byte
  std::chrono::milliseconds grace{5000};  // a body may take this long ...
  double min_rate = 16384;                // ... plus one second per this many bytes received
  std::chrono::milliseconds write{5000};  // for sending one answer
};

/// One checked request: its head, and its body decoded from Content-Length or chunked framing.
struct Incoming {
  examples::RequestHead head;
  std::string body;
};

// The request the current thread is answering, for the /predict handler (httplib gets the head only).
thread_local const Incoming* current_request = nullptr;
// Set while the accept thread runs a connection it could not give a thread of its own: refuse it.
thread_local bool refuse_connection = false;

/// The bytes that arrive until `deadline`: > 0 bytes read, 0 at end of stream, -1 on timeout or error.
ssize_t recv_until(int fd, char* buf, std::size_t n, Clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return -1;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR) return -1;
    if (r <= 0) continue;
    const ssize_t got = ::recv(fd, buf, n, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    return got < 0 ? -1 : got;
  }
}

bool send_until(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) continue;
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

/// The guard's own answer to a request it refuses; the connection closes after it.
std::string refusal(int status, const std::string& why) {
  const std::string body = error_json(why);
  return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                     status, reason(status), body.size(), body);
}

/// httplib's side of a checked request: reads the head the guard wrote, keeps the answer.
class MemoryStream : public httplib::Stream {
 public:
  MemoryStream(std::string in, std::string ip, int port, int fd)
      : in_(std::move(in)), ip_(std::move(ip)), port_(port), fd_(fd) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* p, std::size_t n) override {
    n = std::min(n, in_.size() - pos_);
    std::copy_n(in_.data() + pos_, n, p);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* p, std::size_t n) override {
    out.append(p, n);
    return static_cast<ssize_t>(n);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { ip = ip_, port = port_; }
  void get_local_ip_and_port(std::string& ip, int& port) const override { ip = "", port = 0; }
  socket_t socket() const override { return fd_; }
  std::string out;

 private:
  std::string in_;
  std::size_t pos_ = 0;
  std::string ip_;
  int port_;
  int fd_;
};

/// A thread for each connection, so a slow or silent client holds only its own thread; over
/// `max_connections` the accept thread runs the task itself, which refuses it at once (503).
class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::size_t max_connections) : max_(max_connections) {}
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (live_ < max_) {
        ++live_;
        try {
          std::thread([this, fn] {
            fn();
            std::lock_guard<std::mutex> l(mutex_);
            if (--live_ == 0) idle_.notify_all();
          }).detach();
          return;
        } catch (const std::system_error&) {
          --live_;
        }
      }
    }
    refuse_connection = true;
    fn();
    refuse_connection = false;
  }
  void shutdown() override {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait_for(lock, std::chrono::seconds(15), [this] { return live_ == 0; });
  }

 private:
  std::size_t max_, live_ = 0;
  std::mutex mutex_;
  std::condition_variable idle_;
};

/// httplib's server with the guard in front: process_and_close_socket (httplib's per-connection
/// entry point) reads each request itself, within the deadlines and limits, and hands httplib
/// the checked head.
class GuardedServer : public httplib::Server {
 public:
  GuardedServer(std::size_t max_body, std::size_t per_client, Deadlines deadlines, examples::HeadLimits limits)
      : max_body_(max_body), per_client_(per_client), deadlines_(deadlines), limits_(limits) {}

 private:
  bool process_and_close_socket(socket_t fd) override {
    std::string ip = "?";
    int port = 0;
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
      if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), serv, sizeof(serv),
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        ip = host, port = std::atoi(serv);
    }
    bool admitted = false;
    if (!refuse_connection) {
      std::lock_guard<std::mutex> lock(clients_mutex_);
      if (clients_[ip] < per_client_) ++clients_[ip], admitted = true;
    }
    if (!admitted) {
      const auto deadline = Clock::now() + std::chrono::milliseconds(200);
      send_until(fd, refusal(503, "too many connections"), deadline);
      close_gently(fd, deadline);
    } else {
      serve(fd, ip, port);
      std::lock_guard<std::mutex> lock(clients_mutex_);
      if (--clients_[ip] == 0) clients_.erase(ip);
    }
    return true;
  }

  void serve(int fd, const std::string& ip, int port) {
    std::string buf;  // bytes read and not yet used (a pipelined next request)
    for (int n = 0; n < 100; ++n) {
      Incoming in;
      try {
        if (!read_request(fd, buf, in)) break;
      } catch (const examples::HttpRefusal& e) {
        send_until(fd, refusal(e.status(), e.what()), Clock::now() + deadlines_.write);
        close_gently(fd, Clock::now() + std::chrono::seconds(1));
        return;
      }
      // httplib gets the request line and the headers that do not frame a body.
      std::string head = in.head.method + " " + in.head.target + " " + in.head.version + "\r\n";
      for (const auto& [k, v] : in.head.headers)
        if (!examples::detail::iequals(k, "Content-Length") && !examples::detail::iequals(k, "Transfer-Encoding") &&
            !examples::detail::iequals(k, "Content-Type") && !examples::detail::iequals(k, "Expect"))
          head += k + ": " + v + "\r\n";
      head += "Content-Length: 0\r\n\r\n";
      MemoryStream stream(std::move(head), ip, port, fd);
      bool closed = false;
      current_request = &in;
      process_request(stream, !in.head.keep_alive || n == 99, closed, nullptr);
      current_request = nullptr;
      if (!send_until(fd, stream.out, Clock::now() + deadlines_.write) || closed || !in.head.keep_alive) break;
    }
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }

  // One request from the socket into `in`; false when the client closed or went quiet between requests.
  bool read_request(int fd, std::string& buf, Incoming& in) {
    char chunk[16384];
    std::size_t head_end = examples::find_head_end(buf);
    auto deadline = Clock::now() + (buf.empty() ? deadlines_.idle : deadlines_.head);
    while (head_end == std::string::npos) {
      if (buf.size() > limits_.max_bytes)
        throw examples::HttpRefusal(431, fmt::format("request head over {} bytes", limits_.max_bytes));
      const bool first = buf.empty();
      const ssize_t got = recv_until(fd, chunk, sizeof(chunk), deadline);
      if (got <= 0) {
        if (first) return false;
        if (got == 0) throw examples::HttpRefusal(400, "connection closed inside the request head");
        throw examples::HttpRefusal(408, "request head not received in time");
      }
      if (first) deadline = Clock::now() + deadlines_.head;
      buf.append(chunk, static_cast<std::size_t>(got));
      head_end = examples::find_head_end(buf);
    }
    in.head = examples::parse_request_head(std::string_view(buf).substr(0, head_end), limits_);
    buf.erase(0, head_end);

    const auto start = Clock::now();
    std::size_t received = 0;
    auto read_more = [&]() {
      const auto allowed = deadlines_.grace + std::chrono::milliseconds(static_cast<long long>(1000.0 * static_cast<double>(received) / deadlines_.min_rate));
      const ssize_t got = recv_until(fd, chunk, sizeof(chunk), start + allowed);
      if (got == 0) throw examples::HttpRefusal(400, "connection closed inside the body");
      if (got < 0)
        throw examples::HttpRefusal(408, fmt::format("body arrived slower than {} bytes/s", deadlines_.min_rate));
      received += static_cast<std::size_t>(got);
      buf.append(chunk, static_cast<std::size_t>(got));
    };
    auto continue_100 = [&] {
      if (examples::detail::iequals(in.head.get("Expect"), "100-continue") && buf.empty())
        send_until(fd, "HTTP/1.1 100 Continue\r\n\r\n", Clock::now() + deadlines_.write);
    };
    if (in.head.chunked) {
      continue_100();
      examples::ChunkedDecoder decoder(max_body_);
      while (true) {
        buf.erase(0, decoder.feed(buf));
        if (decoder.done()) break;
        read_more();
      }
      in.body = std::move(decoder.body());
    } else if (in.head.content_length && *in.head.content_length > 0) {
      const std::uint64_t n = *in.head.content_length;
      if (n > max_body_)
        throw examples::HttpRefusal(413, fmt::format("body of {} bytes is over the limit of {}", n, max_body_));
      continue_100();
      while (buf.size() < n) read_more();
      in.body = buf.substr(0, static_cast<std::size_t>(n));
      buf.erase(0, static_cast<std::size_t>(n));
    }
    return true;
  }

  // After a refusal: stop sending, and read (and drop) what the client is still sending for a moment,
  // so that closing does not reset the connection before the client has read the answer.
  static void close_gently(int fd, Clock::time_point deadline) {
    ::shutdown(fd, SHUT_WR);
    char sink[16384];
    for (std::size_t dropped = 0; dropped < (8u << 20);) {
      const ssize_t got = recv_until(fd, sink, sizeof(sink), deadline);
      if (got <= 0) break;
      dropped += static_cast<std::size_t>(got);
    }
    ::close(fd);
  }

  std::size_t max_body_, per_client_;
  Deadlines deadlines_;
  examples::HeadLimits limits_;
  std::mutex clients_mutex_;
  std::map<std::string, std::size_t> clients_;
};

/// 405 with the methods `path` takes.
httplib::Server::Handler not_allowed(const char* allow) {
  return [allow](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", allow);
    res.set_content(error_json(fmt::format("method not allowed (allowed: {})", allow)), "application/json");
  };
}

}  // namespace

int main(int argc, char** argv) try {
  std::string model_path, host = "127.0.0.1";
  int port = 8080;
  std::int64_t max_body = 4'000'000, workers = 8, max_connections = 512, per_client = 64;
  examples::Flags flags("digit_server", "A page to draw a digit on, and the net's answer while you draw.");
  flags.add("model", model_path, "the model (.safetensors from mnist_mlp, mnist_cnn, ...)")
      .add("port", port, "port to listen on (0: any free port)", examples::Check::NonNegative)
      .add("host", host, "address to listen on")
      .add("max-body", max_body, "largest request body in bytes, whatever its encoding", examples::Check::Positive)
      .add("workers", workers, "predictions run at once", examples::Check::Positive)
      .add("max-connections", max_connections, "open connections at most", examples::Check::Positive)
      .add("max-connections-per-client", per_client, "open connections from one address at most",
           examples::Check::Positive);
  flags.parse(argc, argv);
  if (model_path.empty()) throw examples::UsageError("--model FILE.safetensors is required");
  if (port > 65535) throw examples::UsageError(fmt::format("--port: {} is not a port", port));
  const examples::DigitModel model = examples::load_digit_model(model_path);

  GuardedServer server(static_cast<std::size_t>(max_body), static_cast<std::size_t>(per_client), Deadlines{},
                       examples::HeadLimits{});
  server.set_keep_alive_max_count(100);  // as serve() allows; httplib only says it in Keep-Alive
  server.new_task_queue = [max_connections] { return new ConnectionThreads(static_cast<std::size_t>(max_connections)); };
  std::counting_semaphore<1024> predicting(std::min<std::ptrdiff_t>(workers, 1024));
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(examples::kIndexHtml, "text/html; charset=utf-8");
  });
  server.Post("/predict", [&model, &predicting](const httplib::Request& req, httplib::Response& res) {
    try {
      const std::string& body = current_request ? current_request->body : req.body;
      const std::string type = current_request ? current_request->head.get("Content-Type")
                                               : req.get_header_value("Content-Type");
      const Tensor image = examples::parse_predict_body(type, body);
      predicting.acquire();
      struct Release {
        std::counting_semaphore<1024>& s;
        ~Release() { s.release(); }
      } release{predicting};
      res.set_content(predict_json(model, image), "application/json");
    } catch (const Error& e) {  // the client's input: say what is wrong with it
      res.status = 400;
      res.set_content(error_json(e.what()), "application/json");
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(error_json(std::string("internal error: ") + e.what()), "application/json");
    }
  });
  server.Post("/", not_allowed("GET, HEAD"));
  server.Get("/predict", not_allowed("POST"));
  for (const char* path : {"/", "/predict"}) {
    const char* allow = std::string_view(path) == "/" ? "GET, HEAD" : "POST";
    server.Put(path, not_allowed(allow));
    server.Patch(path, not_allowed(allow));
    server.Delete(path, not_allowed(allow));
  }
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(error_json("internal error"), "application/json");
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content(error_json(fmt::format("HTTP {}", res.status)), "application/json");
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
} catch (const examples::UsageError& e) {
  std::fprintf(stderr, "digit_server: %s (see --help)\n", e.what());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "digit_server: %s\n", e.what());
  return 2;
}
