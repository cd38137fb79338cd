#!/usr/bin/env bash
# Configures and builds mpjudge into build/ (Release, Ninja) and generates the example inputs.
# Assumes scripts/setup.sh has run. Incremental: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j "$jobs"
/usr/bin/python3 scripts/make_examples.py build/examples

# The Python module: a .pth file puts build/python on Debian python3's path, so that `import mpjudge`
# works from anywhere. As root it goes to /usr/local/lib/python3.X/dist-packages (every user), else to
# the user's site-packages. The last build run wins; delete the file to undo.
if ls build/python/mpjudge.*.so >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    site=$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])')
  else
    site=$(/usr/bin/python3 -m site --user-site)
  fi
  mkdir -p "$site"
  pth="$site/mpjudge.pth"
  want="$(pwd)/build/python"
  if [ ! -f "$pth" ] || [ "$(cat "$pth")" != "$want" ]; then
    echo "$want" > "$pth"
    echo "build: python3 finds mpjudge through $pth -> $want"
  fi
fi
