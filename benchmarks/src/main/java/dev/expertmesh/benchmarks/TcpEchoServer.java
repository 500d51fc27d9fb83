package dev.expertmesh.benchmarks;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;

/**
 * A plain TCP echo on 127.0.0.1, the yardstick for the data plane: each message is a
 * length and that many bytes, read whole and written back whole, as a worker receives a
 * whole record batch before it answers. One connection at a time, on a thread of its own.
 */
final class TcpEchoServer implements AutoCloseable {
    private final ServerSocket listener;
    private final Thread thread;

    TcpEchoServer() {
        try {
            listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException("the TCP echo server could not listen on 127.0.0.1", e);
        }
        thread = Thread.ofPlatform().daemon().name("tcp-echo").start(this::serve);
    }

    int port() {
        return listener.getLocalPort();
    }

    private void serve() {
        while (!listener.isClosed()) {
            try (Socket socket = listener.accept()) {
                socket.setTcpNoDelay(true);
                DataInputStream in = new DataInputStream(socket.getInputStream());
                OutputStream out = socket.getOutputStream();
                byte[] message = new byte[0];
                while (true) {
                    int length = in.readInt();
                    if (message.length < Integer.BYTES + length) {
                        message = new byte[Integer.BYTES + length];
                    }
                    in.readFully(message, Integer.BYTES, length);
                    ByteBuffer.wrap(message).putInt(0, length);
                    // Header and bytes in one write, so that no-delay sends them as one burst, as the data plane does.
                    out.write(message, 0, Integer.BYTES + length);
                }
            } catch (IOException e) {
                // The client hung up, or the listener closed under accept and the loop ends.
            }
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        listener.close();
        thread.join();
    }
}
