package dev.expertmesh.client;

import dev.expertmesh.proto.GenerateRequest;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class MessagesTest {
    @Test
    void whatARequestLeavesUnsetStaysUnsetForTheCoordinatorsDefaults() {
        GenerateRequest call = Messages.generateRequest(GenerationRequest.prompt("Hi"), Optional.empty());
        assertThat(call.getPrompt()).isEqualTo("Hi");
        assertThat(call.hasMaxTokens()).isFalse();
        assertThat(call.hasTopP()).isFalse();
        assertThat(call.hasSeed()).isFalse();
        assertThat(call.hasLogprobs()).isFalse();
        assertThat(call.getModel()).isEmpty();
    }

    @Test
    void everyParameterReachesItsField() {
        GenerationRequest request = GenerationRequest.chat(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi")))
                .maxTokens(9).temperature(0.5).topP(0.9).topK(40).seed(7).stop("\n", "END").stopTokenIds(2, 3).ignoreEos(true).logprobs(0);
        GenerateRequest call = Messages.generateRequest(request, Optional.of("default-model"));
        assertThat(call.getChat().getMessagesList()).extracting(m -> m.getRole() + ":" + m.getContent())
                .containsExactly("system:Be brief.", "user:Hi");
        assertThat(call.getMaxTokens()).isEqualTo(9);
        assertThat(call.getTemperature()).isEqualTo(0.5);
        assertThat(call.getTopP()).isEqualTo(0.9);
        assertThat(call.getTopK()).isEqualTo(40);
        assertThat(call.getSeed()).isEqualTo(7);
        assertThat(call.getStopList()).containsExactly("\n", "END");
        assertThat(call.getStopTokenIdsList()).containsExactly(2, 3);
        assertThat(call.getIgnoreEos()).isTrue();
        assertThat(call.hasLogprobs()).isTrue();
        assertThat(call.getLogprobs()).isZero();
        assertThat(call.getModel()).isEqualTo("default-model");
        assertThat(Messages.generateRequest(request.model("other"), Optional.of("default-model")).getModel()).isEqualTo("other");
    }

    @Test
    void fluentMethodsReturnCopiesAndLeaveTheOriginalAlone() {
        GenerationRequest base = GenerationRequest.tokenIds(1, 2, 3);
        GenerationRequest longer = base.maxTokens(5);
        assertThat(base.maxTokens()).isEmpty();
        assertThat(longer.maxTokens()).hasValue(5);
        assertThat(Messages.generateRequest(longer, Optional.empty()).getPromptIds().getIdsList()).containsExactly(1, 2, 3);
    }
}
