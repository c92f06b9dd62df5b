"""Missing terms: the question is about a specific term that no entry or alias covers ("What is FlashAttention?").

Embeddings rank entries; this decides whether the term the question is about is one of them, and retrieval
abstains when it is not (Retriever.features). A term counts as named when it is the subject of a definition
question ("什么是 X", "X 是什么", "what is X", "explain X"), is quoted, or is an acronym / CamelCase / hyphenated /
capitalised name inside a longer subject. It is covered when every part of it is a glossary name or alias (typos
included, as the name matcher reads them: "droput" is Dropout) or a generic word ("model", "方法");
a word the corpus never uses ("Glorp") or a name matching nothing makes it missing. Any other question that names
no glossary entry but mentions a name the corpus never uses ("Mamba 的选择性扫描怎么实现") is about a missing term too
(`mentioned_term`).
"""
from __future__ import annotations

import functools
import re

from glossarian.lang import mainland_form, normalize, to_simplified
from glossarian.lexical import STOPWORDS, known_word, tagged_words

# The subject of a definition question. Chinese trailing particles and punctuation are dropped.
_END = r"\s*[?？。.!！~～]*\s*$"
# How a question may open before its subject: asking politely ("请问", "想问一下"), or going on ("那").
_ASK = r"^(?:请问一下|请问|请教一下|请教|想问一下|想问下|想问|问一下|那么|那)?[，,\s]*"
SUBJECT_PATTERNS = [re.compile(p, re.I) for p in (
    _ASK + r"(?:请)?\s*(?:什么是|啥是|何为|何谓|什么叫)\s*(?P<s>.+?)" + r"\s*[呢啊呀]?" + _END,
    _ASK + r"(?P<s>.+?)\s*(?:是什么(?:东西|意思)?|是啥(?:东西|意思)?|指的是什么|是干什么的|是干嘛的|是个啥|是哪个)\s*[呢啊呀]?" + _END,
    _ASK + r"(?:请)?(?:解释一下|介绍一下|讲讲|说说|解释|介绍)\s*(?P<s>.+?)" + _END,
    r"^(?:so\s+|and\s+)?(?:what|who)(?:'s|\s+is|\s+are)\s+(?:an?\s+|the\s+)?(?P<s>.+?)" + _END,
    r"^(?:please\s+)?(?:explain|define|describe)\s+(?:what\s+)?(?:an?\s+|the\s+)?(?P<s>.+?)(?:\s+is)?" + _END,
    r"^what does\s+(?P<s>.+?)\s+(?:mean|stand for)" + _END,
    r"^(?:have you heard of|do you know|tell me about)\s+(?:an?\s+|the\s+)?(?P<s>.+?)" + _END,
)]
QUOTED = re.compile(r'"([^"]{2,40})"|“([^”]{2,40})”|‘([^’]{2,40})’|「([^」]{2,40})」|『([^』]{2,40})』'
                    r"|(?<![A-Za-z])'([^']{2,40})'(?![A-Za-z])")
# Names that look like a specific term wherever they stand in a longer subject.
SPECIFIC = re.compile(
    r"\b[A-Z][A-Z0-9]{1,7}s?\b"                      # acronyms: PPO, DDIM, VGG16
    r"|\b[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*\b"          # CamelCase: FlashAttention, ResNeXt, SwiGLU
    r"|\b[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+\b"   # hyphenated: Gumbel-Softmax, VQ-VAE
)
# "X in Y", "X for Y": the subject is X; Y is context ("top-5 accuracy on ImageNet", "HEAD in git").
CONTEXT = re.compile(r"\s+(?:in|on|for|of|with|under|at|from|inside|within|used|when|as|like|between|against)\s+(?P<rest>.*)$", re.I)
# Words that describe what kind of thing a term is, not which one.
GENERIC_EN = STOPWORDS | {
    "model", "models", "method", "methods", "layer", "layers", "network", "networks", "technique", "trick",
    "algorithm", "approach", "mechanism", "function", "term", "concept", "thing", "idea", "deep", "learning",
    "ml", "dl", "ai", "used", "exactly", "really", "actually", "then", "again", "like", "these", "those",
    # what is asked about a term, not a term: "typical values for X", "the point of X"
    "typical", "value", "values", "difference", "point", "purpose", "use", "meaning", "definition", "example",
    "examples", "formula", "intuition", "advantage", "advantages", "benefit", "benefits", "role", "output",
    "shape", "range", "default", "good", "best", "main", "usual", "common",
    "disadvantage", "disadvantages", "drawback", "drawbacks", "downside", "downsides", "limitation",
    "limitations", "tradeoff", "tradeoffs", "trade", "offs", "pros", "cons", "pitfalls", "caveats",
}
GENERIC_ZH = re.compile(r"的|里|中|这个|那个|这种|那种|一种|一个|什么|模型|方法|算法|技术|机制|概念|网络|结构|东西|意思"
                        r"|定义|作用|用途|原理|到底|究竟|具体|深度学习|机器学习")
CJK = re.compile(r"[\u3400-\u9fff]")
# HTML tags pasted into a question are markup, not prose: an attribute value in quotes (onerror="...") names no term.
MARKUP = re.compile(r"</?[A-Za-z][^<>]*>")
SENTENCE = re.compile(r"[^?？!！。]+[?？!！。]*")
SUBJECT_MAX_WORDS = 4    # longer subjects describe a term rather than name it ("the trick where ...")
SUBJECT_MAX_CJK = 8
NEAR_TYPOS = 2           # edits within which a subject is a retrieved name typed wrongly; the name
                         # matcher's own allowance for names of ten letters or more (names.py)


def subjects(question: str, names=None) -> list[tuple[str, bool]]:
    """(phrase, quoted) for each phrase the question asks about by name, quoted ones first (may be empty).
    names: a lookup (NameMatcher.exactly); a subject that is a glossary name as a whole is not cut into term and
    context ("Mixture of Experts" is one term, not Mixture in the context of experts)."""
    text = MARKUP.sub(" ", normalize(question))
    found = [(next(g for g in m.groups() if g).strip(), True) for m in QUOTED.finditer(text)]
    # The first sentence that asks about something by name: "What is X? I saw it in a paper" asks about X.
    match = next((m for sentence in SENTENCE.findall(text) for pattern in SUBJECT_PATTERNS
                  if (m := pattern.match(sentence.strip()))), None)
    if match:
        phrase = match.group("s").strip(" ,，:：'\"“”‘’「」")
        found.append((phrase if names is not None and names(phrase) else _head(phrase), False))
    else:
        bare = text.strip(" ?？!！.。")
        if len(bare.split()) <= 2 and SPECIFIC.fullmatch(bare):  # a bare "SwiGLU?" is a subject on its own
            found.append((bare, False))
    return [(p, q) for p, q in dict.fromkeys(found) if p]


def _generic(text: str) -> bool:
    words = re.findall(r"[A-Za-z]+", text)
    return all(w.lower() in GENERIC_EN for w in words) and not GENERIC_ZH.sub("", "".join(CJK.findall(text)))


# Chinese puts context before the term: "Y 的 X", "Y 里那个 X" (the last such joint).
_LAST_CJK_CONTEXT = re.compile(r"(?:的|(?:里面|当中|里)(?:的|那个|这个|那些|这些)?)(?!.*(?:的|里))")


def _head(phrase: str) -> str:
    """The term a phrase is about. English puts context after it ("X in Y"), Chinese before it ("Y 里的 X");
    when that head only says what is asked ("typical values for X", "X 的原理"), the other part is the term."""
    if CJK.search(phrase) and (m := _LAST_CJK_CONTEXT.search(phrase)):
        before, head = phrase[: m.start()].strip(), phrase[m.end():].strip()
        return before if _generic(head) and before else head or phrase
    m = CONTEXT.search(phrase)
    if not m:
        return phrase
    head = phrase[: m.start()].strip()
    return _head(m.group("rest")) if _generic(head) else head or phrase


def _termlike(phrase: str) -> bool:
    words = re.findall(r"[A-Za-z0-9][\w.+-]*", phrase)
    cjk = len(CJK.findall(phrase))
    return 0 < len(words) + cjk and len(words) <= SUBJECT_MAX_WORDS and cjk <= SUBJECT_MAX_CJK


@functools.lru_cache(maxsize=8192)
def _name_pattern(name: str) -> re.Pattern:
    """Compiled once per name: a corpus has more names than `re`'s own cache holds (512), which then compiled
    every name's pattern again for every question (measured: ~7% of the server's Python time under load)."""
    parts = [re.escape(p) for p in re.split(r"[\s\-_·]+", name.strip()) if p]
    body = r"[\s\-_·]*".join(parts)
    edge = r"(?<![A-Za-z0-9])" if name[:1].isascii() else ""
    tail = r"(?![A-Za-z0-9])" if name[-1:].isascii() else ""
    return re.compile(edge + body + tail, re.I)


def _residue(phrase: str, matcher, entries) -> tuple[bool, str]:
    """(whether any glossary name occurs in the phrase, the text left once the names are cut out)."""
    text = normalize(phrase)
    spans = matcher.fuzzy_spans(text)
    for start, end, _, _ in reversed(spans):
        text = text[:start] + " " + text[end:]
    ids = matcher.find(text)
    names = sorted({n for i in ids for n in entries[i].names if n}, key=len, reverse=True)
    for name in names:
        text = _name_pattern(name).sub(" ", text)
    return bool(spans or ids), text


def _unknown_words(text: str, known: set[str], min_cjk: int = 2) -> list[str]:
    """Words of `text` that make it a different term: not generic, and (for English) not ordinary corpus
    words unless they are acronyms or CamelCase; a Chinese run of `min_cjk` characters or more counts when none
    of its words is known."""
    from glossarian.lexical import tokenize

    out = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text)
           if w.lower() not in GENERIC_EN and (w.lower() not in known or SPECIFIC.fullmatch(w))]
    for run in re.findall(r"[\u3400-\u9fff]+", GENERIC_ZH.sub(" ", text)):
        words = [t for t in tokenize(run) if CJK.search(t)]
        if len(run) >= min_cjk and words and not any(t in known for t in words):
            out.append(run)
    return out


def _near(phrase: str, near_names: list[str]) -> bool:
    """A several-word or Chinese subject within a typo or two of a retrieved name ("gradient desent":
    "gradient" is a name of its own, so the name matcher never looked for a typo). One English word is
    left to the name matcher: ResNeXt is not ResNet."""
    from rapidfuzz.distance import OSA

    key = normalize(phrase).lower()
    if " " not in key and len(CJK.findall(key)) < 4:
        return False
    allowed = NEAR_TYPOS if len(key) >= 10 else 1
    return any(OSA.distance(key, n.lower(), score_cutoff=allowed) <= allowed for n in near_names)


def _covered(phrase: str, matcher, entries, near_names: list[str], strict: bool) -> bool:
    """`strict`: the phrase names a term as a whole, so an unmatched phrase is missing; otherwise (a quoted
    aside, a long description) only its acronyms, CamelCase names and unknown words can be missing."""
    if _near(phrase, near_names):
        return True
    matched, rest = _residue(phrase, matcher, entries)
    if not matched and strict:
        if SPECIFIC.search(rest) or re.search(r"\b[A-Z][a-z]", rest):
            return False  # a name written as one: "Mish", "Hopfield network", "EfficientNet"
        content = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", rest) if w.lower() not in GENERIC_EN]
        if len(content) == 1 and not CJK.search(rest):
            return True  # one ordinary lowercase word ("weather") is a topic, not a term the glossary lacks
    if strict and _proper_leftover(rest, matcher):
        return False  # "Swin Transformer": a glossary name plus a proper name that no glossary name uses
    # Two unknown characters beside a glossary name modify it ("下游涨点": the gain on downstream tasks).
    return not _unknown_words(rest, matcher.known_words, min_cjk=3 if matched else 2)


def _proper_leftover(rest: str, matcher) -> bool:
    """A capitalised word left beside a glossary name that is neither generic nor part of any glossary name: the
    whole phrase is another term's name, even when the corpus mentions that word in passing."""
    return any(w.lower() not in GENERIC_EN and w.lower() not in matcher.name_words
               for w in re.findall(r"\b[A-Z][a-z]+\b", rest))


def missing_term(question: str, matcher, entries, near=()) -> str | None:
    """The specific term the question names that the glossary does not cover, or None.

    `matcher` is the retriever's NameMatcher, `entries` the index's entry list (matcher positions refer
    to it), `near` the retrieved hits or their entries (a subject within a typo of one of their names is covered).
    """
    near_names = [n for h in near for n in getattr(h, "entry", h).names]
    for phrase, quoted in subjects(question, matcher.exactly):
        phrase = re.sub(r"^(?:an?|the)\s+", "", phrase.strip(), flags=re.I)
        if _termlike(phrase) and not quoted:
            candidates = [(phrase, True)]
        elif not quoted and _residue(phrase, matcher, entries)[0]:
            # A long description built on a glossary term ("LLaMA 的 FFN 里带门控的那种结构"): the question describes
            # what it wants, and the names around that term are where it was seen, not what it asks about.
            continue
        else:
            candidates = [(phrase, False)] + [(m.group(), True) for m in SPECIFIC.finditer(phrase)]
        for candidate, strict in candidates:
            if candidate and not _covered(candidate, matcher, entries, near_names, strict):
                return candidate
    return None


# A name written as one, anywhere in a question: a Latin word with its hyphen/dot parts ("Llama-3", "Qwen2.5").
_TOKEN = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
_VERSION = re.compile(r"[-\s]?v?\d+(?:\.\d+)*[a-zA-Z]?$")       # "YOLOv8" is YOLO, "Llama-3" is Llama
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)$")
TYPO_EDITS = (1, 2)  # edits within which a lowercase word is a known word typed wrongly (short, >= 8 letters)


def _mentions(text: str) -> list[re.Match]:
    """Words that look like names: in Chinese text every Latin word; in English ones with a capital past the first
    letter or a digit (SimCLR, S4, GPT-4o), or capitalised where no sentence starts."""
    chinese = bool(CJK.search(text))
    out = []
    for m in _TOKEN.finditer(text):
        word = m.group()
        if (chinese or any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word)
                or (word[0].isupper() and not _SENTENCE_START.search(text[: m.start()]))):
            out.append(m)
    return out


def _typo_of_known(word: str, matcher) -> bool:
    """A lowercase word within a typo or two of a corpus word ("tempreture"), or two corpus words run together
    ("avgpool"): a misspelling or an identifier, not another term's name."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    known = matcher.known_words
    if any(word[:i] in known and word[i:] in known for i in range(2, len(word) - 1)):
        return True
    allowed = TYPO_EDITS[1] if len(word) >= 8 else TYPO_EDITS[0]
    return process.extractOne(word, matcher.latin_known_words, scorer=OSA.distance, score_cutoff=allowed) is not None


def _unheard_of(word: str, matcher) -> bool:
    """Not a glossary name (version suffix aside: "YOLOv8" is YOLO, "GPT-4o" is GPT) nor one typed wrongly, and some
    part of it the glossary never uses anywhere: "StyleGAN", "HiFi-GAN", "Qwen2.5" name other models."""
    if word.lower() in GENERIC_EN:
        return False
    base = _VERSION.sub("", word) or word
    if any(matcher.exactly(form) or matcher.fuzzy(form) for form in {word, base}):
        return False
    plain = word.isalpha() and word.islower()
    for part in (p.lower() for p in re.findall(r"[A-Za-z]+", base) if len(p) >= 2):
        if part not in matcher.known_words and part not in GENERIC_EN and not (plain and _typo_of_known(part, matcher)):
            return True
    return False


# Chinese names of methods end in a word that says what kind of thing they are: 胶囊网络, 课程学习, 牛顿法, 辐射场.
TERM_HEADS = frozenset(
    "网络 学习 算法 模型 机制 采样 搜索 归一化 注意力 卷积 编码 编码器 解码 解码器 蒸馏 损失 回放 场 流 法 攻击 现象 "
    "正则化 优化 优化器 池化 聚类 回归 分类器 嵌入 匹配 剪枝 量化 微调 增强 函数 变换 架构 结构 方法 策略 框架 层 单元 "
    "门控 训练 推理 生成 检测 分割 表示 估计 距离 系数 定理 假设 过程".split())
_CJK_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")
# Words of asking, never part of a name ("请问层归一化是什么意思" asks about 层归一化, not about "请问层").
NOT_A_NAME = STOPWORDS | {"请教", "想问", "求问", "问问", "求助", "想知道", "了解"}
_DONE_VERB = re.compile(r"[\u4e00-\u9fff][到过完]")  # 问到, 看到, 用过, 学完: a verb and its result, never a name's word


def _cjk_mentions(text: str, matcher) -> list[str]:
    """Chinese names the glossary has never heard of, a kind-of-thing word after
    - one or two words it never uses ("胶囊" + "网络", "匈牙利" + "匹配"), the whole not a glossary name nor one typed
      wrongly;
    - or a noun it does use, when the glossary never writes the two together and no glossary name is part of them
      ("课程" + "学习", "经验" + "回放"; not "编码器-解码器结构", which names encoder-decoder).
    """
    if not CJK.search(text):
        return []
    simplified = normalize(to_simplified(text))  # as spans_of reads it, so offsets agree
    words = tagged_words(simplified)
    spans = None
    out, at = [], 0
    for i, (word, _) in enumerate(words):
        start, at = at, at + len(word)  # jieba's words tile the text
        if word not in TERM_HEADS:
            continue
        modifiers: list[str] = []
        for prev, flag in reversed(words[max(0, i - 2):i]):
            if not (_CJK_WORD.fullmatch(prev) and prev not in NOT_A_NAME and not _DONE_VERB.fullmatch(prev)
                    and not known_word(prev, matcher.known_words) and flag[:1] in "nvaj"):
                break
            modifiers.insert(0, prev)
        name = "".join(modifiers) + word
        known = any(matcher.exactly(n) or matcher.fuzzy(n) for n in {name, mainland_form(name)})
        # A glossary name inside it longer than the head ("时束搜索": 束搜索 split wrongly) means a known term.
        if modifiers and not known and all(b - a <= len(word) for a, b in matcher.spans_of(name)):
            out.append(name)
            continue
        if modifiers or i == 0:
            continue
        prev, flag = words[i - 1]
        if not _CJK_WORD.fullmatch(prev) or prev in NOT_A_NAME or flag[:1] not in "nj":
            continue
        if spans is None:
            spans = matcher.spans_of(simplified)
        if any(a < start + len(word) and b > start - len(prev) for a, b in spans):
            continue  # a glossary name is part of it (the head itself, or 解码器 in 解码器结构)
        forms = {prev + word, mainland_form(prev + word)}
        if not any(matcher.fuzzy(f) or matcher.writes(f) for f in forms):
            out.append(prev + word)
    return out


def mentioned_term(question: str, matcher) -> str | None:
    """A name the question mentions that the glossary has never heard of, when the question names no glossary
    entry apart from it: "Mamba 的选择性扫描怎么实现", "StyleGAN 的 mapping network 有什么用" (GAN inside StyleGAN is
    not the question naming GAN). A question that names an entry beside it ("YOLOv8 的 neck", "SimCLR 和 contrastive
    learning") is about that entry; a name the corpus uses somewhere (a dataset in an example) is context the
    glossary knows."""
    text = MARKUP.sub(" ", normalize(question))
    # A word of a glossary name is not a name of its own ("Mixture" in "What does Mixture of Experts mean?").
    spans = matcher.spans_of(text)
    unheard = [m.group() for m in _mentions(text)
               if not any(a <= m.start() and m.end() <= b for a, b in spans) and _unheard_of(m.group(), matcher)]
    rest = text
    for word in unheard:
        rest = re.sub(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])", " ", rest)
    chinese = _cjk_mentions(rest, matcher)
    rest = to_simplified(rest) if chinese else rest
    for word in chinese:
        rest = rest.replace(word, " ")
    unheard += chinese
    if not unheard:
        return None
    return None if matcher.find(rest) or matcher.fuzzy(rest) else unheard[0]


def _words(text: str) -> set[str]:
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)  # FlashAttention -> Flash Attention
    words = {w for w in re.findall(r"[a-z0-9]{3,}", text.lower()) if w not in GENERIC_EN}
    for run in re.findall(r"[\u3400-\u9fff]+", GENERIC_ZH.sub(" ", text)):
        words |= {run[i:i + 2] for i in range(len(run) - 1)}
    return words


def plausible_neighbours(term: str, retrieval, limit: int = 3) -> list:
    """Entries worth offering as "closest entries" for a missing term: among what retrieval answered with (or,
    when it abstained, its nearest entries), those sharing a word with the term's name or mentioning it. The
    nearest vectors alone are not enough: "B-tree index" is close to IoU."""
    wanted = _words(term)
    out = []
    for hit in retrieval.nearest if retrieval.abstained else retrieval.hits:
        e = hit.entry
        text = f"{e.zh}\n{e.en}".lower()
        if wanted & _words(" ".join(e.names)) or term.lower() in text:
            out.append(hit)
    return out[:limit]
