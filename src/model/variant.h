// The judges one can train on the same inputs: the MPJudge network and the baselines and ablations of
// docs/evaluation.md. Parsed from its name in one place (flags, checkpoint configs). Torch-free.
#pragma once

#include <optional>
#include <string>

namespace mpjudge {

enum class Variant {
  Man,         // the MPJudge network: MAN blocks inside the frozen trunk (default)
  LateFusion,  // no modulation: pooled trunk features, painting descriptors and music embedding -> MLP
  Embedding,   // a learned projection of each side, score = sigmoid(s * cos + b)
  Emotion,     // valence/arousal regressors for each side; score from the distance of the two points
  PaperSmall,  // the paper's transformer at a CPU-trainable size (train only; its checkpoints say "paper")
};

// "man", "late_fusion", "embedding", "emotion", "paper_small".
const char* variant_name(Variant v);
// The variant of that name, or none.
std::optional<Variant> variant_from_name(const std::string& name);
// "man, late_fusion, embedding, emotion or paper_small" (for messages).
const char* variant_names();

}  // namespace mpjudge
