package org.remask.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import org.remask.sampling.StepEvent;
import org.remask.sampling.StepListener;
import org.remask.text.Tokenizer;

/** Draws the answer in place on a terminal as it unmasks: masked positions show as a placeholder glyph. */
final class VisualListener implements StepListener {
    static final String MASK_GLYPH = "░";

    private final Tokenizer tokenizer;
    private final PrintWriter out;
    private final long[] ids;
    private final long maskId;
    private int drawnRows;

    VisualListener(Tokenizer tokenizer, PrintWriter out, int genLength, long maskId) {
        this.tokenizer = tokenizer;
        this.out = out;
        this.ids = new long[genLength];
        this.maskId = maskId;
        Arrays.fill(ids, maskId);
    }

    @Override
    public void onStep(StepEvent event) {
        for (int i = 0; i < event.positions().length; i++) {
            ids[event.positions()[i]] = event.tokens()[i]; // a commit, or an edit's new token
        }
        for (int position : event.remasked()) {
            ids[position] = maskId; // a revision rule took the token back: it is a mask again
        }
        draw(render());
    }

    /** Replaces the drawing with the final answer. */
    void finish(String answer) {
        draw(answer);
        out.println();
        out.flush();
    }

    /** Runs of committed tokens are decoded together (so multi-byte characters stay whole); special tokens are hidden. */
    String render() {
        StringBuilder text = new StringBuilder();
        int i = 0;
        while (i < ids.length) {
            if (ids[i] == maskId) {
                text.append(MASK_GLYPH);
                i++;
                continue;
            }
            int end = i;
            while (end < ids.length && ids[end] != maskId) {
                end++;
            }
            text.append(tokenizer.decode(Arrays.copyOfRange(ids, i, end), new long[0]));
            i = end;
        }
        return text.toString();
    }

    private void draw(String text) {
        StringBuilder frame = new StringBuilder();
        if (drawnRows > 1) {
            frame.append("\033[").append(drawnRows - 1).append('A');
        }
        frame.append("\r\033[J").append(text);
        out.print(frame);
        out.flush();
        drawnRows = rows(text, Terminal.columns());
    }

    private static int rows(String text, int columns) {
        int rows = 0;
        for (String line : text.split("\n", -1)) {
            rows += Math.max(1, (line.codePointCount(0, line.length()) + columns - 1) / columns);
        }
        return rows;
    }
}
