package org.remask.eval;

import java.awt.Color;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.remask.sampling.ScheduleKind;

/** The sweep's figure: pass@1 against NFE per task, one line with markers per schedule (XChart, PNG). */
final class SweepPlot {
    static {
        Sweep.headless();
    }

    private SweepPlot() {}


    /** The PNG bytes; {@code results} in plotting order (by schedule, then NFE). */
    static byte[] png(String title, List<Sweep.Result> results) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(600).title(title)
                .xAxisTitle("NFE per task (model calls, log scale)").yAxisTitle("pass@1").build();
        XYStyler styler = chart.getStyler();
        boolean positive = results.stream().allMatch(r -> r.nfe() > 0);
        styler.setXAxisLogarithmic(positive && !results.isEmpty());
        styler.setYAxisMin(0.0);
        styler.setYAxisMax(1.0);
        styler.setYAxisDecimalPattern("0.0#");
        styler.setMarkerSize(8);
        styler.setLegendPosition(Styler.LegendPosition.OutsideE);
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setPlotGridLinesVisible(true);
        Map<String, List<Sweep.Result>> bySchedule = new LinkedHashMap<>();
        for (Sweep.Result r : results) {
            bySchedule.computeIfAbsent(r.point().curve(), k -> new java.util.ArrayList<>()).add(r);
        }
        if (bySchedule.isEmpty()) {
            // XChart draws nothing without a series: an empty placeholder keeps the axes.
            XYSeries none = chart.addSeries("no points yet", new double[] {1}, new double[] {0});
            none.setMarker(SeriesMarkers.NONE);
        }
        for (Map.Entry<String, List<Sweep.Result>> e : bySchedule.entrySet()) {
            double[] x = e.getValue().stream().mapToDouble(Sweep.Result::nfe).toArray();
            double[] y = e.getValue().stream().mapToDouble(Sweep.Result::passAt1).toArray();
            Sweep.Point first = e.getValue().getFirst().point();
            String label = e.getKey() + (first.revise().equals("wino") ? " (--wino-wide)"
                    : " (--" + ScheduleKind.parse(first.schedule()).parameter() + ")");
            XYSeries series = chart.addSeries(label, x, y);
            series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            series.setMarker(SeriesMarkers.CIRCLE);
        }
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }
}
