// A first look at Ember: tensors, ops, backward() and gradients.
// Fits y = w * x + b to noisy points by gradient descent, then checks
// a hand derivative against autograd.
#include <ember/ember.h>

#include <fmt/core.h>

int main() {
  using namespace ember;
  manual_seed(0);

  // Data: y = 3x - 1 plus a little noise.
  Tensor x = linspace(-1, 1, 64).reshape({64, 1});
  Tensor y = 3.0 * x - 1.0 + 0.05 * randn({64, 1});

  Tensor w = zeros({1, 1}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  for (int step = 0; step < 200; ++step) {
    Tensor loss = (matmul(x, w) + b - y).pow(2).mean();
    loss.backward();
    {
      NoGradGuard no_grad;  // the update itself must not be recorded
      w.sub_(w.grad() * 0.5);
      b.sub_(b.grad() * 0.5);
    }
    w.grad().zero_();
    b.grad().zero_();
    if (step % 50 == 0) fmt::print("step {:3d}  loss {:.5f}\n", step, loss.item<double>());
  }
  fmt::print("learned w = {:.3f}, b = {:.3f} (true 3, -1)\n", w.item<double>(), b.item<double>());

  // Gradients of gradients: d2/dx2 of x^3 is 6x.
  Tensor t = tensor({0.5, 2.0}).requires_grad_();
  Tensor dy = autograd::grad({t.pow(3).sum()}, {t}, autograd::GradOptions().create_graph(true))[0];
  Tensor d2y = autograd::grad({dy.sum()}, {t})[0];
  fmt::print("x = {}\ndy/dx = {}\nd2y/dx2 = {}\n", t, dy, d2y);
  return 0;
}
