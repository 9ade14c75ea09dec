package org.remask.bench;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * pass@1 against NFE for curves taken from several sweeps (remask eval --sweep's sweep.csv), in one PNG: what one
 * sweep's own figure cannot show, such as two models side by side.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar org.remask.bench.SweepFigure --out FILE.png --title TITLE \
 *     --curve 'LABEL=DIR/sweep.csv:SCHEDULE:REVISE' [--curve ...]
 * </pre>
 *
 * A curve is the CSV's rows of that schedule and revision rule, by NFE per task.
 */
public final class SweepFigure {
    private record Curve(String label, double[] nfe, double[] passAt1) {}

    private SweepFigure() {}

    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Path out = null;
        String title = "pass@1 against NFE";
        List<Curve> curves = new ArrayList<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[i + 1]);
                case "--title" -> title = args[i + 1];
                case "--curve" -> curves.add(curve(args[i + 1]));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (out == null || curves.isEmpty() || args.length % 2 != 0) {
            throw new IllegalArgumentException("usage: --out FILE.png [--title T] --curve LABEL=CSV:SCHEDULE:REVISE ...");
        }
        XYChart chart = new XYChartBuilder().width(900).height(600).title(title)
                .xAxisTitle("NFE per task (model calls, log scale)").yAxisTitle("pass@1").build();
        XYStyler styler = chart.getStyler();
        styler.setXAxisLogarithmic(true);
        styler.setYAxisMin(0.0);
        styler.setMarkerSize(8);
        styler.setLegendPosition(Styler.LegendPosition.OutsideS);
        styler.setChartBackgroundColor(Color.WHITE);
        for (Curve c : curves) {
            XYSeries series = chart.addSeries(c.label(), c.nfe(), c.passAt1());
            series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            series.setMarker(SeriesMarkers.CIRCLE);
        }
        Files.write(out, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
    }

    /** LABEL=CSV:SCHEDULE:REVISE: the CSV's rows of that schedule and rule (the revise column; none where absent). */
    private static Curve curve(String spec) throws IOException {
        int eq = spec.indexOf('=');
        String[] where = spec.substring(eq + 1).split(":");
        if (eq < 1 || where.length != 3) {
            throw new IllegalArgumentException("a curve is LABEL=CSV:SCHEDULE:REVISE, not " + spec);
        }
        List<String> rows = Files.readAllLines(Path.of(where[0]));
        List<double[]> points = new ArrayList<>();
        for (String line : rows.subList(1, rows.size())) {
            String[] f = line.split(",", -1); // schedule,parameter,nfe,pass_at_1,seconds,tasks,passed[,revise]
            String revise = f.length > 7 ? f[7] : "none";
            if (f[0].equals(where[1]) && revise.equals(where[2])) {
                points.add(new double[] {Double.parseDouble(f[2]), Double.parseDouble(f[3])});
            }
        }
        if (points.isEmpty()) {
            throw new IllegalArgumentException(where[0] + " has no row of schedule " + where[1] + " and rule " + where[2]);
        }
        points.sort(Comparator.comparingDouble(p -> p[0]));
        return new Curve(spec.substring(0, eq), points.stream().mapToDouble(p -> p[0]).toArray(),
                points.stream().mapToDouble(p -> p[1]).toArray());
    }
}
