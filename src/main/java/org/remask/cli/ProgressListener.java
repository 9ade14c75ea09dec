package org.remask.cli;

import java.io.PrintWriter;
import java.util.Locale;
import org.remask.sampling.StepEvent;
import org.remask.sampling.StepListener;

/** One line on stderr, rewritten each step: model calls so far, tokens committed, tokens per second. */
final class ProgressListener implements StepListener {
    private final PrintWriter err;
    private final int genLength;
    private final long started = System.nanoTime();
    private int committed;

    ProgressListener(PrintWriter err, int genLength) {
        this.err = err;
        this.genLength = genLength;
    }

    @Override
    public void onStep(StepEvent event) {
        committed += event.positions().length - event.remasked().length - event.edited().length;
        double seconds = (System.nanoTime() - started) / 1e9;
        err.printf(Locale.ROOT, "\r\033[Kstep %d  %d/%d tokens  %.1f tok/s", event.nfe() + 1, committed, genLength,
                committed / Math.max(seconds, 1e-9));
        err.flush();
    }

    void clear() {
        err.print("\r\033[K");
        err.flush();
    }
}
