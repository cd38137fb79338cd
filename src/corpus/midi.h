// Standard MIDI File (SMF 0/1) rewriting for MPD-Open's music variations: transposition, tempo,
// major<->minor, and instrument. Only note numbers, tempo meta events and program changes are
// touched; everything else is written back as read (running status is expanded).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mpjudge {

struct MidiKey {
  int tonic = 0;  // pitch class 0 = C
  bool major = true;
  double strength = 0;  // Pearson r with the best Krumhansl-Kessler profile
};

struct MidiVariation {
  int transpose = 0;          // semitones, drums (channel 10) untouched
  double tempo = 1.0;         // playback speed factor (>1 faster)
  bool flip_mode = false;     // major -> parallel minor (lower 3rd, 6th, 7th) or minor -> major
  int program = -1;           // 0..127: every melodic program change replaced; -1 = keep
  std::vector<int> programs;  // non-empty: melodic channel c plays programs[c % size] (an ensemble); wins over program
  std::string name() const;   // "orig", "t+5_x1.25_minor_p48", ...
};

class MidiFile {
 public:
  // Throws Error(Input) naming `name` for anything that is not a well-formed SMF.
  MidiFile(const std::vector<uint8_t>& bytes, const std::string& name);
  MidiKey key() const;  // from the duration-weighted pitch-class histogram
  std::vector<uint8_t> write(const MidiVariation& v) const;
  size_t notes() const;
  // Share of melodic note-ons on a sixteenth-note or eighth-triplet grid: near 1 for a notated score,
  // low for a performance recorded without a click (whose tempo meta event says nothing of its beat).
  double grid_share() const;

 private:
  struct Event {
    uint32_t delta = 0;
    uint8_t status = 0;
    std::vector<uint8_t> data;  // for meta: type byte first; for sysex: payload
  };
  std::string name_;
  uint16_t format_ = 1, division_ = 480;
  std::vector<std::vector<Event>> tracks_;
};

}  // namespace mpjudge
