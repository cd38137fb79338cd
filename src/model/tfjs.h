// Reading TensorFlow.js models: the layers format (Keras model_config + weightsManifest) and the graph
// format (GraphDef nodes + weightsManifest), binary weight shards with uint8/uint16 affine quantisation
// (q * scale + min), float16 and int32, and the UMD .min.js wrappers nsfwjs ships (a JS object literal
// and a base64 string). Produces named torch tensors in TF layouts; the networks permute them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace mpjudge::tfjs {

// A JavaScript object literal (unquoted keys, !0/!1, .5, single quotes, void 0) as JSON text.
std::string js_literal_to_json(const std::string& js);

// The value a UMD module exports with `X.exports = <value>`: an object literal (returned as JSON text)
// or a string literal (returned unquoted). Throws Error(Model) naming `file` when there is none.
std::string unwrap_umd_export(const std::string& js, const std::string& file, bool* is_string = nullptr);

std::vector<uint8_t> base64_decode(const std::string& s, const std::string& file);

// Dequantises every weight of a weightsManifest group list over the concatenated shard bytes.
// Float weights become float32 tensors, int32 stay int32. Throws Error(Model) on any mismatch.
std::map<std::string, at::Tensor> read_weights(const nlohmann::json& manifest, const std::vector<uint8_t>& data,
                                               const std::string& file);

struct Model {
  nlohmann::json topology;  // layers: modelTopology; graph: modelTopology (node list)
  std::map<std::string, at::Tensor> weights;
  std::string format;  // "layers-model" or "graph-model"
};

// nsfwjs's wrapped layers model: DIR/model.min.js + DIR/group1-shard*of*.min.js.
Model load_wrapped_layers_model(const std::string& dir);
// A plain tfjs model: DIR/model.json + the .bin shards it names.
Model load_model_json(const std::string& dir);

}  // namespace mpjudge::tfjs
