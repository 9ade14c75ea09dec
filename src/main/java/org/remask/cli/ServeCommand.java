package org.remask.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.remask.sampling.StepScheduler;
import org.remask.serve.OpenAiServer;
import org.remask.text.ChatTemplate;
import org.remask.text.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import sun.misc.Signal;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the model over an OpenAI-compatible HTTP API: POST /v1/completions and"
            + " /v1/chat/completions (streaming too), GET /v1/models, /health and /metrics.",
            "Concurrent requests share each step's forward pass. SIGTERM (or Ctrl-C) stops taking requests,"
                    + " lets the running ones finish within --grace, then exits 0."})
final class ServeCommand implements Callable<Integer> {
    // Helidon logs its start-up through java.util.logging; the command prints its own line. Held: loggers are weak.
    private static final Logger HELIDON = Logger.getLogger("io.helidon");

    @Mixin
    ModelOptions options;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDRESS",
            description = "Address to listen on; 0.0.0.0 for every interface, as in a container (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "PORT",
            description = "Port to listen on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--max-batch", defaultValue = "8", paramLabel = "N",
            description = "Generations stepped together, sharing each forward (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-queue", defaultValue = "64", paramLabel = "N",
            description = "Generations that may wait for a place; beyond them a request gets 429 (default:"
                    + " ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--max-time", defaultValue = "300", paramLabel = "SECONDS",
            description = "The longest a generation runs; it is then answered with what it committed, and a"
                    + " request's max_time may lower it (default: ${DEFAULT-VALUE}).")
    double maxTime;

    @Option(names = "--grace", defaultValue = "30", paramLabel = "SECONDS",
            description = "On SIGTERM, how long running requests may finish before they are cut short (default:"
                    + " ${DEFAULT-VALUE}).")
    double grace;

    @Option(names = "--max-body", defaultValue = "4194304", paramLabel = "BYTES",
            description = "The largest request body; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Option(names = "--served-model-name", paramLabel = "NAME",
            description = "The model's id in the API (default: the model directory's name).")
    String servedName;

    @Spec
    CommandSpec spec;

    /** A listening server with its loaded model; closing it drains the server, then frees the model. */
    static final class Serving implements AutoCloseable {
        final OpenAiServer server;
        final StepScheduler scheduler;
        private final Session session;
        private final Duration grace;

        private Serving(OpenAiServer server, Session session, StepScheduler scheduler, Duration grace) {
            this.server = server;
            this.session = session;
            this.scheduler = scheduler;
            this.grace = grace;
        }

        Session session() {
            return session;
        }

        @Override
        public void close() {
            try {
                server.drain(grace);
                scheduler.close();
            } finally {
                session.close();
            }
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        CountDownLatch stop = new CountDownLatch(1);
        // A handler, not a shutdown hook: the process drains and exits 0 rather than dying with 143.
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        try (Serving serving = start()) {
            stop.await();
            spec.commandLine().getErr().println("remask: draining (up to " + grace + " s), then stopping");
            spec.commandLine().getErr().flush();
        }
        return 0;
    }

    /** Listens at once (503 while loading), loads the model, then serves. */
    Serving start() {
        if (!(grace >= 0) || Double.isInfinite(grace)) {
            throw new IllegalArgumentException("--grace must be a number of seconds >= 0, not " + grace);
        }
        if (!(maxTime > 0) || Double.isInfinite(maxTime)) {
            throw new IllegalArgumentException("--max-time must be a positive number of seconds, not " + maxTime);
        }
        if (maxBatch < 1 || maxQueue < 0 || maxBody < 1) {
            throw new IllegalArgumentException("--max-batch and --max-body must be at least 1 and --max-queue at least 0,"
                    + " not " + maxBatch + ", " + maxBody + " and " + maxQueue);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be in [0, 65535], not " + port);
        }
        GenerationConfig generation = GenerationConfig.read(options.model());
        String name = servedName != null ? servedName : options.model().toAbsolutePath().normalize()
                .getFileName().toString();
        HELIDON.setLevel(Level.WARNING);
        OpenAiServer server = OpenAiServer.start(host, port, name, new OpenAiServer.Limits(maxBatch, maxQueue,
                seconds(maxTime), maxBody));
        Session session = null;
        try {
            session = new Session(options);
            Tokenizer tokenizer = session.tokenizer();
            ChatTemplate chat = ChatTemplate.find(options.model()).orElse(null);
            StepScheduler scheduler = new StepScheduler(session.sampler, maxBatch, server.roundListener());
            server.ready(new OpenAiServer.Engine(scheduler, session.sampler, tokenizer, chat,
                    new BodyTemplate(generation, tokenizer.idOf(Tokenizer.EOT_TOKEN).orElse(-1))));
            PrintWriter err = spec.commandLine().getErr();
            err.println("remask: serving " + name + " on http://" + host + ":" + server.port() + "/v1 ("
                    + session.model.info().family().architecture() + ", " + options.threadChoice().threads()
                    + " threads, max batch " + maxBatch + ")");
            err.flush();
            return new Serving(server, session, scheduler, seconds(grace));
        } catch (RuntimeException | Error e) {
            server.close();
            if (session != null) {
                session.close();
            }
            throw e;
        }
    }

    private static Duration seconds(double seconds) {
        return Duration.ofNanos((long) (seconds * 1e9));
    }
}
