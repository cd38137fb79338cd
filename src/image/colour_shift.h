// Paintings in shifted colours, in CIELAB (colour_shift.cpp): the manipulation of Palmer et al. 2013's
// music-colour design that the direction check (bench/bench_direction.cpp) applies, and the colour-shifted
// copies a distilled student may be taught on (train --distill-colour-shifts). No model code here.
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>

namespace mpjudge {

// L* + dl (clamped to 0..100), a* and b* scaled by chroma, then b* + db (yellower for db > 0).
struct LabShift {
  double dl = 0, chroma = 1, db = 0;
};

// `painting` (any image load_image reads) in shifted colours, written as PNG via a temp file + rename.
// Throws Error(Input) for an unreadable painting, what write_file_atomic throws when the PNG cannot be
// written.
void write_lab_shifted_png(const std::string& painting, const LabShift& shift, const std::string& out_png);
// The same from pixels already decoded (several versions of one painting decode it once).
void write_lab_shifted_png(const RgbImage& painting, const LabShift& shift, const std::string& out_png);

}  // namespace mpjudge
