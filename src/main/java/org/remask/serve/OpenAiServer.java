package org.remask.serve;

import com.fasterxml.jackson.jr.ob.JSON;
import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.sse.SseEvent;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.sse.SseSink;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.remask.sampling.Cancellation;
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationCancelledException;
import org.remask.sampling.GenerationRequest;
import org.remask.sampling.Revision;
import org.remask.sampling.Sampler;
import org.remask.sampling.StepEvent;
import org.remask.sampling.StepScheduler;
import org.remask.text.ChatMessage;
import org.remask.text.ChatTemplate;
import org.remask.text.Tokenizer;

/**
 * An OpenAI-compatible HTTP server for one model on Helidon SE's WebServer: {@code POST /v1/completions},
 * {@code POST /v1/chat/completions} (plain or server-sent events), {@code GET /v1/models}, {@code GET /health} and
 * {@code GET /metrics}. Every generation runs on the model's {@link StepScheduler}, so concurrent requests share
 * its forwards; HTTP work runs on the server's virtual threads and never on the engine thread (a slow client
 * cannot hold a step back). It listens from the start and answers 503 until {@link #ready} and once draining.
 */
public final class OpenAiServer implements AutoCloseable {
    /**
     * @param maxBatch generations stepped together (the scheduler's size)
     * @param maxQueue generations that may wait beyond those; more are refused with 429
     * @param maxTime the longest a generation may run; a body's max_time may lower it
     * @param maxBodyBytes the largest request body; larger ones get 413
     */
    public record Limits(int maxBatch, int maxQueue, Duration maxTime, long maxBodyBytes) {
        public Limits {
            if (maxBatch < 1 || maxQueue < 0 || !maxTime.isPositive() || maxBodyBytes < 1) {
                throw new IllegalArgumentException("the server's limits must be positive (max batch " + maxBatch
                        + ", max queue " + maxQueue + ", max time " + maxTime + ")");
            }
        }
    }

    /** What a loaded model brings: its scheduler, tokenizer, chat template (null for a Base model) and requests. */
    public record Engine(StepScheduler scheduler, Sampler sampler, Tokenizer tokenizer, ChatTemplate chat,
            RequestTemplate template) {}

    private enum State { LOADING, READY, DRAINING }

    private enum Endpoint {
        COMPLETIONS("completions"), CHAT("chat_completions");

        final String label;

        Endpoint(String label) {
            this.label = label;
        }
    }

    // The body's own fields; every other one goes to the RequestTemplate.
    private static final Set<String> OWN_FIELDS = Set.of("model", "prompt", "messages", "n", "stream",
            "stream_options", "stop", "user", "max_completion_tokens");
    // OpenAI fields remask does not implement, accepted only at the value that turns them off.
    private static final Map<String, Object> OFF_VALUES = Map.of("frequency_penalty", 0, "presence_penalty", 0,
            "logprobs", false, "echo", false, "best_of", 1);
    private static final int MAX_STOPS = 4;
    // OpenAI's bodies carry their null fields (finish_reason, logprobs, param, code).
    private static final JSON JSON_OUT = JSON.std.with(JSON.Feature.WRITE_NULL_PROPERTIES);

    private final String modelName;
    private final Limits limits;
    private final long created = Instant.now().getEpochSecond();
    private final AtomicInteger admitted = new AtomicInteger(); // generations taken in and not yet answered
    private final Set<Cancellation> running = ConcurrentHashMap.newKeySet();
    private final ServerMetrics metrics;
    private final WebServer server;
    private volatile State state = State.LOADING;
    private volatile Engine engine;

    private OpenAiServer(String host, int port, String modelName, Limits limits) {
        this.modelName = modelName;
        this.limits = limits;
        this.metrics = new ServerMetrics(() -> engine == null ? 0 : engine.scheduler().queued(),
                () -> engine == null ? 0 : engine.scheduler().active());
        this.server = WebServer.builder().host(host).port(port).shutdownHook(false)
                .routing(this::routes).build().start();
    }

    /** Listens on host:port (0: any free port) and answers 503 to generation requests until {@link #ready}. */
    public static OpenAiServer start(String host, int port, String modelName, Limits limits) {
        return new OpenAiServer(host, port, modelName, limits);
    }

    /** The round listener the engine's scheduler reports to (batch rows and step times in /metrics). */
    public StepScheduler.RoundListener roundListener() {
        return metrics;
    }

    public void ready(Engine loaded) {
        this.engine = loaded;
        state = State.READY;
    }

    public int port() {
        return server.port();
    }

    /**
     * Stops taking requests (503, and /health reports it), lets the running ones finish for up to {@code grace},
     * cuts the rest short (they are answered with what they committed), then stops listening.
     */
    public void drain(Duration grace) {
        state = State.DRAINING;
        long deadline = System.nanoTime() + grace.toNanos();
        while (admitted.get() > 0 && System.nanoTime() - deadline < 0) {
            pause();
        }
        running.forEach(Cancellation::cancel);
        long cut = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (admitted.get() > 0 && System.nanoTime() - cut < 0) {
            pause();
        }
        server.stop();
    }

    /** Stops at once: what runs is cut short. */
    @Override
    public void close() {
        drain(Duration.ZERO);
    }

    private static void pause() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void routes(HttpRouting.Builder routing) {
        routing.post("/v1/completions", (req, res) -> complete(req, res, Endpoint.COMPLETIONS))
                .post("/v1/chat/completions", (req, res) -> complete(req, res, Endpoint.CHAT))
                .get("/v1/models", (req, res) -> sendJson(res, 200, models()))
                .get("/health", this::health)
                .get("/metrics", (req, res) -> {
                    res.header(HeaderNames.CONTENT_TYPE, ServerMetrics.CONTENT_TYPE);
                    res.send(metrics.scrape());
                })
                .any((req, res) -> sendError(res, ApiError.notFound(req.prologue().method().text(),
                        req.path().path())));
    }

    private Map<String, Object> models() {
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("id", modelName);
        model.put("object", "model");
        model.put("created", created);
        model.put("owned_by", "remask");
        return Map.of("object", "list", "data", List.of(model));
    }

    private void health(ServerRequest req, ServerResponse res) {
        State now = state;
        sendJson(res, now == State.READY ? 200 : 503, Map.of("status", now.name().toLowerCase()));
    }

    /** One generation of a request: choice {@code index}, its request, its cancellation and its answer so far. */
    private static final class Row {
        final int index;
        final GenerationRequest request;
        final Cancellation cancellation;
        final Answer stepped; // on the engine thread: stops the generation at a stop id
        final Answer streamed; // on the request's thread: what a stream sent
        volatile CompletableFuture<Generation> future;
        volatile int completionTokens;

        Row(int index, GenerationRequest request, Cancellation cancellation, Answer stepped, Answer streamed) {
            this.index = index;
            this.request = request;
            this.cancellation = cancellation;
            this.stepped = stepped;
            this.streamed = streamed;
        }
    }

    /** What reaches a stream's thread: a row's step, or (step null) the end of a row. */
    private record Item(Row row, StepEvent step) {}

    /** A parsed, checked request: its rows and how to answer. */
    private record Job(Endpoint endpoint, List<Row> rows, int promptTokens, boolean stream, boolean includeUsage,
            boolean includeSteps, List<String> stops) {}

    private void complete(ServerRequest req, ServerResponse res, Endpoint endpoint) {
        long arrived = System.nanoTime();
        String outcome;
        try {
            Engine loaded = engine;
            if (state != State.READY || loaded == null) {
                throw ApiError.unavailable(state == State.LOADING ? "the model is loading" : "the server is shutting down");
            }
            Job job = parse(readBody(req), endpoint, loaded);
            int rows = job.rows().size();
            if (admitted.addAndGet(rows) > limits.maxBatch() + limits.maxQueue()) {
                admitted.addAndGet(-rows);
                throw ApiError.busy(limits.maxBatch() + limits.maxQueue());
            }
            try {
                outcome = run(job, loaded, res);
            } finally {
                // Whatever ended the handler, its rows leave the batch before they stop counting as admitted.
                for (Row row : job.rows()) {
                    row.cancellation.cancel();
                    running.remove(row.cancellation);
                }
                awaitAll(job);
                admitted.addAndGet(-rows);
            }
            if (outcome.equals("ok")) {
                metrics.answered(endpoint.label, System.nanoTime() - arrived, job.promptTokens(),
                        job.rows().stream().mapToInt(r -> r.completionTokens).sum());
            }
        } catch (RuntimeException e) {
            ApiError error = e instanceof ApiError api ? api : ApiError.internal(e.toString());
            outcome = switch (error.status) {
                case 429 -> "rejected";
                case 503 -> "unavailable";
                case 500 -> "error";
                default -> "bad_request";
            };
            if (!res.isSent()) {
                sendError(res, error);
            }
        }
        metrics.request(endpoint.label, outcome);
    }

    private Map<String, Object> readBody(ServerRequest req) {
        long declared = req.headers().contentLength().orElse(-1);
        if (declared > limits.maxBodyBytes()) {
            throw ApiError.tooLarge(limits.maxBodyBytes());
        }
        byte[] bytes;
        try (InputStream in = req.content().inputStream()) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limits.maxBodyBytes() + 1));
        } catch (IOException e) {
            throw ApiError.badRequest("cannot read the request body: " + e.getMessage(), null);
        }
        if (bytes.length > limits.maxBodyBytes()) {
            throw ApiError.tooLarge(limits.maxBodyBytes());
        }
        try {
            Object body = JSON.std.anyFrom(bytes);
            if (body instanceof Map<?, ?> map) {
                @SuppressWarnings("unchecked")
                Map<String, Object> fields = (Map<String, Object>) map;
                return fields;
            }
        } catch (IOException e) {
            throw ApiError.badRequest("the body is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), null);
        }
        throw ApiError.badRequest("the body must be a JSON object", null);
    }

    private Job parse(Map<String, Object> body, Endpoint endpoint, Engine loaded) {
        Object model = body.get("model");
        if (model != null && !(model instanceof String)) {
            throw ApiError.badRequest("model must be a string", "model");
        }
        if (model != null && !model.equals(modelName)) {
            throw ApiError.unknownModel((String) model);
        }
        Map<String, Object> sampling = new LinkedHashMap<>();
        for (Map.Entry<String, Object> field : body.entrySet()) {
            String name = field.getKey();
            if (OFF_VALUES.containsKey(name)) {
                Object value = field.getValue();
                Object off = OFF_VALUES.get(name);
                boolean isOff = value == null || value.equals(off)
                        || value instanceof Number n && off instanceof Number o && n.doubleValue() == o.doubleValue();
                if (!isOff) {
                    throw ApiError.badRequest(name + " is not supported (only " + OFF_VALUES.get(name) + ")", name);
                }
            } else if (!OWN_FIELDS.contains(name)) {
                sampling.put(name, field.getValue());
            }
        }
        if (endpoint == Endpoint.CHAT && body.get("max_completion_tokens") != null) {
            if (body.get("max_tokens") != null) {
                throw ApiError.badRequest("give max_tokens or max_completion_tokens, not both", "max_completion_tokens");
            }
            sampling.put("max_tokens", body.get("max_completion_tokens"));
        } else if (body.get("max_completion_tokens") != null) {
            throw ApiError.badRequest("max_completion_tokens is a chat field: use max_tokens", "max_completion_tokens");
        }
        int n = integer(body, "n", 1);
        if (n < 1) {
            throw ApiError.badRequest("n must be at least 1, not " + n, "n");
        }
        boolean stream = bool(body, "stream", false);
        Map<String, Object> streamOptions = object(body, "stream_options");
        if (streamOptions != null && !stream) {
            throw ApiError.badRequest("stream_options needs stream: true", "stream_options");
        }
        if (streamOptions != null) {
            for (String key : streamOptions.keySet()) {
                if (!key.equals("include_usage") && !key.equals("include_steps")) {
                    throw ApiError.badRequest("unknown stream option '" + key + "' (include_usage, include_steps)",
                            "stream_options");
                }
            }
        }
        boolean includeUsage = streamOptions != null && bool(streamOptions, "include_usage", false);
        boolean includeSteps = streamOptions != null && bool(streamOptions, "include_steps", false);
        if (body.get("user") != null && !(body.get("user") instanceof String)) {
            throw ApiError.badRequest("user must be a string", "user");
        }
        List<String> stops = stops(body.get("stop"));

        List<long[]> prompts = endpoint == Endpoint.CHAT ? List.of(chatPrompt(body.get("messages"), loaded))
                : completionPrompts(body.get("prompt"), loaded.tokenizer());
        if (prompts.size() * (long) n > limits.maxBatch() + limits.maxQueue()) {
            throw ApiError.badRequest("the request asks for " + prompts.size() * (long) n + " generations, more than"
                    + " the server runs and queues (" + (limits.maxBatch() + limits.maxQueue()) + ")", "n");
        }

        RequestTemplate.Sampling settings;
        try {
            settings = loaded.template().parse(sampling);
        } catch (RequestTemplate.BadField e) {
            throw ApiError.badRequest(e.getMessage(), e.field());
        }
        Duration timeLimit = limits.maxTime();
        if (settings.timeLimit() != null) {
            if (settings.timeLimit().compareTo(limits.maxTime()) > 0) {
                throw ApiError.badRequest("max_time may lower the server's limit of " + limits.maxTime().toMillis()
                        / 1e3 + " s, not raise it", "max_time");
            }
            timeLimit = settings.timeLimit();
        }
        long maskId = loaded.sampler().model().info().maskTokenId();
        long maxLength = loaded.sampler().model().info().maxSequenceLength();
        List<Row> rows = new ArrayList<>();
        int promptTokens = 0;
        for (long[] prompt : prompts) {
            GenerationRequest request;
            try {
                request = settings.request(prompt);
            } catch (RequestTemplate.BadField e) {
                throw ApiError.badRequest(e.getMessage(), e.field());
            }
            if (request.totalLength() > maxLength) {
                throw ApiError.contextLength("the prompt's " + prompt.length + " tokens and max_tokens "
                        + request.genLength() + " make " + request.totalLength() + ", over the model's context of "
                        + maxLength + " tokens");
            }
            try {
                loaded.sampler().check(request);
            } catch (IllegalArgumentException e) {
                String message = BodyNames.of(e.getMessage());
                throw message.contains("over the model's maximum") ? ApiError.contextLength(message)
                        : ApiError.badRequest(message, BodyNames.firstField(e.getMessage()));
            }
            promptTokens += prompt.length;
            for (int choice = 0; choice < n; choice++) {
                // Each choice its own noise: the body's seed, then the next ones.
                GenerationRequest row = choice == 0 ? request
                        : request.withSeed(request.sampling().seed() + choice);
                boolean revisable = row.revision() != Revision.NONE;
                rows.add(new Row(rows.size(), row, Cancellation.after(timeLimit),
                        new Answer(row.genLength(), row.blockLength(), revisable, maskId, loaded.tokenizer(), stops),
                        new Answer(row.genLength(), row.blockLength(), revisable, maskId, loaded.tokenizer(), stops)));
            }
        }
        return new Job(endpoint, rows, promptTokens, stream, includeUsage, includeSteps, stops);
    }

    private static List<long[]> completionPrompts(Object prompt, Tokenizer tokenizer) {
        if (prompt == null) {
            throw ApiError.badRequest("prompt is required", "prompt");
        }
        List<?> list = prompt instanceof List<?> l ? l : List.of(prompt);
        if (list.isEmpty()) {
            throw ApiError.badRequest("prompt is empty", "prompt");
        }
        // One prompt of token ids, or a list of prompts (texts or lists of ids).
        if (list.getFirst() instanceof Number) {
            return List.of(ids(list));
        }
        List<long[]> prompts = new ArrayList<>();
        for (Object one : list) {
            if (one instanceof String text) {
                if (text.isEmpty()) {
                    throw ApiError.badRequest("prompt is empty", "prompt");
                }
                prompts.add(tokenizer.encode(text));
            } else if (one instanceof List<?> idList && !idList.isEmpty()) {
                prompts.add(ids(idList));
            } else {
                throw ApiError.badRequest("prompt must be a string, a list of strings, a list of token ids or a list"
                        + " of such lists", "prompt");
            }
        }
        return prompts;
    }

    private static long[] ids(List<?> list) {
        long[] ids = new long[list.size()];
        for (int i = 0; i < ids.length; i++) {
            if (!(list.get(i) instanceof Integer || list.get(i) instanceof Long)) {
                throw ApiError.badRequest("prompt token ids must be integers, not " + list.get(i), "prompt");
            }
            ids[i] = ((Number) list.get(i)).longValue();
        }
        return ids;
    }

    private long[] chatPrompt(Object messages, Engine loaded) {
        if (loaded.chat() == null) {
            throw ApiError.badRequest(modelName + " has no chat template (a Base model): use /v1/completions",
                    "messages");
        }
        if (!(messages instanceof List<?> list) || list.isEmpty()) {
            throw ApiError.badRequest("messages must be a non-empty list", "messages");
        }
        List<ChatMessage> chat = new ArrayList<>();
        for (Object message : list) {
            if (!(message instanceof Map<?, ?> fields)) {
                throw ApiError.badRequest("each message must be an object with role and content", "messages");
            }
            for (Object key : fields.keySet()) {
                if (!key.equals("role") && !key.equals("content")) {
                    throw ApiError.badRequest("message field '" + key + "' is not supported (role, content)", "messages");
                }
            }
            try {
                chat.add(new ChatMessage(fields.get("role") instanceof String role ? role : null,
                        content(fields.get("content"))));
            } catch (IllegalArgumentException | NullPointerException e) {
                throw ApiError.badRequest(e.getMessage() != null ? e.getMessage() : "a message has no content", "messages");
            }
        }
        String rendered;
        synchronized (loaded.chat()) { // one render at a time: the template engine is not documented as thread-safe
            try {
                rendered = loaded.chat().render(chat, true);
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest(e.getMessage(), "messages");
            }
        }
        return loaded.tokenizer().encode(rendered);
    }

    /** A message's content: a string, or OpenAI's list of text parts. */
    private static String content(Object content) {
        if (content instanceof String text) {
            return text;
        }
        if (content instanceof List<?> parts) {
            StringBuilder text = new StringBuilder();
            for (Object part : parts) {
                if (!(part instanceof Map<?, ?> p) || !"text".equals(p.get("type")) || !(p.get("text") instanceof String t)) {
                    throw ApiError.badRequest("only text content parts are supported", "messages");
                }
                text.append(t);
            }
            return text.toString();
        }
        throw ApiError.badRequest("a message's content must be a string or a list of text parts", "messages");
    }

    private static List<String> stops(Object stop) {
        if (stop == null) {
            return List.of();
        }
        List<?> list = stop instanceof List<?> l ? l : List.of(stop);
        if (list.size() > MAX_STOPS) {
            throw ApiError.badRequest("stop takes at most " + MAX_STOPS + " strings", "stop");
        }
        List<String> stops = new ArrayList<>();
        for (Object one : list) {
            if (!(one instanceof String s) || s.isEmpty()) {
                throw ApiError.badRequest("stop must be a non-empty string or a list of them", "stop");
            }
            stops.add(s);
        }
        return stops;
    }

    private static int integer(Map<String, Object> body, String field, int otherwise) {
        Object value = body.get(field);
        if (value == null) {
            return otherwise;
        }
        if (!(value instanceof Integer i)) {
            throw ApiError.badRequest(field + " must be an integer, not " + value, field);
        }
        return i;
    }

    private static boolean bool(Map<String, Object> body, String field, boolean otherwise) {
        Object value = body.get(field);
        if (value == null) {
            return otherwise;
        }
        if (!(value instanceof Boolean b)) {
            throw ApiError.badRequest(field + " must be true or false, not " + value, field);
        }
        return b;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Map<String, Object> body, String field) {
        Object value = body.get(field);
        if (value != null && !(value instanceof Map)) {
            throw ApiError.badRequest(field + " must be an object", field);
        }
        return (Map<String, Object>) value;
    }

    /** Submits the rows and answers; returns the outcome for the metrics. */
    private String run(Job job, Engine loaded, ServerResponse res) {
        BlockingQueue<Item> items = job.stream() ? new LinkedBlockingQueue<>() : null;
        for (Row row : job.rows()) {
            running.add(row.cancellation);
            try {
                row.future = submit(loaded, row, items);
            } catch (RejectedExecutionException e) {
                throw ApiError.unavailable("the server is shutting down");
            }
            if (items != null) {
                row.future.whenComplete((g, e) -> items.add(new Item(row, null)));
            }
        }
        if (!job.stream()) {
            List<Map<String, Object>> choices = new ArrayList<>();
            int completionTokens = 0;
            int nfe = 0;
            for (Row row : job.rows()) {
                Generation result = result(row);
                Answer.Text text = Answer.finalText(result.ids(), maskId(loaded), loaded.tokenizer(), job.stops());
                row.completionTokens = text.tokens();
                completionTokens += text.tokens();
                nfe += result.nfe();
                choices.add(choice(job.endpoint(), row.index, text.text(), finishReason(text)));
            }
            Map<String, Object> body = head(job.endpoint(), id(job.endpoint()), false);
            body.put("choices", choices);
            body.put("usage", usage(job.promptTokens(), completionTokens, nfe));
            sendJson(res, 200, body);
            return "ok";
        }
        return stream(job, loaded, res, items);
    }

    private String stream(Job job, Engine loaded, ServerResponse res, BlockingQueue<Item> items) {
        String id = id(job.endpoint());
        int completionTokens = 0;
        int nfe = 0;
        int ended = 0;
        SseSink sink = res.sink(SseSink.TYPE);
        try {
            try {
                if (job.endpoint() == Endpoint.CHAT) {
                    for (Row row : job.rows()) {
                        Map<String, Object> delta = new LinkedHashMap<>();
                        delta.put("role", "assistant");
                        delta.put("content", "");
                        emit(sink, chunk(job, id, row.index, delta, null));
                    }
                }
                while (ended < job.rows().size()) {
                    Item item = items.poll(1, TimeUnit.SECONDS);
                    if (item == null) {
                        sink.emit(SseEvent.builder().comment("waiting").build()); // finds a client that left
                        continue;
                    }
                    Row row = item.row();
                    if (item.step() != null) {
                        row.streamed.apply(item.step());
                        String delta = row.streamed.delta();
                        if (!job.stops().isEmpty() && row.streamed.endsAtStopString()) {
                            row.cancellation.cancel();
                        }
                        if (!delta.isEmpty() || job.includeSteps()) {
                            Map<String, Object> chunk = chunk(job, id, row.index, text(job, delta), null);
                            if (job.includeSteps()) {
                                chunk.put("remask_step", step(item.step()));
                            }
                            emit(sink, chunk);
                        } else {
                            sink.emit(SseEvent.builder().comment("step").build());
                        }
                        continue;
                    }
                    ended++;
                    Generation result;
                    try {
                        result = result(row);
                    } catch (ApiError e) {
                        emit(sink, e.body());
                        continue;
                    }
                    Answer.Text text = Answer.finalText(result.ids(), maskId(loaded), loaded.tokenizer(), job.stops());
                    row.completionTokens = text.tokens();
                    completionTokens += text.tokens();
                    nfe += result.nfe();
                    String rest = row.streamed.rest(text.text());
                    if (!rest.isEmpty()) {
                        emit(sink, chunk(job, id, row.index, text(job, rest), null));
                    }
                    emit(sink, chunk(job, id, row.index, job.endpoint() == Endpoint.CHAT ? Map.of() : null,
                            finishReason(text)));
                }
                if (job.includeUsage()) {
                    Map<String, Object> last = head(job.endpoint(), id, true);
                    last.put("choices", List.of());
                    last.put("usage", usage(job.promptTokens(), completionTokens, nfe));
                    emit(sink, last);
                }
                sink.emit(SseEvent.create("[DONE]"));
            } catch (RuntimeException e) {
                // The client left (a write failed): its rows leave the batch at the next step.
                for (Row row : job.rows()) {
                    row.cancellation.cancel();
                }
                awaitAll(job);
                return "disconnected";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                job.rows().forEach(r -> r.cancellation.cancel());
                awaitAll(job);
                return "disconnected";
            }
        } finally {
            try {
                sink.close();
            } catch (RuntimeException e) {
                // the client left after the last event: nothing is lost
            }
        }
        return "ok";
    }

    private static CompletableFuture<Generation> submit(Engine loaded, Row row, BlockingQueue<Item> items) {
        return loaded.scheduler().submit(row.request, step -> {
            row.stepped.apply(step);
            if (row.stepped.endsAtStopId()) {
                row.cancellation.cancel(); // the text is complete: nothing after the stop can change it
            }
            if (items != null) {
                items.add(new Item(row, step));
            }
        }, row.cancellation);
    }

    /** Waits until every row has left the scheduler, so that what is admitted counts only what runs. */
    private static void awaitAll(Job job) {
        for (Row row : job.rows()) {
            if (row.future == null) {
                continue; // never submitted
            }
            try {
                row.future.get();
            } catch (ExecutionException | RuntimeException e) {
                // cancelled or failed: it has left
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** A row's generation; one cut short (time limit, stop, draining) gives what it had committed. */
    private static Generation result(Row row) {
        try {
            return row.future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GenerationCancelledException cancelled) {
                return cancelled.partial();
            }
            if (e.getCause() instanceof IllegalArgumentException bad) {
                throw ApiError.badRequest(BodyNames.of(bad.getMessage()), null);
            }
            throw ApiError.internal("the generation failed: " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            row.cancellation.cancel();
            throw ApiError.unavailable("the server is shutting down");
        }
    }

    private static long maskId(Engine loaded) {
        return loaded.sampler().model().info().maskTokenId();
    }

    private static String finishReason(Answer.Text text) {
        return text.stopped() ? "stop" : "length";
    }

    private static String id(Endpoint endpoint) {
        return (endpoint == Endpoint.CHAT ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    }

    private Map<String, Object> head(Endpoint endpoint, String id, boolean chunk) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", id);
        body.put("object", endpoint == Endpoint.CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion")
                : "text_completion");
        body.put("created", Instant.now().getEpochSecond());
        body.put("model", modelName);
        return body;
    }

    private static Map<String, Object> choice(Endpoint endpoint, int index, String text, String finishReason) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", index);
        if (endpoint == Endpoint.CHAT) {
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", "assistant");
            message.put("content", text);
            message.put("refusal", null);
            choice.put("message", message);
        } else {
            choice.put("text", text);
        }
        choice.put("logprobs", null);
        choice.put("finish_reason", finishReason);
        return choice;
    }

    /** A stream chunk for one choice: a completion's text or a chat delta, and the finish reason at the end. */
    private Map<String, Object> chunk(Job job, String id, int index, Object textOrDelta, String finishReason) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", index);
        if (job.endpoint() == Endpoint.CHAT) {
            choice.put("delta", textOrDelta);
        } else {
            choice.put("text", textOrDelta == null ? "" : textOrDelta);
        }
        choice.put("logprobs", null);
        choice.put("finish_reason", finishReason);
        Map<String, Object> chunk = head(job.endpoint(), id, true);
        chunk.put("choices", List.of(choice));
        return chunk;
    }

    private static Object text(Job job, String text) {
        return job.endpoint() == Endpoint.CHAT ? Map.of("content", text) : text;
    }

    private static Map<String, Object> step(StepEvent step) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("nfe", step.nfe());
        json.put("block", step.block());
        json.put("positions", step.positions());
        json.put("tokens", step.tokens());
        json.put("remasked", step.remasked());
        return json;
    }

    private static Map<String, Object> usage(int promptTokens, int completionTokens, int nfe) {
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("prompt_tokens", promptTokens);
        usage.put("completion_tokens", completionTokens);
        usage.put("total_tokens", promptTokens + completionTokens);
        usage.put("nfe", nfe);
        return usage;
    }

    private static void emit(SseSink sink, Object json) {
        try {
            sink.emit(SseEvent.create(JSON_OUT.asString(json)));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sendJson(ServerResponse res, int status, Object body) {
        try {
            res.status(status);
            res.headers().contentType(MediaTypes.APPLICATION_JSON);
            res.send(JSON_OUT.asBytes(body));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sendError(ServerResponse res, ApiError error) {
        if (error.status == 429) {
            res.header(HeaderNames.RETRY_AFTER, "1");
        }
        sendJson(res, error.status, error.body());
    }
}
