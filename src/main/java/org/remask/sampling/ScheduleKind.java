package org.remask.sampling;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The schedules by name: the one place that names them and their parameter, parses the parameter and makes
 * the schedule. The command line, the sweep, its plot and its results files all go through it.
 */
public enum ScheduleKind {
    /** LLaDA's uniform counts; the parameter is the number of model calls in all. */
    LLADA("steps"),
    /** The pyramidal schedule; the parameter is the factor F (step i commits i / F + 1 tokens). */
    PYRAMID("factor"),
    /** Fast-dLLM's confidence threshold; the parameter is the threshold in (0, 1]. */
    THRESHOLD("threshold"),
    /** Dream's count schedule over the whole generation; the parameter is the number of model calls. */
    DREAM("steps"),
    /** LLaDA2's per-block shares with its 0.95 threshold; the parameter is the number of steps per block. */
    LLADA2("steps");

    private final String parameter;

    ScheduleKind(String parameter) {
        this.parameter = parameter;
    }

    /** The name the command line, results files and reports use: llada, pyramid, threshold, dream, llada2. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** What the parameter is called: steps, factor or threshold. */
    public String parameter() {
        return parameter;
    }

    public static List<String> names() {
        return Arrays.stream(values()).map(ScheduleKind::cliName).toList();
    }

    public static ScheduleKind parse(String name) {
        for (ScheduleKind kind : values()) {
            if (kind.cliName().equals(name)) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown schedule '" + name + "' (use "
                + String.join(", ", names().subList(0, names().size() - 1)) + " or " + names().getLast() + ")");
    }

    /** The parameter in canonical text ("0.90" -> "0.9", " 8" -> "8"), so that equal values compare equal. */
    public String canonical(String value) {
        try {
            return this == THRESHOLD ? Double.toString(Double.parseDouble(value.strip()))
                    : Integer.toString(Integer.parseInt(value.strip()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad " + cliName() + " " + parameter + " '" + value + "'");
        }
    }

    /** The schedule with this parameter (any text {@link #canonical} accepts). */
    public Schedule make(String value) {
        String v = canonical(value);
        return switch (this) {
            case LLADA -> new LladaSchedule(Integer.parseInt(v));
            case PYRAMID -> new PyramidSchedule(Integer.parseInt(v));
            case THRESHOLD -> new ThresholdSchedule(Double.parseDouble(v));
            case DREAM -> new DreamSchedule(Integer.parseInt(v), DreamSchedule.DEFAULT_EPS);
            case LLADA2 -> new Llada2Schedule(Integer.parseInt(v), Llada2Schedule.DEFAULT_THRESHOLD);
        };
    }
}
