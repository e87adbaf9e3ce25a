// A user's program: one header, one target. Exits non-zero if the gradient is wrong.
#include <ember/ember.h>

int main() {
  ember::Tensor x = ember::tensor({1.0, 2.0, 3.0}).requires_grad_();
  (x * x).sum().backward();
  fmt::print("grad = {}\n", x.grad());
  return x.grad().to_vector<float>() == std::vector<float>{2, 4, 6} ? 0 : 1;
}
