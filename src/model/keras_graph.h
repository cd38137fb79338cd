// Runs a Keras functional model (tfjs layers format) in libtorch with Keras semantics: TF "same"
// padding (asymmetric when the total is odd), ZeroPadding2D, HWIO / depthwise kernel layouts, NHWC
// flatten order, BatchNormalization with its epsilon, ReLU with max_value. Internally NCHW.
// For inference, each BatchNormalization that only follows a convolution is folded into it.
// Supported layers: InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU,
// Activation, Add, Concatenate, AveragePooling2D, MaxPooling2D, GlobalAveragePooling2D, Flatten,
// Dense, Dropout. Not a trainer: weights are buffers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/tfjs.h"

namespace mpjudge {

class KerasGraph {
 public:
  // Throws Error(Model) for unsupported layers or missing/mis-shaped weights.
  explicit KerasGraph(const tfjs::Model& model, bool fold_batchnorm = true);

  // x: [N, C, H, W] float32. Returns the outputs of the named layers (NCHW for 4-D, [N, F] for 2-D),
  // computing only what they need. `replace` substitutes a layer's output (e.g. a cached or modulated
  // map) so that the graph resumes from there; layers feeding only replaced ones are skipped.
  std::map<std::string, at::Tensor> run(const at::Tensor& x, const std::vector<std::string>& outputs,
                                        const std::map<std::string, at::Tensor>& replace = {}) const;

  const std::vector<std::string>& layer_names() const { return order_; }
  bool has_layer(const std::string& name) const { return layers_.count(name) > 0; }
  void to(at::ScalarType dtype);

 private:
  struct Layer {
    std::string name, kind;
    std::vector<std::string> inputs;
    at::Tensor weight, bias;                   // convolutions and Dense (torch layouts)
    std::vector<int64_t> kernel, stride, pad;  // pad: left, right, top, bottom
    int64_t groups = 1;
    double relu_max = -1, relu_slope = 0, eps = 1e-3;
    std::string activation = "linear";
    std::string padding;            // "same" or "valid"
    at::Tensor bn_scale, bn_shift;  // unfolded BatchNormalization as an affine map
    int64_t axis = -1;
  };
  std::map<std::string, Layer> layers_;
  std::map<std::string, int> consumers_;  // how many layers read each layer's output
  std::vector<std::string> order_;
  std::string input_name_;
};

}  // namespace mpjudge
