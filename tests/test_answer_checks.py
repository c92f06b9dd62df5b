"""Tests for glossarian.answer.checks: each check on answers of the kinds a weak model really produced (issue 18)."""
import pytest

from glossarian.answer.checks import (
    CITATION, JSON, LANGUAGE, NUMBERS, SUBJECT, TEMPLATE, Expectations, check_answer, language_of, unknown_numbers,
)

BACKBONE = ("Backbone", "骨干网络", "backbone network", "主干网络")
ZH = Expectations("zh", sources=2, subjects=[BACKBONE])
EN = Expectations("en", sources=2, subjects=[BACKBONE])


def test_a_good_chinese_answer_with_english_terms_passes():
    text = "骨干网络（backbone）是从输入中提取特征的那部分网络，常用 ResNet 这类 ImageNet 预训练模型 [1]。"
    assert check_answer(text, ZH) == []


def test_a_good_english_answer_passes_with_a_chinese_term_in_it():
    assert check_answer("A backbone (骨干网络) is the part of a network that extracts features [1].", EN) == []


def test_an_english_answer_to_a_chinese_question_fails_the_language_check():
    assert check_answer("A backbone is the part of a network that extracts features [1].", ZH) == [LANGUAGE]
    assert check_answer("骨干网络是提取特征的那部分网络 [1]。", EN) == [LANGUAGE]


def test_code_and_citations_do_not_decide_the_language():
    text = "骨干网络的输出是特征图 [1]：\n\n```python\nfeatures = backbone(images)  # a batch of feature maps\n```"
    assert language_of(text) == "zh" and check_answer(text, ZH) == []


def test_an_in_scope_answer_must_cite_a_given_source():
    assert check_answer("A backbone extracts features.", EN) == [CITATION]
    assert check_answer("A backbone extracts features [3].", EN) == [CITATION], "[3] does not exist with 2 sources"
    assert check_answer("A backbone extracts features [2, 3].", EN) == []
    out_of_scope = Expectations("en", sources=0, in_scope=False, subjects=[])
    assert check_answer("The glossary has no entry for this.", out_of_scope) == []


def test_an_answer_that_never_names_the_subject_fails():
    text = "GALAC-129 is a matrix with two columns and three rows [1]."
    assert check_answer(text, EN) == [SUBJECT]
    assert check_answer("The Backbone-Network extracts features [1].", EN) == [], "case and separators ignored"


def test_every_subject_of_a_comparison_must_be_named():
    gap, gmp = ("Global Average Pooling", "GAP", "全局平均池化"), ("Global Max Pooling", "GMP", "全局最大池化")
    both = Expectations("zh", sources=2, subjects=[gap, gmp])
    assert check_answer("GAP 取平均值 [1]，GMP 取最大值 [2]。", both) == []
    assert check_answer("全局平均池化取每个通道的平均值 [1]。", both) == [SUBJECT]


@pytest.mark.parametrize("leak", ["<|im_start|>assistant", "<|eot_id|>", "[INST] what is it [/INST]",
                                  "<|im_end|>", "<start_of_turn>model", "</s>"])
def test_chat_template_tokens_fail(leak):
    assert check_answer(f"A backbone extracts features [1]. {leak}", EN) == [TEMPLATE]


def test_template_tokens_inside_code_are_allowed():
    assert check_answer("A backbone extracts features [1]; the tokenizer adds `<|im_start|>`.", EN) == []


@pytest.mark.parametrize("json_text", ['{"name": "softmax_temperature", "arguments": {"logits": [1, 2]}}',
                                       '[{"type": "function"}]'])
def test_raw_json_fails(json_text):
    assert check_answer(f"A backbone extracts features [1].\n{json_text}", EN) == [JSON]


def test_brackets_and_braces_in_prose_are_not_json():
    assert check_answer("A backbone maps images {x} to features [1] and lists [1, 2] too [2].", EN) == []


def test_numbers_must_come_from_the_calculator_at_the_precision_shown():
    known = [1.0, 2.0, 3.0, 0.5, 0.015876, 0.117310, 0.866813]
    assert unknown_numbers("the largest gets 0.8668, about 0.87 or 86.68%", known) == []
    assert unknown_numbers("the largest gets 0.93 and the smallest 0.0159", known) == ["0.93"]
    assert unknown_numbers("3 classes, 2 sources, [1, 2, 3]", known) == [], "integers count things; not checked"
    answer = Expectations("en", sources=1, subjects=[("Softmax",)], numbers=known)
    assert check_answer("Softmax at T=0.5 gives the largest logit 0.8668 [1].", answer) == []
    assert check_answer("Softmax at T=0.5 gives the largest logit 0.7311 [1].", answer) == [NUMBERS]


def test_several_failures_are_all_reported():
    assert check_answer("<|im_start|>GALAC-129 is a matrix.", ZH) == [LANGUAGE, CITATION, SUBJECT, TEMPLATE]
