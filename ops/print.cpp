#include "ember/ops/print.h"

#include <algorithm>
#include <cmath>

#include "ember/autograd/node.h"

namespace ember {
namespace {

constexpr std::int64_t kSummarizeAbove = 1000;  // elements; PyTorch's threshold
constexpr std::int64_t kEdgeItems = 3;

// How every element of one tensor is written, chosen once so columns align.
struct NumberStyle {
  bool floating = false, integral_values = false, scientific = false;
  int width = 1;

  std::string write(double v) const {
    if (!floating) return fmt::format("{}", static_cast<std::int64_t>(v));
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (scientific) return fmt::format("{:.4e}", v);
    if (integral_values) return fmt::format("{:.0f}.", v);
    return fmt::format("{:.4f}", v);
  }
};

NumberStyle choose_style(const Tensor& t, const std::vector<double>& values) {
  NumberStyle s;
  s.floating = t.is_floating_point();
  if (s.floating) {
    double lo = INFINITY, hi = 0;
    s.integral_values = true;
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      s.integral_values = s.integral_values && v == std::floor(v);
      if (v != 0) {
        lo = std::min(lo, std::abs(v));
        hi = std::max(hi, std::abs(v));
      }
    }
    s.scientific = hi > 0 && (hi / lo > 1000.0 || hi >= 1e8 || lo < 1e-4) && !(s.integral_values && hi < 1e8);
  }
  for (double v : values) s.width = std::max<int>(s.width, static_cast<int>(s.write(v).size()));
  return s;
}

bool is_elided(const Tensor& t, std::int64_t d, std::int64_t i) {
  return t.numel() > kSummarizeAbove && t.sizes()[d] > 2 * kEdgeItems && i >= kEdgeItems &&
         i < t.sizes()[d] - kEdgeItems;
}

// Values shown (after elision), for choosing the style.
void collect(const Tensor& t, std::int64_t d, std::int64_t off, std::vector<double>& out) {
  if (d == t.dim()) {
    out.push_back(detail::read_as<double>(t, off));
    return;
  }
  for (std::int64_t i = 0; i < t.sizes()[d]; ++i)
    if (!is_elided(t, d, i)) collect(t, d + 1, off + i * t.strides()[d], out);
}

void write(const Tensor& t, std::int64_t d, std::int64_t off, const NumberStyle& s, int indent, std::string& out) {
  if (d == t.dim()) {
    std::string v = s.write(detail::read_as<double>(t, off));
    out.append(static_cast<std::size_t>(s.width) - v.size(), ' ');
    out += v;
    return;
  }
  out += '[';
  const std::int64_t n = t.sizes()[d];
  bool skipped = false;
  for (std::int64_t i = 0; i < n; ++i) {
    if (is_elided(t, d, i)) {
      if (!skipped) {
        out += d + 1 == t.dim() ? "..., " : "...,\n";
        if (d + 1 != t.dim()) out.append(static_cast<std::size_t>(indent + 1), ' ');
      }
      skipped = true;
      continue;
    }
    write(t, d + 1, off + i * t.strides()[d], s, indent + 1, out);
    if (i + 1 < n) {
      if (d + 1 == t.dim()) out += ", ";
      else {
        out += ',';
        out.append(static_cast<std::size_t>(t.dim() - d - 1), '\n');
        out.append(static_cast<std::size_t>(indent + 1), ' ');
      }
    }
  }
  out += ']';
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  std::vector<double> shown;
  collect(t, 0, t.storage_offset(), shown);
  const NumberStyle style = choose_style(t, shown);
  std::string out = "tensor(";
  write(t, 0, t.storage_offset(), style, 7, out);
  if (t.numel() == 0 || t.numel() > kSummarizeAbove) out += fmt::format(", size={}", shape_str(t.sizes()));
  if (t.dtype() != kDefaultDType && t.dtype() != DType::Int64) out += fmt::format(", dtype={}", t.dtype());
  if (auto fn = t.grad_fn()) out += fmt::format(", grad_fn=<{}>", fn->name());
  else if (t.requires_grad()) out += ", requires_grad=True";
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

std::ostream& operator<<(std::ostream& os, const Shape& shape) { return os << shape_str(shape); }

}  // namespace ember
