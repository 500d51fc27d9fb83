package dev.expertmesh.client.loadgen;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/** Random prompts of token ids, in the manner of vLLM's random dataset: no text, only lengths matter. */
final class PromptWorkload {
    /** One request to send: its prompt and the tokens to generate. */
    record BenchRequest(int[] promptIds, int outputLen) {
    }

    private PromptWorkload() {
    }

    /** {@code spec.numPrompts()} requests with lengths uniform in the spec's ranges and ids uniform below {@code vocabSize}. */
    static List<BenchRequest> requests(BenchmarkSpec spec, int vocabSize, RandomGenerator random) {
        List<BenchRequest> requests = new ArrayList<>(spec.numPrompts());
        for (int i = 0; i < spec.numPrompts(); i++) {
            int[] prompt = random.ints(length(spec.inputLen(), spec.inputLenRange(), random), 0, vocabSize).toArray();
            requests.add(new BenchRequest(prompt, length(spec.outputLen(), spec.outputLenRange(), random)));
        }
        return requests;
    }

    /** A length uniform in [mean (1 - range), mean (1 + range)], truncated to whole tokens, and at least 1. */
    static int length(int mean, double range, RandomGenerator random) {
        int low = Math.max(1, (int) (mean * (1 - range)));
        int high = Math.max(low, (int) (mean * (1 + range)));
        return random.nextInt(low, high + 1);
    }

    /** The longest length {@link #length} can give. */
    static int maxLength(int mean, double range) {
        return Math.max(Math.max(1, (int) (mean * (1 - range))), (int) (mean * (1 + range)));
    }
}
