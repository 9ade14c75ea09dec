package org.remask.text;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The tiny LLaDA-shaped model directory under src/test/resources/text (see its README.md). */
final class Fixtures {
    static final long BOS = 126080;
    static final long EOS = 126081;
    static final long MASK = 126336;
    static final long START_HEADER = 126346;
    static final long END_HEADER = 126347;
    static final long EOT = 126348;

    private Fixtures() {}

    static Path lladaTiny() {
        URL url = Fixtures.class.getResource("/text/llada-tiny");
        if (url == null) {
            throw new IllegalStateException("test resource /text/llada-tiny is missing");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
