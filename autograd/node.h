#pragma once
/// The recorded graph: a Node per differentiable op, Edges to the nodes that
/// made its inputs. Gradients flow from a node to its next_edges.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::autograd {

class Node;

/// Where a gradient goes: input slot `input_nr` of `node` (the node's forward output number).
struct Edge {
  std::shared_ptr<Node> node;
  std::uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

struct TensorMeta {
  Shape shape;
  DType dtype;
};

class Node {
 public:
  explicit Node(std::string name);
  /// Frees the graph behind this node iteratively (see graph.cpp).
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// "MulBackward": used in grad_fn printing and in every error about this node.
  const std::string& name() const { return name_; }

  /// Maps gradients w.r.t. the forward outputs (one per output, none undefined)
  /// to gradients w.r.t. the forward inputs (one per next_edge; undefined = none).
  virtual TensorList apply(const TensorList& grad_outputs) = 0;

  /// Frees what backward needed; called after backward() unless retain_graph.
  virtual void release_saved() {}

  /// Creation order: later nodes run first when several are ready.
  std::uint64_t sequence_nr() const { return sequence_nr_; }

  bool needs_input_grad(std::size_t i) const { return i < next_edges.size() && next_edges[i].valid(); }

  /// Outputs whose gradient backward() also adds into the tensor's .grad
  /// (Tensor::retain_grad); held weakly, as AccumulateGrad holds its leaf.
  struct Retained {
    std::uint32_t output_nr;
    std::weak_ptr<TensorImpl> tensor;
  };
  std::vector<Retained> retained;

  std::vector<Edge> next_edges;          // one per forward input
  std::vector<TensorMeta> input_meta;    // forward inputs: a gradient must match these
  std::vector<TensorMeta> output_meta;   // forward outputs: missing gradients are zeros of these

 private:
  std::string name_;
  std::uint64_t sequence_nr_;
};

/// The sink at a leaf: the engine adds the gradient arriving here into the leaf's .grad().
/// (The engine does the adding itself, so this graph library needs no arithmetic.)
/// It holds the leaf weakly: a gradient for a leaf nobody holds could never be read,
/// and a strong reference would make a cycle leaf -> grad -> graph -> leaf after
/// backward(create_graph=true) (a leak PyTorch warns about).
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const Tensor& variable);
  TensorList apply(const TensorList&) override { return {}; }
  /// The leaf, or an undefined tensor once it is gone.
  Tensor variable() const { return Tensor(variable_.lock()); }

 private:
  std::weak_ptr<TensorImpl> variable_;
};

/// A tensor kept for backward. Remembers its version so that an in-place change
/// after saving is caught, and holds the op's own outputs without their grad_fn
/// (a strong reference there would make a cycle node -> output -> node).
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, const Node* owner);
  /// The saved tensor, with its history; throws if freed or modified in place.
  Tensor unpack(const Node& owner) const;
  void reset() { data_ = Tensor(); freed_ = true; }
  /// Gives up the saved tensor (for iterative graph destruction).
  Tensor release() { return std::move(data_); }

 private:
  Tensor data_;
  std::weak_ptr<Node> grad_fn_;  // set when the tensor is an output of its owner
  std::uint32_t output_nr_ = 0;
  std::uint32_t saved_version_ = 0;
  bool is_output_ = false;
  bool freed_ = false;
};

class BackwardCtx;
/// A backward formula: gradients of the outputs -> gradients of the inputs.
using BackwardFn = std::function<TensorList(const BackwardCtx& ctx, const TensorList& grads)>;

/// The node every op records: a name, the tensors it saved and its backward
/// formula, written in Ember's differentiable ops.
class FunctionNode final : public Node {
 public:
  FunctionNode(std::string name, BackwardFn fn);
  ~FunctionNode() override;
  TensorList apply(const TensorList& grad_outputs) override;
  void release_saved() override;
  void save(const TensorList& tensors);
  Tensor saved(std::size_t i) const;

 private:
  BackwardFn fn_;
  std::vector<SavedTensor> saved_;
  bool released_ = false;
};

/// What a backward formula sees besides the gradients.
class BackwardCtx {
 public:
  explicit BackwardCtx(const FunctionNode& node) : node_(node) {}
  /// The i-th tensor the op saved (inputs and outputs alike, in the order given to record).
  Tensor saved(std::size_t i) const { return node_.saved(i); }
  bool needs_input_grad(std::size_t i) const { return node_.needs_input_grad(i); }

 private:
  const FunctionNode& node_;
};

}  // namespace ember::autograd
