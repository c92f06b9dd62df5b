"""Deterministic zh/en router (no LLM): route(question) picks a tool and its arguments, or None for definition questions."""
import copy
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

from glossarian.tools.registry import ToolCall, get_tool

# ---------------------------------------------------------------- numbers and lists
# Text is NFKC-normalised and lower-cased first, so full-width digits and （，）：＝ are ASCII here.
# A number must not be glued to a word ("resnet50", "conv1x1") so model names are not read as arguments.
# "nan" and "inf" are read too, so that validation refuses them by name instead of them being dropped.
NUM = (r"(?:(?<![a-z0-9_)\].])-)?(?<![a-z0-9_.])(?:(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?(?![0-9])"
       r"|(?<![a-z])(?:nan|inf(?:inity)?)(?![a-z]))")
INT = r"(?<![a-z0-9_.])\d+(?![0-9]|\.\d)"
SEP = r"\s*(?:,|、|;|\band\b|和|与|及|\bor\b|或)\s*"
NUM_LIST = rf"{NUM}(?:{SEP}{NUM})*"
OPEN, CLOSE = r"[\[({]\s*", r"\s*,?\s*[\])}]"
BRACKETED = OPEN + rf"{NUM}(?:\s*(?:,|、|;|\s)\s*{NUM})+" + CLOSE
PLAIN_LIST = rf"{NUM}(?:{SEP}{NUM})+"
TIMES = r"\s*[x×*]\s*"
X_SHAPE = rf"{INT}(?:{TIMES}\d+)+(?![0-9])"
FILL = r"\s*(?:(?:=|:|is|are|of|at|to|为|是|取|设为|设置为|设成|分别为|分别是|分别取|∈|in)\s*)*"


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(NUM, text)]


def _ints(text: str) -> list[int | float]:
    """Whole numbers as int; anything else stays float so validation can refuse it clearly."""
    return [int(x) if x.is_integer() else x for x in _numbers(text)]


def _first(patterns: list[str], text: str) -> re.Match | None:
    found = [m for m in (re.search(p, text) for p in patterns) if m]
    return min(found, key=lambda m: m.start()) if found else None


def _cut(text: str, match: re.Match) -> str:
    """Blank out a matched span so later extractors do not read the same numbers again."""
    return text[: match.start()] + " | " + text[match.end():]


def _number_lists(text: str) -> list[list[float]]:
    lists = [_numbers(m.group()) for m in re.finditer(BRACKETED, text)]
    if not lists:
        lists = [_numbers(m.group()) for m in re.finditer(PLAIN_LIST, text)]
    return lists


# ---------------------------------------------------------------- per-tool argument extraction
# Each extractor returns (arguments found, text with their spans blanked).

TEMPERATURE_KEY = rf"(?:temperatures?|温度(?:系数|参数)?|τ){FILL}[\[({{]?\s*({NUM_LIST})"
T_LETTER = rf"(?<![a-z0-9_])t\s*(?:=|:|∈|为|取|是)\s*[\[({{]?\s*({NUM_LIST})"
TARGET = [
    rf"(?:target(?:\s+(?:class|index|label))?|true\s+(?:class|label)|correct\s+class|label|目标类别|目标类|目标|真实类别|真实标签|正确类别|标签)"
    rf"\s*(?:(?:is|=|:|of|为|是|the)\s*)*(?:#|第|class\s+|类别\s*)?\s*({INT})",
    rf"class\s*({INT})\s*(?:is\s+)?(?:the\s+)?(?:target|correct|true)",
    rf"第\s*({INT})\s*类(?:别)?\s*(?:是|为)\s*(?:目标|正确)",
]


def _temperatures(text: str) -> tuple[list[float], str]:
    found: list[float] = []
    for pattern in (TEMPERATURE_KEY, T_LETTER):
        while m := re.search(pattern, text):
            found += _numbers(m.group(1))
            text = _cut(text, m)
    return found, text


def _softmax_args(text: str) -> tuple[dict, str]:
    args: dict = {}
    temperatures, text = _temperatures(text)
    if temperatures:
        args["temperatures"] = temperatures
    lists = _number_lists(text)
    if lists:
        args["logits"] = lists[0]
    return args, text


def _cross_entropy_args(text: str) -> tuple[dict, str]:
    args: dict = {}
    if m := _first(TARGET, text):
        args["target"] = int(m.group(1))
        text = _cut(text, m)
    more, text = _softmax_args(text)
    return {**more, **args}, text


def _pooling_args(text: str) -> tuple[dict, str]:
    for m in [*re.finditer(BRACKETED, text), *re.finditer(X_SHAPE, text)]:
        dims = [int(d) for d in re.findall(r"\d+", m.group())] if re.fullmatch(X_SHAPE, m.group()) else _ints(m.group())
        if len(dims) >= 3:
            return {"shape": dims}, _cut(text, m)
    parts = {}
    if m := _first([rf"({INT})\s*(?:个)?\s*(?:channels?|通道)", rf"(?:channels?|通道数?|\bc)\s*(?:=|:|为|是|of)\s*({INT})"], text):
        parts["c"] = int(m.group(1))
    if m := re.search(rf"({INT}){TIMES}(\d+)", text):
        parts["h"], parts["w"] = int(m.group(1)), int(m.group(2))
    if m := _first([rf"(?:batch(?:\s*size)?|批大小|批量大小|\bn)\s*(?:=|:|为|是|of)\s*({INT})", rf"({INT})\s*(?:张|个样本|samples?|images?)"], text):
        parts["n"] = int(m.group(1))
    if "c" in parts or "h" in parts:
        n, c, h, w = get_tool("global_average_pooling").defaults()["shape"]
        return {"shape": [parts.get("n", n), parts.get("c", c), parts.get("h", h), parts.get("w", w)]}, text
    return {}, text


IN_OUT = [
    rf"nn\.(?:linear|conv2d)\(\s*(?:in_\w+\s*=\s*)?({INT})\s*,\s*(?:out_\w+\s*=\s*)?({INT})",
    rf"从\s*({INT})\s*(?:维|个通道|通道|channels?|dims?)?\s*(?:降维|降|压缩|投影|映射|减少|变换|变|升维|升|扩展)\s*(?:到|至|为|成)\s*({INT})",
    rf"from\s+({INT})\s*(?:-?d\b|dim\w*|channels?|features?)?\s+(?:down\s+|up\s+)?to\s+({INT})",
    rf"({INT})\s*(?:维|个通道|通道|channels?|dims?|-?d\b)?\s*(?:->|=>|→|to|到|至|降到|降至|变成|压缩到|投影到|映射到)\s*({INT})",
]
NO_BIAS = r"without\s+(?:a\s+)?bias|no\s+bias|bias\s*=\s*false|(?:不带|不加|不含|不要|去掉|没有|无)\s*(?:偏置|bias)"
WITH_BIAS = r"with\s+(?:a\s+)?bias|bias\s*=\s*true|(?:带|加|含|有)\s*(?:偏置|bias)"


def _bottleneck_args(text: str) -> tuple[dict, str]:
    args: dict = {}
    conv = re.search(r"1\s*[x×*]\s*1|conv|卷积|pointwise|逐点", text)
    linear = re.search(r"linear|全连接|\bfc\b|dense|线性层|mlp", text)
    if conv or linear:
        args["kind"] = "conv1x1" if conv and (not linear or conv.start() < linear.start()) else "linear"
    if m := _first(IN_OUT, text):
        args["in_dim"], args["out_dim"] = int(m.group(1)), int(m.group(2))
        text = _cut(text, m)
    for key, pattern in (("in_dim", r"(?:in_dim|in_features|in_channels|输入维度|输入通道数?|input\s+dim\w*)"),
                         ("out_dim", r"(?:out_dim|out_features|out_channels|输出维度|输出通道数?|output\s+dim\w*)")):
        if key not in args and (m := re.search(rf"{pattern}\s*(?:=|:|为|是|of)?\s*({INT})", text)):
            args[key] = int(m.group(1))
    if re.search(NO_BIAS, text):
        args["bias"] = False
    elif re.search(WITH_BIAS, text):
        args["bias"] = True
    for m in re.finditer(rf"({INT}){TIMES}(\d+)", text):
        if m.group(1) != "1":  # 1x1 names the kernel, not the feature map
            args["spatial"] = int(m.group(1))
            break
    else:
        if m := re.search(rf"(?:spatial(?:\s*size)?|特征图(?:大小|尺寸)?|feature\s+map(?:\s+size)?|分辨率)\s*(?:=|:|为|是|of)?\s*({INT})", text):
            args["spatial"] = int(m.group(1))
    return args, text


UNIT = r"(?:个\s*)?(?:epochs?|steps?|iterations?|iters?|轮|步|次迭代)"
WARMUP = r"(?:warm\s*-?\s*up|预热)"
START_LR = [
    rf"(?:start(?:ing)?[_\s]*(?:lr|learning\s+rate)|起始学习率|初始学习率)\s*(?:=|:|为|是|of|at)?\s*({NUM})",
    rf"(?:从|from)\s*({NUM})(?=\s*(?:线性)?\s*(?:开始|升|增|涨|rises?|ramps?|warms?|linearly|up|to|到))",
]
WARMUP_STEPS = [
    rf"{WARMUP}(?:_?(?:steps?|epochs?))?\s*(?:(?:for|of|over|during|了|为|是|:|=|the\s+first|first|前)\s*)*({INT})",
    rf"({INT})\s*{UNIT}\s*(?:的|of)?\s*(?:linear\s+|线性)?{WARMUP}",
    rf"({INT})\s*(?:个\s*)?{WARMUP}\s*{UNIT}",
    rf"(?:前|first)\s*({INT})\s*{UNIT}",
]
TOTAL_STEPS = [
    rf"(?:over|total(?:_steps)?(?:\s+of)?|in\s+total|共|总共|一共|总计|训练)\s*(?:=|:)?\s*({INT})",
    rf"({INT})\s*{UNIT}\s*(?:in\s+total|in\s+all|total|总共|总计|total)",
]
BASE_LR = [
    rf"(?<!start_)(?<!start )(?:base[_\s]*lr|peak\s+lr|max(?:imum)?\s+lr|learning\s+rate|\blr|峰值学习率|最大学习率|学习率)\s*(?:(?:of|is|=|:|为|是|到|升到|设为)\s*)*({NUM})",
    rf"(?:升到|增加到|增大到|提升到|涨到|到|reach(?:es|ing)?|up\s+to|to)\s*(?:lr\s+|learning\s+rate\s+)?({NUM})",
]


def _warmup_args(text: str) -> tuple[dict, str]:
    args: dict = {}
    original = text  # the unit words are also part of the spans cut below
    for key, patterns, kind in (("start_lr", START_LR, float), ("warmup_steps", WARMUP_STEPS, int),
                                ("total_steps", TOTAL_STEPS, int), ("base_lr", BASE_LR, float)):
        if m := _first(patterns, text):
            args[key] = kind(m.group(1))
            text = _cut(text, m)
    if re.search(r"cosine(?!\s*similar)|余弦(?!相似)", original):
        args["after"] = "cosine"
    elif re.search(r"linear(?:ly)?\s+(?:decay|anneal)|(?:then|再|之后|然后)\s*linear|线性(?:衰减|下降|递减)", original):
        args["after"] = "linear"
    elif re.search(r"constant|常数|恒定|保持不变|不变|固定", original):
        args["after"] = "constant"
    if re.search(r"steps?\b|iterations?|iters?\b|步|次迭代", original):
        args["unit"] = "step"
    elif re.search(r"epochs?|轮", original):
        args["unit"] = "epoch"
    return args, text


def _embedding_args(text: str) -> tuple[dict, str]:
    args: dict = {}
    if m := re.search(rf"nn\.embedding\(\s*({INT})\s*,\s*({INT})", text):
        args["num_embeddings"], args["embedding_dim"] = int(m.group(1)), int(m.group(2))
        text = _cut(text, m)
    if m := re.search(rf"(?:token[\s_]*ids?|\bids?\b|索引|下标|词\s*id|tokens?)\s*(?:(?:=|:|为|是|of)\s*)?[\[(]?\s*({NUM_LIST})", text):
        args["token_ids"] = _ints(m.group(1))
        text = _cut(text, m)
    if "num_embeddings" not in args and (m := re.search(
            rf"(?:num_embeddings|vocab(?:ulary)?(?:[\s_]*size)?|词表(?:大小)?|词汇表(?:大小)?|词典大小)\s*(?:(?:=|:|of|is|为|是)\s*)?({INT})", text)):
        args["num_embeddings"] = int(m.group(1))
        text = _cut(text, m)
    if "embedding_dim" not in args and (m := _first([
            rf"(?:embedding[_\s]*dim\w*|dim(?:ension)?s?|维度|维数)\s*(?:(?:=|:|of|is|为|是)\s*)?({INT})",
            rf"({INT})\s*(?:维|-?dim(?:ension(?:al)?)?s?\b|-d\b)"], text)):
        args["embedding_dim"] = int(m.group(1))
        text = _cut(text, m)
    if m := re.search(r"\[\s*(\[[^\[\]]*\](?:\s*,?\s*\[[^\[\]]*\])+)\s*\]", text):
        args["vectors"] = [_numbers(v) for v in re.findall(r"\[[^\[\]]*\]", m.group(1))]
    else:
        lists = [_numbers(m.group()) for m in re.finditer(BRACKETED, text)]
        if len(lists) >= 2:
            args["vectors"] = lists
    return args, text


def _backbone_args(text: str) -> tuple[dict, str]:
    args: dict = {}
    if m := _first([rf"(?:num_classes|classes|类别数量?|类别|分类数)\s*(?:(?:=|:|为|是|of)\s*)?({INT})",
                    rf"({INT})\s*(?:个)?\s*(?:classes|-?class\b|类别?|分类|categories)"], text):
        args["num_classes"] = int(m.group(1))
    if re.search(r"unfreez|unfrozen|not\s+(?:be\s+)?frozen|don'?t\s+freeze|do\s+not\s+freeze|without\s+freezing|解冻|不冻结|不冻|全量微调|full(?:y)?\s+fine-?tun", text):
        args["freeze_backbone"] = False
    elif re.search(r"freez|frozen|冻结|冻住|固定\s*(?:backbone|骨干|主干)", text):
        args["freeze_backbone"] = True
    return args, text


# ---------------------------------------------------------------- topics and intent


@dataclass(frozen=True)
class Topic:
    tool: str
    strong: str  # names the topic on its own
    weak: tuple[str, ...]  # supporting words, one point each
    extract: Callable[[str], tuple[dict, str]]


# Order breaks ties: the more specific tool first.
TOPICS = (
    Topic("cross_entropy_temperature", r"cross[\s_-]*entropy|交叉熵|\bce\b|\bnll\b|负对数似然",
          (r"loss|损失", r"target|目标类|标签|label", r"softmax", r"temperature|温度|τ", r"misclassif|分类错误|分错|分类正确|正确分类"),
          _cross_entropy_args),
    Topic("softmax_temperature", r"softmax", (r"temperature|温度|τ", r"logits?", r"概率|probabilit"), _softmax_args),
    Topic("global_average_pooling", r"global\s+(?:average|avg|mean)\s+pool|adaptive_?avg_?pool|全局平均池化|全局池化|平均池化|avgpool|\bgap\b",
          (r"pool|池化", r"shape|形状|feature\s+map|特征图"), _pooling_args),
    Topic("bottleneck_projection", r"bottleneck|瓶颈|1\s*[x×*]\s*1|conv1x1|pointwise|逐点卷积|降维|升维|投影层|projection|投影",
          (r"nn\.linear|linear|全连接|\bfc\b|线性层|卷积|conv", r"参数量|参数|param", r"dim|维|channels?|通道|features?|特征", r"压缩|compress"),
          _bottleneck_args),
    Topic("backbone_neck_head", r"backbone|骨干|主干网络|\bneck\b|颈部|检测头|分类头|冻结|freez|frozen|解冻",
          (r"\bhead\b|头", r"参数量|参数|param", r"微调|fine-?tun"), _backbone_args),
    Topic("warmup_schedule", r"warm\s*-?\s*up|预热",
          (r"learning\s+rate|学习率|\blr\b", r"schedul|调度|策略", r"cosine(?!\s*similar)|余弦(?!相似)|退火|anneal"), _warmup_args),
    Topic("embedding_similarity", r"embedding|嵌入|词向量|word\s+vectors?|cosine\s+similarit|余弦相似",
          (r"similarit|相似", r"token|vocab|词表", r"vectors?|向量"), _embedding_args),
)

CUES = (
    r"算一下|算算|算出|帮我算|计算一下|求出|求一下|是多少|等于多少|为多少|有多少|多少个?\S{0,4}参数|参数量|"
    r"输出(?:形状|尺寸|大小|维度|结果|值|概率|什么形状)|形状(?:是|变成|变为|会)|变成什么|会变成|"
    r"画|绘制|可视化|演示|示范|举个例子|举例|跑一下|运行一下|试一下|打印|展示|给我看|长什么样|曲线|"
    r"show\s+me|\bplot|\bdraw|visuali[sz]e|\bdemo|demonstrat|\brun\b|how\s+many\s+(?:trainable\s+)?param|parameter\s+count|"
    r"number\s+of\s+(?:trainable\s+)?parameters|output\s+shape|what\s+shape|\bprint\b|give\s+me\s+the\s+(?:numbers|values|output)|look\s+like|\bcurve|"
    r"what(?:\s+is|'s|\s+are|\s+would\s+be|\s+will\s+be)\s+the\s+(?:softmax\s+(?:of|for|output|probabilit)|probabilit|"
    r"loss\s+(?:at|for|of|with|when)|output|resulting|shape|cosine\s+similarit\w*\s+(?:of|between)|(?:learning\s+rate|lr)\s+(?:at|after|for|in|of)|"
    r"similarit\w*\s+(?:of|between)|parameters?)"
)
# "How is softmax computed?" asks for an explanation, so these verbs only count without a how/why word.
SOFT_CUES = r"计算|\bcompute|\bcalculate|\bcalc\b|\bevaluate"
HOW_WHY = r"怎么|如何|怎样|为什么|为何|\bhow\b|\bwhy\b"
ADVICE = r"一般|通常|推荐|建议|常用|\busually|\btypical|\brecommend|\bcommon"


def _normalise(question: str) -> str:
    text = unicodedata.normalize("NFKC", question)
    text = text.replace("−", "-").replace("–", "-").replace("→", "->").replace("⟶", "->").replace("。", ". ")
    return text.lower()


def _wants_computation(text: str, numeric_args: bool) -> bool:
    if numeric_args:
        return True
    if re.search(ADVICE, text):
        return False
    if re.search(CUES, text):
        return True
    return bool(re.search(SOFT_CUES, text)) and not re.search(HOW_WHY, text)


def route(question: str) -> ToolCall | None:
    """Propose a tool call for a question that asks for a computation; None for definition questions."""
    if not isinstance(question, str) or not question.strip():
        return None
    text = _normalise(question[:2000])
    best: tuple[int, int, Topic, dict] | None = None
    for rank, topic in enumerate(TOPICS):
        strong = bool(re.search(topic.strong, text))
        weak = sum(bool(re.search(w, text)) for w in topic.weak)
        if not strong and not weak:
            continue
        args, _ = topic.extract(text)
        if not strong and not args:
            continue
        score = 3 * strong + weak + len(args)
        if best is None or score > best[0]:
            best = (score, rank, topic, args)
    if best is None:
        return None
    _, _, topic, found = best
    numeric = any(not isinstance(v, (bool, str)) for v in found.values())
    if not _wants_computation(text, numeric):
        return None
    tool = get_tool(topic.tool)
    arguments, defaulted = {}, []
    for param in tool.params:
        if param.name in found:
            value = found[param.name]
            arguments[param.name] = _as_declared(value, param.default)
        else:
            arguments[param.name] = copy.deepcopy(param.default)
            defaulted.append(param.name)
    return ToolCall(topic.tool, arguments, defaulted)


def _as_declared(value, default):
    """Give float parameters floats (1 -> 1.0) so the call reads like the schema; ints stay ints."""
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, list) and default and isinstance(default[0], float) and isinstance(value, list):
        return [float(v) if isinstance(v, int) else v for v in value]
    return value
