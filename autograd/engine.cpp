// The autograd engine. One backward pass:
//   1. Walk the graph from the outputs' nodes, iteratively (a recursive walk
//      overflows the stack on a 100,000-op chain), listing nodes in post-order.
//   2. Mark the nodes that lead to a requested input (all of them for backward()).
//   3. Count, for each needed node, how many needed nodes feed it gradients.
//   4. Run nodes whose count has dropped to zero, newest first: sum the gradients
//      that arrived, call the node's backward, then check each gradient against
//      its input's shape and dtype -- reducing a broadcast gradient to the input's
//      shape here, in one place -- and pass it on.
// AccumulateGrad sinks add into the leaf's .grad(); with grad() they are
// captured instead. A non-leaf that asked to retain_grad() gets the gradient
// summed for it in its .grad() too, as it leaves its node. Saved tensors are freed as nodes finish unless retain_graph.
#include "ember/autograd/engine.h"

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "ember/autograd/grad_mode.h"
#include "ember/autograd/meta.h"
#include "ember/ops/ops.h"

namespace ember::autograd {
namespace {

struct NodeState {
  int dependencies = 0;
  bool needed = false;
  TensorList buffer;  // sum of gradients arriving for each forward output
};

// Adds `g` into slot `i` of the buffer (out of place: the gradient may be shared).
void accumulate(TensorList& buffer, std::size_t i, const Tensor& g) {
  if (!buffer[i].defined()) buffer[i] = g;
  else buffer[i] = buffer[i] + g;
}

// Makes the gradient `g` for input `i` of `node` fit that input, or says why not.
Tensor conform(const Node& node, std::size_t i, Tensor g) {
  const TensorMeta& m = node.input_meta[i];
  if (g.sizes() != m.shape) {
    EMBER_CHECK(is_expandable_to(m.shape, g.sizes()),
                "{} returned a gradient of shape {} for an input of shape {}", node.name(),
                shape_str(g.sizes()), shape_str(m.shape));
    g = sum_to(g, m.shape);
  }
  if (g.dtype() != m.dtype) g = g.to(m.dtype);
  return g;
}

class GraphTask {
 public:
  GraphTask(bool keep_graph, bool create_graph) : keep_graph_(keep_graph), create_graph_(create_graph) {}

  // captures: for grad(), the (node, slot) whose arriving gradient is the answer.
  TensorList run(const std::vector<Edge>& roots, const TensorList& root_grads, const std::vector<Edge>& captures) {
    const bool accumulate_leaves = captures.empty();
    std::vector<Node*> post_order = walk(roots);
    mark_needed(post_order, captures, accumulate_leaves);
    count_dependencies(post_order);
    for (std::size_t i = 0; i < roots.size(); ++i) {
      if (!roots[i].valid()) continue;
      NodeState& s = state_[roots[i].node.get()];
      if (s.buffer.empty()) s.buffer.resize(roots[i].node->output_meta.size());
      accumulate(s.buffer, roots[i].input_nr, root_grads[i]);
    }
    std::unordered_map<Node*, std::vector<std::size_t>> capture_at;
    for (std::size_t i = 0; i < captures.size(); ++i)
      if (captures[i].valid()) capture_at[captures[i].node.get()].push_back(i);
    TensorList captured(captures.size());

    auto newer = [](Node* a, Node* b) { return a->sequence_nr() < b->sequence_nr(); };
    std::priority_queue<Node*, std::vector<Node*>, decltype(newer)> ready(newer);
    std::unordered_set<Node*> seen_root;
    for (const auto& r : roots)
      if (r.valid() && state_[r.node.get()].needed && state_[r.node.get()].dependencies == 0 &&
          seen_root.insert(r.node.get()).second)
        ready.push(r.node.get());

    while (!ready.empty()) {
      Node* node = ready.top();
      ready.pop();
      NodeState& s = state_[node];
      TensorList grads = std::move(s.buffer);
      grads.resize(node->output_meta.size());
      if (auto it = capture_at.find(node); it != capture_at.end())
        for (std::size_t ci : it->second) captured[ci] = grads[captures[ci].input_nr];
      if (accumulate_leaves)
        for (const auto& r : node->retained)
          if (grads[r.output_nr].defined()) retain(r, grads[r.output_nr]);
      if (auto* acc = dynamic_cast<AccumulateGrad*>(node)) {
        if (accumulate_leaves && grads[0].defined()) accumulate_into_leaf(*acc, std::move(grads[0]));
        continue;
      }
      // A captured node that leads to no other input has done its job.
      if (!accumulate_leaves && !feeds_needed(*node)) continue;
      TensorList input_grads = call(*node, grads);
      for (std::size_t i = 0; i < node->next_edges.size(); ++i) {
        const Edge& e = node->next_edges[i];
        if (!e.valid()) continue;
        NodeState& next = state_[e.node.get()];
        if (!next.needed) continue;
        if (i < input_grads.size() && input_grads[i].defined()) {
          if (next.buffer.empty()) next.buffer.resize(e.node->output_meta.size());
          AutoGradMode mode(create_graph_);
          accumulate(next.buffer, e.input_nr, conform(*node, i, input_grads[i]));
        }
        if (--next.dependencies == 0) ready.push(e.node.get());
      }
    }
    return captured;
  }

 private:
  // Post-order over the nodes reachable from the roots, with an explicit stack.
  std::vector<Node*> walk(const std::vector<Edge>& roots) {
    std::vector<Node*> order;
    std::vector<std::pair<Node*, std::size_t>> stack;  // node, next edge to visit
    for (const auto& r : roots) {
      if (!r.valid() || !visited_.insert(r.node.get()).second) continue;
      stack.emplace_back(r.node.get(), 0);
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->next_edges.size()) {
          Node* child = node->next_edges[next++].node.get();
          if (child && visited_.insert(child).second) stack.emplace_back(child, 0);
        } else {
          order.push_back(node);
          stack.pop_back();
        }
      }
    }
    return order;
  }

  // A node is needed if it is a capture target or feeds a needed node; in
  // post-order every child comes before its parents, so one pass suffices.
  void mark_needed(const std::vector<Node*>& post_order, const std::vector<Edge>& captures, bool all) {
    std::unordered_set<Node*> targets;
    for (const auto& c : captures)
      if (c.valid()) targets.insert(c.node.get());
    for (Node* n : post_order) {
      bool needed = all || targets.count(n) > 0;
      for (const auto& e : n->next_edges) needed = needed || (e.valid() && state_[e.node.get()].needed);
      state_[n].needed = needed;
    }
  }

  bool feeds_needed(const Node& n) {
    for (const auto& e : n.next_edges)
      if (e.valid() && state_[e.node.get()].needed) return true;
    return false;
  }

  void count_dependencies(const std::vector<Node*>& post_order) {
    for (Node* n : post_order) {
      if (!state_[n].needed) continue;
      for (const auto& e : n->next_edges)
        if (e.valid() && state_[e.node.get()].needed) ++state_[e.node.get()].dependencies;
    }
  }

  TensorList call(Node& node, TensorList& grads) {
    bool any = false;
    for (std::size_t i = 0; i < grads.size(); ++i) {
      if (grads[i].defined()) any = true;
      else grads[i] = zeros(node.output_meta[i].shape, node.output_meta[i].dtype);
    }
    TensorList out;
    if (any) {
      AutoGradMode mode(create_graph_);
      out = node.apply(grads);
      EMBER_CHECK(out.size() == node.next_edges.size(), "{} returned {} gradients for {} inputs", node.name(),
                  out.size(), node.next_edges.size());
    }
    if (!keep_graph_) node.release_saved();
    return out;
  }

  void accumulate_into_leaf(AccumulateGrad& acc, Tensor g) {
    const Tensor leaf = acc.variable();
    if (!leaf.defined()) return;  // nobody holds the leaf any more
    Tensor grad = conform(acc, 0, std::move(g));
    AutogradMeta& m = ensure_meta(leaf);
    // Backward passes on other threads may add into the same leaf.
    std::lock_guard<std::mutex> lock(m.mutex);
    if (create_graph_) {
      // A copy even here: the incoming gradient may be shared, expanded, or the user's.
      AutoGradMode mode(true);
      m.grad = m.grad.defined() ? m.grad + grad : grad.clone();
    } else {
      NoGradGuard no_grad;
      // The first gradient becomes .grad as it is when nothing else can see
      // it (as PyTorch's AccumulateGrad steals it); otherwise it is copied, as
      // it may be shared with other tensors of the graph or be the caller's.
      // Stealing saved a 2.7 MB copy per MLP step (perf: clone in backward).
      if (m.grad.defined()) m.grad.add_(grad);
      else if (sole_owner(grad)) m.grad = std::move(grad);
      else m.grad = grad.detach().clone().contiguous();
    }
  }

  // Tensor::retain_grad: the non-leaf's .grad gets a copy (the gradient flows on).
  void retain(const Node::Retained& r, const Tensor& g) {
    const Tensor t(r.tensor.lock());
    if (!t.defined()) return;
    AutogradMeta& m = ensure_meta(t);
    std::lock_guard<std::mutex> lock(m.mutex);
    AutoGradMode mode(create_graph_);
    if (!m.grad.defined()) m.grad = create_graph_ ? g.clone() : g.detach().clone().contiguous();
    else if (create_graph_) m.grad = m.grad + g;
    else m.grad.add_(g);
  }

  // No other handle, view or alias can reach g's elements, and g is a plain
  // dense tensor without history.
  static bool sole_owner(const Tensor& g) {
    if (g.impl_ptr().use_count() != 1 || g.impl().autograd != nullptr || g.is_opaque() || !g.is_contiguous() ||
        g.storage_offset() != 0)
      return false;
    const Storage& st = g.impl().storage;
    return st.use_count() == 1 && st->nbytes() == static_cast<std::size_t>(g.numel()) * itemsize(g.dtype());
  }

  bool keep_graph_, create_graph_;
  std::unordered_set<Node*> visited_;
  std::unordered_map<Node*, NodeState> state_;
};

// Root edges and their seed gradients (ones for one-element outputs).
void seed(const TensorList& outputs, const TensorList& grad_outputs, std::vector<Edge>& roots, TensorList& grads) {
  EMBER_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(),
              "backward: got {} grad_outputs for {} outputs", grad_outputs.size(), outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    EMBER_CHECK(out.defined() && out.requires_grad(),
                "backward: element {} of tensors does not require grad and does not have a grad_fn", i);
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      EMBER_CHECK(out.numel() == 1, "backward: grad can be implicitly created only for one-element outputs, got shape {}",
                  shape_str(out.sizes()));
      g = ones_like(out);
    } else {
      EMBER_CHECK(g.sizes() == out.sizes(), "backward: grad_output of shape {} for an output of shape {}",
                  shape_str(g.sizes()), shape_str(out.sizes()));
      EMBER_CHECK(g.is_floating_point(), "backward: grad_output must be floating point, got {}", g.dtype());
    }
    roots.push_back(gradient_edge(out));
    grads.push_back(g);
  }
}

}  // namespace

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                std::optional<bool> retain_graph, bool create_graph, bool allow_unused) {
  EMBER_CHECK(!inputs.empty(), "grad: expected at least one input");
  std::vector<Edge> roots, captures;
  TensorList grads;
  seed(outputs, grad_outputs, roots, grads);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    EMBER_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "grad: input {} does not require grad", i);
    AutogradMeta* m = meta(inputs[i]);
    // A leaf's accumulator exists only if some op used the leaf.
    std::lock_guard<std::mutex> lock(m->mutex);
    captures.push_back(m->grad_fn ? Edge{m->grad_fn, m->output_nr} : Edge{m->grad_accumulator.lock(), 0});
  }
  TensorList result = GraphTask(retain_graph.value_or(create_graph), create_graph).run(roots, grads, captures);
  for (std::size_t i = 0; i < result.size(); ++i) {
    EMBER_CHECK(result[i].defined() || allow_unused,
                "grad: input {} was not used in the graph of the outputs; pass allow_unused=true if "
                "this is intended",
                i);
    if (result[i].defined() && !create_graph) result[i] = result[i].detach();
  }
  return result;
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const GradOptions& o) {
  return grad(outputs, inputs, o.grad_outputs(), o.retain_graph(), o.create_graph(), o.allow_unused());
}

void backward(const TensorList& outputs, const TensorList& grad_outputs, std::optional<bool> retain_graph,
              bool create_graph) {
  std::vector<Edge> roots;
  TensorList grads;
  seed(outputs, grad_outputs, roots, grads);
  GraphTask(retain_graph.value_or(create_graph), create_graph).run(roots, grads, {});
}

}  // namespace ember::autograd

namespace ember {
void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph) const {
  autograd::backward({*this}, {gradient}, retain_graph, create_graph);
}
}  // namespace ember
