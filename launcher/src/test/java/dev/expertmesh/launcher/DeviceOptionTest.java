package dev.expertmesh.launcher;

import dev.expertmesh.Fixtures;
import dev.expertmesh.cuda.binding.CudaDriver;
import dev.expertmesh.cuda.binding.CudaException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** --device on the commands that run a model, as a user without a GPU sees it. */
class DeviceOptionTest {

    private record Run(int exitCode, String err) {
    }

    private static Run run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cmd = ExpertMesh.commandLine();
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        cmd.setErr(new PrintWriter(err, true));
        return new Run(cmd.execute(args), err.toString());
    }

    private static boolean gpuPresent() {
        try {
            return CudaDriver.load().deviceCount() > 0;
        } catch (CudaException noDriver) {
            return false;
        }
    }

    @TempDir
    Path tmp;

    @Test
    void cudaWithoutAGpuIsOneLineSayingWhatIsMissingAndHowToFix() {
        assumeFalse(gpuPresent(), "this machine has a GPU: --device cuda works here");
        String tinyModel = Fixtures.model("tiny-v2").toString();
        String[][] commands = {
                {"score", "--model", tinyModel, "--prompt-ids", "1,2,3", "--output", tmp.resolve("l.safetensors").toString(), "--device", "cuda"},
                {"generate", "--model", tinyModel, "--prompt-ids", "1,2,3", "--max-tokens", "2", "--device", "cuda:0"},
                {"expert-worker", "--model", "demo", "--device", "cuda"},
                {"attention-worker", "--model", "demo", "--device", "cuda"},
                {"coordinator", "--model", "demo", "--device", "cuda"},
                {"local", "--model", "demo", "--device", "cuda"},
        };
        for (String[] command : commands) {
            Run r = run(command);
            assertThat(r.exitCode()).as(String.join(" ", command) + ": " + r.err()).isEqualTo(2);
            assertThat(r.err().lines().toList()).as(String.join(" ", command)).singleElement().satisfies(line -> assertThat(line)
                    .startsWith("error: --device cuda")
                    .contains("libcuda.so.1 was not found", "install the NVIDIA driver")
                    .endsWith("or run with --device cpu"));
        }
    }

    @Test
    void aMalformedDeviceIsNamed() {
        Run r = run("score", "--model", Fixtures.model("tiny-v2").toString(), "--prompt-ids", "1,2",
                "--output", tmp.resolve("l.safetensors").toString(), "--device", "gpu0");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("error: --device gpu0: expected cpu, cuda, cuda:N (N a device number) or auto");
    }
}
