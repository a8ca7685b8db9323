package dev.glassbox.launcher;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.Heatmaps;
import java.awt.image.BufferedImage;

/**
 * Input-space tensors (an activation maximization result, say) drawn as pictures: one channel
 * as gray, three as RGB, each item min-max scaled to the full range (a constant item is mid
 * gray), upscaled like the heatmaps.
 */
final class Pictures {
    private Pictures() {
    }

    /** The item {@code [C, H, W]} (C = 1 or 3) or {@code [H, W]} as a picture, at {@link Heatmaps#defaultScale}. */
    static BufferedImage render(HostTensor item) {
        Shape s = item.shape();
        int c;
        int h;
        int w;
        if (s.rank() == 2) {
            c = 1;
            h = s.dim(0);
            w = s.dim(1);
        } else if (s.rank() == 3 && (s.dim(0) == 1 || s.dim(0) == 3)) {
            c = s.dim(0);
            h = s.dim(1);
            w = s.dim(2);
        } else {
            throw new InvalidInputException("cannot draw an item of shape " + s + " as a picture: expected [1|3, H, W]"
                    + " or [H, W]", "--png");
        }
        float[] v = item.data();
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (float f : v) {
            if (Float.isFinite(f)) {
                lo = Math.min(lo, f);
                hi = Math.max(hi, f);
            }
        }
        int scale = Heatmaps.defaultScale(h, w);
        BufferedImage img = new BufferedImage(w * scale, h * scale, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = 0;
                for (int k = 0; k < 3; k++) {
                    float f = v[(c == 1 ? 0 : k) * plane + y * w + x];
                    double t = hi > lo ? (f - lo) / (double) (hi - lo) : 0.5;
                    int b = (int) Math.round(Math.clamp(Double.isNaN(t) ? 0 : t, 0, 1) * 255);
                    rgb = rgb << 8 | b;
                }
                for (int dy = 0; dy < scale; dy++) {
                    for (int dx = 0; dx < scale; dx++) {
                        img.setRGB(x * scale + dx, y * scale + dy, rgb);
                    }
                }
            }
        }
        return img;
    }
}
