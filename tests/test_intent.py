"""Question intent in both languages: what each kind of question asks for (no model needed)."""
from __future__ import annotations

import pytest

from glossarian.intent import INTENTS, detect

CASES = {
    "define": ["什么是 backbone？", "dropout 是啥", "What is global average pooling?", "explain layer norm"],
    "why": ["为什么需要 warmup？", "残差连接有啥用", "why does knowledge distillation work?",
            "what's the point of batch norm?"],
    "how": ["transformer 的 self attn 咋算的", "LayerNorm 的原理是什么", "how does beam search work?",
            "what is the formula of softmax"],
    "example": ["举个例子", "给个 dropout 的例子", "give me an example", "show me an example of data augmentation"],
    "values": ["warmup 一般设多少步", "label smoothing 常用取值是多少合适", "what are typical values for weight decay?",
               "how large should the batch size be?"],
    "when": ["什么时候该用 focal loss", "什么情况下要冻结 backbone", "when should I use gradient clipping?",
             "should I use dropout in a transformer?"],
    "compare": ["backbone 和 head 有什么区别", "Adam 和 AdamW 有什么不同", "BatchNorm vs LayerNorm, when should I use which?",
                "how does precision differ from recall?"],
    "name": ["训练时随机把一些神经元置零的正则化方法叫什么", "检测模型里负责融合多尺度特征的是哪一部分",
             "what do you call it when the model does great on training data but badly on test data",
             "what's the term for starting with a tiny learning rate and ramping it up?"],
    "limit": ["学习率太大会怎样", "温度很大的时候呢?", "what happens if the temperature is very large?",
              "what if dropout is too high?"],
    "compute": ["算一下 [1,2,3] 在温度 0.5 下的 softmax", "换成 T=5 呢?", "compute it for a 2x64x7x7 tensor",
                "calculate the cross entropy of logits [2, 0.5, -1]"],
}


@pytest.mark.parametrize("kind, question", [(k, q) for k, qs in CASES.items() for q in qs])
def test_each_intent_is_recognised_in_both_languages(kind, question):
    assert detect(question) == kind


def test_every_intent_has_cases_in_both_languages():
    from glossarian.lang import detect_language

    assert set(CASES) == set(INTENTS)
    for kind, questions in CASES.items():
        assert {detect_language(q) for q in questions} == {"zh", "en"}, kind


@pytest.mark.parametrize("question", ["", "   ", "backbone", "什么是", "???"])
def test_anything_without_intent_words_is_a_definition(question):
    assert detect(question) == "define"
