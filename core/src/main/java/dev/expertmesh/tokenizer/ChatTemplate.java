package dev.expertmesh.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.RenderResult;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** The model's Jinja chat template (tokenizer_config.json's chat_template), rendered with Jinjava. */
public final class ChatTemplate {
    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava = new Jinjava();

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /**
     * The prompt text for a conversation; with {@code addGenerationPrompt} it ends where the
     * assistant's reply begins.
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Map<String, Object> context = Map.of(
                "messages", messages.stream().map(ChatMessage::asTemplateValue).toList(),
                "add_generation_prompt", addGenerationPrompt,
                "bos_token", bosToken,
                "eos_token", eosToken);
        RenderResult result = jinjava.renderForResult(template, context);
        if (!result.getErrors().isEmpty()) {
            throw new IllegalArgumentException("the chat template failed to render: " + result.getErrors().stream()
                    .map(e -> e.getMessage() + " (line " + e.getLineno() + ")").collect(Collectors.joining("; ")));
        }
        return result.getOutput();
    }
}
