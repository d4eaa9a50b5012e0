#!/usr/bin/env python3
"""make_bpe_tokenizer.py — trains the RoBERTa-style byte-level BPE fixture tokenizer (issue 14).

What it is
    No RoBERTa tokenizer of a Polish model can be downloaded on these machines, so the fixture is trained:
    a byte-level BPE with the `tokenizers` library on the Polish (msgstr) and English (msgid) gettext
    messages of tools/corpus.py, laid out exactly like `sdadas/polish-roberta-large-v2`'s tokenizer:
      model          BPE, no unk token, no dropout, byte-level alphabet (all 256 bytes in the vocabulary)
      pre_tokenizer  ByteLevel(add_prefix_space=False, use_regex=True)   (the GPT-2 regex)
      post_processor RobertaProcessing(("</s>", 2), ("<s>", 0))          (<s> A </s></s> B </s>)
      decoder        ByteLevel
      added tokens   <s>=0 <pad>=1 </s>=2 <unk>=3 (special, no strip) and <mask>=last (lstrip, as RoBERTa)
    Written to --out (committed as Tests/Fixtures/roberta-tokenizer/): tokenizer.json, the older pair
    vocab.json + merges.txt (tokenizers' model.save), tokenizer_config.json, special_tokens_map.json.

Deterministic: the corpus is sorted (tools/corpus.py), training runs on one thread (RAYON_NUM_THREADS=1)
and tokenizers' BPE trainer breaks count ties by pair, so the same machine gives the same files.

How to run
    .cache/venv/bin/python tools/make_bpe_tokenizer.py --out Tests/Fixtures/roberta-tokenizer [--vocab 8000]
Needs only `tokenizers` (tools/venv.sh pins it).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("RAYON_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--vocab", type=int, default=8000, help="vocabulary size, <mask> included (default 8000)")
    a = p.parse_args(argv)

    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    texts = corpus.gettext_messages("pl", "msgstr") + corpus.gettext_messages("pl", "msgid")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=a.vocab - 1, min_frequency=2, show_progress=False,
        special_tokens=[AddedToken(s, special=True, normalized=False) for s in SPECIALS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=False)
    ids = [tok.token_to_id(s) for s in SPECIALS]
    assert ids == [0, 1, 2, 3], ids
    mask = tok.token_to_id("<mask>")

    # RoBERTa's vocabulary holds <mask> too (last id), so vocab.json alone describes every id: put it
    # into the BPE model's vocabulary as well as the added tokens.
    spec = json.loads(tok.to_str())
    spec["model"]["vocab"]["<mask>"] = mask
    tok = Tokenizer.from_str(json.dumps(spec, ensure_ascii=False))
    assert tok.get_vocab_size(with_added_tokens=False) == a.vocab
    os.makedirs(a.out, exist_ok=True)
    tok.save(os.path.join(a.out, "tokenizer.json"))
    tok.model.save(a.out)  # vocab.json + merges.txt (the older RoBERTa pair)
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
               "pad_token": "<pad>", "cls_token": "<s>",
               "mask_token": {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False}}
    decoder = {}
    for t, i in [("<s>", 0), ("<pad>", 1), ("</s>", 2), ("<unk>", 3), ("<mask>", mask)]:
        decoder[str(i)] = {"content": t, "lstrip": t == "<mask>", "normalized": False, "rstrip": False,
                           "single_word": False, "special": True}
    config = {"add_prefix_space": False, "added_tokens_decoder": decoder, "bos_token": "<s>", "clean_up_tokenization_spaces": False,
              "cls_token": "<s>", "eos_token": "</s>", "errors": "replace", "mask_token": "<mask>", "model_max_length": 512,
              "pad_token": "<pad>", "sep_token": "</s>", "tokenizer_class": "RobertaTokenizer", "trim_offsets": True,
              "unk_token": "<unk>"}
    for name, obj in [("tokenizer_config.json", config), ("special_tokens_map.json", special)]:
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=2)
            f.write("\n")
    print(f"make_bpe_tokenizer: vocab {tok.get_vocab_size()} (<mask> = {mask}) from {len(texts)} messages -> {a.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
