"""Language of a question (zh or en), its Chinese script (Simplified or Traditional), and text normalisation."""
from __future__ import annotations

import re
import unicodedata

CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
EN_WORD_RE = re.compile(r"[A-Za-z]+")
# Words that carry a question's grammar; glossary terms themselves are often English in Chinese questions.
ZH_FUNCTION = re.compile(r"什么|是|吗|呢|怎么|如何|为什么|为啥|区别|和|与|的|有|啥|哪|请|一下|解释|介绍|分别|作用|意思")
EN_FUNCTION = {
    "what", "is", "are", "how", "why", "does", "do", "the", "a", "an", "of", "and", "between",
    "difference", "explain", "mean", "means", "when", "which", "can", "you", "should", "in", "to",
}


def normalize(text: str) -> str:
    """NFKC, control characters dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if (ch.isprintable() or ch in " \t\n") else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def detect_language(text: str) -> str:
    """'zh' when the question is written in Chinese (even with English terms in it), else 'en'."""
    cjk = len(CJK_RE.findall(text))
    if cjk == 0:
        return "en"
    zh_grammar = len(ZH_FUNCTION.findall(text))
    en_grammar = sum(1 for w in EN_WORD_RE.findall(text) if w.lower() in EN_FUNCTION)
    # "what is 学习率?" is English; "backbone 和 head 分别是什么" is Chinese.
    if en_grammar >= 2 and zh_grammar == 0:
        return "en"
    return "zh"


# -- Traditional Chinese (OpenCC, character-level: "t2s"/"s2t" change the script, never the wording; the
# phrase-level Taiwan/Hong Kong tables rewrite vocabulary and sometimes get it wrong, e.g. 正規化 -> 范式). --
_OPENCC: dict[str, object] = {}


def _converter(config: str):
    conv = _OPENCC.get(config)
    if conv is None:
        import opencc

        conv = _OPENCC[config] = opencc.OpenCC(f"{config}.json")
    return conv


def to_simplified(text: str) -> str:
    """The text in Simplified characters (the corpus's script); other text passes through unchanged."""
    return _converter("t2s").convert(text) if CJK_RE.search(text) else text


def to_traditional(text: str) -> str:
    """The text in Traditional characters, for answering a question asked in Traditional Chinese."""
    return _converter("s2t").convert(text) if CJK_RE.search(text) else text


def mainland_form(word: str) -> str:
    """The word as written in mainland Simplified Chinese when it is a Taiwan variant (网路 -> 网络, 例项 -> 实例);
    otherwise the word itself. Only for asking "is this a word we know?": the question itself is never rewritten
    with phrase tables, which sometimes get a term wrong (see above)."""
    return _converter("tw2sp").convert(_converter("s2t").convert(word)) if CJK_RE.search(word) else word


def is_traditional(text: str) -> bool:
    """True when the text uses more Traditional-only than Simplified-only characters (批次正規化是什麼)."""
    if not CJK_RE.search(text):
        return False
    trad_only = sum(a != b for a, b in zip(text, to_simplified(text)))
    simp_only = sum(a != b for a, b in zip(text, to_traditional(text)))
    return trad_only > simp_only
