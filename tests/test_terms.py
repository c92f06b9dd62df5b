"""The term list (GET /api/terms) and the in-browser term matcher (static/highlight.js).

The matcher runs in readers' browsers, so its tests run it in Debian's Chromium (Playwright) on small pages.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpers import CHROMIUM, CORPUS, settings_for, write_entry

from glossarian.corpus import load_corpus
from glossarian.web.terms import first_sentence, terms_document, terms_router

HIGHLIGHT_JS = Path(__file__).resolve().parents[1] / "src" / "glossarian" / "static" / "highlight.js"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason=f"{CHROMIUM} is missing: apt-get install -y chromium fonts-wqy-microhei")

TERMS = [
    {"id": "backbone", "zh": "骨干网络", "en": "Backbone", "aliases": ["backbone network", "骨干"],
     "def": {"zh": "骨干网络是提取特征的主体部分。", "en": "The backbone extracts features."}},
    {"id": "global-average-pooling", "zh": "全局平均池化", "en": "Global Average Pooling",
     "aliases": ["GAP", "全局平均池化层"], "def": {"zh": "全局平均池化。", "en": "Averages each channel."}},
    {"id": "temperature", "zh": "温度系数", "en": "Softmax Temperature", "aliases": ["温度", "temperature"],
     "def": {"zh": "温度系数。", "en": "Divides the logits."}},
    {"id": "mean-average-precision", "zh": "平均精度均值", "en": "Mean Average Precision", "aliases": ["mAP"],
     "def": {"zh": "mAP。", "en": "mAP."}},
    {"id": "neck", "zh": "颈部", "en": "Neck", "aliases": ["shared name"], "def": {"zh": "", "en": ""}},
    {"id": "head", "zh": "头部", "en": "Head", "aliases": ["shared name"], "def": {"zh": "", "en": ""}},
]


# ---- the term list ----

def test_first_sentence_in_both_languages():
    assert first_sentence("骨干网络是主体部分。一般不自己设计。") == "骨干网络是主体部分。"
    assert first_sentence("The backbone (e.g. ResNet) extracts features. It is pretrained.") \
        == "The backbone (e.g. ResNet) extracts features."
    assert first_sentence("Written `nn.AdaptiveAvgPool2d(1)` in PyTorch.") == "Written nn.AdaptiveAvgPool2d(1) in PyTorch."
    assert len(first_sentence("很长" * 300)) <= 220


def test_every_corpus_entry_has_names_and_a_first_sentence():
    doc = terms_document(load_corpus(CORPUS).entries)
    by_id = {t["id"]: t for t in doc["terms"]}
    assert by_id["backbone"]["zh"] == "骨干网络" and "feature extractor" in by_id["backbone"]["aliases"]
    assert "GAP" in by_id["global-average-pooling"]["aliases"]
    # a wiki written in Traditional Chinese: the names in its script, and Taiwan's own names as Taiwan writes them
    assert "骨幹網絡" in by_id["backbone"]["aliases"] and "批次正規化" in by_id["batch-normalization"]["aliases"]
    assert all(len(t["aliases"]) == len(set(t["aliases"])) for t in doc["terms"])
    assert by_id["backbone"]["def"]["zh"].endswith("。") and "\n" not in by_id["backbone"]["def"]["en"]
    assert all(t["def"]["zh"] or t["def"]["en"] for t in doc["terms"])


@pytest.fixture
def terms_client(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_entry(corpus, "backbone", term_en="Backbone", term_zh="骨干网络", aliases="骨干",
                zh="骨干网络负责提取特征。其余略。", en="The backbone extracts features. More later.")
    app = FastAPI()
    app.include_router(terms_router(settings_for(corpus, tmp_path / "index")))
    return TestClient(app), corpus


def test_terms_route_is_cached_with_an_etag_and_follows_corpus_edits(terms_client):
    client, corpus = terms_client
    first = client.get("/api/terms")
    assert first.status_code == 200 and "max-age" in first.headers["cache-control"]
    assert first.json()["terms"][0]["def"] == {"zh": "骨干网络负责提取特征。", "en": "The backbone extracts features."}
    etag = first.headers["etag"]
    again = client.get("/api/terms", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    write_entry(corpus, "neck", term_en="Neck", term_zh="颈部")  # an editor adds an entry
    changed = client.get("/api/terms", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert [t["id"] for t in changed.json()["terms"]] == ["backbone", "neck"]


# ---- the matcher, in Chromium ----

@pytest.fixture(scope="module")
def browser_page(browser):
    page = browser.new_page()
    yield page
    page.close()


def mark(page, html: str, terms=TERMS, every: bool = False) -> list[tuple[str, str]]:
    """Load `html`, run the highlighter on <body>, return the marks as (text, entry id) in page order."""
    page.set_content(f"<!doctype html><html><body>{html}</body></html>")
    page.add_script_tag(path=str(HIGHLIGHT_JS))
    return page.evaluate(
        """([terms, every]) => {
            const m = GlossarianTerms.compile(terms);
            GlossarianTerms.highlight(document.body, m, {every});
            return [...document.querySelectorAll('glossarian-term')].map(e => [e.textContent, e.dataset.glossarianTerm]);
        }""", [terms, every])


@needs_chromium
def test_chinese_is_matched_without_word_boundaries_and_the_longest_name_wins(browser_page):
    marks = mark(browser_page, "<p>生成时把温度系数调低，输出更确定。</p><h2>x</h2><p>最后接全局平均池化层。</p>")
    assert marks == [["温度系数", "temperature"], ["全局平均池化层", "global-average-pooling"]]


@needs_chromium
def test_acronyms_match_only_in_their_own_case(browser_page):
    marks = mark(browser_page, "<p>Mind the gap: a map is not mAP, and GAP ends the network.</p>")
    assert marks == [["mAP", "mean-average-precision"], ["GAP", "global-average-pooling"]]


@needs_chromium
def test_latin_names_need_word_edges_but_allow_plurals_and_chinese_neighbours(browser_page):
    assert mark(browser_page, "<p>xbackbone backbonex</p>") == []
    assert mark(browser_page, "<p>Two backbones.</p>") == [["backbones", "backbone"]]
    assert mark(browser_page, "<p>最后用GAP汇总</p>") == [["GAP", "global-average-pooling"]]
    assert mark(browser_page, "<p>a Backbone\n  Network here</p>") == [["Backbone\n  Network", "backbone"]]


@needs_chromium
def test_code_links_headings_and_form_fields_are_left_alone(browser_page):
    html = """<h2>backbone</h2><pre>backbone = resnet50()</pre><p><code>backbone</code>
      <a href="#x">backbone</a> <button>backbone</button> <textarea>backbone</textarea> <input value="backbone">
      <span class="mw-editsection">backbone</span> <span data-glossarian-skip>backbone</span></p>"""
    assert mark(browser_page, html) == []
    page_text = browser_page.evaluate("document.body.innerText")
    assert page_text.count("backbone") == 7  # nothing was removed (form fields are not in innerText)


@needs_chromium
def test_first_occurrence_per_section_unless_every_is_asked(browser_page):
    html = "<p>backbone and backbone</p><p>骨干网络</p><h3>Next</h3><p>backbone again</p>"
    assert mark(browser_page, html) == [["backbone", "backbone"], ["backbone", "backbone"]]
    assert len(mark(browser_page, html, every=True)) == 4


@needs_chromium
def test_a_name_shared_by_two_entries_is_not_marked(browser_page):
    assert mark(browser_page, "<p>a shared name and a Neck</p>") == [["Neck", "neck"]]


@needs_chromium
def test_marking_keeps_the_text_and_the_layout(browser_page):
    browser_page.set_content("<!doctype html><p id=p style='width:300px'>The backbone feeds GAP; 温度系数 too.</p>")
    before = browser_page.evaluate("() => { const r = p.getBoundingClientRect(); return [r.width, r.height, p.innerText]; }")
    browser_page.add_script_tag(path=str(HIGHLIGHT_JS))
    browser_page.evaluate("t => GlossarianTerms.highlight(document.body, GlossarianTerms.compile(t))", TERMS)
    after = browser_page.evaluate("() => { const r = p.getBoundingClientRect(); return [r.width, r.height, p.innerText]; }")
    assert after == before
    assert browser_page.locator("glossarian-term").count() == 3


@needs_chromium
def test_scan_time_of_a_3000_word_page_with_the_real_glossary(browser_page):
    """Prints the figure (no timing assertion): compile the real term list, mark a 3,000-word wiki page."""
    terms = terms_document(load_corpus(CORPUS).entries)["terms"]
    paragraph = ("Our detector uses a pretrained backbone, a feature pyramid network as the neck and a small head; "
                 "the classifier ends with GAP and a softmax whose temperature we tune on the validation set. "
                 "我们的检测模型使用预训练的骨干网络，训练时用学习率预热和权重衰减，推理时调低温度系数。 ")
    words_per_paragraph = len(paragraph.split())
    sections, html, words = 0, [], 0
    while words < 3000:
        if words % 300 < words_per_paragraph:
            html.append(f"<h2>Section {sections}</h2><pre>backbone = resnet50()</pre>")
            sections += 1
        html.append(f"<p>{paragraph}</p>")
        words += words_per_paragraph
    browser_page.set_content("<!doctype html><html lang=en><body>" + "".join(html) + "</body></html>")
    browser_page.add_script_tag(path=str(HIGHLIGHT_JS))
    stats = browser_page.evaluate("""terms => {
        const t0 = performance.now();
        const m = GlossarianTerms.compile(terms);
        const compileMs = performance.now() - t0;
        const s = GlossarianTerms.highlight(document.body, m);
        return {...s, compileMs, words: document.body.innerText.split(/\\s+/).length};
    }""", terms)
    print(f"\nscan of a {stats['words']}-word page ({sections} sections, {len(terms)} entries): "
          f"{stats['ms']:.1f} ms scan + {stats['compileMs']:.1f} ms to compile the term list; {stats['marks']} marks")
    assert stats["marks"] >= sections * 5  # every section gets its own first occurrences
    assert json.dumps(stats)  # the figure is printed above; timing is not asserted
