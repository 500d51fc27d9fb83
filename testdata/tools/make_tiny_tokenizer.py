"""Derives a small byte-level BPE tokenizer from the DeepSeek-V3 one, for the tiny fixture models
(vocab_size 1024): the same pre-tokenizer, decoder and chat template, bos and eos at ids 0 and 1 as
the tiny configs say, the chat's role markers, the 256 byte symbols, then DeepSeek-V3's merges in
rank order while the vocabulary has room. Every id is below VOCAB_SIZE. Standard library only.
Usage: python3 make_tiny_tokenizer.py SOURCE_DIR OUT_DIR [VOCAB_SIZE]
(SOURCE_DIR: core/src/main/resources/dev/expertmesh/demo; OUT_DIR: testdata/tokenizers/tiny)"""
import json, os, sys

src, out = sys.argv[1], sys.argv[2]
vocab_size = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
SPECIALS = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"]


def byte_symbols():
    """GPT-2's printable stand-ins for the 256 bytes, as byte-level BPE spells them."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    symbols, extra = {}, 0
    for b in range(256):
        if b in printable:
            symbols[b] = chr(b)
        else:
            symbols[b] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


source = json.load(open(os.path.join(src, "tokenizer.json"), encoding="utf-8"))
source_config = json.load(open(os.path.join(src, "tokenizer_config.json"), encoding="utf-8"))
added = {t["content"]: t for t in source["added_tokens"]}
vocab = {}
for s in SPECIALS:
    vocab[s] = len(vocab)
for symbol in byte_symbols():
    vocab[symbol] = len(vocab)
merges = []
for merge in source["model"]["merges"]:
    if len(vocab) >= vocab_size:
        break
    left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
    if left in vocab and right in vocab and left + right not in vocab:
        vocab[left + right] = len(vocab)
        merges.append(left + " " + right)

tokenizer = dict(source)
tokenizer["added_tokens"] = [dict(added[s], id=vocab[s]) for s in SPECIALS]
tokenizer["model"] = dict(source["model"], vocab=vocab, merges=merges)
config = {
    "add_bos_token": False, "add_eos_token": False,
    "bos_token": SPECIALS[0], "eos_token": SPECIALS[1], "pad_token": SPECIALS[1],
    "model_max_length": 256, "tokenizer_class": "PreTrainedTokenizerFast",
    "chat_template": source_config["chat_template"],
}
os.makedirs(out, exist_ok=True)
json.dump(tokenizer, open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
json.dump(config, open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print("vocabulary", len(vocab), "merges", len(merges), "largest id", max(vocab.values()))
