package org.remask.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationCancelledException;
import org.remask.text.ChatTemplate;
import org.remask.text.Conversation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"An interactive multi-turn chat with an Instruct model.",
            "Type a message and Enter; /reset forgets the history, /quit (or Ctrl-D) ends the chat."})
final class ChatCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message that starts the conversation.")
    String system;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        sampling.settle(GenerationConfig.read(options.model()));
        sampling.resolvedSchedule(); // bad sampling options fail before the model loads
        ChatTemplate template = options.chatTemplate(
                "remask chat needs an Instruct model; complete a plain-text prompt with remask generate PROMPT");
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        boolean interactive = Terminal.stdinIsTerminal();
        try (Session session = new Session(options)) {
            Conversation conversation = new Conversation(template, system);
            session.tokenizer();
            if (interactive) {
                out.println("remask chat: /reset forgets the history, /quit or Ctrl-D ends it");
            }
            while (true) {
                if (interactive) {
                    out.print("> ");
                }
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/quit")) {
                    if (line == null && interactive) {
                        out.println(); // Ctrl-D: the shell's prompt starts on a line of its own
                    }
                    break;
                }
                if (line.isBlank()) {
                    continue;
                }
                if (line.strip().equals("/reset")) {
                    conversation.reset();
                    out.println("(history cleared)");
                    continue;
                }
                long[] prompt = session.tokenizer().encode(conversation.ask(line));
                Generation result;
                try {
                    result = session.sampler.generate(session.request(prompt, sampling), null, sampling.cancellation());
                } catch (GenerationCancelledException e) {
                    err.println("remask: stopped at --max-time after " + e.partial().nfe() + " model calls");
                    result = e.partial();
                } catch (IllegalArgumentException e) {
                    conversation.answer("");
                    err.println("remask: " + e.getMessage());
                    continue;
                }
                out.println(conversation.answer(result.ids(), session.tokenizer()));
                out.println();
            }
        }
        out.flush();
        return 0;
    }
}
