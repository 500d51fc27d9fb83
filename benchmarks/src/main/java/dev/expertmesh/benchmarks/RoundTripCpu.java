package dev.expertmesh.benchmarks;

import com.sun.management.OperatingSystemMXBean;

import java.lang.management.ManagementFactory;

/**
 * The CPU time a round trip of {@link DataPlaneThroughputBenchmark} costs the whole process (client, server, their
 * threads), over the data plane and over TCP, next to its wall time. On a shared machine the wall time of a round trip
 * that hands off between threads swings with the load; the CPU it burns much less, and on two cores it bounds
 * the round trip from below. Each round warms both transports with half as many round trips first.
 *
 * <pre>java @jvm.options -cp benchmarks/target/benchmarks.jar dev.expertmesh.benchmarks.RoundTripCpu ROWS ROUND_TRIPS</pre>
 */
public final class RoundTripCpu {
    private static final int ROUNDS = 3;

    private RoundTripCpu() {
    }

    @FunctionalInterface
    private interface RoundTrip {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: RoundTripCpu ROWS ROUND_TRIPS (rows of 4 KiB a message, round trips a round)");
        }
        DataPlaneThroughputBenchmark benchmark = new DataPlaneThroughputBenchmark();
        benchmark.rows = Integer.parseInt(args[0]);
        int count = Integer.parseInt(args[1]);
        WireBytes wire = new WireBytes();
        benchmark.connect();
        try {
            for (int round = 1; round <= ROUNDS; round++) {
                measure("data plane", round, benchmark.rows, count, () -> benchmark.dataPlaneEcho(wire));
                measure("tcp", round, benchmark.rows, count, () -> benchmark.tcpEcho(wire));
            }
        } finally {
            benchmark.close();
        }
    }

    private static void measure(String transport, int round, int rows, int count, RoundTrip roundTrip) throws Exception {
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        for (int i = 0; i < count / 2; i++) {
            roundTrip.run();
        }
        long cpu = os.getProcessCpuTime();
        long wall = System.nanoTime();
        for (int i = 0; i < count; i++) {
            roundTrip.run();
        }
        System.out.printf("round %d %-10s %3d x 4 KiB: %8.1f µs wall, %8.1f µs CPU a round trip%n", round, transport, rows,
                (System.nanoTime() - wall) / 1e3 / count, (os.getProcessCpuTime() - cpu) / 1e3 / count);
    }
}
