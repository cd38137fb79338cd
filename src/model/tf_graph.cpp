// TF graph interpreter on libtorch (see tf_graph.h).
#include "model/tf_graph.h"

#include "common/error.h"
#include "common/trace.h"

namespace mpjudge {
namespace {

[[noreturn]] void fail_node(const std::string& node, const std::string& what) {
  throw Error(ErrorKind::Model, "TF graph node " + node + ": " + what);
}

std::string strip(const std::string& s) {
  std::string n = s[0] == '^' ? s.substr(1) : s;
  auto c = n.find(':');
  return c == std::string::npos ? n : n.substr(0, c);
}

// GraphDef string attributes arrive base64-encoded in tfjs model.json.
std::string attr_string(const nlohmann::json& a) {
  std::vector<uint8_t> b = tfjs::base64_decode(a.at("s").get<std::string>(), "attr");
  return std::string(b.begin(), b.end());
}

int64_t attr_int(const nlohmann::json& attr, const std::string& key, int64_t dflt = 0) {
  if (!attr.contains(key)) return dflt;
  const auto& v = attr[key].at("i");
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
}

std::vector<int64_t> attr_ints(const nlohmann::json& attr, const std::string& key) {
  std::vector<int64_t> out;
  if (!attr.contains(key) || !attr[key].contains("list") || !attr[key]["list"].contains("i")) return out;
  for (const auto& v : attr[key]["list"]["i"])
    out.push_back(v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>());
  return out;
}

std::vector<int64_t> ints(const at::Tensor& t) {
  at::Tensor c = t.to(torch::kInt64).contiguous().reshape({-1});
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

int64_t norm_axis(int64_t a, int64_t rank) { return a < 0 ? a + rank : a; }

// TF "SAME" padding for one dimension.
std::pair<int64_t, int64_t> same_pad(int64_t in, int64_t k, int64_t s, int64_t d) {
  int64_t eff = (k - 1) * d + 1, out = (in + s - 1) / s;
  int64_t total = std::max<int64_t>((out - 1) * s + eff - in, 0);
  return {total / 2, total - total / 2};
}

// NHWC input, HWIO filter -> NHWC output.
at::Tensor conv2d_nhwc(const at::Tensor& x, const at::Tensor& w, const nlohmann::json& attr, const std::string& node) {
  std::vector<int64_t> st = attr_ints(attr, "strides"), dil = attr_ints(attr, "dilations");
  if (st.size() != 4) st = {1, 1, 1, 1};
  if (dil.size() != 4) dil = {1, 1, 1, 1};
  std::string padding = attr_string(attr.at("padding"));
  if (attr.contains("data_format") && attr_string(attr["data_format"]) != "NHWC")
    fail_node(node, "only NHWC is supported");
  at::Tensor xin = x.permute({0, 3, 1, 2});
  at::Tensor wt = w.permute({3, 2, 0, 1});
  std::vector<int64_t> pad{0, 0, 0, 0};  // left, right, top, bottom
  if (padding == "SAME") {
    auto [t, b] = same_pad(xin.size(2), wt.size(2), st[1], dil[1]);
    auto [l, r] = same_pad(xin.size(3), wt.size(3), st[2], dil[2]);
    pad = {l, r, t, b};
  } else if (padding != "VALID") {
    fail_node(node, "padding " + padding + " is not supported");
  }
  if (pad[0] || pad[1] || pad[2] || pad[3]) xin = torch::constant_pad_nd(xin, pad);
  int64_t groups = xin.size(1) / wt.size(1);
  at::Tensor y = torch::conv2d(xin, wt, {}, at::IntArrayRef{st[1], st[2]}, at::IntArrayRef{0, 0},
                               at::IntArrayRef{dil[1], dil[2]}, groups);
  return y.permute({0, 2, 3, 1});
}

}  // namespace

TfGraph::TfGraph(const tfjs::Model& model) {
  for (const auto& n : model.topology.at("node")) {
    Node node;
    node.name = n.at("name");
    node.op = n.at("op");
    if (n.contains("input"))
      for (const auto& i : n["input"]) node.inputs.push_back(i.get<std::string>());
    node.attr = n.value("attr", nlohmann::json::object());
    if (node.op == "Const") {
      auto it = model.weights.find(node.name);
      if (it == model.weights.end()) fail_node(node.name, "Const without a weight");
      at::Tensor t = it->second;
      consts_[node.name] = t.scalar_type() == torch::kInt32 ? t.to(torch::kInt64) : t;
    }
    nodes_[node.name] = std::move(node);
  }
  for (auto& [name, node] : nodes_) {
    node.stage = "tf op: " + node.op;
    if ((node.op == "Conv2D" || node.op == "_FusedConv2D") && node.inputs.size() > 1) {
      auto w = consts_.find(strip(node.inputs[1]));
      if (w != consts_.end()) {
        node.stage += " ";
        for (int64_t d = 0; d < w->second.dim(); ++d) node.stage += (d ? "x" : "") + std::to_string(w->second.size(d));
      }
    }
  }
}

std::map<std::string, at::Tensor> TfGraph::run(const std::map<std::string, at::Tensor>& feeds,
                                               const std::vector<std::string>& outputs) const {
  std::map<std::string, at::Tensor> memo;
  std::map<std::string, at::Tensor> out;
  for (const auto& o : outputs) out[o] = eval(strip(o), memo, feeds);
  return out;
}

at::Tensor TfGraph::eval(const std::string& name, std::map<std::string, at::Tensor>& memo,
                         const std::map<std::string, at::Tensor>& feeds) const {
  auto m = memo.find(name);
  if (m != memo.end()) return m->second;
  auto it = nodes_.find(name);
  if (it == nodes_.end()) fail_node(name, "no such node");
  const Node& n = it->second;
  std::vector<at::Tensor> in;
  for (const auto& i : n.inputs)
    if (i[0] != '^') in.push_back(eval(strip(i), memo, feeds));
  const std::string& op = n.op;
  trace::Scope timed(n.stage.c_str());
  auto need = [&](size_t k) {
    if (in.size() < k) fail_node(name, op + " needs " + std::to_string(k) + " inputs");
  };
  at::Tensor y;
  if (op == "Const") {
    y = consts_.at(name);
  } else if (op == "Placeholder") {
    auto f = feeds.find(name);
    if (f == feeds.end()) fail_node(name, "placeholder not fed");
    y = f->second;
  } else if (op == "Identity") {
    need(1);
    y = in[0];
  } else if (op == "Shape") {
    need(1);
    y = torch::tensor(in[0].sizes().vec(), torch::kInt64);
  } else if (op == "StridedSlice") {
    need(4);
    std::vector<int64_t> b = ints(in[1]), e = ints(in[2]), s = ints(in[3]);
    int64_t bm = attr_int(n.attr, "begin_mask"), em = attr_int(n.attr, "end_mask");
    int64_t nm = attr_int(n.attr, "new_axis_mask"), sm = attr_int(n.attr, "shrink_axis_mask");
    if (attr_int(n.attr, "ellipsis_mask")) fail_node(name, "ellipsis_mask is not supported");
    at::Tensor t = in[0];
    std::vector<int64_t> shrink;
    int64_t dim = 0;  // the axis of t the k-th slice spec applies to
    for (size_t k = 0; k < b.size(); ++k) {
      if (nm & (1 << k)) {
        t = t.unsqueeze(dim);
        ++dim;
        continue;
      }
      int64_t size = t.size(dim), st = s[k];
      if (st == 0) fail_node(name, "stride 0");
      if (sm & (1 << k)) {
        int64_t i = b[k] < 0 ? b[k] + size : b[k];
        t = t.narrow(dim, i, 1);
        shrink.push_back(dim);
        ++dim;
        continue;
      }
      int64_t lo, hi;
      if (st > 0) {
        lo = (bm & (1 << k)) ? 0 : (b[k] < 0 ? b[k] + size : b[k]);
        hi = (em & (1 << k)) ? size : (e[k] < 0 ? e[k] + size : e[k]);
        lo = std::clamp<int64_t>(lo, 0, size);
        hi = std::clamp<int64_t>(hi, 0, size);
        t = hi > lo ? t.slice(dim, lo, hi, st) : t.narrow(dim, 0, 0);
      } else {
        lo = (bm & (1 << k)) ? size - 1 : (b[k] < 0 ? b[k] + size : b[k]);
        hi = (em & (1 << k)) ? -1 : (e[k] < 0 ? e[k] + size : e[k]);
        lo = std::clamp<int64_t>(lo, -1, size - 1);
        hi = std::clamp<int64_t>(hi, -1, size - 1);
        if (lo > hi) {
          t = t.flip({dim}).slice(dim, size - 1 - lo, size - 1 - hi, -st);
        } else {
          t = t.narrow(dim, 0, 0);
        }
      }
      ++dim;
    }
    for (auto d = shrink.rbegin(); d != shrink.rend(); ++d) t = t.squeeze(*d);
    y = t;
  } else if (op == "Pack") {
    int64_t axis = attr_int(n.attr, "axis");
    y = torch::stack(in, norm_axis(axis, in.at(0).dim() + 1));
  } else if (op == "Reshape") {
    need(2);
    y = in[0].reshape(ints(in[1]));
  } else if (op == "ExpandDims") {
    need(2);
    int64_t d = ints(in[1]).at(0);
    y = in[0].unsqueeze(norm_axis(d, in[0].dim() + 1));
  } else if (op == "Squeeze") {
    std::vector<int64_t> dims = attr_ints(n.attr, "squeeze_dims");
    y = in.at(0);
    if (dims.empty()) {
      y = y.squeeze();
    } else {
      int64_t rank = y.dim();
      for (auto& d : dims) d = norm_axis(d, rank);
      std::sort(dims.rbegin(), dims.rend());
      for (int64_t d : dims) y = y.squeeze(d);
    }
  } else if (op == "Transpose") {
    need(2);
    y = in[0].permute(ints(in[1]));
  } else if (op == "Pad" || op == "MirrorPad") {
    need(2);
    std::vector<int64_t> p = ints(in[1]);  // [rank, 2]
    std::vector<int64_t> tp;               // torch order: last dim first
    for (int64_t d = in[0].dim() - 1; d >= 0; --d) tp.push_back(p[size_t(2 * d)]), tp.push_back(p[size_t(2 * d + 1)]);
    if (op == "Pad") {
      y = torch::constant_pad_nd(in[0], tp);
    } else {
      std::string mode = attr_string(n.attr.at("mode"));
      if (mode != "REFLECT") fail_node(name, "MirrorPad mode " + mode + " is not supported");
      // torch's reflection_pad works on trailing dims of a batched tensor; pad each axis in turn.
      at::Tensor t = in[0];
      for (int64_t d = 0; d < t.dim(); ++d) {
        int64_t lo = p[size_t(2 * d)], hi = p[size_t(2 * d + 1)];
        if (!lo && !hi) continue;
        at::Tensor moved = t.movedim(d, -1);
        auto shape = moved.sizes().vec();
        at::Tensor flat = moved.reshape({-1, 1, shape.back()});
        flat = torch::reflection_pad1d(flat, {lo, hi});
        shape.back() = flat.size(-1);
        t = flat.reshape(shape).movedim(-1, d);
      }
      y = t;
    }
  } else if (op == "ConcatV2") {
    need(2);
    int64_t axis = ints(in.back()).at(0);
    std::vector<at::Tensor> parts(in.begin(), in.end() - 1);
    y = torch::cat(parts, norm_axis(axis, parts[0].dim()));
  } else if (op == "Conv2D") {
    need(2);
    y = conv2d_nhwc(in[0], in[1], n.attr, name);
  } else if (op == "_FusedConv2D") {
    need(3);
    y = conv2d_nhwc(in[0], in[1], n.attr, name);
    for (const auto& f : n.attr.at("fused_ops").at("list").at("s")) {
      std::vector<uint8_t> b = tfjs::base64_decode(f.get<std::string>(), "attr");
      std::string fop(b.begin(), b.end());
      if (fop == "BiasAdd")
        y = y + in[2];
      else if (fop == "Relu")
        y = torch::relu(y);
      else
        fail_node(name, "fused op " + fop + " is not supported");
    }
  } else if (op == "Neg") {
    y = -in.at(0);
  } else if (op == "Add" || op == "AddV2") {
    need(2);
    y = in[0] + in[1];
  } else if (op == "Sub") {
    need(2);
    y = in[0] - in[1];
  } else if (op == "Mul") {
    need(2);
    y = in[0] * in[1];
  } else if (op == "DivNoNan") {
    need(2);
    at::Tensor d = in[1];
    y = torch::where(d == 0, torch::zeros_like(in[0] * d), in[0] / torch::where(d == 0, torch::ones_like(d), d));
  } else if (op == "Square") {
    y = in.at(0) * in.at(0);
  } else if (op == "Sqrt") {
    y = torch::sqrt(in.at(0));
  } else if (op == "Log") {
    y = torch::log(in.at(0));
  } else if (op == "Sigmoid") {
    y = torch::sigmoid(in.at(0));
  } else if (op == "Sum" || op == "Min" || op == "Max") {
    need(2);
    bool keep = n.attr.contains("keep_dims") && n.attr["keep_dims"].value("b", false);
    std::vector<int64_t> axes = ints(in[1]);
    for (auto& a : axes) a = norm_axis(a, in[0].dim());
    if (op == "Sum") {
      y = in[0].sum(axes, keep);
    } else {
      y = in[0];
      std::sort(axes.rbegin(), axes.rend());
      for (int64_t a : axes) y = op == "Min" ? std::get<0>(y.min(a, keep)) : std::get<0>(y.max(a, keep));
    }
  } else {
    fail_node(name, "unsupported op " + op);
  }
  memo[name] = y;
  return y;
}

}  // namespace mpjudge
