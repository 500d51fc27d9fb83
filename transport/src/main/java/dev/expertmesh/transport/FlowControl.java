package dev.expertmesh.transport;

/**
 * The HTTP/2 flow-control window of both ends of a data-plane stream. gRPC's default of 1 MiB is less than
 * one batch of 256 bf16 rows of 2048 values with its Arrow framing, so such a batch stalled on a
 * WINDOW_UPDATE round trip; a window of several batches lets one go out in a single burst, as over TCP.
 */
final class FlowControl {
    static final int WINDOW_BYTES = 16 << 20;

    private FlowControl() {
    }
}
