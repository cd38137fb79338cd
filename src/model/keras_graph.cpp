// Keras functional graphs on libtorch (see keras_graph.h).
#include "model/keras_graph.h"

#include <algorithm>
#include <set>

#include "common/error.h"

namespace mpjudge {
namespace {

[[noreturn]] void fail_graph(const std::string& what) {
  throw Error(ErrorKind::Model, "Keras model: " + what, "the model is not a supported tfjs layers model");
}

at::Tensor weight(const tfjs::Model& m, const std::string& name) {
  auto it = m.weights.find(name);
  if (it == m.weights.end()) fail_graph("missing weight " + name);
  return it->second;
}

// TF's "same" padding for one spatial dimension: total = max((ceil(in/s) - 1) * s + k - in, 0), with
// the extra pixel (odd total) after, not before.
std::pair<int64_t, int64_t> same_pad(int64_t in, int64_t k, int64_t s) {
  int64_t out = (in + s - 1) / s;
  int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {total / 2, total - total / 2};
}

at::Tensor activate(const at::Tensor& x, const std::string& a) {
  if (a == "linear") return x;
  if (a == "relu") return torch::relu(x);
  if (a == "sigmoid") return torch::sigmoid(x);
  if (a == "softmax") return torch::softmax(x, -1);
  if (a == "tanh") return torch::tanh(x);
  fail_graph("unsupported activation " + a);
}

// Channels-last (NHWC in memory, NCHW in shape) for 4-d tensors: oneDNN's convolutions then run without a
// reorder of every activation to their blocked layout and back (rank cached, docs/performance.md).
at::Tensor channels_last(const at::Tensor& t) {
  return t.defined() && t.dim() == 4 ? t.contiguous(at::MemoryFormat::ChannelsLast) : t;
}

}  // namespace

KerasGraph::KerasGraph(const tfjs::Model& model, bool fold_batchnorm) {
  const auto& cfg = model.topology.contains("model_config") ? model.topology["model_config"] : model.topology;
  const auto& layers = cfg.at("config").at("layers");
  std::map<std::string, int>& consumers = consumers_;
  for (const auto& l : layers)
    for (const auto& node : l.at("inbound_nodes"))
      for (const auto& in : node) consumers[in.at(0).get<std::string>()]++;

  for (const auto& l : layers) {
    Layer L;
    L.name = l.at("name");
    L.kind = l.at("class_name");
    const auto& c = l.at("config");
    if (l.at("inbound_nodes").size() > 1) fail_graph("layer " + L.name + " is shared (called more than once)");
    for (const auto& node : l.at("inbound_nodes"))
      for (const auto& in : node) L.inputs.push_back(in.at(0));
    if (c.contains("activation")) L.activation = c["activation"];
    if (L.kind == "InputLayer") {
      input_name_ = L.name;
    } else if (L.kind == "Conv2D" || L.kind == "DepthwiseConv2D") {
      L.kernel = c.at("kernel_size").get<std::vector<int64_t>>();
      L.stride = c.at("strides").get<std::vector<int64_t>>();
      L.padding = c.at("padding");
      if (c.value("dilation_rate", std::vector<int64_t>{1, 1}) != std::vector<int64_t>{1, 1})
        fail_graph(L.name + ": dilated convolutions are not supported");
      if (L.kind == "Conv2D") {
        L.weight = weight(model, L.name + "/kernel").permute({3, 2, 0, 1}).contiguous();  // HWIO -> OIHW
      } else {
        at::Tensor k = weight(model, L.name + "/depthwise_kernel");  // [kh, kw, in, mult]
        L.groups = k.size(2);
        L.weight = k.permute({2, 3, 0, 1}).reshape({k.size(2) * k.size(3), 1, k.size(0), k.size(1)}).contiguous();
      }
      if (c.value("use_bias", true)) L.bias = weight(model, L.name + "/bias");
    } else if (L.kind == "BatchNormalization") {
      L.eps = c.value("epsilon", 1e-3);
      L.axis = c.value("axis", -1);
      if (L.axis != -1 && L.axis != 3) fail_graph(L.name + ": BatchNormalization must normalise the channel axis");
      at::Tensor var = weight(model, L.name + "/moving_variance"), mean = weight(model, L.name + "/moving_mean");
      at::Tensor gamma = c.value("scale", true) ? weight(model, L.name + "/gamma") : torch::ones_like(var);
      at::Tensor beta = c.value("center", true) ? weight(model, L.name + "/beta") : torch::zeros_like(var);
      L.bn_scale = gamma / torch::sqrt(var + L.eps);
      L.bn_shift = beta - mean * L.bn_scale;
      // Fold into the convolution that feeds only this layer.
      if (fold_batchnorm && L.inputs.size() == 1 && consumers[L.inputs[0]] == 1) {
        Layer& conv = layers_.at(L.inputs[0]);
        if ((conv.kind == "Conv2D" || conv.kind == "DepthwiseConv2D") && conv.activation == "linear") {
          conv.weight = conv.weight * L.bn_scale.view({-1, 1, 1, 1});
          conv.bias = (conv.bias.defined() ? conv.bias * L.bn_scale : torch::zeros_like(L.bn_scale)) + L.bn_shift;
          L.kind = "Identity";
        }
      }
    } else if (L.kind == "ReLU") {
      L.relu_max = c.value("max_value", nlohmann::json()).is_null() ? -1.0 : c["max_value"].get<double>();
      L.relu_slope = c.value("negative_slope", 0.0);
      if (c.value("threshold", 0.0) != 0.0) fail_graph(L.name + ": ReLU threshold is not supported");
    } else if (L.kind == "ZeroPadding2D") {
      auto p = c.at("padding");
      if (p.is_number()) {
        int64_t v = p;
        L.pad = {v, v, v, v};
      } else if (p.at(0).is_number()) {
        L.pad = {p[1], p[1], p[0], p[0]};
      } else {
        L.pad = {p[1][0], p[1][1], p[0][0], p[0][1]};
      }
    } else if (L.kind == "AveragePooling2D" || L.kind == "MaxPooling2D") {
      L.kernel = c.at("pool_size").get<std::vector<int64_t>>();
      L.stride = c.value("strides", nlohmann::json()).is_null() ? L.kernel : c["strides"].get<std::vector<int64_t>>();
      L.padding = c.value("padding", "valid");
    } else if (L.kind == "Dense") {
      L.weight = weight(model, L.name + "/kernel").t().contiguous();  // [in, out] -> [out, in]
      if (c.value("use_bias", true)) L.bias = weight(model, L.name + "/bias");
    } else if (L.kind == "Concatenate") {
      L.axis = c.value("axis", -1);
    } else if (L.kind == "Activation" || L.kind == "Add" || L.kind == "Flatten" || L.kind == "Dropout" ||
               L.kind == "GlobalAveragePooling2D") {
    } else {
      fail_graph("unsupported layer " + L.name + " of class " + L.kind);
    }
    order_.push_back(L.name);
    layers_[L.name] = std::move(L);
  }
  if (input_name_.empty()) fail_graph("no InputLayer");
  for (auto& [name, L] : layers_) L.weight = channels_last(L.weight);
}

void KerasGraph::to(at::ScalarType dtype) {
  for (auto& [name, L] : layers_) {
    if (L.weight.defined()) L.weight = channels_last(L.weight.to(dtype));
    if (L.bias.defined()) L.bias = L.bias.to(dtype);
    if (L.bn_scale.defined()) L.bn_scale = L.bn_scale.to(dtype), L.bn_shift = L.bn_shift.to(dtype);
  }
}

std::map<std::string, at::Tensor> KerasGraph::run(const at::Tensor& x, const std::vector<std::string>& outputs,
                                                  const std::map<std::string, at::Tensor>& replace) const {
  // Which layers are needed: walk back from the outputs, stopping at replaced layers.
  std::set<std::string> needed;
  std::vector<std::string> stack(outputs.begin(), outputs.end());
  while (!stack.empty()) {
    std::string n = stack.back();
    stack.pop_back();
    if (!layers_.count(n)) fail_graph("no layer named " + n);
    if (!needed.insert(n).second || replace.count(n)) continue;
    for (const auto& in : layers_.at(n).inputs) stack.push_back(in);
  }
  std::map<std::string, at::Tensor> val;
  for (const auto& name : order_) {
    if (!needed.count(name)) continue;
    auto r = replace.find(name);
    if (r != replace.end()) {
      val[name] = channels_last(r->second);
      continue;
    }
    const Layer& L = layers_.at(name);
    auto in = [&](size_t k) -> const at::Tensor& { return val.at(L.inputs.at(k)); };
    at::Tensor y;
    if (L.kind == "InputLayer") {
      y = channels_last(x);
    } else if (L.kind == "Conv2D" || L.kind == "DepthwiseConv2D") {
      at::Tensor h = in(0);
      std::vector<int64_t> pad{0, 0, 0, 0};
      if (L.padding == "same") {
        auto [t, b] = same_pad(h.size(2), L.kernel[0], L.stride[0]);
        auto [l, r] = same_pad(h.size(3), L.kernel[1], L.stride[1]);
        pad = {l, r, t, b};
      }
      if (pad[0] || pad[1] || pad[2] || pad[3]) {
        if (pad[0] == pad[1] && pad[2] == pad[3]) {
          y = torch::conv2d(h, L.weight, L.bias, L.stride, at::IntArrayRef{pad[2], pad[0]}, at::IntArrayRef{1, 1},
                            L.groups);  // symmetric: fused
        } else {
          y = torch::conv2d(torch::constant_pad_nd(h, pad), L.weight, L.bias, L.stride, at::IntArrayRef{0, 0},
                            at::IntArrayRef{1, 1}, L.groups);
        }
      } else {
        y = torch::conv2d(h, L.weight, L.bias, L.stride, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, L.groups);
      }
      y = activate(y, L.activation);
    } else if (L.kind == "BatchNormalization") {
      y = in(0) * L.bn_scale.view({1, -1, 1, 1}) + L.bn_shift.view({1, -1, 1, 1});
    } else if (L.kind == "Identity" || L.kind == "Dropout") {
      y = in(0);
    } else if (L.kind == "ReLU") {
      // One pass: clamp(0, max) (ReLU6 on 112x112x96 maps is memory-bound). In place on a tensor
      // nothing else reads, when no gradient is recorded.
      const bool inplace = !at::GradMode::is_enabled() && consumers_.at(L.inputs[0]) == 1 &&
                           std::find(outputs.begin(), outputs.end(), L.inputs[0]) == outputs.end() &&
                           !replace.count(L.inputs[0]);
      if (L.relu_slope != 0) {
        y = torch::leaky_relu(in(0), L.relu_slope);
        if (L.relu_max >= 0) y = torch::clamp_max(y, L.relu_max);
      } else if (L.relu_max >= 0) {
        y = inplace ? in(0).clamp_(0, L.relu_max) : torch::clamp(in(0), 0, L.relu_max);
      } else {
        y = inplace ? in(0).relu_() : torch::relu(in(0));
      }
    } else if (L.kind == "Activation") {
      y = activate(in(0), L.activation);
    } else if (L.kind == "ZeroPadding2D") {
      y = torch::constant_pad_nd(in(0), L.pad);
    } else if (L.kind == "Add") {
      y = in(0);
      for (size_t k = 1; k < L.inputs.size(); ++k) y = y + in(k);
    } else if (L.kind == "Concatenate") {
      std::vector<at::Tensor> parts;
      for (size_t k = 0; k < L.inputs.size(); ++k) parts.push_back(in(k));
      int64_t rank = parts[0].dim();
      int64_t ax = L.axis < 0 ? L.axis + rank : L.axis;  // Keras axis in NHWC
      int64_t torch_ax = rank == 4 ? (ax == 3 ? 1 : ax + 1) : ax;
      y = torch::cat(parts, torch_ax);
    } else if (L.kind == "AveragePooling2D" || L.kind == "MaxPooling2D") {
      if (L.padding != "valid") fail_graph(L.name + ": only valid pooling is supported");
      y = L.kind == "AveragePooling2D" ? torch::avg_pool2d(in(0), L.kernel, L.stride)
                                       : torch::max_pool2d(in(0), L.kernel, L.stride);
    } else if (L.kind == "GlobalAveragePooling2D") {
      y = in(0).mean({2, 3});
    } else if (L.kind == "Flatten") {
      const at::Tensor& h = in(0);
      y = (h.dim() == 4 ? h.permute({0, 2, 3, 1}) : h).reshape({h.size(0), -1});  // Keras flattens NHWC
    } else if (L.kind == "Dense") {
      y = activate(torch::linear(in(0), L.weight, L.bias), L.activation);
    } else {
      fail_graph("unsupported layer " + name);
    }
    val[name] = y;
  }
  std::map<std::string, at::Tensor> out;
  for (const auto& o : outputs) out[o] = val.at(o);
  return out;
}

}  // namespace mpjudge
