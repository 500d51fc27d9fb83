package dev.expertmesh.transport;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.netty.NettyServerBuilder;
import org.apache.arrow.flight.FlightProducer;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.impl.FlightServiceGrpc;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * A worker's Flight server and the allocator its streams' buffers come from. A DoExchange request is handed to
 * its handler (on a thread of its own) straight from the Netty event loop that read it, not through a gRPC
 * executor thread in between, and the connections are tuned for batches of hidden rows ({@link NettyTuning}).
 */
public record FlightEndpoint(String name, FlightServer server, BufferAllocator allocator) implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FlightEndpoint.class);
    private static final String DO_EXCHANGE = FlightServiceGrpc.getDoExchangeMethod().getFullMethodName();

    /**
     * Serves {@code producer} on host:port (port 0 picks a free one); with {@code tls}, over TLS, to clients
     * presenting a certificate signed by its CA only.
     */
    public static FlightEndpoint start(String name, String host, int port, BufferAllocator allocator, FlightProducer producer,
                                       Optional<TlsFiles> tls) {
        try {
            Location location = tls.isPresent() ? Location.forGrpcTls(host, port) : Location.forGrpcInsecure(host, port);
            Consumer<NettyServerBuilder> netty = grpc -> NettyTuning.server(grpc.callExecutor(FlightEndpoint::exchangesOnEventLoop));
            FlightServer.Builder builder = FlightServer.builder(allocator, location, producer)
                    .transportHint("grpc.builderConsumer", netty);
            if (tls.isPresent()) {
                builder.useTls(tls.get().certificateChain(), tls.get().keyPkcs8()).useMTlsClientVerification(tls.get().caCertificates());
            }
            return new FlightEndpoint(name, builder.build().start(), allocator);
        } catch (IOException e) {
            throw new UncheckedIOException(name + " could not listen on " + host + ":" + port, e);
        }
    }

    /**
     * The event loop itself for DoExchange calls, whose callbacks only queue messages for their handler; other
     * calls (DoAction) run their handler in the callback, so they keep Flight's executor (null picks it).
     */
    private static Executor exchangesOnEventLoop(ServerCall<?, ?> call, Metadata headers) {
        return call.getMethodDescriptor().getFullMethodName().equals(DO_EXCHANGE) ? Runnable::run : null;
    }

    public Location location() {
        return server.getLocation();
    }

    public int port() {
        return server.getPort();
    }

    /** Stops serving; streams still open after Flight's grace period end with an error on their clients. */
    @Override
    public void close() throws InterruptedException {
        server.close();
        try {
            allocator.close();
        } catch (IllegalStateException e) {
            // Streams cut off by the shutdown may still hold buffers that gRPC frees later.
            log.warn("{}: Arrow buffers still held at shutdown: {}", name, e.getMessage());
        }
    }
}
