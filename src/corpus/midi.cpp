// SMF reading and rewriting (see midi.h).
#include "corpus/midi.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "common/error.h"

namespace mpjudge {
namespace {

constexpr int kDrumChannel = 9;

// Krumhansl & Kessler (1982) key profiles.
constexpr std::array<double, 12> kMajor{6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
constexpr std::array<double, 12> kMinor{6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};

void put_vlq(std::vector<uint8_t>& out, uint32_t v) {
  uint8_t buf[5];
  int n = 0;
  buf[n++] = v & 0x7F;
  while (v >>= 7) buf[n++] = 0x80 | (v & 0x7F);
  while (n) out.push_back(buf[--n]);
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}

}  // namespace

std::string MidiVariation::name() const {
  std::string s;
  char buf[32];
  if (transpose) std::snprintf(buf, sizeof buf, "t%+d", transpose), s += std::string(s.empty() ? "" : "_") + buf;
  if (tempo != 1.0) std::snprintf(buf, sizeof buf, "x%.2f", tempo), s += std::string(s.empty() ? "" : "_") + buf;
  if (flip_mode) s += std::string(s.empty() ? "" : "_") + "flip";
  if (program >= 0 && programs.empty())
    std::snprintf(buf, sizeof buf, "p%d", program), s += std::string(s.empty() ? "" : "_") + buf;
  for (size_t i = 0; i < programs.size(); ++i)
    std::snprintf(buf, sizeof buf, "%s%d", i ? "." : "p", programs[i]),
        s += std::string(s.empty() || i ? "" : "_") + buf;
  return s.empty() ? "orig" : s;
}

MidiFile::MidiFile(const std::vector<uint8_t>& b, const std::string& name) : name_(name) {
  size_t pos = 0;
  auto need = [&](size_t n, const char* what) {
    if (pos + n > b.size())
      fail_input(name_, std::string("a Standard MIDI File with a complete ") + what,
                 "the file ending at byte " + std::to_string(b.size()));
  };
  auto u32 = [&]() {
    need(4, "chunk header");
    uint32_t v = uint32_t(b[pos]) << 24 | uint32_t(b[pos + 1]) << 16 | uint32_t(b[pos + 2]) << 8 | b[pos + 3];
    pos += 4;
    return v;
  };
  need(14, "header chunk");
  if (std::string(b.begin(), b.begin() + 4) != "MThd")
    fail_input(name_, "a Standard MIDI File (\"MThd\")", "other data");
  pos = 4;
  const uint32_t hlen = u32();
  if (hlen < 6) fail_input(name_, "a MIDI header of at least 6 bytes", std::to_string(hlen));
  need(hlen, "header chunk");
  format_ = uint16_t(b[pos] << 8 | b[pos + 1]);
  const uint16_t ntracks = uint16_t(b[pos + 2] << 8 | b[pos + 3]);
  division_ = uint16_t(b[pos + 4] << 8 | b[pos + 5]);
  if (format_ > 1) fail_input(name_, "MIDI format 0 or 1", "format " + std::to_string(format_));
  if (division_ & 0x8000) fail_input(name_, "metrical MIDI timing (ticks per quarter note)", "SMPTE timing");
  pos += hlen;
  for (uint16_t t = 0; t < ntracks && pos + 8 <= b.size(); ++t) {
    const std::string id(b.begin() + pos, b.begin() + pos + 4);
    pos += 4;
    const uint32_t len = u32();
    need(len, "track chunk");
    const size_t end = pos + len;
    if (id != "MTrk") {
      pos = end;
      continue;
    }
    std::vector<Event> events;
    uint8_t running = 0;
    auto vlq = [&]() {
      uint32_t v = 0;
      for (int i = 0; i < 4; ++i) {
        if (pos >= end) fail_input(name_, "a complete variable-length number", "the end of track " + std::to_string(t));
        const uint8_t c = b[pos++];
        v = v << 7 | (c & 0x7F);
        if (!(c & 0x80)) return v;
      }
      fail_input(name_, "a variable-length number of at most 4 bytes", "a longer one in track " + std::to_string(t));
    };
    while (pos < end) {
      Event e;
      e.delta = vlq();
      if (pos >= end) fail_input(name_, "an event after a delta time", "the end of track " + std::to_string(t));
      uint8_t s = b[pos];
      if (s & 0x80) {
        ++pos;
      } else {
        if (!running)
          fail_input(name_, "a status byte", "running status with no previous status in track " + std::to_string(t));
        s = running;
      }
      e.status = s;
      auto take = [&](size_t n) {
        if (pos + n > end) fail_input(name_, "a complete MIDI event", "the end of track " + std::to_string(t));
        e.data.insert(e.data.end(), b.begin() + pos, b.begin() + pos + n);
        pos += n;
      };
      if (s == 0xFF) {
        take(1);
        const uint32_t n = vlq();
        take(n);
        running = 0;
      } else if (s == 0xF0 || s == 0xF7) {
        const uint32_t n = vlq();
        take(n);
        running = 0;
      } else if (s >= 0xF0) {
        fail_input(name_, "a channel, meta or sysex event",
                   "status byte " + std::to_string(s) + " in track " + std::to_string(t));
      } else {
        running = s;
        const uint8_t kind = s & 0xF0;
        take(kind == 0xC0 || kind == 0xD0 ? 1 : 2);
      }
      events.push_back(std::move(e));
    }
    pos = end;
    tracks_.push_back(std::move(events));
  }
  if (tracks_.empty()) fail_input(name_, "at least one MIDI track", "none");
  if (notes() == 0) fail_input(name_, "MIDI notes", "a file without note-on events");
}

size_t MidiFile::notes() const {
  size_t n = 0;
  for (const auto& tr : tracks_)
    for (const auto& e : tr)
      if ((e.status & 0xF0) == 0x90 && e.data.size() == 2 && e.data[1] > 0) ++n;
  return n;
}

double MidiFile::grid_share() const {
  size_t on = 0, aligned = 0;
  const uint64_t sixteenth = std::max(1, division_ / 4), triplet = std::max(1, division_ / 3);
  for (const auto& tr : tracks_) {
    uint64_t now = 0;
    for (const auto& e : tr) {
      now += e.delta;
      const int kind = e.status & 0xF0, ch = e.status & 0x0F;
      if (kind != 0x90 || ch == kDrumChannel || e.data.size() != 2 || e.data[1] == 0) continue;
      ++on;
      auto near = [&](uint64_t g) {
        const uint64_t r = now % g;
        return r <= g / 16 || g - r <= g / 16;
      };
      aligned += near(sixteenth) || near(triplet);
    }
  }
  return on ? double(aligned) / double(on) : 0.0;
}

MidiKey MidiFile::key() const {
  // Duration-weighted pitch-class histogram (in ticks) over melodic channels.
  std::array<double, 12> hist{};
  for (const auto& tr : tracks_) {
    uint64_t now = 0;
    std::array<int64_t, 16 * 128> on;
    on.fill(-1);
    for (const auto& e : tr) {
      now += e.delta;
      const int kind = e.status & 0xF0, ch = e.status & 0x0F;
      if (ch == kDrumChannel || e.data.size() != 2 || (kind != 0x90 && kind != 0x80)) continue;
      const int note = e.data[0] & 0x7F;
      if (kind == 0x90 && e.data[1] > 0) {
        on[ch * 128 + note] = int64_t(now);
      } else if (on[ch * 128 + note] >= 0) {
        hist[note % 12] += double(now - uint64_t(on[ch * 128 + note])) + 1.0;
        on[ch * 128 + note] = -1;
      }
    }
  }
  auto pearson = [](const std::array<double, 12>& x, const std::array<double, 12>& y, int shift) {
    double mx = 0, my = 0;
    for (int i = 0; i < 12; ++i) mx += x[(i + shift) % 12], my += y[i];
    mx /= 12, my /= 12;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 12; ++i) {
      const double a = x[(i + shift) % 12] - mx, c = y[i] - my;
      sxy += a * c, sxx += a * a, syy += c * c;
    }
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
  };
  MidiKey best;
  best.strength = -2;
  for (int tonic = 0; tonic < 12; ++tonic)
    for (bool major : {true, false}) {
      const double r = pearson(hist, major ? kMajor : kMinor, tonic);
      if (r > best.strength) best = {tonic, major, r};
    }
  return best;
}

std::vector<uint8_t> MidiFile::write(const MidiVariation& v) const {
  const MidiKey k = v.flip_mode ? key() : MidiKey{};
  auto map_note = [&](int note) {
    if (v.flip_mode) {
      const int degree = ((note - k.tonic) % 12 + 12) % 12;
      if (k.major && (degree == 4 || degree == 9 || degree == 11)) note -= 1;
      if (!k.major && (degree == 3 || degree == 8 || degree == 10)) note += 1;
    }
    note += v.transpose;
    while (note > 127) note -= 12;
    while (note < 0) note += 12;
    return note;
  };
  std::vector<uint8_t> out{'M', 'T', 'h', 'd', 0, 0, 0, 6};
  out.push_back(0), out.push_back(uint8_t(format_));
  out.push_back(uint8_t(tracks_.size() >> 8)), out.push_back(uint8_t(tracks_.size()));
  out.push_back(uint8_t(division_ >> 8)), out.push_back(uint8_t(division_));
  bool tempo_seen = false;
  for (const auto& tr : tracks_)
    for (const auto& e : tr)
      if (e.status == 0xFF && !e.data.empty() && e.data[0] == 0x51) tempo_seen = true;
  for (size_t t = 0; t < tracks_.size(); ++t) {
    std::vector<uint8_t> body;
    if (t == 0 && !tempo_seen && v.tempo != 1.0) {  // the SMF default is 120 BPM
      const uint32_t us = uint32_t(std::lround(500000.0 / v.tempo));
      body.insert(body.end(), {0x00, 0xFF, 0x51, 0x03, uint8_t(us >> 16), uint8_t(us >> 8), uint8_t(us)});
    }
    auto program_of = [&](int ch) {
      return v.programs.empty() ? v.program : v.programs[size_t(ch) % v.programs.size()];
    };
    if ((v.program >= 0 || !v.programs.empty()) && t == 0)  // melodic channels start on the chosen program
      for (int ch = 0; ch < 16; ++ch)
        if (ch != kDrumChannel) body.insert(body.end(), {0x00, uint8_t(0xC0 | ch), uint8_t(program_of(ch))});
    for (const auto& e : tracks_[t]) {
      put_vlq(body, e.delta);
      const int kind = e.status & 0xF0, ch = e.status & 0x0F;
      if (e.status == 0xFF) {
        body.push_back(0xFF);
        body.push_back(e.data[0]);
        std::vector<uint8_t> payload(e.data.begin() + 1, e.data.end());
        if (e.data[0] == 0x51 && payload.size() == 3 && v.tempo != 1.0) {
          const double us = double(payload[0] << 16 | payload[1] << 8 | payload[2]) / v.tempo;
          const uint32_t u = uint32_t(std::clamp(std::lround(us), 1L, 0xFFFFFFL));
          payload = {uint8_t(u >> 16), uint8_t(u >> 8), uint8_t(u)};
        }
        put_vlq(body, uint32_t(payload.size()));
        body.insert(body.end(), payload.begin(), payload.end());
      } else if (e.status == 0xF0 || e.status == 0xF7) {
        body.push_back(e.status);
        put_vlq(body, uint32_t(e.data.size()));
        body.insert(body.end(), e.data.begin(), e.data.end());
      } else {
        body.push_back(e.status);
        std::vector<uint8_t> d = e.data;
        if ((kind == 0x90 || kind == 0x80 || kind == 0xA0) && ch != kDrumChannel) d[0] = uint8_t(map_note(d[0]));
        if (kind == 0xC0 && ch != kDrumChannel && program_of(ch) >= 0) d[0] = uint8_t(program_of(ch));
        body.insert(body.end(), d.begin(), d.end());
      }
    }
    out.insert(out.end(), {'M', 'T', 'r', 'k'});
    put_u32(out, uint32_t(body.size()));
    out.insert(out.end(), body.begin(), body.end());
  }
  return out;
}

}  // namespace mpjudge
