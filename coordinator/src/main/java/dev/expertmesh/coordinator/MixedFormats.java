package dev.expertmesh.coordinator;

import dev.expertmesh.membership.RoleName;
import dev.expertmesh.proto.NodeDescriptor;
import dev.expertmesh.proto.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Warns when workers of one role store their weights differently (started with different --quantize
 * or --quantize-attention): a token's result then depends on which of them serves it. Each mix is
 * logged once, not at every change of the members.
 */
final class MixedFormats {
    private static final Logger log = LoggerFactory.getLogger(MixedFormats.class);
    private static final List<Role> WORKERS = List.of(Role.EXPERT_WORKER, Role.ATTENTION_WORKER);

    private String warned = "";

    synchronized void check(List<NodeDescriptor> members) {
        String now = mix(members).orElse("");
        if (!now.isEmpty() && !now.equals(warned)) {
            log.warn("Workers of one role store their weights differently, so results depend on which serves a token: {}; "
                    + "start them with the same --quantize and --quantize-attention", now);
        }
        warned = now;
    }

    /** For each worker role whose members announce more than one format, which node has which: empty when all agree. */
    static Optional<String> mix(List<NodeDescriptor> members) {
        String mixed = WORKERS.stream().map(role -> byFormats(members, role)).filter(groups -> groups.size() > 1)
                .map(groups -> groups.entrySet().stream().map(e -> e.getKey() + " on " + e.getValue())
                        .collect(Collectors.joining("; ")))
                .collect(Collectors.joining("; "));
        return mixed.isEmpty() ? Optional.empty() : Optional.of(mixed);
    }

    private static Map<String, List<String>> byFormats(List<NodeDescriptor> members, Role role) {
        return members.stream().filter(m -> m.getRole() == role).collect(Collectors.groupingBy(m -> formats(m, role), TreeMap::new,
                Collectors.mapping(NodeDescriptor::getNodeId, Collectors.toList())));
    }

    private static String formats(NodeDescriptor node, Role role) {
        return RoleName.of(role) + " " + (role == Role.EXPERT_WORKER
                ? "experts " + node.getExpertQuantization() + ", dense MLPs " + node.getAttentionAndDenseQuantization()
                : "attention " + node.getAttentionAndDenseQuantization());
    }
}
