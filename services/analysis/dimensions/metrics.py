"""Text metrics: size, sentence structure, readability and vocabulary (no competency of its own).

These numbers feed the scorer (as features) and two ENEM rules: an essay of at most 7 lines is
annulled, and the answer sheet has 30 lines. Essays arrive typed, so lines are ESTIMATED from
words: a handwritten ENEM line holds about 10–12 words (`WORDS_PER_LINE` = 11, the middle of that
range), and every paragraph starts a new line, so lines = Σ ceil(words in paragraph / 11).

Readability is the Portuguese adaptation of Flesch reading ease by Martins et al. (1996):
248.835 − 1.015·ASL − 84.6·ASW (ASL: words per sentence, ASW: syllables per word), with syllables
from pyphen's pt_BR hyphenation dictionary (edge minima lowered to 1 so "a-mor" counts two).
Vocabulary sophistication uses `wordfreq` Zipf frequencies: rarer words (Zipf < 3.5) signal a
more formal register; words absent from the list are mostly misspellings and counted apart.
"""

from __future__ import annotations

import math
import statistics

import pyphen
from wordfreq import get_frequency_dict, zipf_frequency

from services.analysis.lexicons import stopwords
from services.analysis.results import DimensionResult, EssayInput
from services.analysis.text import fold, paragraphs, sentences, words

WORDS_PER_LINE = 11  # handwritten ENEM answer sheet: ~10–12 words per line
SHEET_LINES = 30
RARE_ZIPF = 3.5


def flesch_pt(words_per_sentence: float, syllables_per_word: float) -> float:
    """Flesch reading ease adapted to Portuguese (Martins et al., 1996)."""
    return 248.835 - 1.015 * words_per_sentence - 84.6 * syllables_per_word


def lines_estimate(paragraph_word_counts: list[int], words_per_line: int = WORDS_PER_LINE) -> int:
    """Handwritten lines the text would fill: each paragraph starts on a new line."""
    return sum(math.ceil(n / words_per_line) for n in paragraph_word_counts if n > 0)


class MetricsDimension:
    """Size, sentence statistics, readability, lexical sophistication. `level` is always None.

    Thread-safe after construction: pyphen dictionaries and the frequency table are read-only.
    """

    name = "metrics"
    version = "1.0.0"

    def __init__(self) -> None:
        self._hyphenator = pyphen.Pyphen(lang="pt_BR", left=1, right=1)
        self._freq: dict[str, float] = get_frequency_dict("pt", wordlist="best")
        self._stopwords = stopwords()
        self._syllable_cache: dict[str, int] = {}

    def syllables(self, word: str) -> int:
        """Syllables of one word, from hyphenation points (at least 1)."""
        key = word.lower()
        hit = self._syllable_cache.get(key)
        if hit is None:
            hit = sum(len(self._hyphenator.positions(part)) + 1 for part in key.split("-") if part)
            hit = max(hit, 1)
            if len(self._syllable_cache) < 200_000:
                self._syllable_cache[key] = hit
        return hit

    def zipf(self, word: str) -> float:
        """Zipf frequency (log10 per billion words) of a word in Portuguese; 0 if unknown."""
        key = word.lower()
        f = self._freq.get(key)
        if f is not None and f > 0:
            return round(math.log10(f) + 9, 2)
        if "-" in key or "'" in key:
            return float(zipf_frequency(key, "pt"))
        return 0.0

    def analyse(self, essay: EssayInput) -> DimensionResult:
        text = essay.text
        paras = paragraphs(text)
        sents = sentences(text)
        ws = words(text)
        n_words = len(ws)
        sent_lengths = [len(words(s.text)) for s in sents]
        para_lengths = [len(words(p.text)) for p in paras]

        syllables = [self.syllables(w.text) for w in ws]
        asl = statistics.fmean(sent_lengths) if sent_lengths else 0.0
        asw = statistics.fmean(syllables) if syllables else 0.0
        content = [w.text for w in ws if fold(w.text) not in self._stopwords]
        zipfs = [self.zipf(w) for w in content]
        known = [z for z in zipfs if z > 0]
        lowered = [w.text.lower() for w in ws]
        lines = lines_estimate(para_lengths)

        metrics: dict[str, float] = {
            "words": float(n_words),
            "sentences": float(len(sents)),
            "paragraphs": float(len(paras)),
            "characters": float(len(text.strip())),
            "characters_no_spaces": float(sum(not c.isspace() for c in text)),
            "lines_estimate": float(lines),
            "lines_sheet_ratio": lines / SHEET_LINES,
            "mean_sentence_length": asl,
            "std_sentence_length": statistics.pstdev(sent_lengths) if len(sents) > 1 else 0.0,
            "max_sentence_length": float(max(sent_lengths, default=0)),
            "mean_paragraph_length": statistics.fmean(para_lengths) if para_lengths else 0.0,
            "mean_word_length": statistics.fmean(len(w.text) for w in ws) if ws else 0.0,
            "syllables_per_word": asw,
            "flesch_pt": flesch_pt(asl, asw) if ws else 0.0,
            "long_word_share": sum(s >= 4 for s in syllables) / n_words if n_words else 0.0,
            "type_token_ratio": len(set(lowered)) / n_words if n_words else 0.0,
            "content_word_share": len(content) / n_words if n_words else 0.0,
            "mean_zipf": statistics.fmean(known) if known else 0.0,
            "rare_word_share": sum(z < RARE_ZIPF for z in known) / len(known) if known else 0.0,
            "unknown_word_share": (len(zipfs) - len(known)) / len(zipfs) if zipfs else 0.0,
        }
        return DimensionResult(
            dimension=self.name,
            version=self.version,
            level=None,
            metrics=metrics,
            feedback=self._feedback(metrics),
            details={
                "level_reasons": [],
                "sentence_lengths": sent_lengths,
                "paragraph_lengths": para_lengths,
                "words_per_line": WORDS_PER_LINE,
            },
        )

    @staticmethod
    def _feedback(m: dict[str, float]) -> list[str]:
        out = [
            f"O texto tem {int(m['words'])} palavras, {int(m['sentences'])} frases e "
            f"{int(m['paragraphs'])} parágrafos (cerca de {int(m['lines_estimate'])} linhas "
            "manuscritas)."
        ]
        if m["lines_estimate"] <= 7:
            out.append("Textos com até 7 linhas recebem nota zero no ENEM; desenvolva mais.")
        elif m["lines_estimate"] > SHEET_LINES:
            out.append("O texto passa das 30 linhas da folha de redação; seja mais conciso.")
        if m["mean_sentence_length"] > 35:
            out.append("As frases são longas em média; períodos mais curtos facilitam a leitura.")
        if m["paragraphs"] and m["paragraphs"] < 4:
            out.append("A redação dissertativa costuma ter 4 ou 5 parágrafos.")
        if m["unknown_word_share"] > 0.05:
            out.append("Há muitas palavras fora do vocabulário comum: revise a ortografia.")
        return out
