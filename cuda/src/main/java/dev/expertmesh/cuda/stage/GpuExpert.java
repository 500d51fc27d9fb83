package dev.expertmesh.cuda.stage;

import dev.expertmesh.cuda.runtime.DeviceWeight;
import dev.expertmesh.cuda.runtime.Gpu;
import dev.expertmesh.moe.Expert;

/** A SwiGLU expert on the device: gate and up stacked into one [2·inter, hidden] matrix, and down. */
record GpuExpert(DeviceWeight gateUp, DeviceWeight down) {

    static GpuExpert upload(Gpu gpu, Expert expert) {
        return new GpuExpert(DeviceWeight.stack(gpu, expert.gate(), expert.up()), DeviceWeight.upload(gpu, expert.down()));
    }

    int intermediateSize() {
        return gateUp.rows() / 2;
    }

    void free(Gpu gpu) {
        gpu.free(gateUp.buffer());
        gpu.free(down.buffer());
    }
}
