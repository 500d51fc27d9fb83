package dev.expertmesh.launcher;

import dev.expertmesh.coordinator.routing.RoutingOptions;
import dev.expertmesh.membership.NodeOptions;
import dev.expertmesh.proto.HiddenType;
import dev.expertmesh.quantization.Quantization;
import dev.expertmesh.quantization.QuantizationPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A role's settings: flags over the YAML file's keys over the defaults. */
class ClusterOptionsTest {

    private static ClusterOptions parse(String... args) {
        ExpertWorkerCommand command = new ExpertWorkerCommand();
        new CommandLine(command).parseArgs(args);
        return command.cluster;
    }

    @Test
    void theYamlFileSetsEveryKeyAndFlagsWinOverIt(@TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("node.yaml");
        Files.writeString(yaml, """
                model: /models/DeepSeek-V2-Lite
                host: 10.0.0.2
                port: 7000
                cluster-name: prod
                members: [10.0.0.1:5701, 10.0.0.3:5701]
                hazelcast-port: 5801
                transport: fp32
                cache-blocks: 64
                block-tokens: 32
                http-port: 8080
                """);
        ClusterOptions fromFile = parse("--config", yaml.toString());
        NodeOptions node = fromFile.node(0);
        assertThat(fromFile.model()).isEqualTo("/models/DeepSeek-V2-Lite");
        assertThat(node.host()).isEqualTo("10.0.0.2");
        assertThat(node.port()).isEqualTo(7000);
        assertThat(node.member().clusterName()).isEqualTo("prod");
        assertThat(node.member().members()).containsExactly("10.0.0.1:5701", "10.0.0.3:5701");
        assertThat(node.member().port()).isEqualTo(5801);
        assertThat(fromFile.transport().hiddenType()).isEqualTo(HiddenType.FP32);
        assertThat(fromFile.cacheBlocks()).isEqualTo(64);
        assertThat(fromFile.blockTokens()).isEqualTo(32);
        assertThat(fromFile.httpPort()).isEqualTo(8080);

        ClusterOptions overridden = parse("--config", yaml.toString(), "--port", "7100", "--members", "10.0.0.9:5701",
                "--transport", "bf16", "--model", "demo", "--http-port", "0");
        assertThat(overridden.node(0).port()).isEqualTo(7100);
        assertThat(overridden.node(0).member().members()).containsExactly("10.0.0.9:5701");
        assertThat(overridden.transport().hiddenType()).isEqualTo(HiddenType.BF16);
        assertThat(overridden.model()).isEqualTo("demo");
        assertThat(overridden.httpPort()).isZero();
    }

    @Test
    void theRoutingWindowAndTraceComeFromFlagsOverTheFile(@TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("coordinator.yaml");
        Files.writeString(yaml, """
                model: demo
                routing-window-steps: 50
                record-routing: /traces/routing.arrows
                """);
        assertThat(parse("--config", yaml.toString()).serving().routing())
                .isEqualTo(new RoutingOptions(50, Optional.of(Path.of("/traces/routing.arrows"))));
        assertThat(parse("--config", yaml.toString(), "--routing-window-steps", "7", "--record-routing", "here.arrows").serving().routing())
                .isEqualTo(new RoutingOptions(7, Optional.of(Path.of("here.arrows"))));
        assertThat(parse("--model", "demo").serving().routing()).isEqualTo(RoutingOptions.DEFAULT);
        assertThatThrownBy(() -> parse("--model", "demo", "--routing-window-steps", "0").serving())
                .hasMessageContaining("--routing-window-steps 0");
    }

    @Test
    void withoutAFileTheDefaultsHold() {
        ClusterOptions defaults = parse("--model", "demo");
        NodeOptions node = defaults.node(50051);
        assertThat(node.host()).isEqualTo("127.0.0.1");
        assertThat(node.port()).isEqualTo(50051);
        assertThat(node.member().clusterName()).isEqualTo("expertmesh");
        assertThat(node.member().members()).isEmpty();
        assertThat(defaults.transport().hiddenType()).isEqualTo(HiddenType.BF16);
        assertThat(defaults.blockTokens()).isEqualTo(64);
        assertThat(defaults.httpPort()).isEqualTo(8000);
    }

    @Test
    void mistakesAreNamed(@TempDir Path dir) throws IOException {
        Path typo = dir.resolve("typo.yaml");
        Files.writeString(typo, "modle: /models/x\n");
        assertThatThrownBy(() -> parse("--config", typo.toString()).model())
                .hasMessageContaining("unknown key 'modle'");
        assertThatThrownBy(() -> parse().model()).hasMessageContaining("--model");
        assertThatThrownBy(() -> parse("--model", "demo", "--transport", "fp8").transport()).hasMessageContaining("bf16 or fp32");
        assertThatThrownBy(() -> parse("--model", "demo", "--device", "tpu").device()).hasMessageContaining("expected cpu, cuda");
    }

    @Test
    void quantizationComesFromFlagsOverTheFileAndIsNoneByDefault(@TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("worker.yaml");
        Files.writeString(yaml, """
                model: demo
                quantize: int8
                quantize-attention: true
                """);
        assertThat(parse("--config", yaml.toString()).quantization()).isEqualTo(QuantizationPlan.of(Quantization.INT8, true));
        assertThat(parse("--config", yaml.toString(), "--quantize-attention=false").quantization())
                .isEqualTo(QuantizationPlan.of(Quantization.INT8, false));
        assertThat(parse("--model", "demo", "--quantize", "int8").quantization()).isEqualTo(QuantizationPlan.of(Quantization.INT8, false));
        assertThat(parse("--model", "demo").quantization()).isEqualTo(QuantizationPlan.NONE);
    }

    @Test
    void aFormatThatDoesNotExistIsRefusedWithTheChoicesFromFlagOrFile(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> parse("--model", "demo", "--quantize", "int3").quantization())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--quantize int3: choose one of " + Quantization.choices());
        Path yaml = Files.writeString(dir.resolve("worker.yaml"), "quantize: fp7\n");
        assertThatThrownBy(() -> parse("--config", yaml.toString()).quantization())
                .hasMessage("--quantize fp7: choose one of " + Quantization.choices());
        assertThatThrownBy(() -> parse("--model", "demo", "--quantize-attention").quantization())
                .hasMessageContaining("--quantize-attention").hasMessageContaining("give --quantize too");
    }
}
