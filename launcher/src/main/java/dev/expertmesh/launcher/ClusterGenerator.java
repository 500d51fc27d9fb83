package dev.expertmesh.launcher;

import dev.expertmesh.client.ExpertMeshClient;
import dev.expertmesh.client.Finish;
import dev.expertmesh.client.GenerationDelta;
import dev.expertmesh.client.GenerationStream;
import dev.expertmesh.engine.FinishReason;
import dev.expertmesh.engine.Generation;
import dev.expertmesh.engine.GenerationRequest;
import dev.expertmesh.engine.TokenSink;
import dev.expertmesh.sampling.SamplingParams;

import java.util.ArrayList;
import java.util.List;

/** Generates on a cluster through the client SDK, handing each token to the sink as it arrives. */
record ClusterGenerator(ExpertMeshClient client) implements GenerationOptions.Generator {
    @Override
    public Generation generate(GenerationRequest request, TokenSink sink) {
        SamplingParams s = request.sampling();
        dev.expertmesh.client.GenerationRequest call = dev.expertmesh.client.GenerationRequest.tokenIds(request.promptIds())
                .maxTokens(request.maxTokens())
                .temperature(s.temperature()).topK(s.topK()).topP(s.topP());
        if (s.seed() != null) {
            call = call.seed(s.seed());
        }
        List<Integer> tokens = new ArrayList<>();
        try (GenerationStream stream = client.generate(call)) {
            for (GenerationDelta delta : stream) {
                for (int token : delta.tokenIds()) {
                    tokens.add(token);
                    sink.accept(0, token);
                }
            }
            Finish finish = stream.finish();
            return new Generation(tokens.stream().mapToInt(Integer::intValue).toArray(),
                    finish.reason() == dev.expertmesh.client.FinishReason.STOP ? FinishReason.STOP : FinishReason.LENGTH,
                    finish.usage().promptTokens());
        }
    }
}
