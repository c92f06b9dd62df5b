"""What a question asks, in Chinese or English: define, why, how, example, values, when, compare, name, limit, compute.

Deterministic patterns, checked in a fixed order (the first that matches wins), so a question like
"BatchNorm vs LayerNorm, when should I use which?" is a comparison and "设成 0.9 会怎样" a limit case.
A question may carry an intent without a subject ("举个例子", "why does it work?"); the conversation
module supplies the subject from earlier turns.
"""
from __future__ import annotations

import re

INTENTS = ("compute", "name", "compare", "limit", "values", "when", "example", "why", "how", "define")
# The corpus facet each intent reads first (corpus.FACETS); define, name and compute read the definition.
FACET_OF = {"why": "why", "how": "how", "example": "example", "values": "values", "when": "when",
            "compare": "compare"}
# How the answer names what was asked, e.g. "术语表里关于 X 的常用取值没有更多内容".
LABEL = {
    "zh": {"define": "定义", "why": "原因", "how": "原理", "example": "例子", "values": "常用取值",
           "when": "适用场景", "compare": "区别", "name": "名称", "limit": "极端取值时的表现", "compute": "计算"},
    "en": {"define": "a definition", "why": "why it is used", "how": "how it works", "example": "examples",
           "values": "typical values", "when": "when to use it", "compare": "comparisons",
           "name": "the name", "limit": "very large or small settings", "compute": "a computation"},
}

PATTERNS = {
    # A computation asks for numbers: explicit verbs, or concrete inputs (shapes, lists, "T=5").
    "compute": r"算一下|算算|帮我算|计算一下|计算下|求一下|等于多少|是多少|输出(?:的)?形状|参数量|多少个?参数|变成什么形状"
               r"|\bcompute\b|\bcalculate\b|\bcalc\b|output shape|what shape|how many param|\d+\s*[x×]\s*\d+(?![\d.])(?!\s*-?\s*(?:conv|卷积|kernel|核|filter|滤波))"
               r"|\[\s*-?\d|(?:^|[\s,，(（])(?:t|τ|temperature|温度|lr|步|step)\s*[=＝]\s*-?\d",
    "name": r"叫什么|叫啥|怎么称呼|称为什么|有(?:什么|没有)?名字|叫做什么|什么术语|学名|统称"
            r"|what(?:'s| is| do you| do people| does one)? (?:it |that |this )?call|what (?:is|'s) (?:the )?(?:name|term)"
            r"|\bname for\b|\bterm for\b|is there a (?:name|term)|\bcalled\??$"
            r"|哪一?(?:个|种|块)?(?:部分|模块|层|步|结构|组件)|哪一块|\bwhich (?:part|layer|component|module|step|block)\b",
    "compare": r"区别|不同|差别|差异|对比|比较|异同|关系|哪个好|哪个更|\bvs\.?\b|versus|\bdiffer|difference|compare"
               r"|comparison|contrast|distinguish|\brelat(?:e|ion)|\bor\b.{0,30}\bwhich\b|which is better",
    "limit": r"太大|太小|过大|过小|很大|很小|极大|极小|非常大|非常小|特别大|特别小|趋于|趋近|设成\s*-?\d|设为\s*-?\d"
             r"|设置为\s*-?\d|调到\s*-?\d|接近\s*0|等于\s*0|会怎样|会怎么样|会发生什么|too (?:large|big|small|high|low)"
             r"|very (?:large|big|small|high|low)|what happens|what if\b|approach(?:es)? (?:zero|0|infinity)"
             r"|goes to (?:zero|0|infinity)|set (?:it )?to -?\d|extreme",
    "values": r"一般设|设多少|取多少|设几|多少步|多少合适|多大合适|常用(?:的)?(?:值|取值|设置|配置)|典型(?:值|取值)|默认值|取值范围"
              r"|常见(?:的)?(?:值|取值|设置)|typical(?:ly)? (?:value|setting|range|set)|usual value|common (?:value|setting)"
              r"|default value|good value|what value|which value|how (?:much|many|large|big|long) should|range of values"
              r"|what (?:should|do) (?:i|people|you) set",
    "when": r"什么时候|何时|什么情况下?|什么场景|哪些场景|适合用?|适用|该不该|要不要用|应该用|该用"
            r"|\bwhen (?:should|to|do|would|is it|are)\b|should i use|which (?:one )?should|in what cases?"
            r"|\bwhen (?:it|they) (?:is|are) used",
    "example": r"举个?例子?|举例|例子|示例|案例|比如说?|\bexample|for instance|\bsample\b|\bdemo\b|show me (?:one|how)",
    "why": r"为什么|为何|为啥|干嘛|有什么用|有啥用|什么用|好处|意义|目的|作用|\bwhy\b|what for|the point of|what'?s the point"
           r"|\bbenefit|\bpurpose|\bhelp(?:s|ful)?\b|what (?:is|does) it (?:good )?for",
    "how": r"怎么(?:算|计算|实现|工作|做|回事|运作|用)|如何(?:实现|计算|工作|运作)|咋算|原理|机制|工作方式|过程|流程|公式"
           r"|\bhow (?:does|do|is|are|to)\b|how it works|mechanism|under the hood|\bformula|\bsteps?\b",
}
_COMPILED = {k: re.compile(v, re.I) for k, v in PATTERNS.items()}
# "常用取值是多少" asks for advice, not arithmetic: without numbers in it, such a question is not a computation
# (the tool router reads these words the same way).
ADVICE = re.compile(r"一般|通常|推荐|建议|常用|常见|典型|合适|\busually\b|\btypical|\brecommend|\bcommon", re.I)


def detect(question: str) -> str:
    """The intent of one question (one of INTENTS); 'define' when nothing more specific is asked."""
    text = question.strip()
    for kind in INTENTS[:-1]:
        if _COMPILED[kind].search(text):
            if kind == "compute" and ADVICE.search(text) and not re.search(r"\d", text):
                continue
            return kind
    return "define"


def asks(question: str, kind: str) -> bool:
    """Whether the question carries this intent's words at all (even when another intent wins)."""
    pattern = _COMPILED.get(kind)
    return bool(pattern and pattern.search(question))


def label(kind: str, lang: str) -> str:
    return LABEL["zh" if lang == "zh" else "en"].get(kind, kind)
