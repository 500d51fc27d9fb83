package dev.expertmesh.cuda.stage;

import dev.expertmesh.model.ModelConfig;

import java.util.Map;
import java.util.function.Consumer;

/**
 * Moves a table of hosted experts, [layer][id] as in ExpertRoutes, to a new placement of the routed
 * experts: what the placement drops is freed first (making room on the device), what it adds is
 * uploaded, and what it keeps stays where it is. Dense MLPs and shared experts are not touched.
 */
final class Rehosting {
    private Rehosting() {
    }

    /** Puts expert {@code id} of {@code layer} on the device. */
    interface Upload<T> {
        T upload(int layer, int id);
    }

    /**
     * Makes the routed experts of every MoE layer of {@code hosted} those {@code routedByLayer}
     * names (none for a layer it omits; dense layers are ignored); checks every id before changing anything.
     */
    static <T> void apply(T[][] hosted, ModelConfig config, Map<Integer, int[]> routedByLayer, Upload<T> upload, Consumer<T> free) {
        int routed = config.nRoutedExperts();
        boolean[][] wanted = new boolean[hosted.length][routed];
        for (int layer = 0; layer < hosted.length; layer++) {
            for (int id : config.isMoeLayer(layer) ? routedByLayer.getOrDefault(layer, new int[0]) : new int[0]) {
                if (id < 0 || id >= routed) {
                    throw new IllegalArgumentException("layer " + layer + " has routed experts 0.." + (routed - 1) + ", not " + id);
                }
                wanted[layer][id] = true;
            }
        }
        for (int layer = 0; layer < hosted.length; layer++) {
            for (int id = 0; config.isMoeLayer(layer) && id < routed; id++) {
                if (hosted[layer][id] != null && !wanted[layer][id]) {
                    free.accept(hosted[layer][id]);
                    hosted[layer][id] = null;
                }
            }
        }
        for (int layer = 0; layer < hosted.length; layer++) {
            for (int id = 0; config.isMoeLayer(layer) && id < routed; id++) {
                if (hosted[layer][id] == null && wanted[layer][id]) {
                    hosted[layer][id] = upload.upload(layer, id);
                }
            }
        }
    }
}
