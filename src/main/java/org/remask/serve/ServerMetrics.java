package org.remask.serve;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.IntSupplier;
import org.remask.sampling.StepScheduler;

/** What GET /metrics reports, in Prometheus' text format: one registry per server, not the global one. */
final class ServerMetrics implements StepScheduler.RoundListener {
    static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests = Counter.builder().name("remask_requests_total")
            .help("HTTP requests to the completion endpoints, by endpoint and outcome").labelNames("endpoint", "outcome")
            .register(registry);
    private final Histogram requestSeconds = Histogram.builder().name("remask_request_duration_seconds")
            .help("Time from a completion request's arrival to its last byte, answered ones").labelNames("endpoint")
            .classicOnly().classicExponentialUpperBounds(0.05, 2, 14).register(registry);
    private final Histogram stepSeconds = Histogram.builder().name("remask_step_duration_seconds")
            .help("Time of one engine round: a model call for every running generation")
            .classicOnly().classicExponentialUpperBounds(0.001, 2, 14).register(registry);
    private final Histogram batchRows = Histogram.builder().name("remask_batch_rows")
            .help("Generations that made a model call in one engine round")
            .classicOnly().classicUpperBounds(1, 2, 4, 8, 16, 32, 64).register(registry);
    private final Counter forwards = Counter.builder().name("remask_forwards_total")
            .help("Forward passes run (a batched one counts once)").register(registry);
    private final Counter promptTokens = Counter.builder().name("remask_prompt_tokens_total")
            .help("Prompt tokens of answered choices").register(registry);
    private final Counter generatedTokens = Counter.builder().name("remask_generated_tokens_total")
            .help("Completion tokens of answered choices (up to the stop)").register(registry);

    ServerMetrics(IntSupplier queued, IntSupplier active) {
        GaugeWithCallback.builder().name("remask_queue_depth").help("Generations waiting for a place in the batch")
                .callback(c -> c.call(queued.getAsInt())).register(registry);
        GaugeWithCallback.builder().name("remask_active_generations").help("Generations being stepped")
                .callback(c -> c.call(active.getAsInt())).register(registry);
    }

    void request(String endpoint, String outcome) {
        requests.labelValues(endpoint, outcome).inc();
    }

    void answered(String endpoint, long nanos, int prompt, int generated) {
        requestSeconds.labelValues(endpoint).observe(nanos / 1e9);
        promptTokens.inc(prompt);
        generatedTokens.inc(generated);
    }

    @Override
    public void onRound(int modelCalls, int forwardPasses, long nanos) {
        stepSeconds.observe(nanos / 1e9);
        batchRows.observe(modelCalls);
        forwards.inc(forwardPasses);
    }

    byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.DEFAULT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
