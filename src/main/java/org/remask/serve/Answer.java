package org.remask.serve;

import java.util.Arrays;
import java.util.List;
import org.remask.sampling.StepEvent;
import org.remask.text.Tokenizer;

/**
 * One choice's answer as its steps commit it. A masked diffusion model commits out of order, so what a client can
 * be shown is the committed left-to-right prefix, and only its final part: with a revision rule, the current
 * block's tokens may still be taken back, so only finished blocks count. The text ends at the model's first stop
 * id (EOS, EoT) or at the first of the request's stop strings; once either is in the final prefix, nothing after
 * it can change the text, and the generation can stop.
 */
final class Answer {
    private final long[] ids; // [gen length]: committed ids, the mask id elsewhere
    private final long maskId;
    private final boolean revisable;
    private final int blockLength;
    private final Tokenizer tokenizer;
    private final long[] stopIds; // read once: the engine thread checks them every step
    private final List<String> stops;
    private int finalLength; // ids[0, finalLength) are committed and stay
    private String sent = "";

    Answer(int genLength, int blockLength, boolean revisable, long maskId, Tokenizer tokenizer, List<String> stops) {
        this.ids = new long[genLength];
        Arrays.fill(ids, maskId);
        this.maskId = maskId;
        this.blockLength = blockLength;
        this.revisable = revisable;
        this.tokenizer = tokenizer;
        this.stopIds = tokenizer.stopIds();
        this.stops = stops;
    }

    void apply(StepEvent step) {
        for (int i = 0; i < step.positions().length; i++) {
            ids[step.positions()[i]] = step.tokens()[i];
        }
        for (int position : step.remasked()) {
            ids[position] = maskId;
        }
        int limit = revisable ? Math.min(ids.length, step.block() * blockLength) : ids.length;
        int length = 0;
        while (length < limit && ids[length] != maskId) {
            length++;
        }
        finalLength = length;
    }

    /** Whether the final prefix holds a stop id, so that the text is complete (cheap: no decoding). */
    boolean endsAtStopId() {
        for (int i = 0; i < finalLength; i++) {
            if (Arrays.binarySearch(stopIds, ids[i]) >= 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * The text the final prefix adds to what was sent, held back where it could still become a stop string or
     * ends inside a character; "" when nothing is new.
     */
    String delta() {
        Text text = text(Arrays.copyOf(ids, finalLength), tokenizer, stops);
        String shown = text.stopped() ? text.text() : withoutStopPrefix(text.text());
        if (shown.endsWith("\uFFFD") || !shown.startsWith(sent) || shown.length() == sent.length()) {
            return "";
        }
        String delta = shown.substring(sent.length());
        sent = shown;
        return delta;
    }

    /** Whether the final prefix already holds a stop string. */
    boolean endsAtStopString() {
        return !stops.isEmpty() && text(Arrays.copyOf(ids, finalLength), tokenizer, stops).stopped();
    }

    /** What the last text of the answer adds to what was sent (the whole answer is known). */
    String rest(String whole) {
        return whole.startsWith(sent) ? whole.substring(sent.length()) : "";
    }

    private String withoutStopPrefix(String text) {
        int hold = 0;
        for (String stop : stops) {
            for (int n = Math.min(stop.length() - 1, text.length()); n > hold; n--) {
                if (text.endsWith(stop.substring(0, n))) {
                    hold = n;
                    break;
                }
            }
        }
        return text.substring(0, text.length() - hold);
    }

    /**
     * A generation's text: the committed left-to-right prefix (all of it once answered), cut at the first stop id
     * and then at the first stop string.
     *
     * @param stopped whether a stop id or string ended it
     * @param tokens the generated tokens the text took, the stop id included
     */
    record Text(String text, boolean stopped, int tokens) {}

    static Text finalText(long[] generated, long maskId, Tokenizer tokenizer, List<String> stops) {
        int length = 0;
        while (length < generated.length && generated[length] != maskId) {
            length++;
        }
        return text(Arrays.copyOf(generated, length), tokenizer, stops);
    }

    private static Text text(long[] prefix, Tokenizer tokenizer, List<String> stops) {
        long[] stopIds = tokenizer.stopIds();
        int stopAt = -1;
        for (int i = 0; i < prefix.length && stopAt < 0; i++) {
            if (Arrays.binarySearch(stopIds, prefix[i]) >= 0) {
                stopAt = i;
            }
        }
        String text = tokenizer.decode(prefix);
        int cut = -1;
        for (String stop : stops) {
            int at = text.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut < 0) {
            return new Text(text, stopAt >= 0, stopAt >= 0 ? stopAt + 1 : prefix.length);
        }
        // The fewest tokens whose text reaches the stop string's start: decoding is monotone in the prefix.
        int low = 0;
        int high = stopAt >= 0 ? stopAt : prefix.length;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (tokenizer.decode(Arrays.copyOf(prefix, mid)).length() > cut) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        return new Text(text.substring(0, cut), true, low);
    }
}
