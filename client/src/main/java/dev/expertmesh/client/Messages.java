package dev.expertmesh.client;

import dev.expertmesh.proto.ChatMessages;
import dev.expertmesh.proto.GenerateRequest;
import dev.expertmesh.proto.GenerateResponse;
import dev.expertmesh.proto.ModelCard;
import dev.expertmesh.proto.TokenizeRequest;

import java.util.List;
import java.util.Optional;

/** The SDK's records to and from the proto's messages. */
final class Messages {
    private Messages() {
    }

    static GenerateRequest generateRequest(GenerationRequest r, Optional<String> defaultModel) {
        GenerateRequest.Builder call = GenerateRequest.newBuilder()
                .setTemperature(r.temperature())
                .setTopK(r.topK())
                .addAllStop(r.stop())
                .addAllStopTokenIds(r.stopTokenIds())
                .setIgnoreEos(r.ignoreEos());
        switch (r.prompt()) {
            case Prompt.Text t -> call.setPrompt(t.text());
            case Prompt.Chat c -> call.setChat(chat(c.messages()));
            case Prompt.TokenIds ids -> call.setPromptIds(dev.expertmesh.proto.TokenIds.newBuilder().addAllIds(ids.ids()));
        }
        r.model().or(() -> defaultModel).ifPresent(call::setModel);
        r.maxTokens().ifPresent(call::setMaxTokens);
        r.topP().ifPresent(call::setTopP);
        r.seed().ifPresent(call::setSeed);
        r.logprobs().ifPresent(call::setLogprobs);
        return call.build();
    }

    static TokenizeRequest tokenizeRequest(Prompt prompt, Optional<String> model) {
        TokenizeRequest.Builder call = TokenizeRequest.newBuilder();
        switch (prompt) {
            case Prompt.Text t -> call.setPrompt(t.text());
            case Prompt.Chat c -> call.setChat(chat(c.messages()));
            case Prompt.TokenIds ids -> throw new IllegalArgumentException("token ids need no tokenizing");
        }
        model.ifPresent(call::setModel);
        return call.build();
    }

    private static ChatMessages chat(List<ChatMessage> messages) {
        return ChatMessages.newBuilder().addAllMessages(messages.stream()
                .map(m -> dev.expertmesh.proto.ChatMessage.newBuilder().setRole(m.role()).setContent(m.content()).build())
                .toList()).build();
    }

    /** The tokens of a response; empty when it carries only the finish. */
    static Optional<GenerationDelta> delta(GenerateResponse response) {
        if (response.getTokenIdsCount() == 0 && response.getText().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new GenerationDelta(response.getText(), response.getTokenIdsList(),
                response.getLogprobsList().stream().map(Messages::logprob).toList()));
    }

    private static TokenLogprob logprob(dev.expertmesh.proto.TokenLogprob lp) {
        return new TokenLogprob(lp.getTokenId(), lp.getLogprob(),
                lp.getTopList().stream().map(t -> new TokenLogprob.Alternative(t.getTokenId(), t.getLogprob())).toList());
    }

    static Finish finish(dev.expertmesh.proto.Finish f) {
        FinishReason reason = switch (f.getReason()) {
            case FINISH_REASON_STOP -> FinishReason.STOP;
            case FINISH_REASON_LENGTH -> FinishReason.LENGTH;
            case FINISH_REASON_UNSPECIFIED, UNRECOGNIZED -> throw new IllegalStateException("a finish without a reason: " + f);
        };
        return new Finish(reason, new Usage(f.getUsage().getPromptTokens(), f.getUsage().getCompletionTokens()),
                f.getStop().isEmpty() ? Optional.empty() : Optional.of(f.getStop()));
    }

    static ModelInfo model(ModelCard card) {
        return new ModelInfo(card.getId(), card.getModelType(), card.getMaxModelLen(), card.getVocabSize());
    }
}
