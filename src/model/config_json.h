// A config struct read and written from one list of its fields: a visit function calls
// v(key, member, absent) for each field, where `absent` is the value a checkpoint without the key had.
// ConfigToJson writes every field; ConfigFromJson reads each, or takes `absent`.
#pragma once

#include <nlohmann/json.hpp>

namespace mpjudge {

struct ConfigToJson {
  nlohmann::json& j;
  template <class T>
  void operator()(const char* key, const T& v, const T&) const {
    j[key] = v;
  }
};

struct ConfigFromJson {
  const nlohmann::json& j;
  template <class T>
  void operator()(const char* key, T& v, const T& absent) const {
    v = j.value(key, absent);
  }
};

}  // namespace mpjudge
