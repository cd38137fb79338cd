// Helpers that build mpjudge::Error with the house message shape:
//   "<file>: expected <what>, found <what>"  (+ an optional HINT line printed by the CLI).
// Not a logging facility: progress and messages go to stderr from the CLI (common/progress.h).
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>

namespace mpjudge {

[[noreturn]] inline void fail_input(const std::string& file, const std::string& expected, const std::string& found,
                                    const std::string& hint = "") {
  throw Error(ErrorKind::Input, file + ": expected " + expected + ", found " + found, hint);
}

[[noreturn]] inline void fail_usage(const std::string& message, const std::string& hint = "") {
  throw Error(ErrorKind::Usage, message, hint);
}

[[noreturn]] inline void fail_internal(const std::string& message) { throw Error(ErrorKind::Internal, message); }

}  // namespace mpjudge
