package dev.glassbox.launcher;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Locale;

/**
 * A line chart of perturbation curves, drawn with Java2D (headless). Text needs fonts; where
 * the platform has none the chart is drawn without its labels rather than not at all.
 */
final class CurvePlot {

    static final int WIDTH = 720;
    static final int HEIGHT = 460;
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int TOP = 40;
    private static final int BOTTOM = 55;

    /** One line: a label for the legend, its values at {@code xs}, colour and width. */
    record Series(String label, double[] values, Color color, float width) {
    }

    private CurvePlot() {
    }

    /** Lines over {@code xs} (the same for every series), titled, with axis labels and a legend. */
    static BufferedImage render(String title, String xLabel, String yLabel, double[] xs, List<Series> series) {
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            double xMin = xs[0];
            double xMax = xs[xs.length - 1];
            double yMin = Double.POSITIVE_INFINITY;
            double yMax = Double.NEGATIVE_INFINITY;
            for (Series s : series) {
                for (double v : s.values()) {
                    if (Double.isFinite(v)) {
                        yMin = Math.min(yMin, v);
                        yMax = Math.max(yMax, v);
                    }
                }
            }
            if (!(yMax > yMin)) {
                yMin = Double.isFinite(yMin) ? yMin - 1 : 0;
                yMax = yMin + 2;
            }
            double pad = (yMax - yMin) * 0.05;
            yMin -= pad;
            yMax += pad;
            if (!(xMax > xMin)) {
                xMax = xMin + 1;
            }
            int pw = WIDTH - LEFT - RIGHT;
            int ph = HEIGHT - TOP - BOTTOM;
            Axis ax = new Axis(xMin, xMax, LEFT, LEFT + pw);
            Axis ay = new Axis(yMin, yMax, TOP + ph, TOP);

            double[] yTicks = ticks(yMin, yMax);
            double[] xTicks = ticks(xMin, xMax);
            g.setStroke(new BasicStroke(1f));
            g.setColor(new Color(0xE6E6E6));
            for (double t : yTicks) {
                int y = ay.px(t);
                g.drawLine(LEFT, y, LEFT + pw, y);
            }
            for (double t : xTicks) {
                int x = ax.px(t);
                g.drawLine(x, TOP, x, TOP + ph);
            }
            g.setColor(Color.DARK_GRAY);
            g.drawRect(LEFT, TOP, pw, ph);

            for (Series s : series) {
                Path2D.Double path = new Path2D.Double();
                boolean started = false;
                for (int i = 0; i < xs.length && i < s.values().length; i++) {
                    double v = s.values()[i];
                    if (!Double.isFinite(v)) {
                        started = false;
                        continue;
                    }
                    if (started) {
                        path.lineTo(ax.px(xs[i]), ay.px(v));
                    } else {
                        path.moveTo(ax.px(xs[i]), ay.px(v));
                        started = true;
                    }
                }
                g.setColor(s.color());
                g.setStroke(new BasicStroke(s.width(), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
                g.draw(path);
            }
            try {
                text(g, title, xLabel, yLabel, series, ax, ay, xTicks, yTicks, pw, ph);
            } catch (RuntimeException | Error noFonts) {
                // no usable fonts on this platform: the lines are the content, labels are a courtesy
            }
        } finally {
            g.dispose();
        }
        return img;
    }

    private static void text(Graphics2D g, String title, String xLabel, String yLabel, List<Series> series, Axis ax,
                             Axis ay, double[] xTicks, double[] yTicks, int pw, int ph) {
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        g.setColor(Color.DARK_GRAY);
        for (double t : yTicks) {
            String s = label(t);
            g.drawString(s, LEFT - 6 - fm.stringWidth(s), ay.px(t) + fm.getAscent() / 2 - 1);
        }
        for (double t : xTicks) {
            String s = label(t);
            g.drawString(s, ax.px(t) - fm.stringWidth(s) / 2, TOP + ph + fm.getAscent() + 4);
        }
        g.drawString(xLabel, LEFT + pw / 2 - fm.stringWidth(xLabel) / 2, HEIGHT - 12);
        Graphics2D r = (Graphics2D) g.create();
        r.rotate(-Math.PI / 2);
        r.drawString(yLabel, -(TOP + ph / 2) - fm.stringWidth(yLabel) / 2, 18);
        r.dispose();
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.setColor(Color.BLACK);
        g.drawString(title, LEFT, TOP - 14);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        int y = TOP + 18;
        int legendWidth = 0;
        for (Series s : series) {
            if (s.label() != null) {
                legendWidth = Math.max(legendWidth, fm.stringWidth(s.label()));
            }
        }
        int x = LEFT + pw - legendWidth - 44;
        for (Series s : series) {
            if (s.label() == null) {
                continue;
            }
            g.setColor(s.color());
            g.setStroke(new BasicStroke(Math.max(2f, s.width())));
            g.drawLine(x, y - 4, x + 24, y - 4);
            g.setColor(Color.BLACK);
            g.drawString(s.label(), x + 30, y);
            y += fm.getHeight() + 2;
        }
    }

    /** About five to eight round tick values inside {@code [lo, hi]}. */
    static double[] ticks(double lo, double hi) {
        double span = hi - lo;
        double raw = span / 7;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag;
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * mag >= raw) {
                step = m * mag;
                break;
            }
        }
        double first = Math.ceil(lo / step) * step;
        int count = (int) Math.floor((hi - first) / step + 1e-9) + 1;
        double[] out = new double[Math.max(0, count)];
        for (int i = 0; i < out.length; i++) {
            out[i] = first + i * step;
        }
        return out;
    }

    private static String label(double v) {
        if (Math.abs(v) < 1e-12) {
            return "0";
        }
        String s = String.format(Locale.ROOT, "%.3f", v);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    /** A linear map from data to pixels. */
    private record Axis(double lo, double hi, int from, int to) {
        int px(double v) {
            return (int) Math.round(from + (v - lo) / (hi - lo) * (to - from));
        }
    }
}
