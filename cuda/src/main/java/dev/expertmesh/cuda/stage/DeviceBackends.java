package dev.expertmesh.cuda.stage;

import dev.expertmesh.backend.Backend;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.model.ModelConfig;

/** What runs a model on a {@link Device}: the backend a node's stages compute with, or a whole engine. */
public final class DeviceBackends {
    private DeviceBackends() {
    }

    /** The CPU backend, or cuBLAS products on the GPU (opened here, for the life of the process). */
    public static Backend backend(Device device) {
        return switch (device) {
            case Device.Cpu cpu -> new CpuBackend();
            case Device.Cuda cuda -> new CudaBackend(Gpu.open(cuda.ordinal()));
        };
    }

    /** The single-process engine on the device; it closes {@code weights} when closed. */
    public static Engine engine(Device device, ModelConfig config, TensorSource weights, String origin) {
        return switch (device) {
            case Device.Cpu cpu -> Engine.create(config, weights, new CpuBackend(), origin);
            case Device.Cuda cuda -> CudaEngines.create(config, weights, cuda.ordinal());
        };
    }
}
