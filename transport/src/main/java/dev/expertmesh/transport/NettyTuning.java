package dev.expertmesh.transport;

import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.RecvByteBufAllocator;

/**
 * The Netty settings both ends of a data-plane connection share. gRPC's HTTP/2 window of 1 MiB is less than one
 * batch of 256 bf16 rows of 2048 values with its Arrow framing, so such a batch stalled on a WINDOW_UPDATE round
 * trip; a window of several batches lets one go out in a single burst, as over TCP. Netty reads at most 64 KiB
 * a socket read by default, so a 1 MiB batch took sixteen reads and as many passes through the HTTP/2 decoder;
 * reads of up to 1 MiB take it in a few.
 */
final class NettyTuning {
    private static final int WINDOW_BYTES = 16 << 20;
    private static final int LARGEST_READ_BYTES = 1 << 20;

    private NettyTuning() {
    }

    static NettyChannelBuilder client(NettyChannelBuilder channel) {
        return channel.flowControlWindow(WINDOW_BYTES).withOption(ChannelOption.RCVBUF_ALLOCATOR, reads());
    }

    static NettyServerBuilder server(NettyServerBuilder server) {
        return server.flowControlWindow(WINDOW_BYTES).withChildOption(ChannelOption.RCVBUF_ALLOCATOR, reads());
    }

    private static RecvByteBufAllocator reads() {
        return new AdaptiveRecvByteBufAllocator(64, 2048, LARGEST_READ_BYTES);
    }
}
