package dev.expertmesh.cuda.stage;

import dev.expertmesh.cuda.runtime.DeviceWeight;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.moe.Expert;

/**
 * A SwiGLU expert on the device, its three matrices in their own formats. Gate and up stay apart
 * (an FP8 matrix's 128-row blocks do not stack when the intermediate size is not a multiple of
 * 128); their products land side by side in one [rows, 2·inter] buffer for silu_mul.
 */
record GpuExpert(DeviceWeight gate, DeviceWeight up, DeviceWeight down) {

    static GpuExpert upload(Gpu gpu, Expert expert) {
        return new GpuExpert(DeviceWeight.upload(gpu, expert.gate()), DeviceWeight.upload(gpu, expert.up()),
                DeviceWeight.upload(gpu, expert.down()));
    }

    int intermediateSize() {
        return gate.rows();
    }

    void free(Gpu gpu) {
        gate.free(gpu);
        up.free(gpu);
        down.free(gpu);
    }
}
