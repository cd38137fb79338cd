// The Python module `mpjudge`: a thin pybind11 binding of the library's public API (include/mpjudge/
// mpjudge.h). It converts arguments and results and nothing else: every score, descriptor and summary is
// computed by the C++ library, exactly as the CLI computes it.
//
//   import mpjudge
//   judge = mpjudge.Scorer()                                  # the shipped model, loaded once
//   r = judge.score("song.ogg", "painting.jpg")               # r.score, r.percentile, r.maps, r.model_sha256
//   r = judge.score((samples, 44100), pixels)                 # float PCM + its rate; HxWx3 uint8 pixels
//   scores = judge.score_batch([("a.wav", "x.png"), ...])    # numpy array, model loaded once
//   mpjudge.summarise(scores)                                 # mean, median, bootstrap 95% interval, percentiles
//
// Media: a path (str or os.PathLike), or data in memory. Music: a (samples, sample_rate) tuple, or
// samples with sample_rate=; samples are 1-D, or 2-D (channels, samples) as torchaudio gives them or
// (samples, channels) as soundfile does (averaged to mono); float in [-1, 1] or int16. Paintings: HxWx3 uint8 (HxWx4
// drops alpha; HxW grey), as numpy.asarray(PIL.Image) gives them. Torch tensors work too (through the array protocol).
// Errors: mpjudge.UsageError (also a ValueError), InputError, ModelError, InternalError (also a
// RuntimeError), all subclasses of mpjudge.Error, with the library's message and hint.
#include <mpjudge/mpjudge.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstring>
#include <mutex>

#include "audio/decode_bytes.h"
#include "common/json.h"

namespace py = pybind11;
using namespace mpjudge;

namespace {

PyObject* g_errors[5] = {};  // indexed by ErrorKind's value: Internal 1, Usage 2, Input 3, Model 4

[[noreturn]] void usage(const std::string& msg) { throw Error(ErrorKind::Usage, msg); }

bool is_path(const py::handle& o) { return py::isinstance<py::str>(o) || py::hasattr(o, "__fspath__"); }

std::string path_of(const py::handle& o) {
  return py::str(py::module_::import("os").attr("fspath")(o)).cast<std::string>();
}

Pcm pcm_of(const py::handle& samples, int sample_rate) {
  if (sample_rate <= 0) usage("music as an array needs its sample rate: pass (samples, sample_rate) or sample_rate=");
  py::array a = py::array::ensure(samples);
  if (!a) usage("music: expected a path or an array of samples, found " + std::string(py::str(samples.get_type())));
  Pcm pcm;
  pcm.sample_rate = sample_rate;
  const bool int16 = a.dtype().is(py::dtype::of<int16_t>());
  if (!int16 && a.dtype().kind() != 'f')
    usage("music: expected float samples in [-1, 1] or int16, found dtype " + std::string(py::str(a.dtype())));
  py::array_t<float, py::array::c_style | py::array::forcecast> f(a);
  const float scale = int16 ? 1.0f / 32768.0f : 1.0f;
  if (f.ndim() == 1) {
    pcm.samples.assign(f.data(), f.data() + f.size());
    for (auto& x : pcm.samples) x *= scale;
  } else if (f.ndim() == 2) {
    // (channels, samples) as torchaudio gives them, or (samples, channels) as soundfile does: the short
    // side is the channels.
    const py::ssize_t r = f.shape(0), c = f.shape(1);
    const bool channels_first = r <= 64 && c > r;
    const bool channels_last = c <= 64 && r > c;
    if (!channels_first && !channels_last)
      usage(
          "music: expected a 2-D array of (channels, samples) or (samples, channels) with at most 64 channels, "
          "found shape (" +
          std::to_string(r) + ", " + std::to_string(c) + ")");
    const py::ssize_t ch = channels_first ? r : c, n = channels_first ? c : r;
    pcm.samples.assign(size_t(n), 0.0f);
    const float* d = f.data();
    for (py::ssize_t i = 0; i < n; ++i) {
      float sum = 0;
      for (py::ssize_t k = 0; k < ch; ++k) sum += channels_first ? d[k * n + i] : d[i * ch + k];
      pcm.samples[size_t(i)] = sum * scale / float(ch);
    }
  } else {
    usage("music: expected 1-D samples or (channels, samples), found " + std::to_string(f.ndim()) + " dimensions");
  }
  return pcm;
}

MusicSource music_of(const py::handle& o, int sample_rate) {
  if (is_path(o)) return MusicSource(path_of(o));
  if (py::isinstance<py::tuple>(o) && py::len(o) == 2) {
    py::tuple t = py::reinterpret_borrow<py::tuple>(o);
    return MusicSource(pcm_of(t[0], t[1].cast<int>()), "<pcm>");
  }
  return MusicSource(pcm_of(o, sample_rate), "<pcm>");
}

RgbImage image_of(const py::handle& o) {
  py::array a = py::array::ensure(o);
  if (!a) usage("painting: expected a path or an HxWx3 uint8 array, found " + std::string(py::str(o.get_type())));
  if (!a.dtype().is(py::dtype::of<uint8_t>()))
    throw Error(ErrorKind::Usage,
                "painting: expected uint8 pixels (HxWx3), found dtype " + std::string(py::str(a.dtype())),
                "convert a float image in [0, 1] with (x * 255).round().astype(numpy.uint8)");
  py::array_t<uint8_t, py::array::c_style | py::array::forcecast> u(a);
  const int ch = u.ndim() == 2 ? 1 : u.ndim() == 3 ? int(u.shape(2)) : 0;
  if (ch != 1 && ch != 3 && ch != 4)
    usage("painting: expected an HxWx3 (or HxWx4, HxW) array, found " + std::to_string(u.ndim()) + " dimensions" +
          (u.ndim() == 3 ? " with " + std::to_string(u.shape(2)) + " channels" : ""));
  RgbImage img;
  img.height = int(u.shape(0));
  img.width = int(u.shape(1));
  const size_t n = size_t(img.width) * size_t(img.height);
  img.data.resize(n * 3);
  const uint8_t* src = u.data();
  for (size_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) img.data[i * 3 + size_t(c)] = src[i * size_t(ch) + size_t(ch == 1 ? 0 : c)];
  return img;
}

PaintingSource painting_of(const py::handle& o) {
  if (is_path(o)) return PaintingSource(path_of(o));
  return PaintingSource(image_of(o), "<image>");
}

py::object json_to_py(const Json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

py::object maybe(double v) { return std::isfinite(v) ? py::object(py::float_(v)) : py::object(py::none()); }

py::dict maps_dict(const std::vector<ModulationMap>& maps) {
  py::dict d;
  for (const auto& m : maps) {
    py::array_t<float> a({m.height, m.width});
    std::memcpy(a.mutable_data(), m.values.data(), m.values.size() * sizeof(float));
    d[py::str(m.layer)] = a;
  }
  return d;
}

// The Scorer with a lock: the library's Scorer is one per thread; Python threads may share this one.
class PyScorer {
 public:
  PyScorer(const py::object& model, const py::object& cache_dir, bool use_cache, int threads) {
    FeatureOptions fo;
    if (!cache_dir.is_none()) fo.cache_dir = path_of(cache_dir);
    fo.use_cache = use_cache;
    fo.threads = threads;
    const std::string path = model.is_none() ? default_model_path() : path_of(model);
    py::gil_scoped_release nogil;
    s_ = std::make_unique<Scorer>(path, fo);
  }
  ScoreResult score(const py::object& music, const py::object& painting, int sample_rate) {
    MusicSource m = music_of(music, sample_rate);
    PaintingSource p = painting_of(painting);
    py::gil_scoped_release nogil;
    std::lock_guard<std::mutex> lock(mu_);
    return s_->score(m, p);
  }
  py::list rank(const py::object& music, const py::list& paintings, int top_k, bool skip_unreadable, int sample_rate) {
    MusicSource m = music_of(music, sample_rate);
    std::vector<PaintingSource> ps;
    for (const auto& p : paintings) ps.push_back(painting_of(p));
    for (size_t i = 0; i < ps.size(); ++i)
      if (ps[i].image) ps[i].name = "<image " + std::to_string(i) + ">";
    RankOptions ro;
    ro.top_k = top_k;
    ro.skip_unreadable = skip_unreadable;
    RankResult r;
    {
      py::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);
      r = s_->rank(m, ps, ro);
    }
    py::list out;
    for (const auto& e : r.ranking) {
      py::dict d;
      d["index"] = e.index;
      d["painting"] = ps[e.index].image ? py::object(py::none()) : py::object(py::str(e.painting));
      d["score"] = e.score;
      d["percentile"] = maybe(score_percentile(s_->model(), e.score));
      out.append(d);
    }
    if (!r.skipped.empty()) {
      auto warn = py::module_::import("warnings").attr("warn");
      for (const auto& f : r.skipped) warn("mpjudge: skipped " + f.error);
    }
    return out;
  }
  py::array_t<double> score_batch(const py::iterable& pairs, const std::string& on_error, int sample_rate) {
    if (on_error != "raise" && on_error != "nan")
      usage("score_batch: expected on_error='raise' or 'nan', found '" + on_error + "'");
    std::vector<ScorePair> batch;
    for (const auto& item : pairs) {
      py::sequence pair = py::reinterpret_borrow<py::sequence>(item);
      if (!py::isinstance<py::sequence>(item) || py::len(pair) != 2)
        usage("score_batch: expected (music, painting) pairs, found " + std::string(py::str(item.get_type())));
      batch.push_back({music_of(pair[0], sample_rate), painting_of(pair[1]), std::to_string(batch.size())});
    }
    std::vector<double> scores(batch.size(), NAN);
    std::vector<MediaFailure> failed;
    {
      py::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);
      s_->score_pairs(batch, [&](const PairScore& ps) {
        if (ps.ok)
          scores[ps.index] = ps.result.score;
        else
          failed.push_back(ps.failure);
      });
    }
    if (!failed.empty() && on_error == "raise")
      throw Error(failed[0].kind, "pair " + std::to_string(failed[0].index) + ": " + failed[0].error,
                  failed.size() > 1 ? std::to_string(failed.size() - 1) + " more pairs failed" : "");
    return py::array_t<double>(py::ssize_t(scores.size()), scores.data());
  }
  const ModelInfo& model() const { return s_->model(); }

 private:
  std::unique_ptr<Scorer> s_;
  std::mutex mu_;
};

void raise_error(const Error& e) {
  PyObject* type = g_errors[int(e.kind()) >= 1 && int(e.kind()) <= 4 ? int(e.kind()) : 1];
  std::string msg = e.what();
  if (!e.hint().empty()) msg += " (hint: " + e.hint() + ")";
  py::object exc = py::reinterpret_steal<py::object>(PyObject_CallFunction(type, "s", msg.c_str()));
  if (exc) {
    exc.attr("hint") = e.hint();
    exc.attr("exit_code") = e.exit_code();
    PyErr_SetObject(type, exc.ptr());
  }
}

}  // namespace

PYBIND11_MODULE(mpjudge, m) {
  m.doc() =
      "mpjudge: judge how faithfully a painting reflects the music that inspired it (a binding of the C++ "
      "library). The shipped judge learned from a simulated expert panel on real paintings and real "
      "recordings (MPD-Open), not from human experts' scores; models/README.md is its model card.";
  m.attr("__version__") = version();

  PyObject* base = PyErr_NewExceptionWithDoc("mpjudge.Error", "Any error of the mpjudge library.", nullptr, nullptr);
  auto sub = [&](const char* name, PyObject* also, const char* doc) {
    py::tuple bases = also ? py::make_tuple(py::handle(base), py::handle(also)) : py::make_tuple(py::handle(base));
    return PyErr_NewExceptionWithDoc(name, doc, bases.ptr(), nullptr);
  };
  g_errors[int(ErrorKind::Usage)] = sub("mpjudge.UsageError", PyExc_ValueError, "A bad argument or option value.");
  g_errors[int(ErrorKind::Input)] = sub(
      "mpjudge.InputError", nullptr, "A music, painting or data input is missing, unreadable, corrupt or degenerate.");
  g_errors[int(ErrorKind::Model)] =
      sub("mpjudge.ModelError", nullptr, "A model/checkpoint or weights file is missing, foreign or damaged.");
  g_errors[int(ErrorKind::Internal)] = sub("mpjudge.InternalError", PyExc_RuntimeError, "A bug in mpjudge.");
  m.attr("Error") = py::handle(base);
  m.attr("UsageError") = py::handle(g_errors[2]);
  m.attr("InputError") = py::handle(g_errors[3]);
  m.attr("ModelError") = py::handle(g_errors[4]);
  m.attr("InternalError") = py::handle(g_errors[1]);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      raise_error(e);
    }
  });

  py::class_<ScoreResult>(m, "ScoreResult", "A score with the maps and the model that made it.")
      .def_readonly("score", &ScoreResult::score, "Coherence in [0, 1]")
      .def_property_readonly(
          "percentile", [](const ScoreResult& r) { return maybe(r.percentile); },
          "Where the score sits among the model's scores on its own corpus's test split (0..100), or None")
      .def_property_readonly(
          "maps", [](const ScoreResult& r) { return maps_dict(r.maps); },
          "Modulation maps: {layer: float32 array [H, W]} (empty for a baseline without MAN)")
      .def_readonly("model", &ScoreResult::model, "The checkpoint path")
      .def_readonly("model_sha256", &ScoreResult::model_sha256)
      .def_readonly("model_version", &ScoreResult::model_version)
      .def_readonly("arch", &ScoreResult::arch)
      .def("__float__", [](const ScoreResult& r) { return r.score; })
      .def("__repr__", [](const ScoreResult& r) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "ScoreResult(score=%.4f, percentile=%s, model_sha256='%.12s...')", r.score,
                      std::isfinite(r.percentile) ? std::to_string(r.percentile).substr(0, 5).c_str() : "None",
                      r.model_sha256.c_str());
        return std::string(buf);
      });

  py::class_<PyScorer>(m, "Scorer",
                       "Loads a judge once and scores music-painting pairs with it. Inputs are cached on disk by "
                       "content (cache_dir; default $MPJUDGE_CACHE or ~/.cache/mpjudge).")
      .def(py::init<const py::object&, const py::object&, bool, int>(), py::arg("model") = py::none(),
           py::arg("cache_dir") = py::none(), py::arg("use_cache") = true, py::arg("threads") = 0,
           "model: a checkpoint path, or None for the shipped model ($MPJUDGE_MODEL overrides it)")
      .def("score", &PyScorer::score, py::arg("music"), py::arg("painting"), py::arg("sample_rate") = 0,
           "Scores one pair: a ScoreResult")
      .def("rank", &PyScorer::rank, py::arg("music"), py::arg("paintings"), py::arg("top_k") = 0,
           py::arg("skip_unreadable") = false, py::arg("sample_rate") = 0,
           "Scores every painting against one song, best first: [{'index', 'painting', 'score', 'percentile'}]")
      .def("score_batch", &PyScorer::score_batch, py::arg("pairs"), py::arg("on_error") = "raise",
           py::arg("sample_rate") = 0,
           "Scores (music, painting) pairs: a float64 array. on_error='nan' gives NaN for a pair whose media "
           "fail instead of raising InputError")
      .def_property_readonly("model_path", [](const PyScorer& s) { return s.model().path; })
      .def_property_readonly("model_sha256", [](const PyScorer& s) { return s.model().sha256; })
      .def_property_readonly("model_version", [](const PyScorer& s) { return s.model().version; })
      .def_property_readonly("arch", [](const PyScorer& s) { return s.model().arch; })
      .def_property_readonly(
          "reference", [](const PyScorer& s) { return s.model().reference; },
          "Where the percentiles' reference scores come from ('' when the model has none)")
      .def(
          "percentile", [](const PyScorer& s, double score) { return maybe(score_percentile(s.model(), score)); },
          py::arg("score"));

  m.def(
      "describe_music",
      [](const py::object& music, int sample_rate, double offset, double duration) {
        MusicDescriptors d;
        const MusicSource src = music_of(music, sample_rate);
        {
          py::gil_scoped_release nogil;
          AudioConfig ac;
          ac.offset_s = offset;
          ac.duration_s = duration;
          if (src.pcm) {
            Pcm pcm = conform_pcm(*src.pcm, src.name, ac);
            if (offset > 0 || duration > 0)
              pcm = cut(pcm, offset, duration > 0 ? duration : std::max(0.0, pcm.duration_s() - offset));
            d = describe_pcm(pcm, src.name);
          } else {
            d = describe_music(src.path, ac);
          }
        }
        return json_to_py(to_json(d));
      },
      py::arg("music"), py::arg("sample_rate") = 0, py::arg("offset") = 0.0, py::arg("duration") = 0.0,
      "Music descriptors (tempo, key/mode, loudness, valence/arousal ...) as `mpjudge describe --music --json` "
      "gives them");
  m.def(
      "describe_painting",
      [](const py::object& painting) {
        const PaintingSource src = painting_of(painting);
        PaintingDescriptors d;
        {
          py::gil_scoped_release nogil;
          d = src.image ? describe_image(*src.image) : describe_painting(src.path);
        }
        return json_to_py(to_json(d));
      },
      py::arg("painting"), "Painting descriptors (CIELAB statistics, contrast, edges, colour emotion ...)");
  m.def(
      "summarise",
      [](const std::vector<double>& scores, int bootstrap, uint64_t seed) {
        const ScoreSummary s = summarise_scores(scores, bootstrap, seed);
        py::dict d, pct;
        d["n"] = s.n;
        d["mean"] = maybe(s.mean);
        d["median"] = maybe(s.median);
        d["sd"] = maybe(s.sd);
        d["ci95"] = py::make_tuple(maybe(s.ci95_lo), maybe(s.ci95_hi));
        for (const auto& [p, v] : s.percentiles) pct[py::int_(p)] = v;
        d["percentiles"] = pct;
        return d;
      },
      py::arg("scores"), py::arg("bootstrap") = 1000, py::arg("seed") = 1,
      "Mean, median, sd, a bootstrap 95% interval of the mean and percentiles of a set of scores (NaN left out)");
  m.def("default_model_path", &default_model_path, "The shipped model's checkpoint ($MPJUDGE_MODEL overrides it)");
  m.def("version", [] { return std::string(version()); });
}
