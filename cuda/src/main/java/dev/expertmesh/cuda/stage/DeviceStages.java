package dev.expertmesh.cuda.stage;

import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.engine.CpuDevice;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.QuantizationPlan;

/** What runs a model on a {@link Device}: the nodes of a cluster, or a whole single-process engine. */
public final class DeviceStages {
    private DeviceStages() {
    }

    /** The device for cluster nodes; a CUDA device is opened here (its kernels loaded). Close it after the nodes. */
    public static ComputeDevice open(Device device) {
        return switch (device) {
            case Device.Cpu cpu -> new CpuDevice();
            case Device.Cuda cuda -> new GpuDevice(cuda);
        };
    }

    /** The single-process engine on the device, its weights stored as {@code plan} says; it closes {@code weights} when closed. */
    public static Engine engine(Device device, ModelConfig config, TensorSource weights, String origin, QuantizationPlan plan) {
        return switch (device) {
            case Device.Cpu cpu -> Engine.create(config, weights, new CpuBackend(), origin, plan);
            case Device.Cuda cuda -> CudaEngines.create(config, weights, cuda.ordinal(), plan);
        };
    }
}
