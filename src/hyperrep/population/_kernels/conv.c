/* Direct 2-d convolutions, optionally fused with max pooling, for populations of
   small CNNs (valid padding, stride 1, pooling window P = stride P, P in {1, 2}).

   Layout: the batch is the innermost axis, so every vector operation covers LANES
   images of one model and all arithmetic is vectorised whatever the channel counts:
     x    (M, C, H, W, B)        inputs of M models, each on its own batch; x_stride
                                 0 when all models share one batch (evaluation)
     w    (M, O, C, K, K)        filters
     bias (M, O)
     out  (M, O, PH, PW, B)      PH = (H - K + 1) / P, PW = (W - K + 1) / P
     idx  (M, O, PH, PW, B)      P > 1: which window element was the maximum, as a float
                                 (dy * P + dx); torch's tie rule (first in scan order)
   B must be a multiple of LANES.
   Interleaved lanes (G > 1): when a model's batch b is not a multiple of LANES, G models
   share the lane axis, B = G * b lanes with lane l holding image l % b of model
   group * G + l / b, so no lane is padding (b = 10: G = 8, B = 80). Then x, out and idx
   have Mg = M / G groups on their first axis while w and bias keep one row per model;
   each group's weights are expanded to one vector per lane vector and tap, and filter /
   bias gradients are summed per model over that model's lanes.
   The backward kernel takes the gradient of `out`,
   un-pools it one model at a time into a scratch buffer that stays in cache, and
   computes the filter, bias and (optionally) input gradients from it.
   Accumulators stay in registers: each loaded vector is reused for a block of output
   channels (forward), input channels (backward to the input) or output channels x
   kernel columns (backward to the filters). Models are split across OpenMP threads. */
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define LANES 16
typedef float vf __attribute__((vector_size(4 * LANES)));
typedef int vi __attribute__((vector_size(4 * LANES)));
typedef float vfu __attribute__((vector_size(4 * LANES), aligned(4)));
#define LD(p) (*(const vfu *)(p))
#define ST(p, v) (*(vfu *)(p) = (v))
#define INLINE static inline __attribute__((always_inline))
#define SELECT(mask, a, b) ((vf)(((vi)(a) & (mask)) | ((vi)(b) & ~(mask))))
#define MAXB 8 /* channel block held in registers */

#ifdef _OPENMP
void set_threads(int n) { omp_set_num_threads(n); }
int has_openmp(void) { return 1; }
#else
void set_threads(int n) { (void)n; } /* built without OpenMP: one thread */
int has_openmp(void) { return 0; }
#endif

/* Forward for output channels o0..o0+ob of one model: conv + bias, then max over
   each P x P window (P = 1: no pooling). Two versions: this one, for few taps per output
   (C * K * K small), keeps the window maximum in registers. */
INLINE void fwd_block_narrow(const float *xm, const float *wm, const float *bm, float *om,
                             float *im, int C, int H, int W, int K, int B, int o0,
                             const int ob, const int P) {
  const int PH = (H - K + 1) / P, PW = (W - K + 1) / P, CKK = C * K * K;
  for (int py = 0; py < PH; py++)
    for (int px = 0; px < PW; px++)
      for (int b = 0; b < B; b += LANES) {
        vf best[MAXB], where[MAXB];
        for (int d = 0; d < P * P; d++) {
          const int y = py * P + d / P, x = px * P + d % P;
          vf acc[MAXB];
          for (int j = 0; j < ob; j++) acc[j] = (vf){} + bm[o0 + j];
          for (int c = 0; c < C; c++)
            for (int ky = 0; ky < K; ky++) {
              const float *row = xm + ((size_t)(c * H + y + ky) * W + x) * B + b;
              const float *wr = wm + (size_t)o0 * CKK + (c * K + ky) * K;
              for (int kx = 0; kx < K; kx++) {
                vf v = LD(row + (size_t)kx * B);
                for (int j = 0; j < ob; j++) acc[j] += wr[j * CKK + kx] * v;
              }
            }
          for (int j = 0; j < ob; j++) {
            if (d == 0) {
              best[j] = acc[j];
              where[j] = (vf){};
            } else { /* take the new value if larger, or NaN (torch propagates NaN) */
              vi take = (acc[j] > best[j]) | (acc[j] != acc[j]);
              best[j] = SELECT(take, acc[j], best[j]);
              where[j] = SELECT(take, (vf){} + (float)d, where[j]);
            }
          }
        }
        for (int j = 0; j < ob; j++) {
          const size_t at = ((size_t)((o0 + j) * PH + py) * PW + px) * B + b;
          ST(om + at, best[j]);
          if (P > 1) ST(im + at, where[j]);
        }
      }
}

/* The other, for many taps per output. Measured once each on AVX-512 (noisy machine):
   conv 8->6 k5 at 83% of a large matmul's rate this way vs 74% the narrow way, conv
   1->8 k5 at 29% vs 53%; hence the switch on C * K * K in conv_forward. */
INLINE void fwd_block_wide(const float *xm, const float *wm, const float *bm, float *om,
                           float *im, int C, int H, int W, int K, int B, int o0, const int ob,
                           const int P) {
  /* NV lane vectors at a time share each weight broadcast; the running window maximum
     lives in `om` / `im` (in cache) to leave the registers to the accumulators. */
  enum { NV = 2 };
  const int PH = (H - K + 1) / P, PW = (W - K + 1) / P, CKK = C * K * K;
  for (int py = 0; py < PH; py++)
    for (int px = 0; px < PW; px++)
      for (int b = 0; b < B; b += NV * LANES) {
        const int nv = B - b >= NV * LANES ? NV : 1;
        for (int d = 0; d < P * P; d++) {
          const int y = py * P + d / P, x = px * P + d % P;
          vf acc[NV][MAXB];
          for (int h = 0; h < NV; h++)
            for (int j = 0; j < ob; j++) acc[h][j] = (vf){} + bm[o0 + j];
          for (int c = 0; c < C; c++)
            for (int ky = 0; ky < K; ky++) {
              const float *row = xm + ((size_t)(c * H + y + ky) * W + x) * B + b;
              const float *wr = wm + (size_t)o0 * CKK + (c * K + ky) * K;
              for (int kx = 0; kx < K; kx++) {
                if (nv == NV) {
                  vf v0 = LD(row + (size_t)kx * B), v1 = LD(row + (size_t)kx * B + LANES);
                  for (int j = 0; j < ob; j++) {
                    const float wv = wr[j * CKK + kx];
                    acc[0][j] += wv * v0;
                    acc[1][j] += wv * v1;
                  }
                } else {
                  vf v0 = LD(row + (size_t)kx * B);
                  for (int j = 0; j < ob; j++) acc[0][j] += wr[j * CKK + kx] * v0;
                }
              }
            }
          for (int h = 0; h < nv; h++)
            for (int j = 0; j < ob; j++) {
              const size_t at = ((size_t)((o0 + j) * PH + py) * PW + px) * B + b + h * LANES;
              if (d == 0) {
                ST(om + at, acc[h][j]);
                if (P > 1) ST(im + at, (vf){});
              } else { /* take the new value if larger, or NaN (torch propagates NaN) */
                const vf best = LD(om + at);
                const vi take = (acc[h][j] > best) | (acc[h][j] != acc[h][j]);
                ST(om + at, SELECT(take, acc[h][j], best));
                ST(im + at, SELECT(take, (vf){} + (float)d, LD(im + at)));
              }
            }
        }
      }
}

#define DISPATCH_BLOCK(call, n)                                                        \
  switch (n) {                                                                         \
  case 1: call(1); break; case 2: call(2); break; case 3: call(3); break;              \
  case 4: call(4); break; case 5: call(5); break; case 6: call(6); break;              \
  case 7: call(7); break; case 8: call(8); break;                                      \
  }

/* ---- Interleaved lanes (G > 1): per-lane weight vectors ---- */

/* A group's parameters as one vector per (lane vector, tap): lanes[v][t] holds, in lane
   l, tap t of model (v * LANES + l) / b; w holds the group's models, T taps each. */
static void expand_lanes(const float *w, float *lanes, int T, int nv, int b) {
  for (int v = 0; v < nv; v++)
    for (int l = 0; l < LANES; l++) {
      const float *wm = w + (size_t)((v * LANES + l) / b) * T;
      float *dst = lanes + (size_t)v * T * LANES + l;
      for (int t = 0; t < T; t++) dst[(size_t)t * LANES] = wm[t];
    }
}

/* Forward of output channels o0..o0+ob at nx adjacent pooled columns px0.. on lane
   vector `b` (an offset into the B lanes), from that vector's weights wv (O * C * K * K
   vectors) and biases bv (O vectors). Each weight vector loaded serves nx columns: with
   per-lane weights a load per FMA would bound the kernel by the load ports. The running
   window maximum lives in om / im (in cache), leaving the registers to the accumulators. */
INLINE void fwd_block_lanes(const float *xm, const vf *wv, const vf *bv, float *om, float *im,
                            int C, int H, int W, int K, int B, int b, int py, int px0,
                            int o0, const int ob, const int nx, const int P) {
  const int PH = (H - K + 1) / P, PW = (W - K + 1) / P, CKK = C * K * K;
  for (int d = 0; d < P * P; d++) {
    const int y = py * P + d / P, x0 = px0 * P + d % P;
    vf acc[4][MAXB];
    for (int h = 0; h < nx; h++)
      for (int j = 0; j < ob; j++) acc[h][j] = bv[o0 + j];
    for (int c = 0; c < C; c++)
      for (int ky = 0; ky < K; ky++) {
        const float *row = xm + ((size_t)(c * H + y + ky) * W + x0) * B + b;
        const vf *wr = wv + (size_t)o0 * CKK + (c * K + ky) * K;
        for (int kx = 0; kx < K; kx++) {
          vf v[4];
          for (int h = 0; h < nx; h++) v[h] = LD(row + (size_t)(h * P + kx) * B);
          for (int j = 0; j < ob; j++) {
            const vf wj = wr[j * CKK + kx];
            for (int h = 0; h < nx; h++) acc[h][j] += wj * v[h];
          }
        }
      }
    for (int h = 0; h < nx; h++)
      for (int j = 0; j < ob; j++) {
        const size_t at = ((size_t)((o0 + j) * PH + py) * PW + px0 + h) * B + b;
        if (d == 0) {
          ST(om + at, acc[h][j]);
          if (P > 1) ST(im + at, (vf){});
        } else { /* take the new value if larger, or NaN (torch propagates NaN) */
          const vf best = LD(om + at);
          const vi take = (acc[h][j] > best) | (acc[h][j] != acc[h][j]);
          ST(om + at, SELECT(take, acc[h][j], best));
          ST(im + at, SELECT(take, (vf){} + (float)d, LD(im + at)));
        }
      }
  }
}

/* The same for one column with the window maximum kept in registers: for layers whose
   weights (one vector per tap and output channel) fit in L1, so each load is cheap. */
INLINE void fwd_narrow_lanes(const float *xm, const vf *wv, const vf *bv, float *om, float *im,
                             int C, int H, int W, int K, int B, int b, int py, int px, int o0,
                             const int ob, const int P) {
  const int PH = (H - K + 1) / P, PW = (W - K + 1) / P, CKK = C * K * K;
  vf best[MAXB], where[MAXB];
  for (int d = 0; d < P * P; d++) {
    const int y = py * P + d / P, x = px * P + d % P;
    vf acc[MAXB];
    for (int j = 0; j < ob; j++) acc[j] = bv[o0 + j];
    for (int c = 0; c < C; c++)
      for (int ky = 0; ky < K; ky++) {
        const float *row = xm + ((size_t)(c * H + y + ky) * W + x) * B + b;
        const vf *wr = wv + (size_t)o0 * CKK + (c * K + ky) * K;
        for (int kx = 0; kx < K; kx++) {
          vf v = LD(row + (size_t)kx * B);
          for (int j = 0; j < ob; j++) acc[j] += wr[j * CKK + kx] * v;
        }
      }
    for (int j = 0; j < ob; j++) {
      if (d == 0) {
        best[j] = acc[j];
        where[j] = (vf){};
      } else {
        vi take = (acc[j] > best[j]) | (acc[j] != acc[j]);
        best[j] = SELECT(take, acc[j], best[j]);
        where[j] = SELECT(take, (vf){} + (float)d, where[j]);
      }
    }
  }
  for (int j = 0; j < ob; j++) {
    const size_t at = ((size_t)((o0 + j) * PH + py) * PW + px) * B + b;
    ST(om + at, best[j]);
    if (P > 1) ST(im + at, where[j]);
  }
}

/* Columns sharing a weight load: about 24 accumulators in registers. */
#define LANE_COLUMNS(ob) ((ob) <= 6 ? 4 : 3)

static void conv_forward_lanes(const float *x, const float *w, const float *bias, float *out,
                               float *idx, float *wl, float *bl, int M, int C, int H, int W,
                               int O, int K, int P, int B, int G) {
  const int nv = B / LANES, b = B / G;
  const size_t taps = (size_t)O * C * K * K;
  const size_t pooled = (size_t)((H - K + 1) / P) * ((W - K + 1) / P) * B;
#pragma omp parallel for schedule(dynamic)
  for (int m = 0; m < M; m++) {
    float *wlm = wl + (size_t)m * nv * taps * LANES, *blm = bl + (size_t)m * nv * O * LANES;
    expand_lanes(w + (size_t)m * G * taps, wlm, (int)taps, nv, b);
    expand_lanes(bias + (size_t)m * G * O, blm, O, nv, b);
    const float *xm = x + (size_t)m * C * H * W * B;
    float *om = out + (size_t)m * O * pooled;
    float *im = P > 1 ? idx + (size_t)m * O * pooled : NULL;
    const int PH = (H - K + 1) / P, PW = (W - K + 1) / P;
    /* weight slabs beyond 16 KB (conv 8->6 k5: 77 KB) come from L2: share each load */
    const int shared = taps * sizeof(vf) > 16384;
    for (int v = 0; v < nv; v++) {
      const vf *wv = (const vf *)(wlm + (size_t)v * taps * LANES);
      const vf *bv = (const vf *)(blm + (size_t)v * O * LANES);
      for (int o0 = 0; o0 < O; o0 += MAXB) {
        const int n = O - o0 < MAXB ? O - o0 : MAXB;
        for (int py = 0; py < PH; py++)
          for (int px0 = 0; px0 < PW;) {
            const int step = !shared || PW - px0 < LANE_COLUMNS(n) ? 1 : LANE_COLUMNS(n);
#define COLS(ob, nx)                                                                   \
  fwd_block_lanes(xm, wv, bv, om, im, C, H, W, K, B, v * LANES, py, px0, o0, ob, nx, P)
#define CALL(ob)                                                                       \
  if (!shared && P == 1)                                                               \
    fwd_narrow_lanes(xm, wv, bv, om, im, C, H, W, K, B, v * LANES, py, px0, o0, ob, 1);  \
  else if (!shared)                                                                    \
    fwd_narrow_lanes(xm, wv, bv, om, im, C, H, W, K, B, v * LANES, py, px0, o0, ob, 2);  \
  else if (step == 1) COLS(ob, 1);                                                     \
  else if (LANE_COLUMNS(ob) == 4) COLS(ob, 4);                                         \
  else COLS(ob, 3)
            DISPATCH_BLOCK(CALL, n)
#undef CALL
#undef COLS
            px0 += step;
          }
      }
    }
  }
}

/* G > 1: interleaved lanes; wl (M, B / LANES, O * C * K * K, LANES) and bl (M, B / LANES,
   O, LANES) receive the expanded weights and biases (conv_backward reads wl). */
void conv_forward(const float *x, long x_stride, const float *w, const float *bias,
                  float *out, float *idx, float *wl, float *bl, int M, int C, int H, int W,
                  int O, int K, int P, int B, int G) {
  if (G > 1) {
    conv_forward_lanes(x, w, bias, out, idx, wl, bl, M, C, H, W, O, K, P, B, G);
    return;
  }
  const size_t pooled = (size_t)((H - K + 1) / P) * ((W - K + 1) / P) * B;
  const int wide = C * K * K >= 64;
#pragma omp parallel for schedule(dynamic)
  for (int m = 0; m < M; m++) {
    const float *xm = x + (size_t)m * x_stride;
    const float *wm = w + (size_t)m * O * C * K * K;
    const float *bm = bias + (size_t)m * O;
    float *om = out + (size_t)m * O * pooled;
    float *im = P > 1 ? idx + (size_t)m * O * pooled : NULL;
    for (int o0 = 0; o0 < O; o0 += MAXB) {
      const int n = O - o0 < MAXB ? O - o0 : MAXB;
#define CALL(ob)                                                                       \
  if (wide && P == 1) fwd_block_wide(xm, wm, bm, om, im, C, H, W, K, B, o0, ob, 1);    \
  else if (wide) fwd_block_wide(xm, wm, bm, om, im, C, H, W, K, B, o0, ob, 2);         \
  else if (P == 1) fwd_block_narrow(xm, wm, bm, om, im, C, H, W, K, B, o0, ob, 1);     \
  else fwd_block_narrow(xm, wm, bm, om, im, C, H, W, K, B, o0, ob, 2)
      DISPATCH_BLOCK(CALL, n)
#undef CALL
    }
  }
}

/* dx[c, iy, ix] = sum over o, ky, kx of w[o, c, ky, kx] * g[o, iy - ky, ix - kx] */
INLINE void bwd_data_block(const float *gm, const float *wm, float *dxm, int C, int H, int W,
                           int O, int K, int B, int c0, const int cb) {
  const int OH = H - K + 1, OW = W - K + 1, KK = K * K;
  for (int iy = 0; iy < H; iy++) {
    const int ky_lo = iy - OH + 1 > 0 ? iy - OH + 1 : 0, ky_hi = iy < K - 1 ? iy : K - 1;
    for (int ix = 0; ix < W; ix++) {
      const int kx_lo = ix - OW + 1 > 0 ? ix - OW + 1 : 0, kx_hi = ix < K - 1 ? ix : K - 1;
      for (int b = 0; b < B; b += LANES) {
        vf acc[MAXB];
        for (int j = 0; j < cb; j++) acc[j] = (vf){};
        for (int o = 0; o < O; o++)
          for (int ky = ky_lo; ky <= ky_hi; ky++) {
            const float *wr = wm + ((size_t)(o * C + c0) * K + ky) * K;
            for (int kx = kx_lo; kx <= kx_hi; kx++) {
              vf v = LD(gm + ((size_t)(o * OH + iy - ky) * OW + ix - kx) * B + b);
              for (int j = 0; j < cb; j++) acc[j] += wr[j * KK + kx] * v;
            }
          }
        for (int j = 0; j < cb; j++)
          ST(dxm + ((size_t)((c0 + j) * H + iy) * W + ix) * B + b, acc[j]);
      }
    }
  }
}

INLINE float hsum(vf v) {
  float s = 0.f;
  for (int i = 0; i < LANES; i++) s += v[i];
  return s;
}

/* dw[o, c, ky, kx] = sum over y, x, b of g[o, y, x, b] * x[c, y + ky, x + kx, b], for
   output channels o0..o0+ob and kernel columns kx0..kx0+kb of one (c, ky). */
INLINE void bwd_filter_block(const float *gm, const float *xm, float *dwm, int C, int H,
                             int W, int K, int B, int c, int ky, int o0, const int ob,
                             int kx0, const int kb) {
  const int OH = H - K + 1, OW = W - K + 1;
  vf acc[4][5];
  for (int j = 0; j < ob; j++)
    for (int k = 0; k < kb; k++) acc[j][k] = (vf){};
  for (int y = 0; y < OH; y++)
    for (int x = 0; x < OW; x++) {
      const float *xrow = xm + ((size_t)(c * H + y + ky) * W + x + kx0) * B;
      const float *grow = gm + ((size_t)(o0 * OH + y) * OW + x) * B;
      for (int b = 0; b < B; b += LANES) {
        vf xv[5], gv[4];
        for (int k = 0; k < kb; k++) xv[k] = LD(xrow + (size_t)k * B + b);
        for (int j = 0; j < ob; j++) gv[j] = LD(grow + (size_t)j * OH * OW * B + b);
        for (int j = 0; j < ob; j++)
          for (int k = 0; k < kb; k++) acc[j][k] += gv[j] * xv[k];
      }
    }
  for (int j = 0; j < ob; j++)
    for (int k = 0; k < kb; k++)
      dwm[(((size_t)(o0 + j) * C + c) * K + ky) * K + kx0 + k] = hsum(acc[j][k]);
}

/* Every (c, ky, block of 4 output channels, block of 5 kernel columns) of a filter
   gradient; CASES(ob) dispatches on the column block's width kb. */
#define FILTER_BLOCKS(CASES)                                                           \
  for (int c = 0; c < C; c++)                                                          \
    for (int ky = 0; ky < K; ky++)                                                     \
      for (int o0 = 0; o0 < O; o0 += 4)                                                \
        for (int kx0 = 0; kx0 < K; kx0 += 5) {                                         \
          const int kb = K - kx0 < 5 ? K - kx0 : 5;                                    \
          switch (O - o0 < 4 ? O - o0 : 4) {                                           \
          case 1: CASES(1) break; case 2: CASES(2) break;                              \
          case 3: CASES(3) break; case 4: CASES(4) break;                              \
          }                                                                            \
        }

#define FILTER(ob, kb) bwd_filter_block(gm, xm, dwm, C, H, W, K, B, c, ky, o0, ob, kx0, kb)
#define KB_CASES(ob)                                                                   \
  switch (kb) {                                                                        \
  case 1: FILTER(ob, 1); break; case 2: FILTER(ob, 2); break;                          \
  case 3: FILTER(ob, 3); break; case 4: FILTER(ob, 4); break;                          \
  case 5: FILTER(ob, 5); break;                                                        \
  }

/* The conv output's gradient from the gradient gp of the activated, pooled output a:
   times the activation's derivative (act: 0 none, 1 tanh, 2 sigmoid, 3 relu, written
   in terms of a), then routed to each window's maximum (P > 1). */
static void unpool(const float *gp, const float *ap, const float *ip, float *g, int act,
                   int O, int OH, int OW, int P, int B) {
  const int PH = OH / P, PW = OW / P;
  if (P > 1) memset(g, 0, sizeof(float) * O * OH * OW * B); /* rows pooling dropped */
  for (int o = 0; o < O; o++)
    for (int py = 0; py < PH; py++)
      for (int px = 0; px < PW; px++)
        for (int b = 0; b < B; b += LANES) {
          const size_t at = ((size_t)(o * PH + py) * PW + px) * B + b;
          vf gv = LD(gp + at);
          if (act) {
            const vf a = LD(ap + at), one = (vf){} + 1.f;
            if (act == 1) gv = gv * (one - a * a);
            else if (act == 2) gv = gv * ((one - a) * a);
            else gv = (vf)((vi)gv & (a > (vf){}));
          }
          if (P == 1) {
            ST(g + at, gv);
            continue;
          }
          const vf iv = LD(ip + at);
          for (int d = 0; d < P * P; d++) {
            const vi hit = iv == (vf){} + (float)d;
            const int y = py * P + d / P, x = px * P + d % P;
            ST(g + ((size_t)(o * OH + y) * OW + x) * B + b, (vf)((vi)gv & hit));
          }
        }
}

/* dx of input channels c0..c0+cb at nx adjacent input columns ix0.. of row iy, on lane
   vector `b`, from that vector's weights wv. Each weight vector loaded serves the nx
   columns (as in fwd_block_lanes: conv 8->6 holds 77 KB of weight vectors, read from L2);
   a column whose gradient position ix - kx falls outside the output reads zeros. */
INLINE void bwd_data_lanes(const float *gm, const vf *wv, float *dxm, int C, int H, int W,
                           int O, int K, int B, int b, int c0, const int cb, int iy, int ix0,
                           const int nx) {
  static const vf zero = {};
  const int OH = H - K + 1, OW = W - K + 1, KK = K * K;
  const int ky_lo = iy - OH + 1 > 0 ? iy - OH + 1 : 0, ky_hi = iy < K - 1 ? iy : K - 1;
  /* kx useful to at least one of the columns */
  const int kx_lo = ix0 - OW + 1 > 0 ? ix0 - OW + 1 : 0;
  const int kx_hi = ix0 + nx - 1 < K - 1 ? ix0 + nx - 1 : K - 1;
  vf acc[4][MAXB];
  for (int h = 0; h < nx; h++)
    for (int j = 0; j < cb; j++) acc[h][j] = (vf){};
  for (int o = 0; o < O; o++)
    for (int ky = ky_lo; ky <= ky_hi; ky++) {
      const vf *wr = wv + ((size_t)(o * C + c0) * K + ky) * K;
      const float *grow = gm + (size_t)(o * OH + iy - ky) * OW * B + b;
      for (int kx = kx_lo; kx <= kx_hi; kx++) {
        vf v[4];
        for (int h = 0; h < nx; h++) {
          const int gx = ix0 + h - kx;
          v[h] = gx >= 0 && gx < OW ? LD(grow + (size_t)gx * B) : zero;
        }
        for (int j = 0; j < cb; j++) {
          const vf wj = wr[j * KK + kx];
          for (int h = 0; h < nx; h++) acc[h][j] += wj * v[h];
        }
      }
    }
  for (int h = 0; h < nx; h++)
    for (int j = 0; j < cb; j++)
      ST(dxm + ((size_t)((c0 + j) * H + iy) * W + ix0 + h) * B + b, acc[h][j]);
}

/* Adds lane l of v to dst[((b + l) / bm) * stride]: a lane vector's sums, per model. */
INLINE void add_per_model(vf v, float *dst, int b, int bm, size_t stride) {
  for (int l = 0; l < LANES; l++) dst[(size_t)((b + l) / bm) * stride] += v[l];
}

/* dw of output channels o0..o0+ob, kernel columns kx0..kx0+kb of one (c, ky), from lane
   vector `b`, added to the group's per-model filters dwg (G models of O * C * K * K). */
INLINE void bwd_filter_lanes(const float *gm, const float *xm, float *dwg, int C, int H,
                             int W, int O, int K, int B, int b, int bm, int c, int ky, int o0,
                             const int ob, int kx0, const int kb) {
  const int OH = H - K + 1, OW = W - K + 1;
  vf acc[4][5];
  for (int j = 0; j < ob; j++)
    for (int k = 0; k < kb; k++) acc[j][k] = (vf){};
  for (int y = 0; y < OH; y++)
    for (int x = 0; x < OW; x++) {
      const float *xrow = xm + ((size_t)(c * H + y + ky) * W + x + kx0) * B + b;
      const float *grow = gm + ((size_t)(o0 * OH + y) * OW + x) * B + b;
      vf xv[5], gv[4];
      for (int k = 0; k < kb; k++) xv[k] = LD(xrow + (size_t)k * B);
      for (int j = 0; j < ob; j++) gv[j] = LD(grow + (size_t)j * OH * OW * B);
      for (int j = 0; j < ob; j++)
        for (int k = 0; k < kb; k++) acc[j][k] += gv[j] * xv[k];
    }
  const size_t taps = (size_t)O * C * K * K;
  for (int j = 0; j < ob; j++)
    for (int k = 0; k < kb; k++)
      add_per_model(acc[j][k], dwg + (((size_t)(o0 + j) * C + c) * K + ky) * K + kx0 + k, b,
                    bm, taps);
}

#define FILTER_LANES(ob, kb)                                                           \
  bwd_filter_lanes(gm, xm, dwg, C, H, W, O, K, B, b, bm, c, ky, o0, ob, kx0, kb)
#define KB_LANES(ob)                                                                   \
  switch (kb) {                                                                        \
  case 1: FILTER_LANES(ob, 1); break; case 2: FILTER_LANES(ob, 2); break;              \
  case 3: FILTER_LANES(ob, 3); break; case 4: FILTER_LANES(ob, 4); break;              \
  case 5: FILTER_LANES(ob, 5); break;                                                  \
  }

/* The gradients of one lane group from gm, its un-pooled output gradient. */
static void bwd_group_lanes(const float *gm, const float *xm, const float *wlm, float *dxm,
                            float *dwg, float *dbg, int C, int H, int W, int O, int K, int B,
                            int G) {
  const int OH = H - K + 1, OW = W - K + 1, nv = B / LANES, bm = B / G;
  const size_t taps = (size_t)O * C * K * K, full = (size_t)OH * OW * B;
  memset(dwg, 0, sizeof(float) * G * taps);
  memset(dbg, 0, sizeof(float) * G * O);
  for (int v = 0; v < nv; v++) {
    const int b = v * LANES;
    if (dxm != NULL) {
      const vf *wv = (const vf *)(wlm + (size_t)v * taps * LANES);
      for (int c0 = 0; c0 < C; c0 += MAXB) {
        const int n = C - c0 < MAXB ? C - c0 : MAXB;
        for (int iy = 0; iy < H; iy++)
          for (int ix0 = 0; ix0 < W;) {
            const int step = W - ix0 < LANE_COLUMNS(n) ? 1 : LANE_COLUMNS(n);
#define CALL(cb)                                                                       \
  if (step == 1) bwd_data_lanes(gm, wv, dxm, C, H, W, O, K, B, b, c0, cb, iy, ix0, 1);   \
  else if (LANE_COLUMNS(cb) == 4)                                                      \
    bwd_data_lanes(gm, wv, dxm, C, H, W, O, K, B, b, c0, cb, iy, ix0, 4);                \
  else bwd_data_lanes(gm, wv, dxm, C, H, W, O, K, B, b, c0, cb, iy, ix0, 3)
            DISPATCH_BLOCK(CALL, n)
#undef CALL
            ix0 += step;
          }
      }
    }
    FILTER_BLOCKS(KB_LANES)
    for (int o = 0; o < O; o++) {
      vf acc = (vf){};
      const float *go = gm + o * full + b;
      for (size_t i = 0; i < full; i += B) acc += LD(go + i);
      add_per_model(acc, dbg + o, b, bm, O);
    }
  }
}

/* Gradients of `conv_forward` followed by the activation `act` (see `unpool`; a is the
   activated output) from the gradient g of that output: filters dw, bias db, and the
   input dx unless dx is NULL. With G > 1 (interleaved lanes) wl holds the lane weights
   conv_forward expanded. Returns 0, or 1 if a scratch buffer could not be allocated. */
int conv_backward(const float *g, const float *a, int act, const float *idx, const float *x,
                  long x_stride, const float *w, const float *wl, float *dx, float *dw,
                  float *db, int M, int C, int H, int W, int O, int K, int P, int B, int G) {
  const int OH = H - K + 1, OW = W - K + 1;
  const size_t pooled = (size_t)(OH / P) * (OW / P) * B, full = (size_t)OH * OW * B;
  const size_t taps = (size_t)O * C * K * K;
  int failed = 0;
#pragma omp parallel
  {
    const int unpooled = P > 1 || act;
    float *scratch = unpooled ? malloc(sizeof(float) * O * full) : NULL;
    if (unpooled && scratch == NULL) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic)
    for (int m = 0; m < M; m++) {
      if (unpooled && scratch == NULL) continue;
      const float *gp = g + (size_t)m * O * pooled;
      const float *xm = x + (size_t)m * x_stride;
      const float *wm = w + (size_t)m * O * C * K * K;
      float *dwm = dw + (size_t)m * O * C * K * K;
      const float *gm = gp;
      if (unpooled) {
        unpool(gp, act ? a + (size_t)m * O * pooled : NULL,
               P > 1 ? idx + (size_t)m * O * pooled : NULL, scratch, act, O, OH, OW, P, B);
        gm = scratch;
      }
      if (G > 1) {
        float *dxm = dx != NULL ? dx + (size_t)m * C * H * W * B : NULL;
        bwd_group_lanes(gm, xm, wl + (size_t)m * taps * B, dxm, dw + (size_t)m * G * taps,
                        db + (size_t)m * G * O, C, H, W, O, K, B, G);
        continue;
      }
      if (dx != NULL) {
        float *dxm = dx + (size_t)m * C * H * W * B;
        for (int c0 = 0; c0 < C; c0 += MAXB) {
          const int n = C - c0 < MAXB ? C - c0 : MAXB;
#define CALL(cb) bwd_data_block(gm, wm, dxm, C, H, W, O, K, B, c0, cb)
          DISPATCH_BLOCK(CALL, n)
#undef CALL
        }
      }
      FILTER_BLOCKS(KB_CASES)
      for (int o = 0; o < O; o++) {
        vf acc = (vf){};
        const float *go = gm + o * full;
        for (size_t i = 0; i < full; i += LANES) acc += LD(go + i);
        db[(size_t)m * O + o] = hsum(acc);
      }
    }
    free(scratch);
  }
  return failed;
}

/* Sets every entry of magnitude below the smallest normal float to +0 (NaN stays), in
   place: torch's masked_fill_(t.abs() < tiny, 0) in one pass over memory. */
void flush_subnormal(float *t, long n) {
  const float tiny = 1.17549435e-38f;
  long i = 0;
  for (; i + LANES <= n; i += LANES) {
    vf v = LD(t + i);
    const vf a = (vf)((vi)v & 0x7fffffff);
    ST(t + i, SELECT(a < tiny, (vf){}, v));
  }
  for (; i < n; i++) {
    const float a = t[i] < 0 ? -t[i] : t[i];
    if (a < tiny) t[i] = 0.f;
  }
}
