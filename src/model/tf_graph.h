// Runs a TensorFlow.js graph model (GraphDef nodes + weights) in libtorch with TF semantics: tensors
// stay in TF layout (NHWC) and each op is mapped to its torch equivalent. Covers the ops of
// Spotify's basic-pitch: Const, Placeholder, Identity, Shape, StridedSlice (all masks but ellipsis),
// Pack, Reshape, ExpandDims, Squeeze, Transpose, Pad, MirrorPad, ConcatV2, Conv2D, _FusedConv2D
// (BiasAdd, Relu), Neg, Add/AddV2, Sub, Mul, DivNoNan, Square, Sqrt, Log, Sigmoid, Sum, Min, Max.
// Integer tensors (shapes) are int64. Unknown ops are a Model error naming the node.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/tfjs.h"

namespace mpjudge {

class TfGraph {
 public:
  explicit TfGraph(const tfjs::Model& model);
  // feeds: placeholder name -> tensor; outputs: node names (":0" suffixes allowed).
  std::map<std::string, at::Tensor> run(const std::map<std::string, at::Tensor>& feeds,
                                        const std::vector<std::string>& outputs) const;

 private:
  struct Node {
    std::string name, op;
    std::vector<std::string> inputs;
    nlohmann::json attr;
    std::string stage;  // its trace stage (MPJUDGE_TRACE): "tf op: OP", convolutions with their filter shape
  };
  at::Tensor eval(const std::string& name, std::map<std::string, at::Tensor>& memo,
                  const std::map<std::string, at::Tensor>& feeds) const;
  std::map<std::string, Node> nodes_;
  std::map<std::string, at::Tensor> consts_;
};

}  // namespace mpjudge
