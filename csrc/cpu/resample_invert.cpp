// Exact inversion of a fixed-point vertical resampling on palette screens.
//
// A resized frame's row o is clip((2^(p-1) + sum_k c[o][k] * x[lo[o] + k]) >> p) of a
// few input rows, channel by channel (Pillow's vertical pass: p = 22 bits, ~7 taps
// for Lanczos 210 -> 200). A screen drawn from a palette is found again, column by
// column, by a depth-first search over its rows, top to bottom: each row tries the
// palette colours nearest to an estimate of it (the output row that weighs it most,
// solved for it given the rows above and the frame's own values below), and a colour
// stays only while every output row it touches can still come out exactly: an output
// whose rows are all chosen must equal the frame, one that is partly chosen must be
// reachable with the rows still open (bounded by the palette's extreme values). A
// wrong choice usually fails within a row or two and is undone (backtracking); the
// states (last few rows) found dead are remembered, so the search is a dynamic
// programme over them rather than over every prefix.
//
// Colours: each column first searches the colours the frame has shown so far (its
// flat runs, which the resampling leaves untouched, and the colours of the columns
// already solved); when that fails, those and the palette colours nearest a linear
// estimate of the column (the weights' pseudo-inverse, when given), which then also
// stands for the rows below a row being estimated; then the whole candidate palette.
// A frame with a column that fails all of them within the node budget is not a
// resampled palette screen.
// Everything is integer and in order, so the result does not depend on threads or
// on the other frames of the call.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kernels.h"

namespace lc {
namespace {

constexpr int64_t kInf = std::numeric_limits<int64_t>::max() / 4;

struct Tap {
  int32_t out;  // output row
  int32_t t;    // tap index within that output's window
};

struct Filter {
  int64_t h_out = 0, h_in = 0;
  int32_t precision = 0;
  std::vector<int32_t> lo, taps;          // per output: first input row, number of taps
  std::vector<int64_t> coef;              // h_out x kmax
  int32_t kmax = 0;
  std::vector<std::vector<Tap>> touch;    // per input row: outputs it enters
  std::vector<int32_t> best_out, best_tap;  // per input row: the output weighing it most

  // Dense h_out x h_in weights -> banded form; false when a row's taps are not contiguous.
  bool build(const int64_t* w, int64_t ho, int64_t hi, int32_t prec) {
    h_out = ho, h_in = hi, precision = prec;
    lo.assign(ho, 0), taps.assign(ho, 0);
    for (int64_t o = 0; o < ho; ++o) {
      int64_t a = -1, b = -1;
      for (int64_t k = 0; k < hi; ++k)
        if (w[o * hi + k] != 0) { if (a < 0) a = k; b = k; }
      if (a < 0) return false;
      // The same bound as resample_rows (Pillow's int32 sums): |weights| * 255 < 2^31.
      int64_t abs_sum = 0;
      for (int64_t k = a; k <= b; ++k) {
        const int64_t c = w[o * hi + k];
        if (c >= (int64_t(1) << 31) || c <= -(int64_t(1) << 31)) return false;
        abs_sum += c < 0 ? -c : c;
      }
      if (abs_sum * 255 + (int64_t(1) << (prec - 1)) >= (int64_t(1) << 31)) return false;
      lo[o] = int32_t(a), taps[o] = int32_t(b - a + 1);
      kmax = std::max(kmax, taps[o]);
    }
    coef.assign(ho * kmax, 0);
    touch.assign(hi, {});
    best_out.assign(hi, -1), best_tap.assign(hi, -1);
    std::vector<int64_t> best_w(hi, 0);
    for (int64_t o = 0; o < ho; ++o)
      for (int32_t t = 0; t < taps[o]; ++t) {
        int64_t c = w[o * hi + lo[o] + t];
        coef[o * kmax + t] = c;
        int64_t r = lo[o] + t;
        touch[r].push_back({int32_t(o), t});
        if (c > best_w[r]) best_w[r] = c, best_out[r] = int32_t(o), best_tap[r] = t;
      }
    return true;
  }
};

// The accumulator range (before the rounding offset) whose output is y.
inline void target_range(const Filter& f, int y, int64_t* lo, int64_t* hi) {
  const int64_t one = int64_t(1) << f.precision, half = one >> 1;
  *lo = y == 0 ? -kInf : int64_t(y) * one - half;
  *hi = y == 255 ? kInf : int64_t(y + 1) * one - half - 1;
}

class ColumnSearch {
 public:
  ColumnSearch(const Filter& f, const uint8_t* pal, int32_t npal) : f_(f), pal_(pal) {
    bounds(npal);
    acc_.assign(f.h_out * 3, 0);
    cur_.assign(f.h_in, -1);
    last_d_.assign(f.h_in, 0);
    last_i_.assign(f.h_in, -1);
    est_.assign(f.h_in * 3, 0.0);
    near_.assign(f.h_in * 3, 0.0);
    tlo_.assign(f.h_out * 3, 0), thi_.assign(f.h_out * 3, 0);
  }

  // y: the column's h_out x 3 values (stride: bytes between rows). Searches `cands`
  // (indices into the palette) with at most `budget` colour trials; on success x
  // holds the palette index of every input row.
  // below: the values assumed for the rows not chosen yet when estimating a row
  // (h_in x 3; null: the frame's value at each row's heaviest output).
  bool solve(const uint8_t* y, int64_t stride, const std::vector<int32_t>& cands, int64_t budget,
             const double* below, std::vector<int32_t>& x) {
    if (cands.empty()) return false;
    y_ = y, stride_ = stride, cands_ = &cands;
    for (int64_t o = 0; o < f_.h_out; ++o)
      for (int ch = 0; ch < 3; ++ch)
        target_range(f_, y[o * stride + ch], &tlo_[o * 3 + ch], &thi_[o * 3 + ch]);
    if (below) {
      std::copy(below, below + f_.h_in * 3, near_.begin());
    } else {
      for (int64_t r = 0; r < f_.h_in; ++r) {
        int32_t o = f_.best_out[r];
        for (int ch = 0; ch < 3; ++ch) near_[r * 3 + ch] = o < 0 ? 0.0 : double(y[o * stride + ch]);
      }
    }
    std::fill(acc_.begin(), acc_.end(), 0);
    std::fill(cur_.begin(), cur_.end(), -1);
    dead_.clear();
    int64_t r = 0, nodes = 0;
    enter(0);
    while (r < f_.h_in) {
      if (cur_[r] >= 0) unassign(r);
      int32_t i = next_candidate(r);
      if (i < 0) {  // row r has nothing left: this state is dead; back to the row above
        dead_.insert(state_key(r));
        if (--r < 0) return false;
        continue;
      }
      if (++nodes > budget) return false;
      if (assign(r, i) && (dead_.empty() || !dead_.count(state_key(r + 1)))) {
        if (++r < f_.h_in) enter(r);
      }
    }
    x.assign(cur_.begin(), cur_.end());
    return true;
  }

 private:
  // Row r's estimate: its heaviest output solved for it, with the rows above as chosen
  // and the rows below as the frame's values near them.
  void enter(int64_t r) {
    cur_[r] = -1, last_i_[r] = -1, last_d_[r] = -1.0;
    int32_t o = f_.best_out[r], tr = f_.best_tap[r];
    if (o < 0) {
      for (int ch = 0; ch < 3; ++ch) est_[r * 3 + ch] = r > 0 ? est_[(r - 1) * 3 + ch] : 0.0;
      return;
    }
    const int64_t* c = &f_.coef[o * f_.kmax];
    const double one = double(int64_t(1) << f_.precision);
    for (int ch = 0; ch < 3; ++ch) {
      double s = double(y_[o * stride_ + ch]) * one;
      for (int32_t t = 0; t < f_.taps[o]; ++t) {
        if (t == tr) continue;
        int64_t row = f_.lo[o] + t;
        double v = row < r ? double(pal_[cur_[row] * 3 + ch]) : near_[row * 3 + ch];
        s -= double(c[t]) * v;
      }
      est_[r * 3 + ch] = s / double(c[tr]);
    }
  }

  // The untried candidate nearest to row r's estimate, after the last one tried
  // (order: distance, then position in the list).
  int32_t next_candidate(int64_t r) {
    const std::vector<int32_t>& cands = *cands_;
    const double* e = &est_[r * 3];
    double ld = last_d_[r];
    int32_t li = last_i_[r], best = -1;
    double bd = 0.0;
    for (int32_t j = 0; j < int32_t(cands.size()); ++j) {
      const uint8_t* p = pal_ + cands[j] * 3;
      double d0 = p[0] - e[0], d1 = p[1] - e[1], d2 = p[2] - e[2];
      double d = d0 * d0 + d1 * d1 + d2 * d2;
      if (d < ld || (d == ld && j <= li)) continue;
      if (best < 0 || d < bd) best = j, bd = d;
    }
    if (best >= 0) last_d_[r] = bd, last_i_[r] = best;
    return best;
  }

  // rem_lo_ / rem_hi_: h_out x kmax x 3, the range of what the taps after t can add
  // (each open row at the palette's extreme values).
  void bounds(int32_t npal) {
    int64_t cmin[3] = {255, 255, 255}, cmax[3] = {0, 0, 0};
    for (int32_t p = 0; p < npal; ++p)
      for (int ch = 0; ch < 3; ++ch)
        cmin[ch] = std::min<int64_t>(cmin[ch], pal_[p * 3 + ch]),
        cmax[ch] = std::max<int64_t>(cmax[ch], pal_[p * 3 + ch]);
    const int64_t k = f_.kmax;
    rem_lo_.assign(f_.h_out * k * 3, 0), rem_hi_.assign(f_.h_out * k * 3, 0);
    for (int64_t o = 0; o < f_.h_out; ++o)
      for (int ch = 0; ch < 3; ++ch) {
        int64_t s_lo = 0, s_hi = 0;
        for (int32_t t = f_.taps[o] - 1; t >= 0; --t) {
          rem_lo_[(o * k + t) * 3 + ch] = s_lo, rem_hi_[(o * k + t) * 3 + ch] = s_hi;
          int64_t c = f_.coef[o * k + t];
          s_lo += c > 0 ? c * cmin[ch] : c * cmax[ch];
          s_hi += c > 0 ? c * cmax[ch] : c * cmin[ch];
        }
      }
  }

  // Rows 0..q-1 chosen: what is left to solve depends only on the last kmax - 1 of
  // them (the outputs still open), so a state that failed once fails again, whatever
  // came before it. Hashed: a collision can only lose a solution, never make a wrong one.
  uint64_t state_key(int64_t q) const {
    uint64_t h = uint64_t(q) * 0x9E3779B97F4A7C15ull;
    for (int64_t k = std::max<int64_t>(0, q - f_.kmax + 1); k < q; ++k) {
      h ^= uint64_t(cur_[k] + 1) + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
    }
    h ^= h >> 31, h *= 0xBF58476D1CE4E5B9ull, h ^= h >> 29;
    return h;
  }

  bool assign(int64_t r, int32_t j) {
    int32_t p = (*cands_)[j];
    cur_[r] = p;
    bool ok = true;
    for (const Tap& tp : f_.touch[r]) {
      int64_t c = f_.coef[tp.out * f_.kmax + tp.t];
      bool last = tp.t == f_.taps[tp.out] - 1;
      for (int ch = 0; ch < 3; ++ch) {
        int64_t& a = acc_[tp.out * 3 + ch];
        a += c * pal_[p * 3 + ch];
        if (!ok) continue;
        int64_t lo = tlo_[tp.out * 3 + ch], hi = thi_[tp.out * 3 + ch];
        if (last) {
          ok = a >= lo && a <= hi;
        } else {
          int64_t k = (tp.out * f_.kmax + tp.t) * 3 + ch;
          ok = a + rem_hi_[k] >= lo && a + rem_lo_[k] <= hi;
        }
      }
    }
    return ok;
  }

  void unassign(int64_t r) {
    int32_t p = cur_[r];
    for (const Tap& tp : f_.touch[r]) {
      int64_t c = f_.coef[tp.out * f_.kmax + tp.t];
      for (int ch = 0; ch < 3; ++ch) acc_[tp.out * 3 + ch] -= c * pal_[p * 3 + ch];
    }
    cur_[r] = -1;
  }

  const Filter& f_;
  const uint8_t* pal_;
  const uint8_t* y_ = nullptr;
  int64_t stride_ = 0;
  const std::vector<int32_t>* cands_ = nullptr;
  std::vector<int64_t> acc_, tlo_, thi_, rem_lo_, rem_hi_;
  std::vector<int32_t> cur_, last_i_;
  std::vector<double> last_d_, est_, near_;
  std::unordered_set<uint64_t> dead_;
};

inline uint32_t rgb24(const uint8_t* p) { return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]; }

}  // namespace

int64_t resample_invert_cpu(const uint8_t* frames, int64_t n, int64_t h_out, int64_t w, const int64_t* weights,
                            int64_t h_in, int32_t precision, const uint8_t* palette, int32_t npal,
                            const double* estimate, int64_t budget, const int32_t* known,
                            const uint8_t* known_mask, int32_t* out, uint8_t* ok) {
  if (n < 0 || h_out < 1 || w < 1 || h_in < 1 || npal < 0 || npal > kResampleMaxColours || precision < 1 ||
      precision > 30 || budget < 1)
    return kResampleBadArgs;
  Filter f;
  if (!f.build(weights, h_out, h_in, precision)) return kResampleBadArgs;
  // The estimate's band: each row's entries above 1e-6 of its largest (they decay fast).
  std::vector<int64_t> est_lo(h_in, 0), est_hi(h_in, 0);
  if (estimate)
    for (int64_t r = 0; r < h_in; ++r) {
      const double* e = estimate + r * h_out;
      double m = 0.0;
      for (int64_t o = 0; o < h_out; ++o) m = std::max(m, std::abs(e[o]));
      int64_t a = h_out, b = 0;
      for (int64_t o = 0; o < h_out; ++o)
        if (std::abs(e[o]) > 1e-6 * m) a = std::min(a, o), b = o + 1;
      est_lo[r] = std::min(a, b), est_hi[r] = b;
    }
  int64_t inverted = 0;
  // Frames are independent: in parallel, each with its own search state.
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : inverted) if (n > 1)
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> z(h_in * 3, 0.0);
    std::vector<int32_t> cands, x;
    const uint8_t* fr = frames + i * h_out * w * 3;
    int32_t* scr = out + i * h_in * w;
    // This frame's palette: the candidates, then the colours of its flat runs (7
    // equal output rows) that are not among them, up to kResampleMaxColours.
    std::vector<uint8_t> pal(palette, palette + npal * 3);
    std::unordered_map<uint32_t, int32_t> index;
    for (int32_t p = 0; p < npal; ++p) index.emplace(rgb24(palette + p * 3), p);
    std::vector<char> shown(kResampleMaxColours, 0);
    std::vector<int32_t> seen;
    for (int64_t col = 0; col < w; ++col) {
      uint32_t last = 0xFFFFFFFFu;  // the column's last flat colour (runs repeat it)
      for (int64_t o = 3; o + 3 < h_out; ++o) {
        const uint8_t* px = fr + (o * w + col) * 3;
        bool flat = true;
        for (int64_t d = -3; d <= 3 && flat; ++d)
          flat = std::memcmp(px, px + d * w * 3, 3) == 0;
        if (!flat || rgb24(px) == last) continue;
        last = rgb24(px);
        auto it = index.find(last);
        int32_t p;
        if (it != index.end()) {
          p = it->second;
        } else {
          if (int32_t(pal.size() / 3) >= kResampleMaxColours) continue;
          p = int32_t(pal.size() / 3);
          pal.insert(pal.end(), px, px + 3);
          index.emplace(rgb24(px), p);
        }
        if (!shown[p]) shown[p] = 1, seen.push_back(p);
      }
    }
    const int32_t np = int32_t(pal.size() / 3);
    std::vector<int32_t> all(np);
    for (int32_t p = 0; p < np; ++p) all[p] = p;
    ColumnSearch search(f, pal.data(), np);
    bool frame_ok = np > 0;
    for (int64_t col = 0; col < w && frame_ok; ++col) {
      if (known_mask && known_mask[i * w + col]) {
        // A column solved before (the caller's word: its screen resamples to this column):
        // copied, and its colours count as shown.
        uint32_t last = 0xFFFFFFFFu;
        for (int64_t r = 0; r < h_in; ++r) {
          const int32_t v = known[(i * h_in + r) * w + col];
          scr[r * w + col] = v;
          if (uint32_t(v) == last) continue;
          last = uint32_t(v);
          auto it = index.find(last);
          if (it != index.end() && !shown[it->second]) shown[it->second] = 1, seen.push_back(it->second);
        }
        continue;
      }
      const uint8_t* y = fr + col * 3;
      // 1: the colours shown so far; cheap, and enough for most columns.
      bool solved = !seen.empty() && search.solve(y, w * 3, seen, std::min<int64_t>(budget, 8 * h_in), nullptr, x);
      if (!solved && estimate) {
        // 2: those and the two palette colours nearest the linear estimate of each row,
        // which also stands for the rows below while searching.
        for (int64_t r = 0; r < h_in; ++r) {
          const double* e = estimate + r * h_out;
          for (int ch = 0; ch < 3; ++ch) {
            double v = 0.0;
            for (int64_t o = est_lo[r]; o < est_hi[r]; ++o) v += e[o] * double(y[o * w * 3 + ch]);
            z[r * 3 + ch] = v;
          }
        }
        cands = seen;
        std::vector<char> in(np, 0);
        for (int32_t p : seen) in[p] = 1;
        for (int64_t r = 0; r < h_in; ++r) {
          int32_t b1 = -1, b2 = -1;
          double d1 = 0.0, d2 = 0.0;
          for (int32_t p = 0; p < np; ++p) {
            double a = pal[p * 3] - z[r * 3], b = pal[p * 3 + 1] - z[r * 3 + 1], c = pal[p * 3 + 2] - z[r * 3 + 2];
            double d = a * a + b * b + c * c;
            if (b1 < 0 || d < d1) b2 = b1, d2 = d1, b1 = p, d1 = d;
            else if (b2 < 0 || d < d2) b2 = p, d2 = d;
          }
          for (int32_t p : {b1, b2})
            if (p >= 0 && !in[p]) in[p] = 1, cands.push_back(p);
        }
        solved = int32_t(cands.size()) > int32_t(seen.size()) && search.solve(y, w * 3, cands, budget, z.data(), x);
      }
      if (!solved) solved = search.solve(y, w * 3, all, budget, estimate ? z.data() : nullptr, x);
      if (!solved) {
        frame_ok = false;
        break;
      }
      for (int32_t p : x)
        if (!shown[p]) shown[p] = 1, seen.push_back(p);
      for (int64_t r = 0; r < h_in; ++r) scr[r * w + col] = int32_t(rgb24(&pal[x[r] * 3]));
    }
    ok[i] = frame_ok ? 1 : 0;
    if (!frame_ok) std::fill(scr, scr + h_in * w, 0);
    inverted += frame_ok;
  }
  return inverted;
}

}  // namespace lc
