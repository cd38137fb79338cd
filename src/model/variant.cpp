// Variant names (see variant.h).
#include "model/variant.h"

namespace mpjudge {
namespace {

struct Named {
  Variant v;
  const char* name;
};
constexpr Named kVariants[] = {{Variant::Man, "man"},
                               {Variant::LateFusion, "late_fusion"},
                               {Variant::Embedding, "embedding"},
                               {Variant::Emotion, "emotion"},
                               {Variant::PaperSmall, "paper_small"}};

}  // namespace

const char* variant_name(Variant v) {
  for (const auto& n : kVariants)
    if (n.v == v) return n.name;
  return "?";
}

std::optional<Variant> variant_from_name(const std::string& name) {
  for (const auto& n : kVariants)
    if (name == n.name) return n.v;
  return std::nullopt;
}

const char* variant_names() { return "man, late_fusion, embedding, emotion or paper_small"; }

}  // namespace mpjudge
