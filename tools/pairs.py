#!/usr/bin/env python3
"""pairs.py — deterministic query/document cases for the goldens (stdlib only).

What it is
    Builds the JSONL case files that tools/make_goldens.py turns into golden/1 files:
      --set tiny   ≥ 200 real Polish query/document pairs from the gettext catalogs (tools/corpus.py):
                   48 queries (short translated messages), each with 3 documents that share a content
                   word with it and 2 random ones; the model card's example ("Jak dożyć 100 lat?" and
                   its three answers); and edge cases: empty and whitespace-only query or document,
                   emoji, mixed scripts, repeated punctuation, tabs and newlines, leading, trailing and
                   multiple spaces, special tokens written in the text with and without spaces around
                   them, Unicode normalization cases, a document and a query longer than the maximum.
      --set bert   the tiny set (unchanged, first) for BERT cross-encoders, plus: 50 real English pairs
                   (10 queries × 5 documents from the catalogs' English source strings) and 6 written
                   ones; BERT special tokens written in the text ([CLS], [SEP], [MASK], [PAD], [UNK]);
                   pairs that force tokenizers' LongestFirst truncation on each side at 512 tokens
                   (exact token counts from single-token English words — 512 kept whole, 513 cut by
                   one, odd-budget halves, the swap asymmetry, a side longer than the whole budget,
                   an empty side — and real long Polish/English text: long query + short document,
                   short query + long document, both long); ids-only cases (token types all 0).
      --set sentences  520 real English/Polish sentences + edge texts, for embedding models (issue 7)
      --set calibration  400 real English messages disjoint from --set sentences, for
                   `sito-quantize --calibrate` (issue 15; tools/calibration_golden.sh)
      --set long   for the 8194-position fixture: the model card's example, a pair of ≥ 4000 tokens
                   (Polish messages joined into one document), a pair over 8192 tokens (truncated),
                   and ids-only cases (random ids of 1, 100, 1000 and exactly 8192 tokens).
      --set rank   400 real Polish pairs for ranking metrics (quantization loss, issue 4): 40 queries,
                   each with 5 documents sharing a content word with it and 5 random ones.
    Every case has a "tag" naming it. Same machine catalogs → same output, byte for byte.

How to run
    python3 tools/pairs.py --set tiny > /tmp/tiny.jsonl
    python3 tools/pairs.py --set long > /tmp/long.jsonl
    python3 tools/pairs.py --set rank > /tmp/rank.jsonl
    python3 tools/pairs.py --set tiny --stats
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

CARD_QUERY = "Jak dożyć 100 lat?"
CARD_ANSWERS = [
    "Trzeba zdrowo się odżywiać i uprawiać sport.",
    "Trzeba pić alkohol, imprezować i jeździć szybkimi autami.",
    "Gdy trwała kampania politycy zapewniali, że rozprawią się z zakazem niedzielnego handlu.",
]

_WORD = re.compile(r"[^\W\d_]{5,}", re.UNICODE)
_PLAIN = re.compile(r"^[\w ,.;:!?()'\"„”«»—–/-]+$", re.UNICODE)


def clean_messages() -> list[str]:
    """Translated messages that read like prose: no format specifiers, no markup, one line, 2–30 words."""
    out = []
    for s in corpus.gettext_messages("pl", "msgstr"):
        s2 = s.strip()
        if s2 != s or "%" in s or "_" in s or not _PLAIN.match(s):
            continue
        n = len(s.split())
        if 2 <= n <= 30 and sum(ch.isalpha() for ch in s) >= 0.7 * len(s.replace(" ", "")):
            out.append(s)
    return out


def content_words(s: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(s)}


def real_pairs(msgs: list[str], rng: random.Random, n_queries: int = 48, n_related: int = 3,
               n_docs: int = 5, prefix: str = "real") -> list[dict]:
    index: dict[str, list[int]] = {}
    for i, s in enumerate(msgs):
        for w in content_words(s):
            index.setdefault(w, []).append(i)
    short = [i for i, s in enumerate(msgs) if 2 <= len(s.split()) <= 8]
    rng.shuffle(short)
    cases, used_queries = [], 0
    for qi in short:
        if used_queries == n_queries:
            break
        q = msgs[qi]
        related = sorted({j for w in content_words(q) for j in index.get(w, []) if j != qi
                          and len(msgs[j].split()) >= 4})
        if len(related) < n_related:
            continue
        docs = [(msgs[j], "related") for j in rng.sample(related, n_related)]
        while len(docs) < n_docs:
            j = rng.randrange(len(msgs))
            if j != qi and msgs[j] not in [d for d, _ in docs]:
                docs.append((msgs[j], "random"))
        rng.shuffle(docs)
        for d, kind in docs:
            cases.append({"tag": f"{prefix}:q{used_queries}:{kind}", "query": q, "document": d})
        used_queries += 1
    return cases


def joined(msgs: list[str], rng: random.Random, chars: int) -> str:
    """Real Polish text of about `chars` characters: random messages joined into sentences."""
    parts, n = [], 0
    while n < chars:
        s = rng.choice(msgs)
        s = s if s.endswith((".", "!", "?")) else s + "."
        parts.append(s)
        n += len(s) + 1
    return " ".join(parts)


def edge_pairs(msgs: list[str], rng: random.Random) -> list[dict]:
    q, d = CARD_QUERY, CARD_ANSWERS[0]
    e = []

    def add(tag: str, query: str, document: str) -> None:
        e.append({"tag": "edge:" + tag, "query": query, "document": document})

    add("empty-document", q, "")
    add("empty-query", "", d)
    add("empty-both", "", "")
    add("space-document", q, " ")
    add("spaces-document", q, "   ")
    add("space-query", " ", d)
    add("tab-document", q, "\t")
    add("newline-document", q, "\n")
    add("whitespace-mix-query", " \t\n ", d)
    add("whitespace-both", "  ", "\n\t")
    add("trailing-space-query", q + " ", d)
    add("leading-space-document", q, " " + d)
    add("spaces-around-separator", q + "  ", "  " + d)
    add("leading-trailing-spaces", "   " + q, d + "   ")
    add("multiple-spaces", "Jak   dożyć    100  lat?", "Trzeba  zdrowo   się    odżywiać.")
    add("tabs-newlines", q, "Pierwsza linia.\nDruga linia.\n\n\tWcięta linia z\ttabulatorem.\r\nKoniec.")
    add("trailing-newline-query", q + "\n", d + "\n")
    add("emoji-document", q, "Trzeba zdrowo się odżywiać 🥗🍎 i uprawiać sport 🏃‍♀️💪🏽!")
    add("emoji-query", "Jak dożyć 100 lat? 🤔👴🏻", d)
    add("emoji-only", "😀", "👍🏽👨‍👩‍👧‍👦🇵🇱")
    add("mixed-scripts", q, "Zdrowie — health — здоровье — 健康 — الصحة — בריאות — υγεία — स्वास्थ्य — 건강.")
    add("cjk-no-spaces", "长寿的秘诀是什么？", "多吃蔬菜，多运动，保持良好的心情。")
    add("arabic-rtl", "كيف تعيش 100 عام؟", "تناول الطعام الصحي ومارس الرياضة.")
    add("cyrillic", "Как дожить до 100 лет?", "Нужно правильно питаться и заниматься спортом.")
    add("repeated-exclamation", q, "Trzeba uprawiać sport!!!!")
    add("repeated-dots", q + "....", "Trzeba.... zdrowo.... się.... odżywiać....")
    add("repeated-question", "Jak dożyć 100 lat???", "???")
    add("punctuation-run", q, "?!?!?! ... --- *** === ((( ))) ,,,, ;;;;")
    add("ellipsis-char", q, "Trzeba… zdrowo… żyć…")
    add("special-eos-document", q, "</s>")
    add("special-bos-document", q, "<s>")
    add("special-pad-document", q, "<pad>")
    add("special-mask-document", q, "<mask>")
    add("special-unk-document", q, "<unk>")
    add("special-eos-inside", q, "Trzeba</s>zdrowo</s></s>żyć.")
    add("special-eos-spaced", q, "Trzeba </s> zdrowo </s></s> żyć.")
    add("special-bos-inside", q, "Trzeba<s>zdrowo <s> żyć.")
    add("special-mask-spaced", q, "Trzeba <mask> się odżywiać.")
    add("special-mask-glued", q, "Trzeba<mask>się odżywiać.")
    add("special-pad-spaced", q, "Trzeba <pad> <pad>zdrowo<pad> żyć.")
    add("special-eos-query-end", q + "</s>", d)
    add("special-eos-query-end-space", q + " </s> ", d)
    add("special-eos-document-start", q, "</s>" + d)
    add("special-eos-document-start-space", q, " </s> " + d)
    add("special-separator-in-document", q, "pytanie</s></s>odpowiedź")
    add("special-lookalikes", q, "<S> </S> < s > </ s> <s/> <<s>> <mask <pad>>")
    add("special-only-both", "<s>", "</s>")
    add("html-tags", q, "<b>Trzeba</b> <i>zdrowo</i> <br/> się odżywiać.")
    add("metaspace-char", q, "▁Trzeba ▁▁zdrowo▁ żyć")
    add("fullwidth-nfkc", q, "Ｔｒｚｅｂａ ｚｄｒｏｗｏ １００ ｌａｔ ﬁ ﬂ ½ ™")
    add("combining-marks", q, "Zaz\u0307o\u0301ł\u0107 ge\u0328s\u0301la\u0328 jaz\u0301n\u0301")
    add("zero-width-and-nbsp", q, "Trzeba\u200bzdrowo\u00a0się\u2003odżywiać\u200d.\ufeff")
    add("soft-hyphen-control", q, "Trze\u00adba zdro\x01wo się\x7f odżywiać.")
    add("uppercase-polish", q.upper(), d.upper())
    add("numbers-url-email", "Ile to 3,14 × 10^5?", "Zobacz https://example.pl/a?b=1&c=2#d lub napisz: jan@example.pl, tel. +48 123-456-789.")
    add("long-word", q, "x" * 300)
    add("repeated-polish-char", q, "ą" * 200)
    add("single-char", "a", "b")
    long_doc = joined(msgs, rng, 4000)
    add("document-longer-than-max", q, long_doc)
    add("query-longer-than-max", joined(msgs, rng, 3000), d)
    return e


def card_pairs() -> list[dict]:
    return [{"tag": f"card:{i}", "query": CARD_QUERY, "document": a} for i, a in enumerate(CARD_ANSWERS)]


def tiny_set() -> list[dict]:
    msgs = clean_messages()
    rng = random.Random(20261126)
    return card_pairs() + real_pairs(msgs, rng) + edge_pairs(msgs, rng)


def rank_set() -> list[dict]:
    """40 real Polish queries × 10 documents (5 sharing a content word, 5 random): 400 pairs whose
    rankings are long enough for NDCG@10; the quantization loss of formats/quantization.md is measured
    on it (issue 4)."""
    msgs = clean_messages()
    rng = random.Random(20261129)
    return real_pairs(msgs, rng, n_queries=40, n_related=5, n_docs=10, prefix="rank")


def long_set() -> list[dict]:
    msgs = clean_messages()
    rng = random.Random(20261127)
    # ~3.66 characters per token on this text with the XLM-R tokenizer.
    cases = card_pairs()
    cases.append({"tag": "long:about-5000-tokens", "query": CARD_QUERY, "document": joined(msgs, rng, 18000)})
    cases.append({"tag": "long:over-8192-tokens-truncated", "query": "Jak skonfigurować system, by działał szybko?",
                  "document": joined(msgs, rng, 36000)})
    cases.append({"tag": "long:query-2000-tokens-document-2500-tokens",
                  "query": joined(msgs, rng, 7300), "document": joined(msgs, rng, 9100)})
    ids_rng = random.Random(8192)
    for n in (1, 100, 1000, 8192):
        if n == 1:
            ids = [0]
        else:
            ids = [0] + [ids_rng.randrange(4, 250001) for _ in range(n - 2)] + [2]
        cases.append({"tag": f"ids:{n}", "input_ids": ids})
    return cases


# Words that are one WordPiece token each in the uncased BERT vocabulary (all-MiniLM-L6-v2's), so a
# text of n of them is exactly n tokens: LongestFirst cases with exact lengths, without a tokenizer here.
ONE_TOKEN_WORDS = "the cat sat on a mat and it was very happy with its new home in the city".split()


def words(n: int, shift: int = 0) -> str:
    return " ".join(ONE_TOKEN_WORDS[(i + shift) % len(ONE_TOKEN_WORDS)] for i in range(n))


def bert_set() -> list[dict]:
    """The tiny set, then English pairs, BERT specials, LongestFirst truncation cases and ids-only cases
    (see the module docstring)."""
    cases = tiny_set()
    rng = random.Random(20261130)
    en = english_messages()
    cases += real_pairs(en, rng, n_queries=10, n_related=3, n_docs=5, prefix="real-en")
    written = [
        ("How many people live in Berlin?", "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers."),
        ("How many people live in Berlin?", "New York City is famous for the Metropolitan Museum of Art."),
        ("What is the capital of France?", "Paris is the capital and most populous city of France."),
        ("What is the capital of France?", "The Eiffel Tower was built for the 1889 World's Fair."),
        ("what causes rain", "Rain forms when water vapour condenses into droplets heavy enough to fall."),
        ("what causes rain", "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG."),
    ]
    cases += [{"tag": f"en:{i}", "query": q, "document": d} for i, (q, d) in enumerate(written)]
    q = "What is the capital of France?"
    for tag, doc in [("cls-sep-inside", "Paris[SEP]is the capital [CLS] of France."),
                     ("sep-only", "[SEP]"), ("mask-spaced", "Paris is the [MASK] of France."),
                     ("pad-unk", "[PAD] Paris [UNK]is[UNK] the capital."), ("lowercase-lookalikes", "[sep] [cls] [ mask ] [MASK"),
                     ("accents", "Pàrïs ìs thé càpïtâl öf Frånce. Zażółć gęślą jaźń.")]:
        cases.append({"tag": "edge-bert:" + tag, "query": q, "document": doc})
    cases.append({"tag": "edge-bert:special-query", "query": "[CLS] [SEP]", "document": "Paris."})
    # LongestFirst with exact lengths (content tokens; +3 specials; budget 509 at max_length 512).
    for a, b in [(254, 255), (255, 255), (10, 500), (500, 10), (300, 300), (600, 260), (260, 600),
                 (400, 200), (1000, 1000), (2000, 5), (5, 2000), (700, 0), (0, 700)]:
        cases.append({"tag": f"longest-first:{a}+{b}", "query": words(a), "document": words(b, shift=7)})
    msgs = clean_messages()
    cases.append({"tag": "long:query-long-document-short", "query": joined(msgs, rng, 4000), "document": CARD_ANSWERS[0]})
    cases.append({"tag": "long:query-short-document-long", "query": CARD_QUERY, "document": joined(msgs, rng, 4000)})
    cases.append({"tag": "long:both-long", "query": joined(msgs, rng, 3000), "document": joined(msgs, rng, 5000)})
    cases.append({"tag": "long:en-both-long", "query": " ".join(rng.sample(en, 60)), "document": " ".join(rng.sample(en, 90))})
    ids_rng = random.Random(512)
    for n in (1, 2, 100, 512):
        ids = [101] if n == 1 else [101] + [ids_rng.randrange(999, 30522) for _ in range(n - 2)] + [102]
        cases.append({"tag": f"ids:{n}", "input_ids": ids})
    return cases


def roberta_set() -> list[dict]:
    """RoBERTa rerankers (issue 14; the byte-level BPE fixture, vocabulary 8000): the tiny set, English
    pairs, RoBERTa specials and GPT-2-regex edges written in the text, pairs cut at 512 tokens (query or
    document or both long), and ids-only cases up to 512 ids."""
    cases = tiny_set()
    rng = random.Random(20261203)
    en = english_messages()
    msgs = clean_messages()
    cases += real_pairs(en, rng, n_queries=10, n_related=3, n_docs=5, prefix="real-en")
    q = "Jak dożyć 100 lat?"
    for tag, doc in [("mask-spaced", "Trzeba <mask> dużo i   <mask> zdrowo."), ("mask-glued", "a<mask>b<mask>"),
                     ("eos-inside", "Tak</s></s>nie </s> może"), ("bos-pad-unk", "<s> <pad>x<unk> </s>"),
                     ("lookalikes", "<S> </ s> <mask <MASK>"), ("contractions", "I'm sure it's what they've said, DON'T you'll'd"),
                     ("whitespace-runs", "a  \t\t b\n\n\n   c    "), ("digits", "W 2023 r. 12,5% z 1 000 000 zł, ½ i ²"),
                     ("emoji-mixed", "Zdrowie 👍🏽👨‍👩‍👧 Здоровье 健康 صحة e\u0301 a\u0328")]:
        cases.append({"tag": "edge-roberta:" + tag, "query": q, "document": doc})
    cases.append({"tag": "edge-roberta:special-query", "query": "</s><mask>", "document": "Odpowiedź."})
    cases.append({"tag": "long:query-long-document-short", "query": joined(msgs, rng, 4000), "document": CARD_ANSWERS[0]})
    cases.append({"tag": "long:query-short-document-long", "query": CARD_QUERY, "document": joined(msgs, rng, 4000)})
    cases.append({"tag": "long:both-long", "query": joined(msgs, rng, 3000), "document": joined(msgs, rng, 5000)})
    cases.append({"tag": "long:en-both-long", "query": " ".join(rng.sample(en, 60)), "document": " ".join(rng.sample(en, 90))})
    cases.append({"tag": "long:about-500-tokens", "query": CARD_QUERY, "document": joined(msgs, rng, 1500)})
    ids_rng = random.Random(514)
    for n in (1, 2, 100, 512):
        ids = [0] if n == 1 else [0] + [ids_rng.randrange(4, 7999) for _ in range(n - 2)] + [2]
        cases.append({"tag": f"ids:{n}", "input_ids": ids})
    return cases


def english_messages() -> list[str]:
    """Source (English) messages that read like prose, by the same rules as clean_messages()."""
    out = []
    for s in corpus.gettext_messages("pl", "msgid"):
        s2 = s.strip()
        if s2 != s or "%" in s or "_" in s or not _PLAIN.match(s):
            continue
        n = len(s.split())
        if 3 <= n <= 30 and sum(ch.isalpha() for ch in s) >= 0.7 * len(s.replace(" ", "")):
            out.append(s)
    return out


def sentences_set() -> list[dict]:
    """Single texts for embedding models (issue 7): 260 English + 260 Polish real sentences, plus edges."""
    rng = random.Random(20261128)
    en = rng.sample(english_messages(), 260)
    pl = rng.sample(clean_messages(), 260)
    cases = [{"tag": "real:en", "text": t} for t in en] + [{"tag": "real:pl", "text": t} for t in pl]
    edges = {
        "edge:empty": "",
        "edge:spaces": "   ",
        "edge:accents": "Zażółć gęślą jaźń. Ångström, naïve café, Œuvre.",
        "edge:cjk": "日本語のテキストと中文混合 text",
        "edge:emoji": "Dobranoc 😴🌙 — see you 👋",
        "edge:specials": "[CLS] inside [SEP] text [MASK] and [UNK] [PAD]",
        "edge:punctuation": "Wait!!! What?! (yes) [no] {maybe} ... --- ;;; ''quoted''",
        "edge:controls": "tab\there\nnew line\r\u0000nul \u00adsoft hyphen \u200bzero width",
        "edge:long-word": "x" * 150 + " " + "Pneumonoultramicroscopicsilicovolcanoconiosis",
        "edge:truncated": " ".join(rng.sample(en, 40)),
    }
    cases += [{"tag": k, "text": v} for k, v in edges.items()]
    return cases


def calibration_set() -> list[dict]:
    """Calibration texts for `sito-quantize --calibrate` (issue 15): 400 real English messages that the
    sentences set (the evaluation golden) does not contain, not even inside its edge:truncated text."""
    evaluation = [c["text"] for c in sentences_set()]
    pool = [t for t in english_messages() if not any(t in e for e in evaluation)]
    rng = random.Random(20261203)
    return [{"tag": "calib:en", "text": t} for t in rng.sample(pool, 400)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write query/document cases as JSONL.")
    p.add_argument("--set", choices=["tiny", "long", "sentences", "rank", "bert", "roberta", "calibration"], required=True)
    p.add_argument("--stats", action="store_true", help="print counts per tag kind instead")
    a = p.parse_args(argv)
    cases = {"tiny": tiny_set, "long": long_set, "sentences": sentences_set, "rank": rank_set, "bert": bert_set,
             "roberta": roberta_set, "calibration": calibration_set}[a.set]()
    if a.stats:
        kinds: dict[str, int] = {}
        for c in cases:
            k = c["tag"].split(":")[0]
            kinds[k] = kinds.get(k, 0) + 1
        print(json.dumps({"cases": len(cases), "by_kind": kinds}))
        return 0
    for c in cases:
        sys.stdout.write(json.dumps(c, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
