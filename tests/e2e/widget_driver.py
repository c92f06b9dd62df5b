"""Driving the embed.js widget in a page: find its parts, ask a question, wait for the answer (shared by the widget
and MediaWiki end-to-end tests)."""
from __future__ import annotations

ANSWER_TIMEOUT_MS = 60_000


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


def widget(page, marker: str):
    return page.locator(f'[data-glossarian="{marker}"]')


def last_answer(page):
    return widget(page, "answer").last


def ask(page, question: str, *texts: str):
    """Type a question into the widget, wait until each of `texts` shows in the last answer and input is free."""
    box = widget(page, "input")
    expect()(box).to_be_enabled(timeout=ANSWER_TIMEOUT_MS)
    box.fill(question)
    box.press("Enter")
    for text in texts:
        expect()(last_answer(page)).to_contain_text(text, timeout=ANSWER_TIMEOUT_MS)
    expect()(box).to_be_enabled(timeout=ANSWER_TIMEOUT_MS)
