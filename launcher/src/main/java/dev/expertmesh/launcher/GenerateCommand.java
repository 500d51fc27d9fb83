package dev.expertmesh.launcher;

import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continues the prompt: prefill, then decoding step by step with the latent KV cache, "
                + "until an end-of-sequence token or --max-tokens, in this process (--model) or on a cluster "
                + "(--coordinator). With a tokenizer, text streams as it is generated.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--coordinator", paramLabel = "HOST:PORT",
            description = "Generate on the cluster of this coordinator instead of in this process; --model or --tokenizer "
                    + "then only gives the tokenizer for text prompts and output.")
    String coordinator;

    @Mixin
    GenerationOptions generation;

    @Mixin
    CoordinatorAccess access;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Optional<Tokenizer> tokenizer = model.openTokenizer();
        try {
            GenerationRequest request = generation.request(tokenizer);
            var out = spec.commandLine().getOut();
            var err = spec.commandLine().getErr();
            if (coordinator != null) {
                try (ExpertMeshClient client = access.client().address(coordinator).build()) {
                    generation.run(new ClusterGenerator(client), request, tokenizer, out, err);
                }
            } else {
                try (Engine engine = model.openEngine()) {
                    generation.run((r, sink) -> engine.generate(List.of(r), sink).getFirst(), request, tokenizer, out, err);
                }
            }
        } finally {
            tokenizer.ifPresent(Tokenizer::close);
        }
        return 0;
    }
}
