"""Features of one essay for the ENEM scorer: cheap text statistics, word/char n-grams, and the
numbers the six dimensions already computed.

The same functions run at training time (over cached dimension results) and at inference (over
the live results the platform hands the scorer), and the dense feature vector is built from a
FIXED, ordered list of names stored in the model file. A name the dimensions no longer emit, or a
dimension that failed, becomes NaN (the models impute it) and the `<dim>.present` indicator says
which dimensions were there, so training and inference vectors always line up.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

from services.analysis.results import DimensionResult

DIMENSIONS: tuple[str, ...] = (
    "grammar",
    "theme",
    "argumentation",
    "cohesion",
    "proposal",
    "metrics",
)

_WORD_RE = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_SENT_RE = re.compile(r"[^.!?…]+(?:[.!?…]+|$)")

# Small closed-class lists: the cohesion/proposal dimensions do the real work; these few counts
# let the text-only model (and the baseline comparison) see the most telling markers.
_CONNECTIVES = tuple(
    """
    além disso|ademais|outrossim|portanto|logo|assim|dessa forma|desse modo|dessa maneira|
    por conseguinte|consequentemente|entretanto|contudo|todavia|no entanto|porém|
    embora|apesar de|visto que|uma vez que|já que|posto que|haja vista|nesse sentido|
    nesse contexto|em primeiro lugar|em segundo lugar|por fim|finalmente|em suma|
    em síntese|diante disso|diante do exposto|sendo assim|por outro lado|ou seja|isto é|
    bem como|não só|mas também|de acordo com|segundo|conforme|à medida que|por isso
    """.replace("\n", "").split("|")
)
_PROPOSAL_MARKERS = tuple(
    """
    governo|estado|ministério|escola|escolas|mídia|ong|ongs|sociedade|família|famílias|
    poder público|deve|devem|cabe|é necessário|é preciso|faz-se necessário|urge|
    por meio de|através de|mediante|a fim de|com o intuito de|com o objetivo de|para que|
    campanhas|políticas públicas|palestras|projetos|fiscalização|investimento|investimentos
    """.replace("\n", "").split("|")
)


def _fold(s: str) -> str:
    decomposed = unicodedata.normalize("NFD", s.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _phrase_regex(phrases: Iterable[str]) -> re.Pattern[str]:
    alts = sorted({_fold(p.strip()) for p in phrases if p.strip()}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(a) for a in alts) + r")\b")


_CONNECTIVE_RE = _phrase_regex(_CONNECTIVES)
_PROPOSAL_RE = _phrase_regex(_PROPOSAL_MARKERS)

TEXT_FEATURES: tuple[str, ...] = (
    "text.chars",
    "text.words",
    "text.log_words",
    "text.sentences",
    "text.paragraphs",
    "text.lines_estimate",
    "text.mean_sentence_words",
    "text.std_sentence_words",
    "text.max_sentence_words",
    "text.mean_word_len",
    "text.long_word_ratio",
    "text.type_token_ratio",
    "text.hapax_ratio",
    "text.commas_per_sentence",
    "text.punct_ratio",
    "text.upper_ratio",
    "text.digit_ratio",
    "text.question_marks",
    "text.exclamations",
    "text.quotes",
    "text.parentheses",
    "text.lowercase_sentence_starts",
    "text.missing_space_after_stop",
    "text.connectives_per_100",
    "text.distinct_connectives",
    "text.first_par_words",
    "text.last_par_words",
    "text.last_par_proposal_markers",
    "text.proposal_markers",
    "text.has_title",
)

# The five length features of the published baseline (ridge on length), used by the bench.
BASELINE_FEATURES: tuple[str, ...] = (
    "text.chars",
    "text.words",
    "text.sentences",
    "text.paragraphs",
    "text.mean_word_len",
)


def text_features(text: str, title: str | None = None) -> dict[str, float]:
    """Surface statistics of the essay text (all of TEXT_FEATURES, never missing)."""
    paragraphs = [p.strip() for p in text.splitlines() if p.strip()]
    words = _WORD_RE.findall(text)
    lower = [w.lower() for w in words]
    n_words = len(words)
    sentences: list[str] = []
    for p in paragraphs:
        sentences.extend(s.strip() for s in _SENT_RE.findall(p) if s.strip())
    sent_words = [len(_WORD_RE.findall(s)) for s in sentences] or [0]
    chars = len(text.strip())
    counts: dict[str, int] = {}
    for w in lower:
        counts[w] = counts.get(w, 0) + 1
    folded = _fold(text)
    connective_hits = _CONNECTIVE_RE.findall(folded)
    last_par = _fold(paragraphs[-1]) if paragraphs else ""
    letters = sum(1 for c in text if c.isalpha()) or 1
    first_words = len(_WORD_RE.findall(paragraphs[0])) if paragraphs else 0
    last_words = len(_WORD_RE.findall(paragraphs[-1])) if paragraphs else 0
    per100 = 100.0 / n_words if n_words else 0.0
    starts = [s for s in sentences if s[:1].isalpha()]
    return {
        "text.chars": float(chars),
        "text.words": float(n_words),
        "text.log_words": math.log1p(n_words),
        "text.sentences": float(len(sentences)),
        "text.paragraphs": float(len(paragraphs)),
        # ENEM's answer sheet holds about 10 words per handwritten line.
        "text.lines_estimate": float(
            sum(max(1, math.ceil(len(_WORD_RE.findall(p)) / 10)) for p in paragraphs)
        ),
        "text.mean_sentence_words": float(np.mean(sent_words)),
        "text.std_sentence_words": float(np.std(sent_words)),
        "text.max_sentence_words": float(max(sent_words)),
        "text.mean_word_len": float(np.mean([len(w) for w in words])) if words else 0.0,
        "text.long_word_ratio": (sum(1 for w in words if len(w) >= 10) / n_words) if words else 0.0,
        "text.type_token_ratio": len(counts) / n_words if n_words else 0.0,
        "text.hapax_ratio": (sum(1 for c in counts.values() if c == 1) / n_words) if words else 0.0,
        "text.commas_per_sentence": text.count(",") / max(len(sentences), 1),
        "text.punct_ratio": sum(1 for c in text if c in ",.;:!?") / max(chars, 1),
        "text.upper_ratio": sum(1 for c in text if c.isupper()) / letters,
        "text.digit_ratio": sum(1 for c in text if c.isdigit()) / max(chars, 1),
        "text.question_marks": float(text.count("?")),
        "text.exclamations": float(text.count("!")),
        "text.quotes": float(sum(text.count(q) for q in '"“”«»')),
        "text.parentheses": float(text.count("(")),
        "text.lowercase_sentence_starts": (
            sum(1 for s in starts if s[0].islower()) / len(starts) if starts else 0.0
        ),
        "text.missing_space_after_stop": float(
            len(re.findall(r"[a-zà-ú][.,;][A-Za-zÀ-Úà-ú]", text))
        ),
        "text.connectives_per_100": len(connective_hits) * per100,
        "text.distinct_connectives": float(len(set(connective_hits))),
        "text.first_par_words": float(first_words),
        "text.last_par_words": float(last_words),
        "text.last_par_proposal_markers": float(len(_PROPOSAL_RE.findall(last_par))),
        "text.proposal_markers": len(_PROPOSAL_RE.findall(folded)) * per100,
        "text.has_title": 1.0 if title and title.strip() else 0.0,
    }


# Function words that say nothing about the theme (folded); prompt overlap counts content words.
_STOPWORDS = frozenset(
    """
    para pela pelo pelas pelos como mais menos muito muita muitos muitas quando onde porque
    pois entre sobre sendo seja sejam esse essa esses essas este esta estes estas isso isto
    aquele aquela aquilo tambem ainda apenas mesmo mesma cada todo toda todos todas outro
    outra outros outras qual quais cujo cuja seus suas sua seu nossa nosso deve devem pode
    podem fazer feito assim forma modo maneira sociedade brasil brasileira brasileiro texto
    ser estar sao tem foram pois dessa desse nessa nesse desta deste nesta neste
    """.split()  # noqa: SIM905  (a word list reads better as text)
)
_CONTENT_RE = re.compile(r"[a-z]{4,}")


def _content_words(text: str) -> list[str]:
    return [w for w in _CONTENT_RE.findall(_fold(text)) if w not in _STOPWORDS]


def prompt_features(text: str, prompt_text: str | None) -> dict[str, float]:
    """Overlap of the essay with the prompt's motivating texts, when the prompt is known.

    Cheap lexical stand-ins for the theme dimension's embeddings (too slow to run over the whole
    training corpus): keyword coverage and word overlap inform C2, the share of copied 8-grams
    the "copy of the motivating texts" penalty. Without a prompt only `prompt.present` = 0 is set
    and the rest is missing (imputed), so essays scored without a prompt still score.
    """
    if not prompt_text or not prompt_text.strip():
        return {"prompt.present": 0.0}
    essay_words = _content_words(text)
    prompt_words = _content_words(prompt_text)
    counts: dict[str, int] = {}
    for w in prompt_words:
        counts[w] = counts.get(w, 0) + 1
    keywords = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:30]]
    essay_set = set(essay_words)
    all_essay = _WORD_RE.findall(_fold(text))
    all_prompt = _WORD_RE.findall(_fold(prompt_text))
    prompt_grams = {tuple(all_prompt[i : i + 8]) for i in range(max(0, len(all_prompt) - 7))}
    essay_grams = [tuple(all_essay[i : i + 8]) for i in range(max(0, len(all_essay) - 7))]
    return {
        "prompt.present": 1.0,
        "prompt.keyword_coverage": (
            sum(1 for k in keywords if k in essay_set) / len(keywords) if keywords else 0.0
        ),
        "prompt.word_overlap": (
            len(essay_set & set(prompt_words)) / len(essay_set) if essay_set else 0.0
        ),
        "prompt.copied_8gram_share": (
            sum(1 for g in essay_grams if g in prompt_grams) / len(essay_grams)
            if essay_grams
            else 0.0
        ),
    }


def _scalar(value: Any) -> float | None:
    """A number for a metric/detail value, or None when it is not a scalar."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        f = float(value)
        return f if math.isfinite(f) else None
    return None


def compact_result(result: DimensionResult) -> dict[str, Any]:
    """The part of a dimension result the scorer uses, JSON-safe: what the feature cache stores.

    Issues are reduced to counts per category (their offsets and messages carry no signal for the
    level and would make the cache a hundred times larger).
    """
    details = {k: v for k, v in result.details.items() if _scalar(v) is not None}
    issue_counts: dict[str, int] = {}
    for issue in result.issues:
        issue_counts[issue.category] = issue_counts.get(issue.category, 0) + 1
    return {
        "dimension": result.dimension,
        "version": result.version,
        "level": result.level,
        "metrics": {k: v for k, v in result.metrics.items() if _scalar(v) is not None},
        "details": details,
        "issue_counts": issue_counts,
        "n_issues": len(result.issues),
    }


def result_from_compact(record: Mapping[str, Any]) -> DimensionResult:
    """Rebuild a (lossy) DimensionResult from `compact_result` output, for training."""
    return DimensionResult(
        dimension=str(record["dimension"]),
        version=str(record["version"]),
        level=record.get("level"),
        metrics=dict(record.get("metrics", {})),
        details={
            **dict(record.get("details", {})),
            "_issue_counts": dict(record.get("issue_counts", {})),
            "_n_issues": int(record.get("n_issues", 0)),
        },
    )


def dimension_features(results: Mapping[str, DimensionResult]) -> dict[str, float]:
    """Flatten dimension results into `<dim>.<metric>`, `<dim>.d.<detail>`, `<dim>.level`, ...

    Both a live result and a cache-rebuilt one give the same names: issue counts come from the
    issues list when present, from the cached counts otherwise.
    """
    out: dict[str, float] = {}
    for dim in DIMENSIONS:
        result = results.get(dim)
        out[f"{dim}.present"] = 0.0 if result is None else 1.0
        if result is None:
            continue
        if result.level is not None:
            out[f"{dim}.level"] = float(result.level)
        for key, value in result.metrics.items():
            f = _scalar(value)
            if f is not None:
                out[f"{dim}.{key}"] = f
        for key, value in result.details.items():
            if key.startswith("_"):
                continue
            f = _scalar(value)
            if f is not None:
                out[f"{dim}.d.{key}"] = f
        counts = result.details.get("_issue_counts")
        n_issues = result.details.get("_n_issues")
        if not isinstance(counts, dict):
            counts = {}
            for issue in result.issues:
                counts[issue.category] = counts.get(issue.category, 0) + 1
            n_issues = len(result.issues)
        out[f"{dim}.n_issues"] = float(n_issues or 0)
        for category, count in counts.items():
            out[f"{dim}.issues.{category}"] = float(count)
    return out


def vectorise(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> NDArray[np.float64]:
    """Dense matrix with one column per name in `names` (missing -> NaN)."""
    out = np.full((len(rows), len(names)), np.nan, dtype=np.float64)
    index = {n: j for j, n in enumerate(names)}
    for i, row in enumerate(rows):
        for key, value in row.items():
            j = index.get(key)
            if j is not None:
                out[i, j] = value
    return out


def select_feature_names(
    rows: Sequence[Mapping[str, float]], min_coverage: float = 0.05
) -> list[str]:
    """The fixed feature list of a model: text features first, then every dimension name present
    in at least `min_coverage` of the training rows (rare keys are noise), sorted for stability."""
    counts: dict[str, int] = {}
    for row in rows:
        for key in row:
            counts[key] = counts.get(key, 0) + 1
    need = max(1, int(min_coverage * len(rows)))
    dims = sorted(k for k, c in counts.items() if c >= need and k not in TEXT_FEATURES)
    return [*TEXT_FEATURES, *dims]


class NgramEncoder:
    """Word (1-2) and character (2-4, within words) n-grams, hashed, TF-IDF weighted.

    Hashing keeps the model file small and needs no stored vocabulary; only the IDF vector is
    fitted, so the encoder is a few megabytes whatever the corpus size.
    """

    def __init__(self, n_features: int = 2**17) -> None:
        self.n_features = n_features
        self.word = HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            n_features=n_features,
            alternate_sign=False,
            norm=None,
            lowercase=True,
            token_pattern=r"(?u)\b\w+\b",
        )
        self.char = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 4),
            n_features=n_features,
            alternate_sign=False,
            norm=None,
            lowercase=True,
        )
        self.tfidf = TfidfTransformer(sublinear_tf=True)

    def counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Raw hashed counts (stateless: training computes them once for every fold)."""
        return sparse.hstack([self.word.transform(texts), self.char.transform(texts)]).tocsr()

    def fit_counts(self, counts: sparse.csr_matrix) -> NgramEncoder:
        self.tfidf.fit(counts)
        return self

    def transform_counts(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        return sparse.csr_matrix(self.tfidf.transform(counts))

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self.transform_counts(self.counts(texts))


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s)


class FeatureCache:
    """Compact dimension results on disk, keyed by dimension, dimension version and essay id.

    A new dimension version is a new directory, so stale features are never mixed in. One small
    JSON file per essay makes writes atomic (rename) and safe from parallel extractors.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, dimension: str, version: str, essay_id: str) -> Path:
        return (
            self.root / _safe_name(dimension) / _safe_name(version) / f"{_safe_name(essay_id)}.json"
        )

    def get(self, dimension: str, version: str, essay_id: str) -> dict[str, Any] | None:
        path = self._path(dimension, version, essay_id)
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data

    def put(self, dimension: str, version: str, essay_id: str, record: Mapping[str, Any]) -> None:
        path = self._path(dimension, version, essay_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)


def default_cache_dir() -> Path:
    """`~/.cache/elysia/features` (never inside the repository: it derives from licensed data)."""
    return Path.home() / ".cache" / "elysia" / "features"
