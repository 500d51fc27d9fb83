package dev.expertmesh.cuda.stage;

import dev.expertmesh.Fixtures;
import dev.expertmesh.checkpoint.Checkpoint;
import dev.expertmesh.checkpoint.TensorSource;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DeviceStagesTest {

    @Test
    void quantizedExpertsOnCudaAreRefusedWithTheFixBeforeAnyGpuWork() {
        Path dir = Fixtures.model("tiny-v2-lite");
        TensorSource weights = Checkpoint.open(dir);
        assertThatThrownBy(() -> DeviceStages.engine(new Device.Cuda(0), ModelConfig.load(dir), weights, "tiny-v2-lite",
                QuantizationPlan.of(Quantization.INT8, false)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--quantize int8: quantized weights run on the CPU backend only for now: use --device cpu, or drop --quantize");
    }
}
