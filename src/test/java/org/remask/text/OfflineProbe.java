package org.remask.text;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketImpl;
import java.net.SocketOptions;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Run in a fresh JVM by {@link OfflineTest}: loads the fixture tokenizer while every java.net.Socket of the
 * JVM refuses to connect and records where it was asked to go (that covers HttpURLConnection, http and
 * https, with or without a proxy, and Proxy.NO_PROXY as DJL's call home uses), then prints what it saw,
 * one "key=value" a line. Nothing is ever sent: the refusing socket opens no file descriptor.
 *
 * <p>Arguments: MODEL_DIR [--selfcheck | --raw-djl CACHE_DIR]. --selfcheck opens one connection the way
 * DJL does; --raw-djl loads the tokenizer with DJL alone, without remask's settings, to show that DJL then
 * tries to call home (and that the guard sees it).
 */
public final class OfflineProbe {
    private static final List<String> ATTEMPTS = new CopyOnWriteArrayList<>();

    private OfflineProbe() {}

    public static void main(String[] args) throws Exception {
        Socket.setSocketImplFactory(RefusingSocket::new);
        String mode = args.length > 1 ? args[1] : "";
        String before = System.getProperty(DjlRuntime.OFFLINE);

        if (mode.equals("--raw-djl")) {
            // DJL alone, without remask's settings (the test's environment has none either); only once the
            // guard has shown that it stops a connection made the way DJL makes them.
            selfcheck();
            if (ATTEMPTS.isEmpty()) {
                System.out.println("guard=broken");
                System.exit(3);
            }
            ATTEMPTS.clear();
            System.setProperty(DjlRuntime.CACHE_DIR, args[2]);
            try (var raw = ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(
                    Path.of(args[0]), java.util.Map.of("addSpecialTokens", "false"))) {
                System.out.println("ids=" + Arrays.toString(raw.encode("héllo").getIds()));
            }
            System.out.println("attempts=" + ATTEMPTS);
            return;
        }
        try (Tokenizer tok = Tokenizer.load(Path.of(args[0]))) {
            long[] ids = tok.encode("<|startoftext|>héllo and the def");
            System.out.println("ids=" + Arrays.toString(ids));
            System.out.println("decoded=" + tok.decode(ids));
        }
        if (mode.equals("--selfcheck")) {
            selfcheck();
        }
        System.out.println("offline.before=" + before);
        System.out.println("offline=" + System.getProperty(DjlRuntime.OFFLINE));
        System.out.println("tracking=" + System.getProperty(DjlRuntime.OPT_OUT_TRACKING));
        String cache = System.getProperty(DjlRuntime.CACHE_DIR);
        System.out.println("cache=" + cache);
        try (var files = Files.walk(Path.of(cache))) {
            System.out.println("cache.lib=" + files.anyMatch(p -> p.getFileName().toString().startsWith("libtokenizers")));
        }
        System.out.println("attempts=" + ATTEMPTS);
    }

    /** A plain-HTTP connection without proxy, as DJL's call home opens them (to a local port). */
    private static void selfcheck() {
        try {
            URI.create("http://127.0.0.1:9/selfcheck").toURL().openConnection(Proxy.NO_PROXY).connect();
        } catch (IOException expected) {
            // refused by RefusingSocket
        }
    }

    /** A socket that never connects: it records the address and fails at once. */
    private static final class RefusingSocket extends SocketImpl {
        private ConnectException refuse(Object where) {
            ATTEMPTS.add(String.valueOf(where));
            return new ConnectException("network access is blocked in this test: " + where);
        }

        @Override protected void create(boolean stream) {}
        @Override protected void connect(String host, int port) throws IOException { throw refuse(host + ":" + port); }
        @Override protected void connect(InetAddress address, int port) throws IOException { throw refuse(address + ":" + port); }
        @Override protected void connect(SocketAddress address, int timeout) throws IOException { throw refuse(address); }
        @Override protected void bind(InetAddress host, int port) throws IOException { throw refuse("bind " + host + ":" + port); }
        @Override protected void listen(int backlog) throws IOException { throw refuse("listen"); }
        @Override protected void accept(SocketImpl s) throws IOException { throw refuse("accept"); }
        @Override protected InputStream getInputStream() throws IOException { throw new IOException("not connected"); }
        @Override protected OutputStream getOutputStream() throws IOException { throw new IOException("not connected"); }
        @Override protected int available() { return 0; }
        @Override protected void close() {}
        @Override protected void sendUrgentData(int data) throws IOException { throw new IOException("not connected"); }
        @Override public void setOption(int optID, Object value) {}
        @Override public Object getOption(int optID) {
            return optID == SocketOptions.SO_TIMEOUT ? Integer.valueOf(0) : null;
        }
    }
}
