package dev.expertmesh.cuda.device;

import dev.expertmesh.cuda.binding.CudaDriver;
import dev.expertmesh.cuda.binding.CudaException;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Where a node runs its model: the CPU, or one CUDA device. */
public sealed interface Device {
    Pattern CUDA = Pattern.compile("cuda(?::(\\d{1,4}))?");

    record Cpu() implements Device {
        @Override
        public String toString() {
            return "cpu";
        }
    }

    record Cuda(int ordinal) implements Device {
        @Override
        public String toString() {
            return "cuda:" + ordinal;
        }
    }

    /** Counts CUDA devices, throwing a {@link CudaException} that says why when there is no usable driver. */
    interface Probe {
        int deviceCount();

        Probe DRIVER = () -> CudaDriver.load().deviceCount();
    }

    /** {@link #select(String, Probe)} against this machine's driver. */
    static Device select(String value) {
        return select(value, Probe.DRIVER);
    }

    /**
     * The device {@code --device value} names: cpu, cuda (= cuda:0), cuda:N, or auto (cuda:0 when a
     * driver and a device are present, else cpu). A CUDA device that is not there is an error whose
     * message names the flag, the cause and the fix.
     */
    static Device select(String value, Probe probe) {
        String device = value.strip().toLowerCase(Locale.ROOT);
        if (device.equals("cpu")) {
            return new Cpu();
        }
        if (device.equals("auto")) {
            try {
                return probe.deviceCount() > 0 ? new Cuda(0) : new Cpu();
            } catch (CudaException noDriver) {
                return new Cpu();
            }
        }
        Matcher cuda = CUDA.matcher(device);
        if (!cuda.matches()) {
            throw new IllegalArgumentException("--device " + value + ": expected cpu, cuda, cuda:N (N a device number) or auto");
        }
        int ordinal = cuda.group(1) == null ? 0 : Integer.parseInt(cuda.group(1));
        int count;
        try {
            count = probe.deviceCount();
        } catch (CudaException noDriver) {
            throw new IllegalArgumentException("--device " + value + ": " + noDriver.getMessage(), noDriver);
        }
        if (count == 0) {
            throw new IllegalArgumentException("--device " + value + ": the NVIDIA driver sees no CUDA device (check nvidia-smi "
                    + "and CUDA_VISIBLE_DEVICES), or run with --device cpu");
        }
        if (ordinal >= count) {
            throw new IllegalArgumentException("--device " + value + ": this machine has " + count + " CUDA device"
                    + (count == 1 ? " (cuda:0)" : "s (cuda:0 to cuda:" + (count - 1) + ")"));
        }
        return new Cuda(ordinal);
    }
}
