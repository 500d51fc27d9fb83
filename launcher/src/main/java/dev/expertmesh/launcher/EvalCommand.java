package dev.expertmesh.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.expertmesh.attention.CacheBlocks;
import dev.expertmesh.backend.CpuBackend;
import dev.expertmesh.cuda.device.Device;
import dev.expertmesh.cuda.stage.DeviceStages;
import dev.expertmesh.demo.DemoModel;
import dev.expertmesh.engine.ComputeDevice;
import dev.expertmesh.engine.Engine;
import dev.expertmesh.engine.LayerObserver;
import dev.expertmesh.evaluation.EvaluationResult;
import dev.expertmesh.evaluation.TextEvaluation;
import dev.expertmesh.launcher.bench.ClusterRig;
import dev.expertmesh.quantization.QuantizationPlan;
import dev.expertmesh.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "How far a lossy path moves the model: scores a text with the model as its checkpoint stores it (fp32 "
                + "arithmetic, one process, on the CPU) and with the candidate (--quantize, or --cluster with --transport), "
                + "and reports both perplexities, the KL divergence of the candidate's next-token distribution from the "
                + "reference's (mean, 99th percentile, max) and how often both rank the same token first. As llama.cpp's "
                + "perplexity tool does, the text is cut into chunks of --ctx tokens and only the second half of each "
                + "chunk is scored, so that every scored token has at least half a context before it.")
final class EvalCommand implements Callable<Integer> {
    static final int MIN_TOKENS = 2048;
    private static final int DEFAULT_CONTEXT = 512;
    private static final int REPLY_TIMEOUT_MS = 60_000;

    @Mixin
    ModelOptions model;

    @Option(names = "--text", required = true, paramLabel = "FILE", description = "UTF-8 text to score, e.g. testdata/text/expertmesh-prose.txt.")
    Path text;

    @Option(names = "--ctx", paramLabel = "N",
            description = "Tokens per chunk. Default: " + DEFAULT_CONTEXT + ", or the model's max_position_embeddings if smaller.")
    Integer context;

    @Option(names = "--cluster", description = "The candidate is a local cluster in this process (2 expert workers, 1 attention "
            + "worker and a coordinator over Flight on loopback), its hidden vectors on the wire as --transport says.")
    boolean cluster;

    @Option(names = "--transport", defaultValue = "bf16", paramLabel = "TYPE",
            description = "With --cluster: hidden vectors on the wire, bf16 or fp32. Default: ${DEFAULT-VALUE}.")
    String transport;

    @Option(names = "--allow-short", description = "Measure a text that gives fewer than " + MIN_TOKENS + " scored tokens.")
    boolean allowShort;

    @Option(names = "--json", description = "One line of JSON instead of the table.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        QuantizationPlan plan = model.quantize.plan(MissingNode.getInstance());
        if (model.model == null) {
            throw new IllegalArgumentException("--model DIR is required (or 'demo' for the built-in demo model)");
        }
        if (!Files.isRegularFile(text)) {
            throw new IllegalArgumentException("--text " + text + ": no such file");
        }
        int[] tokens = tokenize(Files.readString(text));
        try (Engine reference = reference()) {
            int ctx = context != null ? context : Math.min(DEFAULT_CONTEXT, reference.config().maxPositionEmbeddings());
            checkLength(tokens.length, ctx);
            try (Engine candidate = cluster ? clusterEngine(ctx, plan) : model.openEngine()) {
                PrintWriter err = spec.commandLine().getErr();
                EvaluationResult result = TextEvaluation.run(tokens, ctx, reference, candidate,
                        (done, of) -> err.printf("eval: chunk %d of %d scored%n", done, of));
                print(result, plan);
            }
        }
        return 0;
    }

    private int[] tokenize(String content) {
        try (Tokenizer tokenizer = model.openTokenizer().orElseThrow(() -> new IllegalArgumentException(
                "--model " + model.model + " has no tokenizer.json: give --tokenizer DIR"))) {
            return tokenizer.encode(content);
        }
    }

    private void checkLength(int tokens, int ctx) {
        int scored = TextEvaluation.scoredPositions(tokens, ctx);
        if (scored < MIN_TOKENS && !allowShort) {
            throw new IllegalArgumentException("--text " + text + ": " + tokens + " tokens in chunks of --ctx " + ctx + " give "
                    + scored + " scored tokens, fewer than the " + MIN_TOKENS + " a measure needs: give a longer text "
                    + "(testdata/text/expertmesh-prose.txt has enough), or --allow-short for a rough one");
        }
    }

    /** The model as its checkpoint stores it, computed in fp32 on the CPU in this process. */
    private Engine reference() {
        ModelSource source = ModelSource.open(model.model);
        return Engine.create(source.config(), source.weights(), new CpuBackend(),
                DemoModel.isDemo(model.model) ? DemoModel.ORIGIN : model.model + " (the reference)", QuantizationPlan.NONE);
    }

    private Engine clusterEngine(int ctx, QuantizationPlan plan) {
        ModelSource source = ModelSource.open(model.model);
        ComputeDevice device = DeviceStages.open(Device.select(model.device));
        int cacheBlocks = (ctx + CacheBlocks.DEFAULT_BLOCK_TOKENS - 1) / CacheBlocks.DEFAULT_BLOCK_TOKENS + 1;
        try {
            ClusterRig rig = new ClusterRig(device, source.weights(), source.config(), cacheBlocks,
                    ClusterOptions.transport(transport, 1, REPLY_TIMEOUT_MS), plan);
            return Engine.around(rig.model(), () -> {
                rig.close();
                device.close();
                source.close();
            }, LayerObserver.NONE);
        } catch (RuntimeException e) {
            device.close();
            source.close();
            throw e;
        }
    }

    private void print(EvaluationResult r, QuantizationPlan plan) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(r));
        } else {
            out.printf(Locale.ROOT, "candidate: %s; %d scored tokens (second half of each chunk of %d)%n", candidate(plan), r.tokens(), r.context());
            out.printf(Locale.ROOT, "%-24s %12s%n", "measure", "value");
            out.printf(Locale.ROOT, "%-24s %12.4f%n", "perplexity (reference)", r.referencePerplexity());
            out.printf(Locale.ROOT, "%-24s %12.4f%n", "perplexity (candidate)", r.candidatePerplexity());
            out.printf(Locale.ROOT, "%-24s %12.3e%n", "mean KL (nats)", r.meanKl());
            out.printf(Locale.ROOT, "%-24s %12.3e%n", "p99 KL (nats)", r.p99Kl());
            out.printf(Locale.ROOT, "%-24s %12.3e%n", "max KL (nats)", r.maxKl());
            out.printf(Locale.ROOT, "%-24s %11.2f%%%n", "top-1 agreement", 100 * r.top1Agreement());
        }
        out.flush();
    }

    private String candidate(QuantizationPlan plan) {
        String weights = plan.label();
        return cluster ? "local cluster, " + transport + " transport, " + weights : weights;
    }
}
