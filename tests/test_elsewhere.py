"""A glossary word used in another field's sense is not a glossary question (elsewhere.py), on the shipped corpus:
the question is refused plainly (no "missing term", nothing to add to the glossary), while questions that use the
same words in the deep-learning sense, colloquially or beside a model name, are still answered.

The examples are written for this test; none is taken from an evaluation set."""
from __future__ import annotations

import pytest

from helpers import CORPUS, settings_for
from glossarian.assistant import Assistant
from glossarian.elsewhere import foreign_nouns


@pytest.fixture(scope="module")
def assistant(built_index) -> Assistant:
    return Assistant(settings_for(CORPUS, built_index).with_(llm_base_url="", llm_model=""))


@pytest.mark.parametrize("question", [
    "水管里的水压梯度太大，楼上的水龙头出水很小怎么办",  # 梯度: gradient
    "炖牛肉的时候锅里温度控制在多少度比较合适",  # 温度: temperature
    "How do I replace the head gasket on an old lawn mower engine?",  # head
    "which fertilizer should I use after pruning my rose bushes in autumn",  # pruning
    "老师上课的时候学生注意力不集中，家长该怎么配合",  # 注意力: attention
])
def test_a_glossary_word_in_another_fields_sense_is_refused_plainly(assistant, question):
    a = assistant.ask(question)
    assert a.abstained, [s.entry.id for s in a.sources]
    assert a.missing_term is None and a.closest == []


@pytest.mark.parametrize("question, entries", [
    ("训练的时候梯度突然变成 NaN 了是怎么回事", {"exploding-gradient", "gradient", "gradient-clipping"}),
    ("softmax 的温度调高以后输出分布会怎样", {"temperature", "softmax"}),
    ("检测头到底负责输出什么", {"head"}),  # colloquial words are not another field's nouns
    ("医院想用迁移学习做肺部 CT 的分类，标注只有几百张够吗", {"transfer-learning"}),
    # Other fields' nouns (公司, 服务器), but the rest of the question is about training on its own: answered.
    ("公司服务器显卡显存不够，batch size 只能设 8，梯度累积能解决吗", {"gradient-accumulation", "batch-size"}),
])
def test_the_same_words_in_the_deep_learning_sense_are_answered(assistant, question, entries):
    a = assistant.ask(question)
    assert not a.abstained
    assert a.sources[0].entry.id in entries, [s.entry.id for s in a.sources]


def test_only_unknown_nouns_count_as_foreign():
    known = {"训练", "模型", "学习率"}
    assert foreign_nouns("早高峰那个路口天天堵 路段设计有问题", known)  # 路口, 路段 …
    assert foreign_nouns("到底 为啥 说白了", known) == []  # colloquial words say how, not what about
    assert foreign_nouns("why does MobileNetV2 use VGG16 style blocks", {"blocks", "style", "use"}) == []
    assert set(foreign_nouns("what drives the wind pressure", {"what"})) >= {"wind", "pressure"}
    # where the reader met the term, and who asks, is no other field
    assert foreign_nouns("看论文经常看到 ，能不能通俗地解释一下它是干什么的", known) == []
    assert "interview" not in foreign_nouns("In an interview I was asked about ; how would you explain the idea", known)


@pytest.mark.parametrize("question, entry_id", [
    ("看论文的时候经常看到消融实验，能不能通俗地解释一下它是干什么的", "ablation-study"),
    ("组会上导师提到了梯度裁剪，我没太听懂，它主要解决什么问题？", "gradient-clipping"),
])
def test_a_term_met_in_a_paper_or_a_meeting_is_answered(assistant, question, entry_id):
    a = assistant.ask(question)
    assert not a.abstained and a.sources[0].entry.id == entry_id, [s.entry.id for s in a.sources]

