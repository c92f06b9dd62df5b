"""Finding glossary terms and aliases named in a question: exact (separator- and case-insensitive) and fuzzy.

Both lookups are dictionary probes over substrings of the question, so their cost depends on the
question's length, not on the number of entries (100k-entry corpora included). Building the fuzzy
dictionaries does grow with the corpus, so beyond FUZZY_MAX_NAMES names they are not built (see there).
- exact: "warm-up", "warm up" and "Warmup" all name `warmup`; ASCII names must sit on word edges;
  the longest non-overlapping names win ("multi-head attention" beats "head" and "attention").
- case: a name written with capitals inside it (mAP, CoT, MoE, GAP) whose lower-case form is an ordinary word
  (one the background passages use as a word: "a map of Europe", "a cot bed") only counts when the question
  writes it as the name is written or in capitals.
- fuzzy: one typo (two in names of ten letters or more) in an ASCII name ("droput", "backbnoe", "transfromer") that is
  not itself a word of the corpus, or a Chinese name of three or more characters typed with a wrong
  homophone, as pinyin input methods produce ("学习律", "激活涵数", "过你和").
"""
from __future__ import annotations

import functools
import logging
import re
from collections import defaultdict
from dataclasses import dataclass

from glossarian.corpus import Entry
from glossarian.lang import normalize

SEPARATORS = re.compile(r"[\s\-_·]+")
CJK = re.compile(r"[\u3400-\u9fff]")
MAX_NAME = 40  # characters of a name key; longer "names" are sentences, not terms (importer.MAX_TERM agrees)
WORD_RE = re.compile(r"\b[a-z]+\b")  # a word written in lower case: an ordinary word (Title Case may be a name)
# The fuzzy dictionaries hold every one-character deletion of every ASCII name and the pinyin of every
# Chinese name: ~3.6 KB and ~0.1 ms per name (`glossarian bench`: 90k names took 10 s and 360 MB; 900k
# would take minutes and GBs). Beyond this many names only exact names match, with a logged warning.
FUZZY_MAX_NAMES = 30_000
log = logging.getLogger("glossarian")


def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass(frozen=True)
class _Key:
    text: str  # lower-cased, separators removed
    original: list[int]  # key position -> position in the normalised question
    sep_before: list[bool]  # a separator preceded this key character


def _keyed(text: str) -> _Key:
    out, original, sep = [], [], []
    pending_sep = True
    for pos, ch in enumerate(text):
        if SEPARATORS.fullmatch(ch):
            pending_sep = True
            continue
        out.append(ch.lower())
        original.append(pos)
        sep.append(pending_sep)
        pending_sep = False
    return _Key("".join(out), original, sep)


def name_key(name: str) -> str:
    return _keyed(normalize(name)).text


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


RETROFLEX = re.compile(r"^([zcs])h")
VELAR_NG = re.compile(r"ng$")
MEMO = 1024  # questions whose name spans a matcher remembers (conversation.plan and Retriever.features ask twice)


@functools.lru_cache(maxsize=1 << 16)
def pinyin_key(text: str) -> str:
    """Toneless pinyin with the usual input-method confusions folded (in/ing, z/zh, c/ch, s/sh). Remembered: every
    Chinese question probes each of its 3-8 character windows (~1 ms of pypinyin per question otherwise)."""
    from pypinyin import lazy_pinyin

    return " ".join(VELAR_NG.sub("n", RETROFLEX.sub(r"\1", syllable)) for syllable in lazy_pinyin(text))


def ordinary_words(text: str) -> set[str]:
    """Words that the text writes in lower case somewhere (a name like "Bert" or "MoE" does not count)."""
    return {w.lower() for w in WORD_RE.findall(text)}


def _mixed_case(name: str) -> bool:
    """Capitals after the first letter: an abbreviation's spelling (mAP, CoT, GAP), not a capitalised word."""
    letters = [c for c in name if c.isalpha()]
    return len(letters) >= 2 and any(c.isupper() for c in letters[1:])


class NameMatcher:
    def __init__(self, entries: list[Entry], known_words: set[str] | None = None,
                 ordinary: set[str] | None = None):
        """known_words: corpus words (a typo is never a real word). ordinary: words in everyday use
        (see ordinary_words), which make a mixed-case name of the same letters case-sensitive."""
        self.known_words = known_words or set()
        # Latin corpus words, the list a lowercase word is compared with for typos (missing.mentioned_term).
        self.latin_known_words = sorted(w for w in self.known_words if w.isascii() and w.isalpha() and len(w) >= 3)
        ordinary = ordinary or set()
        self.exact: dict[str, set[int]] = defaultdict(set)
        self.case_sensitive: dict[str, set[str]] = {}  # key -> the spellings that count
        self.abbreviations: dict[str, set[str]] = defaultdict(set)  # key -> names spelt as abbreviations (BN, mAP)
        self.fuzzy_ascii: dict[str, set[tuple[str, int, str, int]]] = defaultdict(set)
        self.fuzzy_cjk: dict[str, set[tuple[int, str]]] = defaultdict(set)
        names = sum(len(e.names) for e in entries)
        self.fuzzy_enabled = names <= FUZZY_MAX_NAMES
        if not self.fuzzy_enabled:
            log.warning("Typo matching is off: the corpus has %d names, more than %d (names.FUZZY_MAX_NAMES); "
                        "exactly written names still match.", names, FUZZY_MAX_NAMES)
        self.primary = {i: normalize(e.term_en) for i, e in enumerate(entries)}
        self._entries = entries  # for _corpus_text, joined only when first asked
        self.writes = functools.lru_cache(maxsize=MEMO)(self._writes)
        # Latin words used in any name ("swin" is not one: "Swin Transformer" is another term's name).
        self.name_words = {w.lower() for e in entries for n in e.names for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", n)}
        for i, e in enumerate(entries):
            for name in e.names:
                key = name_key(name)
                if len(key) < 2 or len(key) > MAX_NAME:
                    continue
                self.exact[key].add(i)
                stripped = normalize(name)
                spelled = SEPARATORS.sub("", stripped)
                if spelled.isascii() and len(spelled) <= 6 and (spelled.isupper() or _mixed_case(spelled)):
                    self.abbreviations[key].add(spelled)
                if key in ordinary and _mixed_case(stripped):
                    self.case_sensitive.setdefault(key, set()).add(SEPARATORS.sub("", stripped))
                if not self.fuzzy_enabled:
                    continue
                if key.isascii() and len(key) >= 5:
                    words = len(SEPARATORS.split(stripped))
                    for d in _deletes(key) | {key}:
                        self.fuzzy_ascii[d].add((key, i, stripped, words))
                elif 3 <= len(key) <= 8 and all(CJK.match(c) for c in key):
                    self.fuzzy_cjk[pinyin_key(key)].add((i, stripped))
        # One question is probed several times per answer (plan: find + fuzzy; features: corrected + find;
        # plainly_about: abbreviated): the spans of recent questions are remembered. The dictionaries above never
        # change after this point, so a remembered answer stays right.
        self._spans_memo = functools.lru_cache(maxsize=MEMO)(self._exact_spans)
        self._fuzzy_memo = functools.lru_cache(maxsize=MEMO)(self._fuzzy_spans)

    # -- exact -----------------------------------------------------------------------------------
    def _edges_ok(self, k: _Key, a: int, b: int) -> bool:
        t = k.text
        start_ok = a == 0 or k.sep_before[a] or not (_ascii_alnum(t[a - 1]) and _ascii_alnum(t[a]))
        end_ok = b == len(t) or k.sep_before[b] or not (_ascii_alnum(t[b - 1]) and _ascii_alnum(t[b]))
        return start_ok and end_ok

    def _spans(self, question: str) -> list[tuple[int, int, set[int], str]]:
        """(start, end, entry positions, matched key) of every exact name occurrence, in positions of
        the normalised question."""
        return list(self._spans_memo(question))

    def _exact_spans(self, question: str) -> tuple[tuple[int, int, set[int], str], ...]:
        text = normalize(question)
        k = _keyed(text)
        t = k.text
        found = []
        for a in range(len(t)):
            for b in range(min(len(t), a + MAX_NAME), a + 1, -1):
                ids = self.exact.get(t[a:b])
                if not ids or not self._edges_ok(k, a, b):
                    continue
                if t[a:b] in self.case_sensitive:
                    raw = SEPARATORS.sub("", text[k.original[a] : k.original[b - 1] + 1])
                    if not (raw.isupper() or raw in self.case_sensitive[t[a:b]]):
                        continue
                found.append((k.original[a], k.original[b - 1] + 1, ids, t[a:b]))
        return tuple(found)

    def _named(self, question: str) -> tuple[list[int], list[tuple[int, int]]]:
        spans = sorted(self._spans(question), key=lambda s: (-(s[1] - s[0]), s[0]))
        taken: list[tuple[int, int]] = []
        first_seen: dict[int, int] = {}
        for a, b, ids, _ in spans:
            if any(a < y and x < b for x, y in taken):
                continue
            taken.append((a, b))
            for i in ids:
                first_seen.setdefault(i, a)
        return sorted(first_seen, key=first_seen.get), taken

    @functools.cached_property
    def _corpus_text(self) -> str:
        """Everything the glossary writes: built on the first question that needs it, not at start-up (a large
        corpus's text is as large as the corpus)."""
        return "\n".join("\n".join([e.zh, e.en, *e.names, *(line for lines in e.asks.values() for line in lines)])
                         for e in self._entries)

    def _writes(self, phrase: str) -> bool:
        """The glossary writes `phrase` somewhere: in an entry's text, names or `asks` lines (a scan of ~1 MB for the
        shipped corpus, so answers are remembered: a long question may ask about the same phrase many times)."""
        return phrase in self._corpus_text

    def find(self, question: str) -> list[int]:
        """Entries named in the question, in order of appearance; longest names win overlaps."""
        return self._named(question)[0]

    def spans_of(self, question: str) -> list[tuple[int, int]]:
        """(start, end) of each glossary name in the normalised question (longest names win overlaps)."""
        return list(self._named(question)[1])

    def without_names(self, question: str) -> str:
        """The normalised question with every glossary name it contains blanked out."""
        text = normalize(question)
        for a, b in sorted(self.spans_of(question), reverse=True):
            text = text[:a] + " " + text[b:]
        return text

    def abbreviated(self, question: str) -> list[int]:
        """Entries named by one of their abbreviations, spelt as the glossary spells it (BN, GAP, mAP, CoT). Unlike
        a word ("head", "gap", or "HEAD" in git), such a spelling names one thing."""
        text = normalize(question)
        _, taken = self._named(question)
        out: list[int] = []
        for a, b, ids, key in self._spans(question):
            if (a, b) in taken and SEPARATORS.sub("", text[a:b]) in self.abbreviations.get(key, ()):
                out += [i for i in ids if i not in out]
        return out

    def exactly(self, phrase: str) -> list[int]:
        """Entries one of whose names is exactly `phrase` (separators aside; case aside, except that a phrase
        written like an abbreviation must be one of the glossary's abbreviations: "HEAD" is not Head)."""
        key = name_key(phrase)
        spelled = SEPARATORS.sub("", normalize(phrase))
        if spelled.isascii() and len(spelled) <= 6 and (spelled.isupper() or _mixed_case(spelled)) \
                and spelled not in self.abbreviations.get(key, ()):
            return []
        return sorted(self.exact.get(key, ()))

    # -- fuzzy -----------------------------------------------------------------------------------
    def fuzzy_spans(self, question: str) -> list[tuple[int, int, int, str]]:
        """(start, end, entry, correct name) for names written with a typo; never inside an exact match.
        Positions refer to the normalised question."""
        return list(self._fuzzy_memo(question))

    def _fuzzy_spans(self, question: str) -> tuple[tuple[int, int, int, str], ...]:
        from rapidfuzz.distance import OSA

        if not self.fuzzy_enabled:
            return []
        text = normalize(question)
        low = text.lower()
        if len(low) != len(text):  # a case mapping changed the length: positions would not line up
            return []
        _, taken = self._named(question)

        def free(a: int, b: int, words: int = 1) -> bool:
            # A longer several-word name may swallow an exact shorter one: "gradient desent" is Gradient Descent
            # with a typo, not Gradient followed by a stray word.
            exact = [(x, y) for x, y in taken if not (words > 1 and a <= x and y <= b and y - x < b - a)]
            return not any(a < y and x < b for x, y in exact + [(s[0], s[1]) for s in spans])

        spans: list[tuple[int, int, int, str]] = []
        words = [(m.start(), m.group()) for m in re.finditer(r"[a-z0-9]+", low)]
        for n in (3, 2, 1):  # longer names first, so "beam serach" is one typo, not two words
            for s in range(len(words) - n + 1):
                parts = [w for _, w in words[s : s + n]]
                window = "".join(parts)
                start, end = words[s][0], words[s + n - 1][0] + len(words[s + n - 1][1])
                if (len(window) < 5 or window in self.exact or not free(start, end, n)
                        or all(p in self.known_words for p in parts)):  # a typo is not a real word
                    continue
                allowed = 2 if len(window) >= 10 else 1
                digits = re.findall(r"\d", window)
                best = None
                # Sorted, so that ties (several spellings of one name: "cross-entropy", "Cross Entropy") are broken
                # the same way in every process; set order changes with PYTHONHASHSEED and so did the embedding.
                for d in sorted(_deletes(window) | {window}):
                    for key, i, name, name_words in sorted(self.fuzzy_ascii.get(d, ())):
                        if name_words != n or re.findall(r"\d", key) != digits:
                            continue
                        dist = OSA.distance(window, key, score_cutoff=allowed)
                        rank = (dist, i, name != self.primary.get(i), name)  # ties: the entry's English term
                        if dist <= allowed and (best is None or rank < best):
                            best = rank
                if best:
                    spans.append((start, end, best[1], best[3]))
        for run in re.finditer(r"[\u3400-\u9fff]{3,}", low):
            chunk = run.group()
            for length in range(min(len(chunk), 8), 2, -1):
                for a in range(len(chunk) - length + 1):
                    window, start = chunk[a : a + length], run.start() + a
                    if window in self.exact or not free(start, start + length):
                        continue
                    found = self.fuzzy_cjk.get(pinyin_key(window))
                    if found:
                        i, name = sorted(found)[0]
                        spans.append((start, start + length, i, name))
        return tuple(sorted(spans))

    def fuzzy(self, question: str) -> list[int]:
        """Entries whose name appears in the question with a typo, in order of appearance."""
        return list(dict.fromkeys(i for _, _, i, _ in self.fuzzy_spans(question)))

    def corrected(self, question: str) -> str | None:
        """The question with its misspelt glossary names written correctly, or None if there were none."""
        spans = self.fuzzy_spans(question)
        if not spans:
            return None
        text = normalize(question)
        for start, end, _, name in reversed(spans):
            text = text[:start] + name + text[end:]
        return text
