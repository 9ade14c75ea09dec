package org.remask.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The remask command line: a masked diffusion language model engine. */
@Command(
        name = "remask",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "An engine for masked diffusion language models (LLaDA and relatives).",
        subcommands = {InfoCommand.class, LogitsCommand.class, GenerateCommand.class, ChatCommand.class, EvalCommand.class,
            ServeCommand.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (info, logits, generate, chat, eval, serve)");
    }

    /** The configured command line; tests call this with their own writers. */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler(new ErrorHandler(() -> main.verbose));
        cli.setParameterExceptionHandler(Main::badCommandLine);
        return cli;
    }

    /** A command line picocli cannot parse: one line and where the options are listed, not the whole usage. */
    private static int badCommandLine(CommandLine.ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        String name = command.getCommandSpec().qualifiedName();
        command.getErr().println("remask: " + e.getMessage() + " (" + name + " --help lists the options)");
        command.getErr().flush();
        return ErrorHandler.USAGE_ERROR;
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = commandLine(out, err).execute(args);
        out.flush();
        System.exit(code);
    }
}
