package dev.expertmesh.cuda.stage;

import dev.expertmesh.Fixtures;
import dev.expertmesh.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bookkeeping of CudaExpertStage.host, on a table of names standing for uploaded experts. */
class RehostingTest {
    private final ModelConfig config = ModelConfig.load(Fixtures.model("tiny-v2-lite"));
    private final List<String> uploads = new ArrayList<>();
    private final List<String> frees = new ArrayList<>();

    /** Layer 0 dense, layers 1..3 with 16 routed experts and the shared one at index 16, as CudaExpertStage lays them out. */
    private String[][] table() {
        String[][] hosted = new String[config.numHiddenLayers()][];
        for (int layer = 0; layer < hosted.length; layer++) {
            hosted[layer] = config.isMoeLayer(layer) ? new String[config.nRoutedExperts() + 1] : new String[]{"dense"};
            if (config.isMoeLayer(layer)) {
                hosted[layer][config.nRoutedExperts()] = "shared " + layer;
            }
        }
        return hosted;
    }

    private void apply(String[][] hosted, Map<Integer, int[]> routedByLayer) {
        Rehosting.apply(hosted, config, routedByLayer, (layer, id) -> {
            String expert = layer + ":" + id;
            uploads.add(expert);
            return expert;
        }, frees::add);
    }

    @Test
    void aNewPlacementUploadsWhatItAddsFreesWhatItDropsAndKeepsTheRest() {
        String[][] hosted = table();
        apply(hosted, Map.of(1, new int[]{0, 1, 2, 3}, 2, new int[]{0, 1, 2, 3}, 3, new int[]{0, 1, 2, 3}));
        assertThat(uploads).hasSize(12);
        assertThat(frees).isEmpty();
        String kept = hosted[1][2];
        uploads.clear();

        apply(hosted, Map.of(1, new int[]{2, 3, 4, 5}, 2, new int[]{0, 1, 2, 3}));

        assertThat(frees).containsExactlyInAnyOrder("1:0", "1:1", "3:0", "3:1", "3:2", "3:3");
        assertThat(uploads).containsExactlyInAnyOrder("1:4", "1:5");
        assertThat(hosted[1][2]).isSameAs(kept);
        assertThat(hosted[1][0]).isNull();
        assertThat(hosted[3]).containsOnly(null, "shared 3");
        assertThat(hosted[0]).containsExactly("dense");
        assertThat(hosted[2][config.nRoutedExperts()]).isEqualTo("shared 2");
    }

    @Test
    void theSamePlacementAgainMovesNothing() {
        String[][] hosted = table();
        Map<Integer, int[]> placement = Map.of(2, new int[]{7, 9});
        apply(hosted, placement);
        uploads.clear();
        apply(hosted, placement);
        assertThat(uploads).isEmpty();
        assertThat(frees).isEmpty();
    }

    @Test
    void anExpertOutsideTheLayerChangesNothing() {
        String[][] hosted = table();
        apply(hosted, Map.of(1, new int[]{0}));
        uploads.clear();
        assertThatThrownBy(() -> apply(hosted, Map.of(1, new int[]{1}, 2, new int[]{16})))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not 16");
        assertThat(uploads).isEmpty();
        assertThat(frees).isEmpty();
        assertThat(hosted[1][0]).isEqualTo("1:0");
    }
}
