// mpjudge checkpoint files (docs/checkpoint.md): a versioned header (architecture, config, tensor
// index) followed by raw little-endian tensor data and a SHA-256 of everything before it. Written
// atomically (temp file, fsync, rename) so a crash never leaves a half-written checkpoint; read with
// a clear Model error for a wrong, truncated, corrupt or foreign file. Python writes the same format
// (tools/convert_paper_checkpoint.py), so no pickle is involved on either side.
#pragma once

#include <map>
#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace torch::nn {
class Module;
}

namespace mpjudge {

constexpr uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::string arch;                                // "paper", "mpjudge", ...
  nlohmann::json config;                           // the architecture's config struct as JSON
  nlohmann::json meta = nlohmann::json::object();  // free-form: provenance, training state
  std::map<std::string, at::Tensor> tensors;       // float32 or int64
};

// Copies the checkpoint's tensors into every parameter and buffer of `module` (names and shapes must
// match; nothing may be left over). Throws Error(Model) naming `path` and the first offender.
void load_state(torch::nn::Module& module, const Checkpoint& ck, const std::string& path);
// Every parameter and buffer of `module`, by name.
std::map<std::string, at::Tensor> module_state(torch::nn::Module& module);

void save_checkpoint(const std::string& path, const Checkpoint& ck);  // throws Error(Internal) on I/O failure
Checkpoint load_checkpoint(const std::string& path);                  // throws Error(Model)

}  // namespace mpjudge
