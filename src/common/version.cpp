// The library version string, set by CMake from project(VERSION).
#include <mpjudge/mpjudge.h>

namespace mpjudge {
const char* version() { return MPJUDGE_VERSION; }
}  // namespace mpjudge
