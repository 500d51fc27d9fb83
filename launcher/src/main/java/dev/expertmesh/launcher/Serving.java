package dev.expertmesh.launcher;

import java.io.PrintWriter;

/** Keeps a node serving until the process is told to stop (Ctrl-C, SIGTERM), then closes it. */
final class Serving {
    private Serving() {
    }

    static void untilStopped(AutoCloseable node, PrintWriter out, String ready) throws InterruptedException {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                System.err.println("error while stopping: " + e.getMessage());
            }
        }, "expertmesh-shutdown"));
        out.println(ready + "; Ctrl-C stops it");
        out.flush();
        Thread.currentThread().join();
    }
}
