#!/bin/sh
# The build's layers hold: a source in audio/ that includes a header of model/ (a module above it) does not
# compile with audio's include path, while the same source including a header of common/ (below) does.
# Usage: check_layers.sh CXX SOURCE_DIR BINARY_DIR
set -eu
cxx=$1 src=$2 bin=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="-std=c++17 -fsyntax-only -I$src/include -I$bin/layers/audio"
printf '#include "common/error.h"\nint main() { return 0; }\n' > "$tmp/down.cpp"
$cxx $flags "$tmp/down.cpp"
printf '#include "model/judge.h"\nint main() { return 0; }\n' > "$tmp/up.cpp"
if $cxx $flags "$tmp/up.cpp" 2> "$tmp/err"; then
  echo "an upward include (audio -> model) compiled: the layers are not enforced" >&2
  exit 1
fi
grep -q "model/judge.h: No such file" "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
echo "layers: audio -> common compiles, audio -> model does not (model/judge.h: No such file)"
