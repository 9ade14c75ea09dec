package org.remask.cli;

import java.util.function.BooleanSupplier;
import org.remask.engine.RemaskException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/** One clear line on stderr per error (a stack trace only with --verbose); 2 for bad input, 1 otherwise. */
final class ErrorHandler implements IExecutionExceptionHandler {
    static final int RUNTIME_ERROR = 1;
    static final int USAGE_ERROR = 2;

    private final BooleanSupplier verbose;

    ErrorHandler(BooleanSupplier verbose) {
        this.verbose = verbose;
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine cli, ParseResult parsed) {
        cli.getErr().println("remask: " + message(e));
        if (verbose.getAsBoolean()) {
            e.printStackTrace(cli.getErr());
        }
        cli.getErr().flush();
        return isUsageError(e) ? USAGE_ERROR : RUNTIME_ERROR;
    }

    /** Bad values, and a model directory that is missing, malformed or unsupported: what the user gave. */
    private static boolean isUsageError(Exception e) {
        return e instanceof IllegalArgumentException || e instanceof RemaskException r
                && (r.kind() == RemaskException.Kind.INVALID_ARGUMENT || r.kind() == RemaskException.Kind.CHECKPOINT);
    }

    private static String message(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }
}
