"""C2 — understanding of the prompt and the dissertative-argumentative type.

ENEM's C2 asks three things, and this dimension measures each with the cheapest tool that works:
1. Did the essay address the theme? Sentence embeddings (multilingual-e5-small, see
   `services/analysis/embeddings.py`) of the essay's paragraphs against the motivating texts give
   `prompt_similarity`; the fraction of the prompt's keywords found in the essay gives
   `keyword_coverage`. Together they flag total flight from the theme ("fuga ao tema",
   `off_topic`) and the partial miss ENEM calls "tangenciamento" (`tangential`: the same broad area
   but not the specific theme). Embeddings catch paraphrase; keywords catch the specific framing
   that a broad-area essay lacks, so the flags use both.
2. Is it a dissertative-argumentative text? Paragraphing, a positioned introduction, a concluding
   last paragraph and the absence of narrative markers give `structure_score`; `dissertative` is
   False only for storytelling (dense first-person narration), because the scorer may annul on it.
3. Does it bring sociocultural repertoire, and does it copy the motivating texts? Curated
   lexicons (authors, laws, history, data sources) and patterns (quotes, "art. 5º", percentages)
   mark repertoire as info-level issues; 5-gram overlap with the prompt marks copied passages
   (ENEM disregards copied lines; the scorer uses `copied_ratio`).

Calibration (reproduce the separation with `bench/analysis_quality.py --theme-sample N`).
Raw e5 cosines are useless as they come: every Portuguese essay is close to every prompt (mean
raw cosine essay/own prompt 0.953, essay/UNRELATED prompt 0.927). The vectors share a large common
direction, so each side is first centred on its own background — the mean embedding of ENEM
essays, and of ENEM prompts, shipped in `resources/pt_BR/theme_background.json` — and
`prompt_similarity` is the cosine of the centred vectors (`prompt_similarity_raw` keeps the raw
one). Data: 114 essays of 40 prompts of /work/shared/data/enem (seed 1: 34 with c2 <= 40, 80 with
c2 > 40), each paired with its own prompt and with a random other prompt of the pool; backgrounds
estimated on half of the prompts and evaluated on the essays of the other half (two folds):
    centred similarity   own (c2 > 40) mean 0.383 | own (c2 <= 40) 0.237 | other prompt 0.019
    AUC own > other      raw 0.916 -> centred 0.991;  AUC c2 > 40 vs c2 <= 40 (own) 0.800
    percentiles          own (c2 > 40) p1 0.12, p5 0.15, p10 0.22 | other p90 0.13, p95 0.15
    keyword coverage     own (c2 > 40) p5 0.14, p10 0.33, median 0.54 | other p90 0.17, p95 0.22
    (a single prompt-only background gave AUC 0.986; an essay-only one 0.966)
Chosen rules and their rates on that sample (precision first: the scorer may annul an essay
flagged off-topic and caps C2/C3/C5 of a tangential one, see services/analysis/scoring/rules.py):
    off_topic  = (similarity < 0.10 and coverage < 0.20) or coverage < 0.08
                 -> other-prompt pairs 87 %, own pairs with c2 > 40 0 of 80, own essays with
                 c2 == 0 13 % (c2 = 0 also covers blank, copied or otherwise annulled essays).
                 (similarity < 0.15 would catch 91 % of other-prompt pairs but also 3.8 % of
                 own pairs with c2 > 40.)
                 The coverage-only clause guards against embedding outliers: a short hand-made
                 prompt and an essay on football scored a centred similarity of 0.41, while
                 sharing 3 % of the prompt's keywords.
    tangential = not off_topic and similarity < 0.15 and coverage < 0.30
                 -> own pairs c2 > 40 3.8 %, own c2 <= 40 5.9 %, other-prompt pairs not already
                 off-topic 7.9 %. The data has almost no labelled tangent (4 essays with c2 = 40
                 in the sample), so this threshold is the least supported number here.
Mean c2 by centred-similarity band: < 0.15 → 55, 0.15–0.25 → 50, 0.25–0.35 → 99, >= 0.35 → 128.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from services.analysis import embeddings
from services.analysis.results import DimensionResult, EssayInput, Issue
from services.analysis.text import Span, fold, fold_aligned, paragraphs, sentences, words

_RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "pt_BR"

# --- calibration (see module docstring and bench/analysis_quality.py) -------------------------
# Off-topic: similarity to the prompt below OFF_TOPIC_SIMILARITY *and* keyword coverage below
# OFF_TOPIC_COVERAGE. Tangential: not off-topic, but similarity below TANGENTIAL_SIMILARITY or
# coverage below TANGENTIAL_COVERAGE.
OFF_TOPIC_SIMILARITY = 0.10
OFF_TOPIC_COVERAGE = 0.20
# ... or keyword coverage alone below OFF_TOPIC_COVERAGE_ALONE (almost none of the prompt's
# words: no own-prompt essay with c2 > 40 in the sample went below 0.094).
OFF_TOPIC_COVERAGE_ALONE = 0.08
TANGENTIAL_SIMILARITY = 0.15
TANGENTIAL_COVERAGE = 0.30
# Below this centred similarity the C2 estimate drops one level: in the calibration sample the
# essays under 0.25 averaged c2 = 52, those from 0.25 up 118.
LOW_ADHERENCE_SIMILARITY = 0.25
# Not dissertative: storytelling density (2 x narrative markers + first-person words, per 100
# words) at or above this. On 1,500 essays of the shared data 6 (0.4 %) reach it (2 with c2 = 0);
# paragraphing problems lower `structure_score` but do not make a text narrative.
NARRATIVE_RATE_MAX = 3.0
# Below this many words the theme cannot be developed (an ENEM essay has ~250-400 words).
SHORT_TEXT_WORDS = 120
# Copied motivating text: runs of COPY_NGRAM-word windows shared with the prompt, kept when the
# run covers at least COPY_MIN_WORDS words; the essay is flagged when COPY_FLAG_RATIO of its
# words (or one run of COPY_FLAG_RUN words) are copied.
# On 1,500 essays of the shared data (seed 2): the median and 90th percentile of copied_ratio are
# 0, the 99th 0.08; 2.1 % are flagged; the 5 essays copying >= 15 % average c2 104 (all: 124).
COPY_NGRAM = 5
COPY_MIN_WORDS = 8
COPY_FLAG_RATIO = 0.05
COPY_FLAG_RUN = 15
# Prompt keywords: the KEYWORDS most frequent content stems of the prompt (short first line x3).
KEYWORDS = 20
# The prompt vector: mean of its first PROMPT_CHUNKS lines (motivating texts), each cut to
# PROMPT_CHUNK_CHARS — the gist of a motivating text is in its opening, and this bounds the cost.
PROMPT_CHUNKS = 6
PROMPT_CHUNK_CHARS = 1200
_PROMPT_CACHE_SIZE = 512

_KINDS_PT = {
    "author": "pensador/autor citado",
    "law": "lei ou documento legal",
    "data": "dado estatístico ou fonte de pesquisa",
    "history": "fato histórico",
    "citation": "citação",
    "work": "obra cultural",
}


def _read(name: str) -> str:
    return (_RESOURCES / name).read_text(encoding="utf-8")


def _entries(name: str) -> list[list[str]]:
    out = []
    for line in _read(name).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append([v.strip() for v in line.split("|") if v.strip()])
    return out


def _alternation(phrases: list[str]) -> str:
    folded = sorted({fold(p).strip() for p in phrases if p.strip()}, key=len, reverse=True)
    return "(?:" + "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in folded) + ")"


def _bounded(phrases: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + _alternation(phrases) + r"(?![\w-])")


def stem(word: str) -> str:
    """Light stemmer for keyword matching: folded, plural stripped, cut to 6 characters.

    Truncation stemming is crude but robust for Portuguese topic words ("violência",
    "violento" -> "violen"; "mulheres", "mulher" -> "mulher"), and needs no model.
    """
    w = fold(word)
    if len(w) > 4 and w.endswith("oes"):
        w = w[:-3] + "ao"
    elif len(w) > 4 and w.endswith(("res", "zes", "ses")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s"):
        w = w[:-1]
    return w[:6]


@dataclass(frozen=True, slots=True)
class _PromptInfo:
    raw: npt.NDArray[np.float32]  # normalised mean of the chunk embeddings
    vector: npt.NDArray[np.float32]  # the same, centred on the background and renormalised
    keywords: dict[str, float]  # stem -> weight
    ngrams: frozenset[tuple[str, ...]]


class ThemeDimension:
    """ENEM C2 analyser. The embedding model loads in `__init__`; the prompt cache is guarded
    by a lock, so instances are safe to share between threads."""

    name = "theme"
    version = "1.0.0"

    def __init__(self) -> None:
        markers: dict[str, list[str]] = json.loads(_read("theme_markers.json"))
        self._thesis_re = _bounded(markers["thesis"])
        self._conclusion_re = _bounded(markers["conclusion"])
        self._narrative_re = _bounded(markers["narrative"])
        self._first_person = frozenset(fold(w) for w in markers["first_person"])
        self._stopwords = frozenset(
            fold(w)
            for line in _read("theme_stopwords.txt").splitlines()
            if not line.startswith("#")
            for w in line.split()
        )
        self._repertoire: list[tuple[str, re.Pattern[str]]] = [
            ("author", _bounded([v for e in _entries("repertoire_authors.txt") for v in e])),
            ("law", _bounded([v for e in _entries("repertoire_laws.txt") for v in e])),
            ("history", _bounded([v for e in _entries("repertoire_history.txt") for v in e])),
        ]
        sources = _alternation([v for e in _entries("repertoire_sources.txt") for v in e])
        self._data_re = re.compile(
            r"(?<![\w-])(?:(?:segundo|conforme|de acordo com|dados d[oa]s?|pesquisa d[oa]s?"
            r"|levantamento d[oa]s?|estudo d[oa]s?|relatorio d[oa]s?)\s+(?:o\s+|a\s+)?"
            + sources
            + r"(?![\w-])|\d+(?:[.,]\d+)?\s*(?:%|por\s+cento)|\d+(?:[.,]\d+)?\s+(?:mil|milhoes|"
            r"milhao|bilhoes|bilhao)\s+de\s+[^\W\d_]+)"
        )
        self._article_re = re.compile(
            r"(?<![\w-])(?:art\.?|artigo)\s*\d+\s*[ºo°]?(?:[^.;\n]{0,40}?"
            r"(?:constituicao|carta magna|lei|codigo|estatuto|declaracao))?"
            r"|(?<![\w-])lei\s+(?:n[ºo°.]*\s*)?\d[\d.]*(?:/\d+)?"
        )
        self._quote_re = re.compile(r"[\"“«]([^\"”»\n]{12,300})[\"”»]")
        self._attribution_re = re.compile(
            r"(?<![\w-])(?:segundo|conforme|de acordo com|nas palavras de|como (?:afirma|afirmou|"
            r"diz|disse|defende|defendia|pontua|pontuou|postula|postulou|preconiza|salienta|"
            r"destaca|ressalta|escreveu|propoe|propos)|para o (?:filosofo|sociologo|pensador|"
            r"escritor|autor|historiador|psicologo|geografo|educador)|para a (?:filosofa|"
            r"sociologa|pensadora|escritora|autora|historiadora|psicologa|educadora))\s+"
        )
        self._work_re = re.compile(
            r"(?<![\w-])(?:o filme|a obra|o livro|a serie|a musica|a cancao|o romance|"
            r"o documentario|a novela|o poema|a pintura|o quadro)\s+(?=[\"“«]?\w)",
        )
        background = json.loads(_read("theme_background.json"))
        self._essay_background = np.asarray(background["essay"], dtype=np.float32)
        self._prompt_background = np.asarray(background["prompt"], dtype=np.float32)
        self._cache: dict[str, _PromptInfo] = {}
        self._cache_lock = threading.Lock()
        embeddings.get_model()  # load the model now, not on the first essay

    # --- public -------------------------------------------------------------------------------

    def analyse(self, essay: EssayInput) -> DimensionResult:
        text = essay.text
        folded = fold_aligned(text)
        paras = paragraphs(text)
        issues: list[Issue] = []
        metrics: dict[str, float] = {}
        details: dict[str, Any] = {}
        feedback: list[str] = []

        structure = self._structure(text, folded, paras)
        metrics.update(structure.metrics)
        details.update(structure.details)

        repertoire = self._repertoire_issues(text, folded)
        issues.extend(repertoire)
        kinds = Counter(i.category.split(".", 1)[1] for i in repertoire)
        # a reference is counted once per sentence and kind: "segundo o IBGE, 40 %…" is one
        ends = [s.end for s in sentences(text)]
        references = {(bisect.bisect_left(ends, i.start), i.category) for i in repertoire}
        metrics["repertoire_count"] = float(len(references))
        metrics["repertoire_mentions"] = float(len(repertoire))
        metrics["word_count"] = float(len(words(text)))
        metrics["repertoire_kinds"] = float(len(kinds))
        details["repertoire"] = dict(kinds)

        prompt = (essay.prompt_text or "").strip()
        if prompt:
            info = self._prompt_info(prompt)
            topic = self._topic(text, paras, info)
            metrics.update(topic)
            copied = self._copied(text, info)
            issues.extend(copied.issues)
            metrics["copied_ratio"] = copied.ratio
            metrics["copied_words"] = float(copied.words)
            details["copied"] = copied.flag
            off, tangential = _flags(topic["prompt_similarity"], topic["keyword_coverage"])
            details["off_topic"] = off
            details["tangential"] = tangential
            details["prompt_keywords"] = sorted(info.keywords, key=lambda k: -info.keywords[k])
        else:
            details.update(off_topic=False, tangential=False, copied=False)
            feedback.append(
                "Sem os textos motivadores da proposta, não foi possível verificar a aderência ao "
                "tema nem a cópia de trechos; avaliamos só a estrutura e o repertório."
            )

        level, reasons = _level(metrics, details)
        details["level_reasons"] = reasons
        feedback.extend(_feedback(metrics, details, kinds))
        return DimensionResult(
            dimension=self.name,
            version=self.version,
            level=level,
            metrics=metrics,
            issues=issues,
            feedback=feedback,
            details=details,
        )

    # --- topic --------------------------------------------------------------------------------

    def _prompt_info(self, prompt: str) -> _PromptInfo:
        key = hashlib.sha1(prompt.encode("utf-8")).hexdigest()
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        lines = [c.strip() for c in prompt.splitlines() if len(c.strip()) > 40]
        chunks = [c[:PROMPT_CHUNK_CHARS] for c in lines[:PROMPT_CHUNKS]]
        vectors = embeddings.embed(chunks or [prompt[:2000]], "query")
        weights = np.array([float(len(c)) for c in chunks] or [1.0], dtype=np.float32)
        raw = _normalised((vectors * weights[:, None]).sum(axis=0))
        info = _PromptInfo(
            raw,
            _normalised(raw - self._prompt_background),
            self._keywords(prompt),
            self._ngrams(prompt),
        )
        with self._cache_lock:
            if len(self._cache) >= _PROMPT_CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = info
        return info

    def _keywords(self, prompt: str) -> dict[str, float]:
        counts: Counter[str] = Counter()
        lines = [line for line in prompt.splitlines() if line.strip()]
        for i, line in enumerate(lines):
            # a short first line is the theme's title or question: its words weigh triple
            weight = 3 if i == 0 and len(line) <= 160 else 1
            for w in words(line):
                f = fold(w.text)
                if len(f) < 4 or f in self._stopwords or not f.isalpha():
                    continue
                counts[stem(w.text)] += weight
        return {k: float(v) for k, v in counts.most_common(KEYWORDS)}

    def _topic(self, text: str, paras: list[Span], info: _PromptInfo) -> dict[str, float]:
        units = [p.text for p in paras] or [text]
        vectors = embeddings.embed(units, "query")
        lengths = np.array([len(u) for u in units], dtype=np.float32)
        raw = _normalised((vectors * lengths[:, None]).sum(axis=0))
        essay_vector = _normalised(raw - self._essay_background)
        centred = vectors - self._essay_background
        centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)
        per_paragraph = centred @ info.vector
        essay_stems = {stem(w.text) for w in words(text)}
        total = sum(info.keywords.values())
        covered = sum(v for k, v in info.keywords.items() if k in essay_stems)
        return {
            "prompt_similarity": float(essay_vector @ info.vector),
            "prompt_similarity_raw": float(raw @ info.raw),
            "paragraph_similarity_min": float(per_paragraph.min()),
            "paragraph_similarity_mean": float(per_paragraph.mean()),
            "keyword_coverage": covered / total if total else 0.0,
        }

    # --- copied motivating text ---------------------------------------------------------------

    @staticmethod
    def _ngrams(prompt: str) -> frozenset[tuple[str, ...]]:
        ws = [fold(w.text) for w in words(prompt)]
        return frozenset(tuple(ws[i : i + COPY_NGRAM]) for i in range(len(ws) - COPY_NGRAM + 1))

    def _copied(self, text: str, info: _PromptInfo) -> _Copied:
        ws = words(text)
        folded = [fold(w.text) for w in ws]
        covered = [False] * len(ws)
        for i in range(len(ws) - COPY_NGRAM + 1):
            if tuple(folded[i : i + COPY_NGRAM]) in info.ngrams:
                for j in range(i, i + COPY_NGRAM):
                    covered[j] = True
        runs: list[tuple[int, int]] = []
        i = 0
        while i < len(ws):
            if covered[i]:
                j = i
                while j + 1 < len(ws) and covered[j + 1]:
                    j += 1
                if j - i + 1 >= COPY_MIN_WORDS:
                    runs.append((i, j))
                i = j + 1
            else:
                i += 1
        copied_words = sum(j - i + 1 for i, j in runs)
        ratio = copied_words / len(ws) if ws else 0.0
        issues = [
            Issue(
                start=ws[i].start,
                end=ws[j].end,
                category="theme.copied",
                message=(
                    f"Trecho copiado dos textos motivadores ({j - i + 1} palavras): no ENEM, "
                    "linhas copiadas são desconsideradas."
                ),
                suggestions=["Reescreva a ideia com suas palavras e acrescente sua análise."],
                rule="copied_motivating_text",
            )
            for i, j in runs
        ]
        longest = max((j - i + 1 for i, j in runs), default=0)
        flag = ratio >= COPY_FLAG_RATIO or longest >= COPY_FLAG_RUN
        return _Copied(ratio, copied_words, flag, issues)

    # --- structure ----------------------------------------------------------------------------

    def _structure(self, text: str, folded: str, paras: list[Span]) -> _Structure:
        n = len(paras)
        intro = paras[0] if paras else Span(0, len(text), text)
        last = paras[-1] if paras else intro
        thesis_hits = len(self._thesis_re.findall(folded, intro.start, intro.end))
        conclusion_hits = len(self._conclusion_re.findall(folded, last.start, last.end))
        ws = words(text)
        first_person = sum(1 for w in ws if fold(w.text) in self._first_person)
        narrative_hits = len(self._narrative_re.findall(folded))
        per100 = 100.0 / max(len(ws), 1)
        narrative_rate = (narrative_hits * 2 + first_person) * per100
        has_thesis = thesis_hits > 0 and n >= 2
        has_conclusion = conclusion_hits > 0 and n >= 2
        paragraph_part = {0: 0.0, 1: 0.1, 2: 0.4, 3: 0.75}.get(n, 1.0 if n <= 6 else 0.8)
        narrative_part = max(0.0, 1.0 - narrative_rate / 4.0)
        score = (
            0.3 * paragraph_part
            + 0.2 * float(has_thesis)
            + 0.25 * float(has_conclusion)
            + 0.25 * narrative_part
        )
        dissertative = narrative_rate < NARRATIVE_RATE_MAX
        return _Structure(
            metrics={
                "paragraph_count": float(n),
                "structure_score": round(score, 4),
                "thesis_markers": float(thesis_hits),
                "conclusion_markers": float(conclusion_hits),
                "narrative_markers": float(narrative_hits),
                "first_person_rate": round(first_person * per100, 4),
                "narrative_rate": round(narrative_rate, 4),
            },
            details={
                "dissertative": dissertative,
                "has_thesis": has_thesis,
                "has_conclusion": has_conclusion,
            },
        )

    # --- repertoire ---------------------------------------------------------------------------

    def _repertoire_issues(self, text: str, folded: str) -> list[Issue]:
        found: list[tuple[int, int, str]] = []
        for kind, rx in self._repertoire:
            for m in rx.finditer(folded):
                # names and events are written capitalised; "renascimento" (rebirth) is not
                # the Renaissance, "adorno" is not Adorno
                if kind == "law" or text[m.start()].isupper():
                    found.append((m.start(), m.end(), kind))
        found.extend((m.start(), m.end(), "law") for m in self._article_re.finditer(folded))
        found.extend((m.start(), m.end(), "data") for m in self._data_re.finditer(folded))
        for m in self._quote_re.finditer(text):
            if len(m.group(1).split()) >= 3:
                found.append((m.start(), m.end(), "citation"))
        for m in self._attribution_re.finditer(folded):
            # an attribution counts when followed by a capitalised name ("segundo Bauman")
            # "segundo Bauman", "segundo o IBGE", "segundo a filósofa Simone de Beauvoir"
            nxt = re.match(
                r"(?:(?:o|a|os|as)\s+(?:[a-zà-ÿ]+\s+)?)?([^\W\d_])", text[m.end() : m.end() + 40]
            )
            if nxt and nxt.group(1).isupper():
                end = _name_end(text, m.end() + nxt.start(1))
                found.append((m.start(), end, "citation"))
        for m in self._work_re.finditer(folded):
            title = text[m.end() : m.end() + 2].lstrip('"“«')
            if title[:1].isupper():  # "o filme Coringa", not "o filme mostra"
                found.append((m.start(), _name_end(text, m.end()), "work"))
        found.sort(key=lambda t: (t[0], -(t[1] - t[0])))
        # "segundo o IBGE" is a data source, not a quoted person
        sourced = [(a, b) for a, b, k in found if k in ("data", "law")]
        issues: list[Issue] = []
        last_end: dict[str, int] = {}
        for start, end, kind in found:
            if start < last_end.get(kind, -1):
                continue  # overlapping evidence of one kind: keep the first (longest)
            if kind == "citation" and any(a < end and start < b for a, b in sourced):
                continue
            while end > start and text[end - 1].isspace():
                end -= 1
            last_end[kind] = end
            issues.append(
                Issue(
                    start=start,
                    end=end,
                    category=f"repertoire.{kind}",
                    message=f"Repertório sociocultural: {_KINDS_PT[kind]}.",
                    rule=f"repertoire_{kind}",
                )
            )
        return issues


@dataclass(frozen=True, slots=True)
class _Copied:
    ratio: float
    words: int
    flag: bool
    issues: list[Issue]


@dataclass(frozen=True, slots=True)
class _Structure:
    metrics: dict[str, float]
    details: dict[str, Any]


def _name_end(text: str, start: int) -> int:
    """End of a capitalised name starting near `start` ("Zygmunt Bauman", "Paulo Freire")."""
    m = re.match(
        r"[\"“«]?(?:(?:o|a)\s+)?[^\W\d_][\w'’-]*(?:\s+(?:d[aeo]s?\s+)?[A-ZÀ-Ý][\w'’-]*)*",
        text[start:],
    )
    return start + (m.end() if m else 0)


def _normalised(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm else v.astype(np.float32)


def _flags(similarity: float, coverage: float) -> tuple[bool, bool]:
    off = (
        similarity < OFF_TOPIC_SIMILARITY and coverage < OFF_TOPIC_COVERAGE
    ) or coverage < OFF_TOPIC_COVERAGE_ALONE
    tangential = not off and (similarity < TANGENTIAL_SIMILARITY and coverage < TANGENTIAL_COVERAGE)
    return off, tangential


def _level(metrics: dict[str, float], details: dict[str, Any]) -> tuple[int, list[str]]:
    """ENEM C2 estimate: 0 for flight from the theme or another text type, 40 for tangent,
    then 80–200 by structure and repertoire."""
    reasons: list[str] = []
    if details.get("off_topic"):
        return 0, ["fuga ao tema: texto pouco relacionado à proposta (nota 0 na redação)"]
    if not details["dissertative"]:
        return 0, ["o texto não é dissertativo-argumentativo (marcas de narração)"]
    if details.get("tangential"):
        reasons.append("tangenciamento do tema: aborda o assunto amplo, não o recorte proposto")
        return 40, reasons
    if metrics["word_count"] < SHORT_TEXT_WORDS:
        return 40, [
            f"texto muito curto ({metrics['word_count']:.0f} palavras) para desenvolver o tema"
        ]
    structure = metrics["structure_score"]
    repertoire = metrics["repertoire_count"]
    if structure >= 0.85 and repertoire >= 2:
        level = 200 if repertoire >= 3 and metrics["repertoire_kinds"] >= 2 else 160
    elif structure >= 0.7:
        level = 160 if repertoire >= 2 else 120
    elif structure >= 0.5:
        level = 120 if repertoire >= 1 else 80
    else:
        level = 80 if repertoire >= 1 else 40
    reasons.append(f"estrutura dissertativa {structure:.2f} (0–1)")
    reasons.append(f"{repertoire:.0f} elemento(s) de repertório sociocultural")
    similarity = metrics.get("prompt_similarity")
    if similarity is not None:
        reasons.append(f"aderência ao tema {similarity:.2f} (similaridade centrada com a proposta)")
        if similarity < LOW_ADHERENCE_SIMILARITY:
            level = max(40, level - 40)
            reasons.append("aderência ao tema baixa: o texto se afasta do recorte da proposta")
    if details.get("copied"):
        level = max(40, level - 40)
        reasons.append("trechos copiados dos textos motivadores (desconsiderados no ENEM)")
    return level, reasons


def _feedback(metrics: dict[str, float], details: dict[str, Any], kinds: Counter[str]) -> list[str]:
    out: list[str] = []
    if details.get("off_topic"):
        out.append(
            "O texto parece fugir do tema proposto. Releia a proposta e os textos motivadores "
            "e discuta o recorte pedido."
        )
    elif details.get("tangential"):
        out.append(
            "O texto tangencia o tema: trata do assunto geral, mas não do recorte específico "
            "da proposta. Retome as palavras-chave do tema ao longo dos parágrafos."
        )
    if details.get("copied"):
        out.append(
            "Há trechos copiados dos textos motivadores; no ENEM eles não contam. Use-os só "
            "como ponto de partida."
        )
    if not details["dissertative"]:
        out.append(
            "O texto tem marcas de narração (primeira pessoa, relato de episódios): a redação do "
            "ENEM pede um texto dissertativo-argumentativo, com tese, argumentos e conclusão."
        )
    if metrics["paragraph_count"] < 3:
        out.append(
            "Organize o texto em parágrafos: introdução, desenvolvimento (dois parágrafos, em "
            "geral) e conclusão."
        )
    if not details.get("has_thesis"):
        out.append("Apresente na introdução um posicionamento claro (tese) sobre o tema.")
    if not details.get("has_conclusion"):
        out.append("Feche o texto com um parágrafo de conclusão (ex.: 'Portanto,', 'Em suma,').")
    if metrics["repertoire_count"] == 0:
        out.append(
            "Não encontramos repertório sociocultural: cite um pensador, uma lei, um dado ou um "
            "fato histórico e relacione-o ao tema."
        )
    else:
        listed = ", ".join(_KINDS_PT[k] for k in sorted(kinds))
        out.append(f"Repertório sociocultural encontrado: {listed}.")
    return out
