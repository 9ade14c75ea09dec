package org.remask.eval;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * MBPP's published formats as tasks: the original {@code mbpp.jsonl} ({@code text}, {@code code},
 * {@code test_list}, {@code test_setup_code}), the sanitized set ({@code prompt} for the text, {@code test_imports})
 * and MBPP+'s release of it, whose {@code test} is a whole program that calls the function by name.
 *
 * <p>The prompt is EvalPlus's: a docstring of the text and the first test, after which a model writes the whole
 * function. The asserts (or MBPP+'s program) become the body of {@code check(candidate)}; they call the function
 * by its name, which the checker binds to the candidate, and see the modules the reference solution imports. The
 * entry point is the function of the solution that the first test calls.
 */
final class Mbpp {
    private static final Pattern DEFINITION = Pattern.compile("(?m)^(?:def|class)\\s+(\\w+)");
    private static final Pattern IMPORT = Pattern.compile("(?m)^(?:import|from)\\s.*$");

    private Mbpp() {}

    static Task task(Dataset.Line line) {
        String text = line.json().containsKey("text") ? line.field("text", true) : line.field("prompt", true);
        String code = line.field("code", true).replace("\r\n", "\n");
        List<String> tests = line.strings("test_list", true);
        if (tests.isEmpty()) {
            throw new IllegalArgumentException(line.file() + ": test_list at " + line.where() + " is empty");
        }
        String prompt = "\"\"\"\n" + text.strip() + "\n" + tests.get(0).strip() + "\n\"\"\"\n";
        String setup = line.field("test_setup_code", false).replace("\r\n", "\n").strip();
        StringBuilder test = new StringBuilder(setup.isEmpty() ? "" : setup + "\n");
        for (String imported : line.strings("test_imports", false)) {
            test.append(imported.strip()).append('\n');
        }
        // MBPP's tests ran in the solution's module and may use what it imports (task 596's sys.getsizeof).
        for (Matcher m = IMPORT.matcher(code); m.find(); ) {
            test.append(m.group().strip()).append('\n');
        }
        String body = line.json().containsKey("test") ? line.field("test", true) : String.join("\n", tests);
        test.append("\n\ndef check(candidate):\n");
        for (String row : body.replace("\r\n", "\n").split("\n", -1)) {
            test.append(row.isBlank() ? "" : "    " + row).append('\n');
        }
        return new Task(line.taskId("Mbpp/"), prompt, entryPoint(line, code, tests.get(0)), test.toString(),
                code.endsWith("\n") ? code : code + "\n");
    }

    /** The function (or class) of CODE that TEST calls first. */
    private static String entryPoint(Dataset.Line line, String code, String test) {
        String best = null;
        int bestAt = Integer.MAX_VALUE;
        for (Matcher m = DEFINITION.matcher(code); m.find(); ) {
            Matcher call = Pattern.compile("\\b" + m.group(1) + "\\s*\\(").matcher(test);
            if (call.find() && call.start() < bestAt) {
                best = m.group(1);
                bestAt = call.start();
            }
        }
        if (best == null) {
            throw new IllegalArgumentException(line.file() + ": the first test at " + line.where()
                    + " calls no function that the code defines");
        }
        return best;
    }
}
