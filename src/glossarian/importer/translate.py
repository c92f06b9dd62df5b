"""`corpus import --translate`: draft an imported entry's other language with the configured LLM endpoint."""
from __future__ import annotations

from glossarian.errors import GlossarianError
from glossarian.importer.drafts import LANG_NAME, Draft

SYSTEM = ("You translate entries of a deep-learning glossary between Chinese and English. Translate the "
          "definition you are given into {target}, faithfully: add no facts, drop none. Keep code blocks, "
          "formulas, numbers and English technical terms exactly as they are. Reply with the translated "
          "definition only, no heading, no preamble.")


class Translator:
    """One LLM endpoint (llm.LLMBackend) asked for one translation per definition; pairs share theirs."""

    def __init__(self, backend):
        self.backend = backend
        self.model = backend.model
        self._done: dict[tuple[str, str], str] = {}

    @classmethod
    def from_settings(cls, settings) -> "Translator":
        from glossarian.answer.llm import LLMBackend

        backend = LLMBackend.from_settings(settings)
        if backend is None:
            raise GlossarianError(
                "--translate needs an LLM endpoint, and none is configured.",
                "Set GLOSSARIAN_LLM_BASE_URL (an OpenAI-compatible /v1 URL) and GLOSSARIAN_LLM_MODEL, "
                "or import without --translate and write the other language by hand.")
        return cls(backend)

    def messages(self, draft: Draft) -> list[dict]:
        names = draft.term_en if draft.term_en == draft.term_zh else f"{draft.term_en} / {draft.term_zh}"
        user = (f"Term: {names}\n{LANG_NAME[draft.lang]} definition:\n\n{draft.text}\n\n"
                f"Translate this definition into {LANG_NAME[draft.other]}.")
        return [{"role": "system", "content": SYSTEM.format(target=LANG_NAME[draft.other])},
                {"role": "user", "content": user}]

    def translate(self, draft: Draft) -> str:
        """The definition in the other language; raises llm.LLMUnavailable when the endpoint fails."""
        key = (draft.text, draft.other)
        if key not in self._done:
            self._done[key] = self.backend.complete(self.messages(draft))
        return self._done[key]
