#!/usr/bin/env bash
# Installs everything mpjudge needs on Debian 12 (bookworm): build tools, libraries, the optimised BLAS,
# the Python golden-reference stack, and the pinned npm packages that carry pretrained weights.
# Idempotent: when everything is present it only checks and exits (a few seconds). Needs root (or sudo).
# Usage: scripts/setup.sh [--tests]   (--tests adds what only the tests need: chromium, nginx, clang, ...)
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and runtime packages; README.md says why each is here.
PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libtorch-dev libopenblas0-openmp
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libsndfile1-dev libvorbis-dev libogg-dev libmpg123-dev libsoxr-dev libfftw3-dev libaubio-dev libebur128-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libsqlite3-dev libcpp-httplib-dev
  libssl-dev libgloo-dev pybind11-dev python3-dev
  python3 python3-torch python3-torchaudio python3-torchvision python3-numpy python3-scipy python3-soundfile python3-pil
  fluidsynth timgm6mb-soundfont
)
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
# --tests: also what the test suite needs beyond the build: Debian's Chromium for the web page test,
# iproute2 for the multi-host training test (network namespaces), and a second General MIDI soundfont
# (MuseScore General Lite) for the descriptors' ground-truth test, clang-format for the format check,
# clang and its sanitizer runtime for the fuzz harnesses (built and replayed by the test command), and
# nginx with the openssl tool for the TLS deployment test.
[ "${1:-}" = "--tests" ] && PKGS+=(chromium iproute2 musescore-general-soundfont-small clang-format clang
  libclang-rt-14-dev nginx openssl)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

# libtorch calls whatever libblas.so.3 the alternatives system points at; make it OpenBLAS (~25x the
# reference BLAS on SGEMM here).
blas_target=$(ls /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 2>/dev/null || true)
if [ -n "$blas_target" ] && [ "$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null)" != "$blas_target" ]; then
  $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$blas_target" >/dev/null
  echo "setup: libblas.so.3 -> OpenBLAS (openmp)"
fi

# Pinned npm packages with pretrained weights: npm ci verifies every tarball against the sha512 in
# deps/package-lock.json; deps/weights.sha256 then pins the model files themselves.
stamp=deps/node_modules/.mpjudge-lock.sha256
want=$(sha256sum deps/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing pinned npm packages (deps/package-lock.json)"
  # Node ships its own CA list; also trust the system's (where a site adds its proxy's CA).
  if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  fi
  (cd deps && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
else
  echo "setup: npm packages present"
fi
(cd deps && sha256sum --quiet -c weights.sha256) || {
  echo "setup: error: pretrained weight files in deps/node_modules do not match deps/weights.sha256" >&2
  echo "HINT: delete deps/node_modules and run scripts/setup.sh again" >&2
  exit 1
}
echo "setup: pretrained weights verified"

# Media for MPD-Open (`mpjudge corpus build`): paintings and recordings from gcompris-qt-data, MIDI
# pieces from pianobooster and sfront. Only their files are needed, not the programs (pianobooster
# would pull in Qt), so the .debs are downloaded and unpacked into deps/media; deps/media.sha256 pins
# the files the corpus reads.
MEDIA_PKGS=(gcompris-qt-data pianobooster sfront)
if [ ! -f deps/media/.unpacked ] || ! (cd deps/media && sha256sum --quiet -c ../media.sha256 >/dev/null 2>&1); then
  echo "setup: fetching media packages: ${MEDIA_PKGS[*]}"
  rm -rf deps/media deps/media-debs
  mkdir -p deps/media deps/media-debs
  (cd deps/media-debs && apt-get download -qq "${MEDIA_PKGS[@]}" 2>/dev/null) || {
    $SUDO apt-get update -qq
    (cd deps/media-debs && apt-get download -qq "${MEDIA_PKGS[@]}" 2>/dev/null)
  }
  for deb in deps/media-debs/*.deb; do dpkg-deb -x "$deb" deps/media; done
  rm -rf deps/media-debs
  touch deps/media/.unpacked
  if ! (cd deps/media && sha256sum --quiet -c ../media.sha256); then
    echo "setup: warning: Debian's media packages differ from the versions MPD-Open ${MPD_OPEN:-mpd-open-1} was built from;" >&2
    echo "       corpus builds will differ from the published one (deps/media.sha256)" >&2
  fi
else
  echo "setup: media packages present"
fi
