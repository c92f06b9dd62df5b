"""Questions that use a glossary word in another field's sense: "早高峰那个路口天天堵，是不是瓶颈路段设计有问题",
"what is the pressure gradient force and why does it drive wind".

Many glossary names are ordinary words (bottleneck, gradient, head, temperature, 注意力, 基线). A question that names
one is judged leniently (retrieval.py: named terms need only the named floor and margin), so the word alone carried
such questions into the glossary. When the rest of the question, the glossary names cut out, holds at least
FOREIGN_MIN nouns the glossary never uses (路口, 路段; pressure, wind), the retriever embeds that rest and judges it
as a question that names nothing: out of scope unless it clears the floor and beats the background by the margin
on its own. Only such questions pay for the second encode (about 1 in 100 in-scope dev questions).

Only nouns count (jieba's part-of-speech tags for Chinese): verbs, adverbs and colloquial particles ("到底", "为啥")
say how a reader talks, not what about. English words carry no tag here, so every word that is not a stop word
counts, at two thirds of a noun ("everyone", "big" are not evidence of another field; three such words are). A word
written as a name (VGG16, MobileNetV2, Medusa) never counts: it may be a model the glossary does not list.
"""
from __future__ import annotations

import re

from glossarian.lexical import STOPWORDS, known_word, tagged_words
from glossarian.missing import GENERIC_ZH, MARKUP

FOREIGN_MIN = 2  # Chinese nouns, or three untagged English words, or a mix
# Where a reader met a term and who is asking are no field of their own: "看论文的时候经常看到消融实验，能不能通俗地解释
# 一下" and "In an interview I was asked about backbone" ask about the term (found by asking every entry inside such
# framings: without this list 243 of 248 "看论文的时候…" questions were refused).
FRAMING = frozenset(
    "通俗 简单 详细 论文 文章 博客 教程 视频 课程 课上 作业 考试 面试 项目 工作 新手 小白 同事 老板 导师 老师 同学 组会 "
    "paper papers article blog post tutorial video course class lecture homework exam interview interviewer "
    "project job work colleague coworker boss advisor supervisor teacher student beginner newbie".split())
LATIN_WEIGHT = 2 / 3
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*")
_NAMELIKE = re.compile(r"^(?:[A-Z]|.*\d|[a-z]+[A-Z])")  # Capitalised, with a digit, or camelCase
_WORDY = re.compile(r"[\w\u3400-\u9fff]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)


def foreign_nouns(rest: str, known: set[str]) -> list[str]:
    """Nouns of `rest` (a question with its glossary names cut out) that the glossary never uses."""
    out = []
    for word, flag in tagged_words(rest):
        word = word.strip()
        if (len(word) < 2 or not _WORDY.search(word) or word.lower() in STOPWORDS or word.lower() in FRAMING
                or known_word(word, known)):
            continue
        if GENERIC_ZH.search(word) and len(GENERIC_ZH.sub("", word)) < 2:
            continue  # "啥意思", "作用": what is asked, not what about
        latin = bool(_LATIN.fullmatch(word))
        if (latin and not _NAMELIKE.match(word)) or (not latin and flag.startswith("n")):
            out.append(word)
    return out


def elsewhere_rest(text: str, matcher, known: set[str]) -> str | None:
    """The question without its glossary names when that rest looks like another field's, else None."""
    rest = " ".join(_URL.sub(" ", MARKUP.sub(" ", matcher.without_names(text))).split())
    found = foreign_nouns(rest, known)
    latin = sum(1 for w in found if _LATIN.fullmatch(w))
    return rest if (len(found) - latin) + LATIN_WEIGHT * latin >= FOREIGN_MIN - 1e-9 else None
