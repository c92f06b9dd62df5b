"""BM25 lexical index over entries: jieba for Chinese, lower-cased words for English (bm25s)."""
from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import numpy as np

from glossarian.lang import normalize

TOKEN_OK = re.compile(r"[\w\u3400-\u9fff]", re.U)
STOPWORDS = {
    # English
    "a", "an", "the", "is", "are", "was", "what", "whats", "how", "why", "does", "do", "of", "in", "on",
    "to", "and", "or", "for", "it", "its", "this", "that", "with", "as", "by", "be", "can", "i", "me",
    "you", "we", "my", "your", "about", "explain", "mean", "means", "tell", "please", "vs",
    # Chinese
    "的", "是", "什么", "吗", "呢", "了", "和", "与", "在", "有", "一个", "这个", "那个", "怎么", "如何",
    "为什么", "啥", "请问", "一下", "我", "你", "它", "中", "及", "或", "就", "都", "也", "还", "吧",
    "叫", "做", "用", "把", "被", "到", "对", "说", "讲", "解释", "意思",
}
_JIEBA_LOCK = threading.Lock()
_jieba = None


def _get_jieba():
    global _jieba
    with _JIEBA_LOCK:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(60)
            logging.getLogger("jieba").setLevel(logging.ERROR)
            jieba.initialize()
            _jieba = jieba
    return _jieba


def tokenize(text: str) -> list[str]:
    """Search-style tokens: jieba splits Chinese into words and sub-words; English is lower-cased."""
    jieba = _get_jieba()
    out = []
    for tok in jieba.cut_for_search(normalize(text).lower()):
        tok = tok.strip()
        if tok and tok not in STOPWORDS and TOKEN_OK.search(tok):
            out.append(tok)
    return out


def known_word(word: str, known: set[str]) -> bool:
    """`word` or its mainland form (a Taiwan variant: 网路, 例项, 全连线) is among `known` (the index's tokens)."""
    from glossarian.lang import mainland_form

    w = word.lower()
    if w in known:
        return True
    mainland = mainland_form(w)
    return mainland != w and (mainland in known or all(t in known for t in tokenize(mainland)))


def tagged_words(text: str) -> list[tuple[str, str]]:
    """(word, part-of-speech tag) of each word of `text` (jieba.posseg; Latin words are tagged "eng")."""
    _get_jieba()  # initialised once, quietly
    import jieba.posseg as pseg

    return [(pair.word, pair.flag) for pair in pseg.cut(text)]


def content_words(text: str) -> set[str]:
    """The distinct words of `text` (jieba's precise mode for Chinese), stop words and punctuation aside."""
    jieba = _get_jieba()
    words = (t.strip().lower() for t in jieba.cut(normalize(text)))
    return {w for w in words if w and w not in STOPWORDS and TOKEN_OK.search(w)}


class LexicalIndex:
    """A thin wrapper: index token lists, score a query against every document, save, load."""

    def __init__(self, bm25=None):
        self.bm25 = bm25

    @classmethod
    def build(cls, texts: list[str], tokenize=tokenize) -> "LexicalIndex":
        """tokenize: text -> tokens; the bench passes a cached one that gives the same tokens faster."""
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index([tokenize(t) or [""] for t in texts], show_progress=False)
        return cls(bm25)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (0 where no query token occurs)."""
        vocab = self.bm25.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return np.zeros(self.bm25.scores["num_docs"], dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)

    def vocabulary(self) -> list[str]:
        return [t for t in self.bm25.vocab_dict if isinstance(t, str) and t]

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        return cls(bm25s.BM25.load(str(folder)))
