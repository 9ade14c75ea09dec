package org.remask.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationRequest;
import org.remask.serve.OpenAiServer;
import org.remask.text.Tokenizer;
import picocli.CommandLine;

/**
 * remask serve on the loopback, on the tiny chat model: an unmodified OpenAI client, streaming and not, every
 * error case, queue limits, a client that leaves, draining, SIGTERM, and a bounded load test whose answers each
 * equal their solo generation.
 */
class ServeTest {
    private static final Path MODEL = TextGenerateTest.chatModel();
    private static final String NAME = "tiny-chat-model";
    private static ServeCommand.Serving serving;
    private static String base;
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @BeforeAll
    static void start() {
        serving = serve("--max-batch", "4", "--max-queue", "32", "--max-time", "60");
        base = "http://127.0.0.1:" + serving.server.port();
    }

    @AfterAll
    static void stop() {
        serving.close();
    }

    static ServeCommand.Serving serve(String... args) {
        CommandLine cli = Main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        List<String> all = new ArrayList<>(List.of("serve", "--model", MODEL.toString(), "--port", "0"));
        all.addAll(List.of(args));
        CommandLine.ParseResult parsed = cli.parseArgs(all.toArray(String[]::new));
        return ((ServeCommand) parsed.subcommand().commandSpec().userObject()).start();
    }

    private static OpenAIClient client() {
        return OpenAIOkHttpClient.builder().baseUrl(base + "/v1").apiKey("unused").maxRetries(0).build();
    }

    record Reply(int status, Map<String, Object> json, HttpResponse<String> raw) {}

    static Reply post(String path, String body) {
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(base + path))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
            Map<String, Object> json = response.body().isEmpty() || response.body().startsWith("data:") ? null
                    : JSON.std.mapFrom(response.body());
            return new Reply(response.statusCode(), json, response);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    static Reply get(String path) {
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).GET().timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
            Map<String, Object> json = response.body().startsWith("{") ? JSON.std.mapFrom(response.body()) : null;
            return new Reply(response.statusCode(), json, response);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The CLI's answer to the same settings: generate --format json. */
    private static Map<String, Object> solo(String... args) throws IOException {
        List<String> all = new ArrayList<>(List.of("generate", "--model", MODEL.toString(), "--quiet", "--format", "json"));
        all.addAll(List.of(args));
        CliTest.Run run = CliTest.run(all.toArray(String[]::new));
        assertEquals(0, run.code(), run.err());
        return JSON.std.mapFrom(run.out());
    }

    private static long[] longs(Object list) {
        return ((List<?>) list).stream().mapToLong(v -> ((Number) v).longValue()).toArray();
    }

    private static String finishReason(long[] ids) {
        try (Tokenizer tokenizer = Tokenizer.load(MODEL)) {
            return Arrays.stream(ids).anyMatch(id -> Arrays.binarySearch(tokenizer.stopIds(), id) >= 0) ? "stop"
                    : "length";
        }
    }

    @Test
    void anOpenAiClientCompletesAsTheCliGenerates() throws IOException {
        Map<String, Object> expected = solo("--prompt", "def add(a, b):", "--gen-length", "32", "--block-length", "16",
                "--cache", "dual");
        Completion completion = client().completions().create(CompletionCreateParams.builder().model(NAME)
                .prompt("def add(a, b):").maxTokens(32)
                .putAdditionalBodyProperty("block_length", JsonValue.from(16))
                .putAdditionalBodyProperty("cache", JsonValue.from("dual")).build());
        assertEquals(1, completion.choices().size());
        assertEquals(expected.get("text"), completion.choices().getFirst().text());
        assertEquals(finishReason(longs(expected.get("ids"))), completion.choices().getFirst().finishReason().asString());
        assertEquals(longs(expected.get("prompt_ids")).length, completion.usage().orElseThrow().promptTokens());
        assertEquals(NAME, completion.model());
        assertEquals(List.of(NAME), client().models().list().data().stream().map(m -> m.id()).toList());
    }

    @Test
    void chatStreamedAndPlainAgreeWithTheCli() throws IOException {
        Map<String, Object> expected = solo("--prompt", "hello there", "--chat", "--gen-length", "32");
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(NAME)
                .addUserMessage("hello there").maxCompletionTokens(32).build();
        ChatCompletion plain = client().chat().completions().create(params);
        String content = plain.choices().getFirst().message().content().orElseThrow();
        assertEquals(expected.get("text"), content);
        assertEquals(32, plain.usage().orElseThrow().completionTokens() + (content.isEmpty() ? 0 : 0),
                "no stop id in the tiny model's answer: all 32 positions count");

        StringBuilder streamed = new StringBuilder();
        List<String> finishes = new ArrayList<>();
        List<Long> usage = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client().chat().completions().createStreaming(
                params.toBuilder().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                        .build())) {
            stream.stream().forEach(chunk -> {
                chunk.choices().forEach(c -> {
                    c.delta().content().ifPresent(streamed::append);
                    c.finishReason().ifPresent(f -> finishes.add(f.asString()));
                });
                chunk.usage().ifPresent(u -> usage.add(u.completionTokens()));
            });
        }
        assertEquals(content, streamed.toString());
        assertEquals(List.of(plain.choices().getFirst().finishReason().asString()), finishes);
        assertEquals(List.of(plain.usage().orElseThrow().completionTokens()), usage);
    }

    @Test
    void includeStepsStreamsEveryCommitThatRebuildsTheAnswer() throws IOException {
        Map<String, Object> expected = solo("--prompt-ids", "5,17,42,99", "--gen-length", "16", "--block-length", "8",
                "--revise", "rcr");
        Reply reply = post("/v1/completions", "{\"prompt\": [5, 17, 42, 99], \"max_tokens\": 16, \"block_length\": 8,"
                + " \"revise\": \"rcr\", \"stream\": true, \"stream_options\": {\"include_steps\": true}}");
        assertEquals(200, reply.status());
        assertTrue(reply.raw().headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        long[] ids = new long[16];
        Arrays.fill(ids, 336);
        int steps = 0;
        StringBuilder text = new StringBuilder();
        List<String> data = reply.raw().body().lines().filter(l -> l.startsWith("data:"))
                .map(l -> l.substring(5).strip()).toList();
        assertEquals("[DONE]", data.getLast());
        for (String event : data.subList(0, data.size() - 1)) {
            Map<String, Object> chunk = JSON.std.mapFrom(event);
            Map<?, ?> choice = (Map<?, ?>) ((List<?>) chunk.get("choices")).getFirst();
            text.append(choice.get("text"));
            if (chunk.get("remask_step") instanceof Map<?, ?> step) {
                steps++;
                long[] positions = longs(step.get("positions"));
                long[] tokens = longs(step.get("tokens"));
                for (int i = 0; i < positions.length; i++) {
                    ids[(int) positions[i]] = tokens[i];
                }
                for (long position : longs(step.get("remasked"))) {
                    ids[(int) position] = 336;
                }
            }
        }
        assertArrayEquals(longs(expected.get("ids")), ids);
        assertEquals(((Number) expected.get("nfe")).intValue(), steps);
        try (Tokenizer tokenizer = Tokenizer.load(MODEL)) {
            assertEquals(tokenizer.decode(ids), text.toString());
        }
    }

    @Test
    void severalPromptsAndChoicesEachGetTheirOwnAnswer() throws IOException {
        Map<String, Object> first = solo("--prompt", "one", "--gen-length", "16", "--temperature", "1", "--seed", "7");
        Map<String, Object> second = solo("--prompt", "one", "--gen-length", "16", "--temperature", "1", "--seed", "8");
        Map<String, Object> other = solo("--prompt", "two", "--gen-length", "16", "--temperature", "1", "--seed", "8");
        Reply reply = post("/v1/completions", "{\"prompt\": [\"one\", \"two\"], \"n\": 2, \"max_tokens\": 16,"
                + " \"temperature\": 1, \"seed\": 7}");
        assertEquals(200, reply.status(), reply.raw().body());
        List<?> choices = (List<?>) reply.json().get("choices");
        assertEquals(4, choices.size());
        assertEquals(first.get("text"), ((Map<?, ?>) choices.get(0)).get("text"));
        assertEquals(second.get("text"), ((Map<?, ?>) choices.get(1)).get("text"));
        assertEquals(other.get("text"), ((Map<?, ?>) choices.get(3)).get("text"));
        assertEquals(3, ((Map<?, ?>) choices.get(3)).get("index"));
    }

    @Test
    void aStopStringEndsTheText() throws IOException {
        String text = (String) solo("--prompt", "abc", "--gen-length", "32").get("text");
        Matcher ascii = Pattern.compile("[A-Za-z0-9]{2}").matcher(text);
        assertTrue(ascii.find(2), text);
        String stop = ascii.group();
        Reply reply = post("/v1/completions", "{\"prompt\": \"abc\", \"max_tokens\": 32, \"stop\": "
                + JSON.std.asString(stop) + "}");
        Map<?, ?> choice = (Map<?, ?>) ((List<?>) reply.json().get("choices")).getFirst();
        assertEquals(text.substring(0, text.indexOf(stop)), choice.get("text"));
        assertEquals("stop", choice.get("finish_reason"));
    }

    @Test
    void healthModelsAndMetrics() {
        assertEquals(Map.of("status", "ready"), get("/health").json());
        Reply models = get("/v1/models");
        assertEquals("list", models.json().get("object"));
        post("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 8}");
        Reply metrics = get("/metrics");
        assertEquals(200, metrics.status());
        String text = metrics.raw().body();
        for (String name : List.of("remask_requests_total{endpoint=\"completions\",outcome=\"ok\"}",
                "remask_queue_depth", "remask_batch_rows_bucket", "remask_step_duration_seconds_bucket",
                "remask_request_duration_seconds_bucket", "remask_generated_tokens_total")) {
            assertTrue(text.contains(name), name + " in\n" + text);
        }
    }

    @Test
    void badRequestsGetOpenAiErrorsAndTheServerKeepsServing() {
        record Bad(String path, String body, int status, String param, String code) {}
        String big = "{\"prompt\": \"" + "a".repeat(5 << 20) + "\"}";
        List<Bad> cases = List.of(
                new Bad("/v1/completions", "{not json", 400, null, null),
                new Bad("/v1/completions", "[1, 2]", 400, null, null),
                new Bad("/v1/completions", "{\"max_tokens\": 8}", 400, "prompt", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"colour\": 1}", 400, "colour", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 16, \"block_length\": 5}", 400,
                        "max_tokens", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"threshold\": 0.9}", 400, "threshold", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"temperature\": \"hot\"}", 400, "temperature", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"eos_logit_off\": 1}", 400, "eos_logit_off", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"schedule\": \"zigzag\"}", 400, "schedule", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"n\": 0}", 400, "n", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"logprobs\": 3}", 400, "logprobs", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"stream_options\": {}}", 400, "stream_options", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "stop",
                        null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"max_time\": 600}", 400, "max_time", null),
                new Bad("/v1/completions", "{\"prompt\": [5, 400]}", 400, null, null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 5000}", 400, "prompt",
                        "context_length_exceeded"),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"model\": \"gpt-4\"}", 404, "model", "model_not_found"),
                new Bad("/v1/completions", "{\"prompt\": \"\"}", 400, "prompt", null),
                new Bad("/v1/completions", "{\"prompt\": [1.5]}", 400, "prompt", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"model\": 5}", 400, "model", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"user\": 5}", 400, "user", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"n\": 100}", 400, "n", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"stream\": true, \"stream_options\": {\"colour\": 1}}",
                        400, "stream_options", null),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"max_completion_tokens\": 8}", 400,
                        "max_completion_tokens", null),
                new Bad("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                        + " \"max_tokens\": 8, \"max_completion_tokens\": 8}", 400, "max_completion_tokens", null),
                new Bad("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\","
                        + " \"name\": \"x\"}]}", 400, "messages", null),
                new Bad("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\":"
                        + " \"image_url\"}]}]}", 400, "messages", null),
                new Bad("/v1/chat/completions", "{\"messages\": []}", 400, "messages", null),
                new Bad("/v1/chat/completions", "{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}", 400,
                        "messages", null),
                new Bad("/v1/completions", big, 413, null, "request_too_large"),
                new Bad("/v1/nothing", "{}", 404, null, "not_found"));
        for (Bad bad : cases) {
            Reply reply = post(bad.path(), bad.body());
            String what = bad.body().length() > 100 ? "a 5 MB body" : bad.body();
            assertEquals(bad.status(), reply.status(), what + " -> " + reply.raw().body());
            Map<?, ?> error = (Map<?, ?>) reply.json().get("error");
            assertNotNull(error, what);
            assertTrue(error.get("message") instanceof String m && !m.isBlank() && !m.contains("\n"), what);
            assertTrue(error.containsKey("type") && error.containsKey("param") && error.containsKey("code"), what);
            assertEquals(bad.param(), error.get("param"), what + ": " + error.get("message"));
            if (bad.code() != null) {
                assertEquals(bad.code(), error.get("code"), what);
            }
            assertEquals(200, post("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 4}").status(),
                    "serving after " + what);
        }
        assertTrue(((String) ((Map<?, ?>) post("/v1/completions", "{\"prompt\": \"x\", \"threshold\": 0.9}").json()
                .get("error")).get("message")).contains("threshold does not apply to schedule llada"));
    }

    /** Before the model is ready the server answers, but only 503: health says loading, generation is refused. */
    @Test
    void whileLoadingHealthAndGenerationAre503() throws Exception {
        try (OpenAiServer loading = OpenAiServer.start("127.0.0.1", 0, NAME,
                new OpenAiServer.Limits(1, 0, Duration.ofSeconds(10), 1024))) {
            String url = "http://127.0.0.1:" + loading.port();
            HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/health"))
                    .timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, health.statusCode());
            assertEquals(Map.of("status", "loading"), JSON.std.mapFrom(health.body()));
            HttpResponse<String> refused = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"x\"}")).timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, refused.statusCode());
            assertEquals("service_unavailable", ((Map<?, ?>) JSON.std.mapFrom(refused.body()).get("error")).get("code"));
        }
    }

    /** Holds the engine thread inside a model call of a generation submitted beside the server's, until released. */
    private static CountDownLatch holdEngine(ServeCommand.Serving on) throws InterruptedException {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        GenerationRequest hold = new BodyTemplate(GenerationConfig.read(MODEL), -1)
                .parse(Map.of("max_tokens", 8)).request(new long[] {5});
        on.scheduler.submit(hold, step -> {
            inside.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, null);
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        return release;
    }

    /** A completion request sent to a server whose engine is held, once it waits in the scheduler's queue. */
    private static CompletableFuture<HttpResponse<String>> queue(ServeCommand.Serving on, String body)
            throws InterruptedException {
        CompletableFuture<HttpResponse<String>> reply = HTTP.sendAsync(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + on.server.port() + "/v1/completions")).POST(HttpRequest.BodyPublishers
                .ofString(body)).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
        while (on.scheduler.queued() == 0) {
            Thread.sleep(5);
        }
        return reply;
    }

    @Test
    void aFullQueueGets429WithRetryAfter() throws Exception {
        try (ServeCommand.Serving small = serve("--max-batch", "1", "--max-queue", "0")) {
            String url = "http://127.0.0.1:" + small.server.port();
            CountDownLatch release = holdEngine(small);
            CompletableFuture<HttpResponse<String>> waiting = queue(small, "{\"prompt\": \"x\", \"max_tokens\": 8}");
            HttpResponse<String> refused = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"y\", \"max_tokens\": 8}")).timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(429, refused.statusCode(), refused.body());
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
            assertEquals("rate_limit_exceeded", ((Map<?, ?>) JSON.std.mapFrom(refused.body()).get("error")).get("code"));
            release.countDown();
            assertEquals(200, waiting.get(30, TimeUnit.SECONDS).statusCode());
        }
    }

    @Test
    void aClientThatLeavesFreesItsRow() throws Exception {
        try (ServeCommand.Serving small = serve("--max-batch", "2")) {
            CountDownLatch release = holdEngine(small);
            long callsBefore = small.scheduler.modelCalls();
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.server.port()
                    + "/v1/chat/completions")).POST(HttpRequest.BodyPublishers.ofString("{\"messages\": [{\"role\":"
                    + " \"user\", \"content\": \"hi\"}], \"max_tokens\": 256, \"steps\": 256, \"stream\": true}")).build();
            HttpResponse<InputStream> response = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
            BufferedReader events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
            assertTrue(events.readLine().startsWith("data:"), "the role chunk comes at once");
            events.close(); // the client leaves while its generation waits for the engine
            release.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((small.scheduler.active() > 0 || small.scheduler.queued() > 0) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, small.scheduler.active());
            long calls = small.scheduler.modelCalls() - callsBefore;
            assertTrue(calls < 8 + 256 / 2, "the generation left early: " + calls + " model calls");
            String metrics;
            do { // the handler counts its outcome once its row has left
                metrics = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.server.port()
                        + "/metrics")).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString()).body();
            } while (!metrics.contains("outcome=\"disconnected\"} 1.0") && System.nanoTime() < deadline);
            assertTrue(metrics.contains("outcome=\"disconnected\"} 1.0"), metrics);
        }
    }

    @Test
    void drainingAnswersWhatRunsAndRefusesWhatComes() throws Exception {
        ServeCommand.Serving draining = serve("--grace", "30");
        String url = "http://127.0.0.1:" + draining.server.port();
        CountDownLatch release = holdEngine(draining);
        CompletableFuture<HttpResponse<String>> running = queue(draining, "{\"prompt\": \"x\", \"max_tokens\": 16}");
        Thread closing = Thread.ofVirtual().start(draining::close);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        HttpResponse<String> health;
        do {
            health = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/health")).timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
        } while (health.statusCode() == 200 && System.nanoTime() < deadline);
        assertEquals(503, health.statusCode());
        HttpResponse<String> refused = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"y\"}")).timeout(TIMEOUT).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(503, refused.statusCode());
        release.countDown();
        HttpResponse<String> answered = running.get(30, TimeUnit.SECONDS);
        assertEquals(200, answered.statusCode());
        Map<?, ?> choice = (Map<?, ?>) ((List<?>) JSON.std.mapFrom(answered.body()).get("choices")).getFirst();
        assertEquals("length", choice.get("finish_reason"));
        closing.join(30_000);
        assertFalse(closing.isAlive());
    }

    @Test
    void underLoadEveryRequestIsAnsweredOnceAndEqualsItsSoloAnswer() throws Exception {
        List<Map<String, Object>> settings = List.of(
                Map.of("max_tokens", 16),
                Map.of("max_tokens", 32, "block_length", 16, "cache", "dual"),
                Map.of("max_tokens", 24, "block_length", 8, "cache", "prefix", "schedule", "pyramid"),
                Map.of("max_tokens", 16, "revise", "rcr", "remasking", "margin"),
                Map.of("max_tokens", 12, "steps", 6, "cfg_scale", 1.5),
                Map.of("max_tokens", 20, "temperature", 0.7, "seed", 3, "schedule", "threshold", "threshold", 0.5));
        List<String> prompts = List.of("def f(x):", "hello", "a b c d e f g", "x");
        BodyTemplate template = new BodyTemplate(GenerationConfig.read(MODEL), -1);
        Map<String, String> expected = new LinkedHashMap<>();
        List<Map<String, Object>> bodies = new ArrayList<>();
        try (Tokenizer tokenizer = Tokenizer.load(MODEL)) {
            for (String prompt : prompts) {
                for (Map<String, Object> s : settings) {
                    Map<String, Object> body = new LinkedHashMap<>(s);
                    body.put("prompt", prompt);
                    body.put("user", "client-" + bodies.size());
                    bodies.add(body);
                    Generation solo = serving.session().sampler.generate(template.parse(s).request(
                            tokenizer.encode(prompt)));
                    expected.put("client-" + (bodies.size() - 1), tokenizer.decode(solo.ids()));
                }
            }
        }
        List<String> threadsBefore = threadNames();
        long forwardsBefore = serving.scheduler.forwards();
        long callsBefore = serving.scheduler.modelCalls();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Reply>> replies = new ArrayList<>();
            for (Map<String, Object> body : bodies) {
                replies.add(clients.submit(() -> post("/v1/completions", JSON.std.asString(body))));
            }
            Map<String, String> answered = new LinkedHashMap<>();
            for (int i = 0; i < replies.size(); i++) {
                Reply reply = replies.get(i).get(120, TimeUnit.SECONDS);
                assertEquals(200, reply.status(), reply.raw().body());
                Map<?, ?> choice = (Map<?, ?>) ((List<?>) reply.json().get("choices")).getFirst();
                assertNull(answered.put("client-" + i, (String) choice.get("text")), "answered once");
            }
            assertEquals(expected, answered);
        }
        assertTrue(serving.scheduler.forwards() - forwardsBefore < serving.scheduler.modelCalls() - callsBefore,
                "requests shared forwards");
        // The engine counts a generation that ended at the end of its round, just after answering it.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (serving.scheduler.active() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(0, serving.scheduler.active());
        assertEquals(0, serving.scheduler.queued());
        List<String> left = threadNames();
        left.removeAll(threadsBefore);
        assertEquals(List.of(), left, "no platform threads left behind");
    }

    /** The platform threads but the JDK's shared pools and the test's HTTP clients (they grow on demand). */
    private static List<String> threadNames() {
        return new ArrayList<>(Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> !n.startsWith("ForkJoinPool") && !n.startsWith("HttpClient-") && !n.startsWith("OkHttp"))
                .sorted().toList());
    }

    @Test
    void badServerOptionsExit2WithOneLine() {
        for (String[] args : List.of(new String[] {"--max-batch", "0"}, new String[] {"--port", "70000"},
                new String[] {"--grace", "-1"}, new String[] {"--max-queue", "x"})) {
            List<String> all = new ArrayList<>(List.of("serve", "--model", MODEL.toString()));
            all.addAll(List.of(args));
            CliTest.Run run = CliTest.run(all.toArray(String[]::new));
            assertEquals(2, run.code(), String.join(" ", args));
            assertEquals(1, run.err().lines().count(), run.err());
        }
    }

    @Test
    void sigtermFinishesWhatRunsAndExitsZero() throws Exception {
        ProcessBuilder builder = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Dremask.native.lib=" + System.getProperty("remask.native.lib"), Main.class.getName(), "serve",
                "--model", MODEL.toString(), "--port", "0");
        builder.environment().put("DJL_OFFLINE", "true");
        Process server = builder.start();
        try {
            BufferedReader err = new BufferedReader(new InputStreamReader(server.getErrorStream(), StandardCharsets.UTF_8));
            Matcher serving = null;
            for (String line; (line = err.readLine()) != null; ) {
                serving = Pattern.compile("serving .* on http://127.0.0.1:(\\d+)/v1").matcher(line);
                if (serving.find()) {
                    break;
                }
            }
            assertNotNull(serving);
            URI uri = URI.create("http://127.0.0.1:" + serving.group(1) + "/v1/completions");
            HttpResponse<InputStream> response = HTTP.send(HttpRequest.newBuilder(uri).POST(
                    HttpRequest.BodyPublishers.ofString("{\"prompt\": \"x\", \"max_tokens\": 512, \"steps\": 512,"
                            + " \"stream\": true}")).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofInputStream());
            BufferedReader events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
            assertNotNull(events.readLine(), "the generation runs");
            server.destroy(); // SIGTERM
            List<String> rest = events.lines().filter(l -> l.startsWith("data:")).toList();
            assertEquals("data:[DONE]", rest.getLast().replace(" ", ""));
            assertTrue(rest.stream().anyMatch(l -> l.matches(".*\"finish_reason\":\"(stop|length)\".*")),
                    String.join("\n", rest));
            assertTrue(server.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, server.exitValue());
        } finally {
            server.destroyForcibly();
        }
    }
}
