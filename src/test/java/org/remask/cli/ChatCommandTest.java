package org.remask.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.remask.engine.DType;
import org.remask.engine.Model;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationRequest;
import org.remask.sampling.LladaSchedule;
import org.remask.sampling.Sampler;
import org.remask.text.ChatTemplate;
import org.remask.text.Conversation;
import org.remask.text.Tokenizer;

class ChatCommandTest {
    private static final Path MODEL = TextGenerateTest.chatModel();

    /** The answers the library gives for these turns, the history kept as remask chat keeps it. */
    private static List<String> expectedAnswers(List<String> turns) {
        List<String> answers = new ArrayList<>();
        try (Model model = Model.load(MODEL, "cpu", DType.FLOAT32);
                Sampler sampler = new Sampler(model);
                Tokenizer tokenizer = Tokenizer.load(MODEL)) {
            Conversation conversation = new Conversation(ChatTemplate.load(MODEL));
            long eot = tokenizer.idOf(Tokenizer.EOT_TOKEN).orElseThrow();
            for (String turn : turns) {
                if (turn.equals("/reset")) {
                    conversation.reset();
                    continue;
                }
                long[] prompt = tokenizer.encode(conversation.ask(turn));
                Generation result = sampler.generate(new GenerationRequest(prompt, 8, 8, new LladaSchedule(8),
                        new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, false, eot, 0)));
                answers.add(conversation.answer(result.ids(), tokenizer));
            }
        }
        return answers;
    }

    @Test
    void keepsTheHistoryAcrossTurnsAndResets() {
        List<String> turns = List.of("hello", "and again", "/reset", "hello");
        List<String> answers = expectedAnswers(turns);
        InputStream saved = System.in;
        CliTest.Run run;
        try {
            System.setIn(new ByteArrayInputStream((String.join("\n", turns) + "\n").getBytes(StandardCharsets.UTF_8)));
            run = CliTest.run("chat", "--model", MODEL.toString(), "--gen-length", "8", "--block-length", "8");
        } finally {
            System.setIn(saved);
        }
        assertEquals(0, run.code(), run.err());
        String expected = answers.get(0) + "\n\n" + answers.get(1) + "\n\n(history cleared)\n" + answers.get(2) + "\n\n";
        assertEquals(expected.replace("\n", System.lineSeparator()), run.out());
        assertEquals(answers.get(0), answers.get(2), "after /reset the first question gets the first answer again");
    }

    /** Through a pseudo-terminal, as a person uses it: a prompt, two answered turns, /quit. */
    @Test
    void answersTwoTurnsOnAPseudoTerminal() throws IOException, InterruptedException {
        String screen = onPseudoTerminal("hello\nand again\n/quit\n");
        assertTrue(screen.contains("/quit or Ctrl-D ends it"), screen);
        List<String> answers = expectedAnswers(List.of("hello", "and again"));
        int first = screen.indexOf("> ");
        int second = screen.indexOf("> ", first + 2);
        int third = screen.indexOf("> ", second + 2);
        assertTrue(first >= 0 && second > first && third > second, "a prompt before each turn and after the last:\n" + screen);
        assertEquals(answers.get(0), screen.substring(first + 2, second).strip());
        assertEquals(answers.get(1), screen.substring(second + 2, third).strip());
    }

    /** Ctrl-D at the prompt ends the chat with a newline, so that the shell's prompt starts its own line. */
    @Test
    void ctrlDLeavesTheCursorOnANewLine() throws IOException, InterruptedException {
        String screen = onPseudoTerminal("\u0004");
        int prompt = screen.lastIndexOf("> ");
        assertTrue(prompt >= 0, screen);
        assertTrue(screen.substring(prompt + 2).contains("\n"), "a newline after the last prompt:\n" + screen);
    }

    /** What a person sees running remask chat on a pseudo-terminal and typing {@code input}. */
    private static String onPseudoTerminal(String input) throws IOException, InterruptedException {
        Path script = Path.of("/usr/bin/script");
        Assumptions.assumeTrue(Files.isExecutable(script), "util-linux script allocates the pseudo-terminal");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = String.join(" ", List.of(quote(java), "--enable-native-access=ALL-UNNAMED",
                quote("-Dremask.native.lib=" + System.getProperty("remask.native.lib")),
                "-cp", quote(System.getProperty("java.class.path")), Main.class.getName(),
                "chat", "--model", quote(MODEL.toString()), "--gen-length", "8", "--block-length", "8"));
        Process process = new ProcessBuilder(script.toString(), "-q", "-e", "-c", command, "/dev/null")
                .redirectErrorStream(true).start();
        try (OutputStream in = process.getOutputStream()) {
            in.write(input.getBytes(StandardCharsets.UTF_8));
        }
        String screen = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "chat ends");
        assertEquals(0, process.exitValue(), screen);
        return screen;
    }

    private static String quote(String text) {
        return "'" + text.replace("'", "'\\''") + "'";
    }
}
