package org.remask.eval;

import java.util.List;

/** HumanEval's stop sequences: a completion ends where the function body ends. */
public final class Stops {
    public static final List<String> SEQUENCES = List.of("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#");

    private Stops() {}

    /** The completion up to (not including) the earliest stop sequence, or all of it without one. */
    public static String truncate(String completion) {
        int end = completion.length();
        for (String stop : SEQUENCES) {
            int at = completion.indexOf(stop);
            if (at >= 0 && at < end) {
                end = at;
            }
        }
        return completion.substring(0, end);
    }
}
