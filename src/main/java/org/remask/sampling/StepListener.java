package org.remask.sampling;

/** Called after every model call, on the generating thread: for streaming, traces and progress. */
@FunctionalInterface
public interface StepListener {
    void onStep(StepEvent event);
}
