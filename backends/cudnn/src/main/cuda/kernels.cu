/*
 * The cuDNN backend's own kernels: everything cuDNN and cuBLAS do not do (elementwise
 * arithmetic with broadcasting, strided copies and scatter-adds, pooling, global pools,
 * softmax, index gathers). float32 throughout; transcendental functions in double and
 * rounded once, as the Java backend does, so the two agree to the last bit or close to it.
 *
 * One source, two builds:
 *  - for the GPU: nvcc -ptx (see build-ptx.sh); the PTX ships in the bundle and the driver
 *    compiles it for the device at load time. Every kernel walks its range with a
 *    grid-stride loop, so any grid size is correct.
 *  - for the CPU twin the tests run (-DGLASSBOX_HOST, plain C): the same bodies, with the
 *    grid-stride loop a plain loop.
 * Each kernel takes the element count first; the Java side (Kernel.java) launches it by name
 * with its other arguments in order, and the op codes below are Kernel.java's.
 */
#ifdef GLASSBOX_HOST
#include <math.h>
#define KERNEL(name) void name
#define FOR_EACH(i, n) for (long long i = 0; i < (n); i++)
#define DEVICE static
#else
#define KERNEL(name) extern "C" __global__ void name
#define FOR_EACH(i, n) \
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < (n); i += (long long) blockDim.x * gridDim.x)
#define DEVICE __device__ static
#endif

#define MAX_RANK 8

/* ------------------------------------------------------------------ elementwise */

/* Op codes of strided() and reduce(). */
enum {
    OP_COPY = 0, OP_FILL = 1, OP_ADD = 2, OP_SUB = 3, OP_MUL = 4, OP_DIV = 5, OP_SCALE = 6, OP_ABS = 7,
    OP_CLAMP = 8, OP_POSITIVE_MASK = 9, OP_STABILIZE = 10, OP_NEG = 11, OP_AFFINE = 12,
    OP_RELU = 13, OP_RELU_GRAD = 14, OP_LEAKY_RELU = 15, OP_LEAKY_RELU_GRAD = 16, OP_PRELU = 17,
    OP_PRELU_GRAD = 18, OP_ELU = 19, OP_ELU_GRAD = 20, OP_SIGMOID = 21, OP_SIGMOID_GRAD = 22,
    OP_TANH = 23, OP_TANH_GRAD = 24, OP_HARD_SIGMOID = 25, OP_HARD_SIGMOID_GRAD = 26,
    OP_HARD_SWISH = 27, OP_HARD_SWISH_GRAD = 28, OP_CLIP_GRAD = 29, OP_DIV_GRAD_A = 30,
    OP_DIV_GRAD_B = 31, OP_INPUT = 32
};

/*
 * A box of dims[0..rank) elements walked row-major, seen through four layouts: the output y
 * and the operands a, b, c, each with its own strides in elements (0 along a broadcast axis).
 */
typedef struct {
    int rank;
    int dims[MAX_RANK];
    int y[MAX_RANK];
    int a[MAX_RANK];
    int b[MAX_RANK];
    int c[MAX_RANK];
} Layout;

/* Java's Math.max / Math.min on floats: NaN wins. */
DEVICE float jmax(float x, float y) {
    return x != x ? x : (y != y ? y : (x >= y ? x : y));
}

DEVICE float jmin(float x, float y) {
    return x != x ? x : (y != y ? y : (x <= y ? x : y));
}

DEVICE double sigmoid(double x) {
    if (x >= 0) {
        return 1 / (1 + exp(-x));
    }
    double e = exp(x);
    return e / (1 + e);
}

DEVICE double clamp01(double v) {
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

DEVICE float apply(int op, float p, float q, float a, float b, float c) {
    switch (op) {
        case OP_COPY: return a;
        case OP_FILL: return p;
        case OP_ADD: return a + b;
        case OP_SUB: return a - b;
        case OP_MUL: return a * b;
        case OP_DIV: return a / b;
        case OP_SCALE: return p * a;
        case OP_ABS: return fabsf(a);
        case OP_CLAMP: return jmin(jmax(a, p), q);
        case OP_POSITIVE_MASK: return a > 0.0f ? 1.0f : 0.0f;
        case OP_STABILIZE: return a + (a < 0.0f ? -p : p);
        case OP_NEG: return -a;
        case OP_AFFINE: { float t = a * b; return t + c; }          /* no fused multiply-add: as Java */
        case OP_RELU: return jmax(a, 0.0f);
        case OP_RELU_GRAD: return a > 0.0f ? b : 0.0f;             /* a = x, b = dy */
        case OP_LEAKY_RELU: return a >= 0.0f ? a : p * a;
        case OP_LEAKY_RELU_GRAD: return a > 0.0f ? b : p * b;
        case OP_PRELU: return a >= 0.0f ? a : b * a;               /* b = slope */
        case OP_PRELU_GRAD: return a > 0.0f ? c : b * c;           /* b = slope, c = dy */
        case OP_ELU: return a > 0.0f ? a : (float) ((double) p * expm1((double) a));
        case OP_ELU_GRAD: return a > 0.0f ? b : (float) ((double) b * (double) p * exp((double) a));
        case OP_SIGMOID: return (float) sigmoid(a);
        case OP_SIGMOID_GRAD: { double s = sigmoid(a); return (float) ((double) b * s * (1 - s)); }
        case OP_TANH: return (float) tanh((double) a);
        case OP_TANH_GRAD: { double t = tanh((double) a); return (float) ((double) b * (1 - t * t)); }
        case OP_HARD_SIGMOID: return (float) clamp01((double) p * a + (double) q);
        case OP_HARD_SIGMOID_GRAD: { double z = (double) p * a + (double) q; return z > 0 && z < 1 ? (float) ((double) b * p) : 0.0f; }
        case OP_HARD_SWISH: return (float) (a * clamp01(a / 6.0 + 0.5));
        case OP_HARD_SWISH_GRAD: return a < -3.0f ? 0.0f : (a > 3.0f ? b : (float) ((double) b * (a / 3.0 + 0.5)));
        case OP_CLIP_GRAD: return a >= p && a <= q ? b : 0.0f;   /* p, q = the bounds */
        case OP_DIV_GRAD_A: return (float) ((double) a / (double) b);                   /* a = dy, b = divisor */
        case OP_DIV_GRAD_B: return (float) (-a * (double) b / ((double) c * (double) c)); /* a = dy, b = dividend, c = divisor */
        default: return 0.0f / 0.0f;
    }
}

/* The offsets of box element i in the four layouts of L. */
DEVICE void offsets(const Layout *L, long long i, long long *oy, long long *oa, long long *ob, long long *oc) {
    long long rest = i;
    *oy = *oa = *ob = *oc = 0;
    for (int d = L->rank - 1; d >= 0; d--) {
        long long k = rest % L->dims[d];
        rest /= L->dims[d];
        *oy += k * L->y[d];
        *oa += k * L->a[d];
        *ob += k * L->b[d];
        *oc += k * L->c[d];
    }
}

/* y[box] = op(a[box], b[box], c[box]); null operands read as 0. */
KERNEL(strided)(long long n, int op, float p, float q, Layout L, const float *a, const float *b, const float *c, float *y) {
    FOR_EACH(i, n) {
        long long oy, oa, ob, oc;
        offsets(&L, i, &oy, &oa, &ob, &oc);
        y[oy] = apply(op, p, q, a ? a[oa] : 0.0f, b ? b[ob] : 0.0f, c ? c[oc] : 0.0f);
    }
}

/* The sum in double of op(a, b, c) over inner elements [first, last) (row-major) of one output. */
DEVICE double sum_range(const Layout *inner, long long first, long long last, int op, float p, float q,
                        const float *a, long long oa, const float *b, long long ob, const float *c, long long oc) {
    double sum = 0;
    for (long long j = first; j < last; j++) {
        long long iy, ia, ib, ic;
        offsets(inner, j, &iy, &ia, &ib, &ic);
        sum += apply(op, p, q, a ? a[oa + ia] : 0.0f, b ? b[ob + ib] : 0.0f, c ? c[oc + ic] : 0.0f);
    }
    return sum;
}

DEVICE long long box_size(const Layout *L) {
    long long m = 1;
    for (int d = 0; d < L->rank; d++) {
        m *= L->dims[d];
    }
    return m;
}

/*
 * Sums over axes: y[i] = scale * sum over the inner box of op(a, b, c), for each element i of
 * the outer box (n of them). Both layouts give operand strides; the outer one also the
 * output's. Summed in double, inner box in row-major order.
 */
KERNEL(reduce)(long long n, int op, float p, float q, float scale, Layout outer, Layout inner, const float *a,
               const float *b, const float *c, float *y) {
    long long m = box_size(&inner);
    FOR_EACH(i, n) {
        long long oy, oa, ob, oc;
        offsets(&outer, i, &oy, &oa, &ob, &oc);
        y[oy] = (float) (sum_range(&inner, 0, m, op, p, q, a, oa, b, ob, c, oc) * scale);
    }
}

/*
 * reduce() in two passes, for few outputs over many elements (one thread each would leave the
 * device idle): reduce_parts sums part t % parts of output t / parts, inner elements
 * [part * chunk, part * chunk + chunk), into partial[t] (n = outputs * parts); reduce_join then
 * sums each output's parts in order. In double and in a fixed order, whatever the grid.
 */
KERNEL(reduce_parts)(long long n, int parts, int chunk, int op, float p, float q, Layout outer, Layout inner,
                     const float *a, const float *b, const float *c, double *partial) {
    long long m = box_size(&inner);
    FOR_EACH(t, n) {
        long long oy, oa, ob, oc;
        offsets(&outer, t / parts, &oy, &oa, &ob, &oc);
        long long first = (t % parts) * (long long) chunk;
        long long last = first + chunk < m ? first + chunk : m;
        partial[t] = sum_range(&inner, first, last, op, p, q, a, oa, b, ob, c, oc);
    }
}

/* y at output i of the outer layout = scale * the sum of partial[i * parts ...] in order (n outputs). */
KERNEL(reduce_join)(long long n, int parts, float scale, Layout outer, const double *partial, float *y) {
    FOR_EACH(i, n) {
        long long oy, oa, ob, oc;
        offsets(&outer, i, &oy, &oa, &ob, &oc);
        double sum = 0;
        for (int k = 0; k < parts; k++) {
            sum += partial[i * parts + k];
        }
        y[oy] = (float) (sum * scale);
    }
}

/*
 * Several elementwise expressions over same-shaped inputs in one launch (Kernels#evaluate):
 * the program lists the distinct nodes in evaluation order, each an apply() op over earlier
 * nodes a and b, or OP_INPUT reading input a, and which nodes are the results. Each element's
 * node values stay in the thread, so every input is read once and every result written once,
 * where the primitives one by one would launch a kernel and write a tensor per node (and the
 * launches, not the arithmetic, are what a batch-1 explanation waits for on a GPU).
 */
#define PROGRAM_NODES 32
#define PROGRAM_INPUTS 4
#define PROGRAM_RESULTS 4

typedef struct {
    int nodes;
    int results;
    int code[PROGRAM_NODES];
    int a[PROGRAM_NODES];
    int b[PROGRAM_NODES];                   /* a again for a unary op */
    float p[PROGRAM_NODES];
    float q[PROGRAM_NODES];
    int result[PROGRAM_RESULTS];
} Program;

KERNEL(evaluate)(long long n, Program P, const float *x0, const float *x1, const float *x2, const float *x3,
                 float *y0, float *y1, float *y2, float *y3) {
    const float *x[PROGRAM_INPUTS] = {x0, x1, x2, x3};
    float *y[PROGRAM_RESULTS] = {y0, y1, y2, y3};
    FOR_EACH(i, n) {
        float v[PROGRAM_NODES];
        for (int k = 0; k < P.nodes; k++) {
            v[k] = P.code[k] == OP_INPUT ? x[P.a[k]][i] : apply(P.code[k], P.p[k], P.q[k], v[P.a[k]], v[P.b[k]], 0.0f);
        }
        for (int r = 0; r < P.results; r++) {
            y[r][i] = v[P.result[r]];
        }
    }
}

/*
 * y[i] = x[index[i]] (n outputs); or, as its adjoint, x[i] = the sum of y[sources[k]] for k in
 * [starts[i], starts[i + 1]) (n inputs, sources ascending: the Java backend's order).
 */
KERNEL(gather)(long long n, int adjoint, const int *index, const int *starts, float *x, float *y) {
    FOR_EACH(i, n) {
        if (adjoint) {
            float sum = 0.0f;
            for (int k = starts[i]; k < starts[i + 1]; k++) {
                sum += y[index[k]];
            }
            x[i] = sum;
        } else {
            y[i] = x[index[i]];
        }
    }
}

/* ------------------------------------------------------------------ pooling */

enum { MAX_FORWARD = 0, MAX_BACKWARD = 1, AVG_FORWARD = 2, AVG_BACKWARD = 3 };

/* An NCHW pooling window: input and output extents, kernel, strides, pads, dilations. */
typedef struct {
    int h, w, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, include_pad;
} Pool;

/* Taps of window o on one axis that the average's divisor counts (PoolKernels.counted). */
DEVICE int counted(int o, int in, int k, int stride, int before, int after, int dilation, int include_pad) {
    int lo = include_pad ? -before : 0;
    int hi = include_pad ? in + after : in;
    int n = 0;
    for (int i = 0; i < k; i++) {
        int pos = o * stride - before + i * dilation;
        if (pos >= lo && pos < hi) {
            n++;
        }
    }
    return n;
}

/* The first maximal tap of window (oy, ox) in row-major order, or -1 if no tap is inside. */
DEVICE long long argmax(const Pool *g, const float *x, long long base, int oy, int ox) {
    long long best = -1;
    float max = -3.40282347e38f;
    for (int r = 0; r < g->kh; r++) {
        int ih = oy * g->sh - g->pt + r * g->dh;
        if (ih < 0 || ih >= g->h) {
            continue;
        }
        for (int s = 0; s < g->kw; s++) {
            int iw = ox * g->sw - g->pl + s * g->dw;
            if (iw < 0 || iw >= g->w) {
                continue;
            }
            long long at = base + (long long) ih * g->w + iw;
            if (best < 0 || x[at] > max) {
                best = at;
                max = x[at];
            }
        }
    }
    return best;
}

DEVICE int divisor(const Pool *g, int oy, int ox) {
    return counted(oy, g->h, g->kh, g->sh, g->pt, g->pb, g->dh, g->include_pad)
            * counted(ox, g->w, g->kw, g->sw, g->pl, g->pr, g->dw, g->include_pad);
}

/*
 * Forward kinds: one thread per output cell (n = planes * oh * ow). Max: the first maximal tap
 * in row-major order wins, padding never does, an empty window gives the lowest float. Average:
 * the sum of the taps inside the input over the counted divisor (0 for none).
 * Backward kinds: one thread per input cell (n = planes * h * w), which sums what the windows
 * over it send, in the order of the windows (row-major): a max window sends its gradient to
 * its argmax, an average window an equal share to each of its taps.
 */
KERNEL(pool2d)(long long n, int kind, Pool g, const float *x, const float *dy, float *out) {
    FOR_EACH(i, n) {
        if (kind == MAX_FORWARD || kind == AVG_FORWARD) {
            int ox = (int) (i % g.ow);
            int oy = (int) (i / g.ow % g.oh);
            long long base = i / ((long long) g.ow * g.oh) * g.h * g.w;
            if (kind == MAX_FORWARD) {
                long long best = argmax(&g, x, base, oy, ox);
                out[i] = best < 0 ? -3.40282347e38f : x[best];
                continue;
            }
            int d = divisor(&g, oy, ox);
            double sum = 0;
            for (int r = 0; r < g.kh && d > 0; r++) {
                int ih = oy * g.sh - g.pt + r * g.dh;
                for (int s = 0; s < g.kw && ih >= 0 && ih < g.h; s++) {
                    int iw = ox * g.sw - g.pl + s * g.dw;
                    if (iw >= 0 && iw < g.w) {
                        sum += x[base + (long long) ih * g.w + iw];
                    }
                }
            }
            out[i] = d == 0 ? 0.0f : (float) (sum / d);
            continue;
        }
        int iw = (int) (i % g.w);
        int ih = (int) (i / g.w % g.h);
        long long plane = i / ((long long) g.w * g.h);
        long long base = plane * g.h * g.w;
        long long obase = plane * g.oh * g.ow;
        float sum = 0.0f;
        /* taps from the last to the first: the windows over this cell in row-major order */
        for (int r = g.kh - 1; r >= 0; r--) {
            int t = ih + g.pt - r * g.dh;
            if (t < 0 || t % g.sh != 0 || t / g.sh >= g.oh) {
                continue;
            }
            int oy = t / g.sh;
            for (int s = g.kw - 1; s >= 0; s--) {
                int u = iw + g.pl - s * g.dw;
                if (u < 0 || u % g.sw != 0 || u / g.sw >= g.ow) {
                    continue;
                }
                int ox = u / g.sw;
                long long o = obase + (long long) oy * g.ow + ox;
                if (kind == MAX_BACKWARD) {
                    if (argmax(&g, x, base, oy, ox) == i) {
                        sum += dy[o];
                    }
                } else {
                    int d = divisor(&g, oy, ox);
                    if (d > 0) {
                        sum += (float) ((double) dy[o] / d);
                    }
                }
            }
        }
        out[i] = sum;
    }
}

enum { GLOBAL_MAX_FORWARD = 0, GLOBAL_MAX_BACKWARD = 1, GLOBAL_AVG_FORWARD = 2, GLOBAL_AVG_BACKWARD = 3 };

/* One thread per (item, channel) plane of area cells: the global pools and their VJPs. */
KERNEL(global_pool)(long long planes, int kind, int area, const float *x, const float *dy, float *out) {
    FOR_EACH(p, planes) {
        long long base = p * area;
        if (kind == GLOBAL_MAX_FORWARD || kind == GLOBAL_MAX_BACKWARD) {
            long long best = -1;
            for (long long i = base; i < base + area; i++) {
                if (best < 0 || x[i] > x[best]) {
                    best = i;
                }
            }
            if (kind == GLOBAL_MAX_FORWARD) {
                out[p] = best < 0 ? -3.40282347e38f : x[best];
            } else if (best >= 0) {
                out[best] = dy[p];
            }
        } else if (kind == GLOBAL_AVG_FORWARD) {
            double sum = 0;
            for (long long i = base; i < base + area; i++) {
                sum += x[i];
            }
            out[p] = (float) (sum / area);
        } else {
            float share = (float) ((double) dy[p] / area);
            for (long long i = base; i < base + area; i++) {
                out[i] = share;
            }
        }
    }
}

/* ------------------------------------------------------------------ softmax */

enum { SOFTMAX = 0, LOG_SOFTMAX = 1, SOFTMAX_GRAD = 2, LOG_SOFTMAX_GRAD = 3 };

/*
 * The tensor seen as [outer, len, inner]; one thread per (outer, inner) slice (n = outer *
 * inner). Stabilised by the slice's max; sums in double (SoftmaxKernel).
 */
KERNEL(softmax)(long long n, int kind, int len, int inner, const float *x, const float *dy, float *out) {
    FOR_EACH(r, n) {
        long long base = r / inner * (long long) len * inner + r % inner;
        float max = -1.0f / 0.0f;
        for (int t = 0; t < len; t++) {
            max = jmax(max, x[base + (long long) t * inner]);
        }
        double sum = 0;
        for (int t = 0; t < len; t++) {
            sum += exp((double) x[base + (long long) t * inner] - max);
        }
        double log_sum = log(sum);
        int log_kind = kind == LOG_SOFTMAX || kind == LOG_SOFTMAX_GRAD;
        if (kind == SOFTMAX || kind == LOG_SOFTMAX) {
            for (int t = 0; t < len; t++) {
                long long at = base + (long long) t * inner;
                double z = (double) x[at] - max - log_sum;
                out[at] = (float) (log_kind ? z : exp(z));
            }
            continue;
        }
        double dot = 0;
        for (int t = 0; t < len; t++) {
            long long at = base + (long long) t * inner;
            float s = (float) exp((double) x[at] - max - log_sum);
            dot += log_kind ? dy[at] : (double) dy[at] * s;
        }
        for (int t = 0; t < len; t++) {
            long long at = base + (long long) t * inner;
            float s = (float) exp((double) x[at] - max - log_sum);
            out[at] = (float) (log_kind ? dy[at] - s * dot : s * (dy[at] - dot));
        }
    }
}
