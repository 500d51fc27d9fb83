package dev.expertmesh.coordinator;

import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MixedFormatsTest {

    private static NodeDescriptor node(String id, Role role, String experts, String attentionAndDense) {
        return NodeDescriptor.newBuilder().setNodeId(id).setRole(role).setExpertQuantization(experts)
                .setAttentionAndDenseQuantization(attentionAndDense).build();
    }

    @Test
    void workersThatAgreeAreNoMixWhateverOtherRolesAnnounce() {
        assertThat(MixedFormats.mix(List.of(node("c", Role.COORDINATOR, "", ""), node("a", Role.EXPERT_WORKER, "int8", "none"),
                node("b", Role.EXPERT_WORKER, "int8", "none"), node("x", Role.ATTENTION_WORKER, "", "none")))).isEmpty();
    }

    @Test
    void expertWorkersWithDifferentFormatsAreNamedWithTheirNodes() {
        assertThat(MixedFormats.mix(List.of(node("a", Role.EXPERT_WORKER, "int8", "none"), node("b", Role.EXPERT_WORKER, "none", "none"),
                node("c", Role.EXPERT_WORKER, "int8", "none"))))
                .contains("expert-worker experts int8, dense MLPs none on [a, c]; expert-worker experts none, dense MLPs none on [b]");
    }

    @Test
    void attentionWorkersDifferingInAttentionOnlyAreAMixToo() {
        assertThat(MixedFormats.mix(List.of(node("x", Role.ATTENTION_WORKER, "", "int8"), node("y", Role.ATTENTION_WORKER, "", "none"))))
                .contains("attention-worker attention int8 on [x]; attention-worker attention none on [y]");
    }
}
