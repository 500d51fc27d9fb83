package dev.expertmesh.simulation;

import dev.expertmesh.model.ModelConfig;
import dev.expertmesh.placement.ExpertLoads;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Sums a trace's tokens per (layer, expert), over the whole trace and over windows of {@code windowSteps}
 * steps (window k holds steps k·W to k·W + W - 1). Rows are checked against the model as they come, so that
 * a trace of another model fails with the row that gives it away.
 */
public final class LoadWindows implements TraceSink {
    private final ModelConfig config;
    private final int windowSteps;
    private final SortedMap<Long, float[][]> windows = new TreeMap<>();
    private final float[][] total;
    private long tokens;
    private long lastStep = -1;

    /** @param windowSteps steps per window, 0 for the whole trace as one */
    public LoadWindows(ModelConfig config, int windowSteps) {
        if (windowSteps < 0) {
            throw new IllegalArgumentException("--window-steps " + windowSteps + ": expected 0 (the whole trace) or more steps");
        }
        this.config = config;
        this.windowSteps = windowSteps;
        this.total = new float[config.numHiddenLayers()][config.nRoutedExperts()];
    }

    @Override
    public void tokens(long step, int layer, int expert, long count) {
        requireRow(step, layer, expert, count);
        float[][] window = windows.computeIfAbsent(windowSteps == 0 ? 0 : step / windowSteps,
                _ -> new float[config.numHiddenLayers()][config.nRoutedExperts()]);
        window[layer][expert] += count;
        total[layer][expert] += count;
        tokens += count;
        lastStep = Math.max(lastStep, step);
    }

    private void requireRow(long step, int layer, int expert, long count) {
        String row = "step " + step + " layer " + layer + " expert " + expert;
        if (step < 0 || count < 0) {
            throw new IllegalArgumentException(row + ": negative step or tokens (" + count + ")");
        }
        if (layer < 0 || layer >= config.numHiddenLayers() || !config.isMoeLayer(layer)) {
            throw new IllegalArgumentException(row + ": layer " + layer + " is not an MoE layer of the model (give --model DIR of the model the trace was recorded on)");
        }
        if (expert < 0 || expert >= config.nRoutedExperts()) {
            throw new IllegalArgumentException(row + ": the model has " + config.nRoutedExperts()
                    + " routed experts (give --model DIR of the model the trace was recorded on)");
        }
    }

    public ExpertLoads total() {
        return new ExpertLoads(total);
    }

    public long tokens() {
        return tokens;
    }

    /** Steps the trace spans, from step 0 to its last. */
    public long steps() {
        return lastStep + 1;
    }

    /**
     * What the replay judges: without windows, the whole trace placed on its own loads (the best a placement can
     * know); with them, each window placed on the window before, as live rebalancing every W steps would, the first
     * on equal loads (what a cluster that has routed nothing knows). Windows without tokens are left out: they
     * take no time, and the next one is placed on the last that had tokens.
     */
    public List<ReplayWindow> replayWindows() {
        if (tokens == 0) {
            throw new IllegalArgumentException("the trace routes no tokens: nothing to simulate");
        }
        if (windowSteps == 0) {
            ExpertLoads whole = total();
            return List.of(new ReplayWindow(whole, whole));
        }
        List<ReplayWindow> replay = new ArrayList<>();
        ExpertLoads known = ExpertLoads.uniform(config);
        for (float[][] window : windows.values()) {
            ExpertLoads routed = new ExpertLoads(window);
            replay.add(new ReplayWindow(known, routed));
            known = routed;
        }
        return replay;
    }
}
