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
 *    grid-stride loop a plain loop and atomic adds plain adds.
 * Each kernel takes the element count first; the Java side (Kernel.java) launches it by name
 * with its other arguments in order, and the op codes below are Kernel.java's.
 */
#ifdef GLASSBOX_HOST
#include <math.h>
#define KERNEL(name) void name
#define FOR_EACH(i, n) for (long long i = 0; i < (n); i++)
#define ATOMIC_ADD(p, v) (*(p) += (v))
#define DEVICE static
#else
#define KERNEL(name) extern "C" __global__ void name
#define FOR_EACH(i, n) \
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < (n); i += (long long) blockDim.x * gridDim.x)
#define ATOMIC_ADD(p, v) atomicAdd((p), (v))
#define DEVICE __device__ static
#endif

#define MAX_RANK 8

/* ------------------------------------------------------------------ elementwise */

/* Op codes of strided(); ACCUMULATE adds into the output instead of storing. */
enum {
    OP_COPY = 0, OP_FILL = 1, OP_ADD = 2, OP_SUB = 3, OP_MUL = 4, OP_DIV = 5, OP_SCALE = 6, OP_ABS = 7,
    OP_CLAMP = 8, OP_POSITIVE_MASK = 9, OP_STABILIZE = 10, OP_NEG = 11, OP_AFFINE = 12,
    OP_RELU = 13, OP_RELU_GRAD = 14, OP_LEAKY_RELU = 15, OP_LEAKY_RELU_GRAD = 16, OP_PRELU = 17,
    OP_PRELU_GRAD = 18, OP_ELU = 19, OP_ELU_GRAD = 20, OP_SIGMOID = 21, OP_SIGMOID_GRAD = 22,
    OP_TANH = 23, OP_TANH_GRAD = 24, OP_HARD_SIGMOID = 25, OP_HARD_SIGMOID_GRAD = 26,
    OP_HARD_SWISH = 27, OP_HARD_SWISH_GRAD = 28, OP_CLIP_GRAD = 29, OP_DIV_GRAD_A = 30,
    OP_DIV_GRAD_B = 31,
    ACCUMULATE = 256
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

/*
 * y[box] = op(a[box], b[box], c[box]) (or += with ACCUMULATE, atomically: several box
 * positions may share an output element, as in a sum over broadcast axes). Null operands
 * read as 0.
 */
KERNEL(strided)(long long n, int op, float p, float q, Layout L, const float *a, const float *b, const float *c, float *y) {
    FOR_EACH(i, n) {
        long long rest = i;
        long long oy = 0, oa = 0, ob = 0, oc = 0;
        for (int d = L.rank - 1; d >= 0; d--) {
            long long k = rest % L.dims[d];
            rest /= L.dims[d];
            oy += k * L.y[d];
            oa += k * L.a[d];
            ob += k * L.b[d];
            oc += k * L.c[d];
        }
        float v = apply(op & (ACCUMULATE - 1), p, q, a ? a[oa] : 0.0f, b ? b[ob] : 0.0f, c ? c[oc] : 0.0f);
        if (op & ACCUMULATE) {
            ATOMIC_ADD(y + oy, v);
        } else {
            y[oy] = v;
        }
    }
}

/* y[i] = x[index[i]], or with scatter != 0 x[index[i]] += y[i] (atomically). */
KERNEL(gather)(long long n, int scatter, const int *index, float *x, float *y) {
    FOR_EACH(i, n) {
        if (scatter) {
            ATOMIC_ADD(x + index[i], y[i]);
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

/*
 * One thread per output cell (n = planes * oh * ow). Max: the first maximal tap in row-major
 * order wins, padding never does, an empty window gives the lowest float and routes nothing.
 * Average: the sum of the taps inside the input over the counted divisor. Backward kinds add
 * into out (= dx, zeroed by the caller).
 */
KERNEL(pool2d)(long long n, int kind, Pool g, const float *x, const float *dy, float *out) {
    FOR_EACH(i, n) {
        int ox = (int) (i % g.ow);
        int oy = (int) (i / g.ow % g.oh);
        long long base = i / ((long long) g.ow * g.oh) * g.h * g.w;
        int is_max = kind == MAX_FORWARD || kind == MAX_BACKWARD;
        int divisor = is_max ? 1 : counted(oy, g.h, g.kh, g.sh, g.pt, g.pb, g.dh, g.include_pad)
                * counted(ox, g.w, g.kw, g.sw, g.pl, g.pr, g.dw, g.include_pad);
        if (divisor == 0) {
            if (kind == AVG_FORWARD) {
                out[i] = 0.0f;
            }
            continue;
        }
        float share = kind == AVG_BACKWARD ? (float) ((double) dy[i] / divisor) : 0.0f;
        long long best = -1;
        float max = -3.40282347e38f;
        double sum = 0;
        for (int r = 0; r < g.kh; r++) {
            int ih = oy * g.sh - g.pt + r * g.dh;
            if (ih < 0 || ih >= g.h) {
                continue;
            }
            for (int s = 0; s < g.kw; s++) {
                int iw = ox * g.sw - g.pl + s * g.dw;
                if (iw < 0 || iw >= g.w) {
                    continue;
                }
                long long at = base + (long long) ih * g.w + iw;
                if (is_max) {
                    if (best < 0 || x[at] > max) {
                        best = at;
                        max = x[at];
                    }
                } else if (kind == AVG_FORWARD) {
                    sum += x[at];
                } else {
                    ATOMIC_ADD(out + at, share);
                }
            }
        }
        if (kind == MAX_FORWARD) {
            out[i] = max;
        } else if (kind == MAX_BACKWARD && best >= 0) {
            ATOMIC_ADD(out + best, dy[i]);
        } else if (kind == AVG_FORWARD) {
            out[i] = (float) (sum / divisor);
        }
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
