package dev.expertmesh.model;

/** config.json's topk_method. */
public enum RoutingMethod {
    /** Top-k over all experts (DeepSeek-V2-Lite). */
    GREEDY("greedy"),
    /** Top-k within the topk_group groups holding the highest single score (DeepSeek-V2). */
    GROUP_LIMITED_GREEDY("group_limited_greedy"),
    /** Biased top-k within the topk_group groups with the highest sum of their two best scores (DeepSeek-V3). */
    NOAUX_TC("noaux_tc");

    private final String configName;

    RoutingMethod(String configName) {
        this.configName = configName;
    }

    static RoutingMethod fromConfig(String name) {
        for (RoutingMethod m : values()) {
            if (m.configName.equals(name)) {
                return m;
            }
        }
        throw new InvalidConfigException("topk_method '" + name + "' is not supported (expected greedy, group_limited_greedy or noaux_tc)");
    }
}
