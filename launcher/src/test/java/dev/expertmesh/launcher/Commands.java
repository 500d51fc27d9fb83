package dev.expertmesh.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The expertmesh command as users run it: in this JVM, or in a process of its own with the project's JVM flags. */
final class Commands {
    private static final Pattern PORT = Pattern.compile("port (\\d+)");

    record Run(int exitCode, String out, String err) {
    }

    private Commands() {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cmd = ExpertMesh.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** Starts {@code expertmesh args...} in a new JVM with this one's class path, its output and errors merged. */
    static Process start(List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ExpertMesh.class.getName()));
        command.addAll(args);
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /**
     * Waits for the "... port N ...; Ctrl-C stops it" line a role prints when it is up and returns N,
     * then keeps reading the process's output so that it never blocks on a full pipe. Everything it
     * prints goes to target/process-logs/PID.log too, to read when a test fails.
     */
    static int awaitReadyLine(Process p) throws Exception {
        var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Path logs = Files.createDirectories(Path.of("target", "process-logs"));
        PrintWriter log = new PrintWriter(Files.newBufferedWriter(logs.resolve(p.pid() + ".log")), true);
        CompletableFuture<Integer> port = CompletableFuture.supplyAsync(() -> {
            StringBuilder seen = new StringBuilder();
            try {
                for (String line; (line = reader.readLine()) != null; ) {
                    log.println(line);
                    Matcher m = PORT.matcher(line);
                    if (line.contains("Ctrl-C stops it") && m.find()) {
                        drain(reader, log);
                        return Integer.parseInt(m.group(1));
                    }
                    seen.append(line).append('\n');
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
            throw new IllegalStateException("the process ended before it was ready:\n" + seen);
        });
        return port.get(90, TimeUnit.SECONDS);
    }

    /** Asks every process to stop (as Ctrl-C does), and kills those still running 20 s later. */
    static void stop(List<Process> processes) throws InterruptedException {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void drain(BufferedReader reader, PrintWriter log) {
        Thread.ofVirtual().start(() -> {
            try (log) {
                for (String line; (line = reader.readLine()) != null; ) {
                    log.println(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
    }

    private static List<String> jvmOptions() throws IOException {
        Path file = Path.of(System.getProperty("expertmesh.testdata")).getParent().resolve("jvm.options");
        return Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }
}
