"""C5 — the intervention proposal: agent, action, means, purpose and detailing, with their spans.

ENEM grades C5 by counting the elements of the proposal (who does what, how, what for, and an
expansion of any of them); the official grid gives roughly 40 points per element, and a proposal
that disrespects human rights scores zero. Students write proposals in a very formulaic register
("Portanto, cabe ao Ministério da Educação promover…, por meio de…, a fim de…"), so explicit
patterns over casefolded, accent-free text find the elements with their exact offsets — which a
teacher needs for highlighting and the scorer needs as features — at no model cost. The lexicons
live in `resources/pt_BR/proposal_*`; the quality against a hand-annotated gold set is printed by
`bench/analysis_quality.py` and guarded by `tests/analysis/test_proposal.py`.

How each element is found (per sentence; in the conclusion every sentence counts, in earlier
paragraphs only sentences that contain an action, because development paragraphs use "por meio
de"/"para que" in arguments too):
- agent: a lexicon head ("Ministério", "escolas", "ONGs"…) extended by capitalised complements
  ("da Educação") and accepted only in an agent role — subject of a modal ("deve", "precisam"…),
  complement of "cabe a / compete a / é dever de / por parte de", or subject after "urge que /
  é necessário que";
- action: the verb phrase after the modal or role ("deve ampliar o programa…"), an infinitive
  after a necessity phrase ("é fundamental investir…"), or a passive with means/purpose ("a
  coleta deve ser ampliada…, através de…");
- means and purpose: a marker ("por meio de", "mediante"…; "a fim de", "para que", "para" +
  infinitive…) opening a span that runs to the end of the clause;
- detailing: an appositive between agent and verb, an explanation ("ou seja", "isto é", "por
  exemplo", ", como …"), a relative clause after a comma, or a dash/parenthesis insertion.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.analysis.results import DimensionResult, EssayInput, Issue
from services.analysis.text import Span, fold, fold_aligned, paragraphs, sentences_in

ELEMENTS: tuple[str, ...] = ("agent", "action", "means", "purpose", "detailing")
ELEMENT_NAMES_PT: dict[str, str] = {
    "agent": "agente (quem executa)",
    "action": "ação (o que fazer)",
    "means": "meio/modo (como fazer)",
    "purpose": "finalidade/efeito (para quê)",
    "detailing": "detalhamento (explicação ou exemplo de um elemento)",
}
# An element found only outside the conclusion counts half: ENEM expects the proposal at the end,
# but graders do credit a proposal developed in a development paragraph.
OUTSIDE_CONCLUSION_WEIGHT = 0.5

_RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "pt_BR"
_WORD = r"[^\W_]+(?:-[^\W_]+)*"
_CLAUSE_STOPS = ",;:()—–\n"


@dataclass(frozen=True, slots=True)
class ElementSpan:
    """One proposal element found in the essay (offsets into the original text)."""

    element: str
    start: int
    end: int
    text: str
    paragraph: int
    in_conclusion: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "paragraph": self.paragraph,
            "in_conclusion": self.in_conclusion,
        }


def _read_resource(name: str) -> str:
    return (_RESOURCES / name).read_text(encoding="utf-8")


def _lines(name: str) -> list[str]:
    out = []
    for line in _read_resource(name).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _phrase_alternation(phrases: list[str]) -> str:
    """A regex alternation of folded phrases, longest first, spaces matching any whitespace."""
    folded = sorted({fold(p).strip() for p in phrases if p.strip()}, key=len, reverse=True)
    parts = [r"\s+".join(re.escape(w) for w in p.split()) for p in folded]
    return "(?:" + "|".join(parts) + ")"


def _bounded(alternation: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + alternation + r"(?![\w-])")


class _Lexicon:
    """Compiled patterns built from the resource files (read once per process)."""

    def __init__(self) -> None:
        markers: dict[str, list[str]] = json.loads(_read_resource("proposal_markers.json"))
        self.agent_re = _bounded(_phrase_alternation(_lines("proposal_agents.txt")))
        self.means_re = _bounded(_phrase_alternation(markers["means"]))
        self.purpose_re = _bounded(_phrase_alternation(markers["purpose"]))
        self.para_inf_re = re.compile(
            r"(?<![\w-])para\s+(?:(?:nao|se|que\s+se)\s+)?(?P<w>" + _WORD + r")"
        )
        self.detail_re = _bounded(_phrase_alternation(markers["detailing"]))
        self.como_re = re.compile(r",\s*(?P<m>como)\s+(?!forma\b|meio\b|resultado\b)")
        self.relative_re = re.compile(
            r",\s*(?P<m>(?:(?:o|a|os|as|no|na|nos|nas|pelo|pela|pelos|pelas|em|com)\s+)?"
            r"(?:que|qual|quais|onde|cujo|cuja|cujos|cujas)|a\s+serem?)\s"
        )
        self.insert_re = re.compile(
            r"\((?P<in>[^()]{3,200})\)|\s[—–-]\s*(?P<dash>[^—–.;]{3,200}?)\s*[—–]"
        )
        self.co_agent = _phrase_alternation(markers["co_agent"])
        modals = _phrase_alternation(markers["modals"])
        self.role_before_re = re.compile(
            r"(?<![\w-])"
            + _phrase_alternation(markers["role_before_agent"])
            + r"\s+(?:a|ao|aos|as|de|do|da|dos|das)\s+$"
        )
        # "urge que o Ministério…", "é necessário que as escolas…" (not "a fim de que a população")
        self.necessity_que_re = re.compile(
            r"(?<![\w-])"
            + _phrase_alternation([*markers["necessity"], "urge", "é hora de"])
            + r"(?:\s*,\s*[^\W\d_]+\s*,)?\s+que\s+$"  # "urge, pois, que"
        )
        # the agent of a passive: "deve ser adotada pelo Congresso Nacional"
        self.passive_agent_re = re.compile(
            r"(?<![\w-])(?:ser|seja|sejam|for|forem|sendo)\s+"
            + _WORD
            + r"(?:ad|id|ost|eit|ect|it)[oa]s?\s+(?:pel[oa]s?|por)\s+$"
        )
        # a noun after a preposition is not a subject: "a desinformação nas redes sociais deve…"
        self.preposition_before_re = re.compile(
            r"(?<![\w-])(?:em|no|na|nos|nas|de|do|da|dos|das|com|para|por|pelo|pela|pelos|pelas"
            r"|sobre|entre|ao|aos|a|as|contra|sem|ante|perante)\s+$"
        )
        apposition = (
            r"(?P<app>\s*,(?P<app_c>[^,.;]{2,150}?),|\s*\((?P<app_p>[^)]{2,150})\)"
            r"|\s*[—–-](?P<app_d>[^—–.;]{2,150}?)[—–-])?"
        )
        # what may follow an agent head before its verb: "das grandes cidades", "escolares",
        # "e os professores" (never a negation or an adverb that belongs to the verb)
        ext_word = r"\s+(?!(?:nao|tambem|ainda|sempre|jamais|nunca)(?![\w-]))" + _WORD
        ext = r"(?P<ext>(?:" + ext_word + r"){0,4}?)"
        self.after_agent_modal_re = re.compile(
            "^"
            + ext
            + apposition
            + r"\s*"
            + modals
            + r"(?![\w-])(?:\s+(?:tambem|ainda|urgentemente|sempre|,))*\s+(?P<act>"
            + _WORD
            + ")"
        )
        # any noun phrase opening a clause and followed by a modal + infinitive: "Ademais, os
        # atletas devem ter…", "Cada indivíduo deve fazer…" (agents outside the lexicon)
        self.generic_subject_re = re.compile(
            r"(?:^|[,;:]\s*|(?<![\w-])(?:e|enquanto|ademais|outrossim|tambem)\s+)"
            r"(?P<subj>(?:o|a|os|as|cada|todo|toda|todos|todas)\s+"
            + _WORD
            + r"(?:\s+(?!(?:nao|tambem|ainda|sempre)(?![\w-]))"
            + _WORD
            + r"){0,3}?)\s+(?:(?:tambem|ainda|sempre)\s+)?"
            + modals
            + r"(?![\w-])\s+(?P<act>(?:se\s+)?"
            + _WORD
            + ")"
        )
        # ", conscientizando a população…": a gerund clause after the action is its mode
        self.gerund_re = re.compile(r",\s*(?P<g>[^\W\d_]+(?:ando|endo|indo))(?![\w-])")
        self.purpose_gerunds = frozenset(
            ("visando", "objetivando", "buscando", "almejando", "pretendendo", "tentando")
        )
        self.after_agent_role_re = re.compile(
            "^"
            + ext
            + apposition
            + r"\s*(?P<act>(?:se\s+)?[^\W\d_]+(?:ar|er|ir|or)(?:-(?:se|lo|la|los|las))?)(?![\w-])"
        )
        # a nominal role after a necessity: "é imperiosa uma ação (conjunta) do governo federal"
        self.nominal_role_re = re.compile(
            r"(?<![\w-])(?:necessari[oa]|precis[oa]|fundamental|imprescindivel|imperios[oa]"
            r"|urgente|essencial|indispensavel|primordial|crucial|vital|necessidade\s+d[ae])\s+"
            r"(?:a|o|uma|um)?\s*"
            + _phrase_alternation(markers["nominal_roles"])
            + r"(?:\s+[^\W\d_]+)?\s+(?:d[aeo]s?)\s+$"
        )
        # nominal proposals: "é necessária a criação de…", "a necessidade da implementação de…"
        self.nominal_action_re = re.compile(
            r"(?<![\w-])(?:(?:necessari[oa]|precis[oa]|fundamental|imprescindivel|imperios[oa]"
            r"|urgente|essencial|indispensavel|primordial|crucial|vital)\s+(?:que\s+)?"
            r"(?:a|o|as|os|uma|um)?|necessidade\s+d[aeo]s?|urge)\s*"
            r"(?P<act>" + _phrase_alternation(markers["nominal_action_heads"]) + r")(?![\w-])"
        )
        self.necessity_re = re.compile(
            r"(?<![\w-])"
            + _phrase_alternation(markers["necessity"])
            + r"(?![\w-])\s*,?\s*(?:que\s+se\s+)?(?P<act>(?:se\s+)?"
            + _WORD
            + ")"
        )
        self.negation_re = re.compile(r"(?<![\w-])(?:nao|nunca|jamais)\s+$")
        self.passive_re = re.compile(
            r"(?<![\w-])(?P<modal>"
            + modals
            + r")\s+ser\s+"
            + _WORD
            + r"(?:ad|id|ect|it|ost|eit)[oa]s?\b"
        )
        self.anaphoric_re = re.compile(_phrase_alternation(markers["anaphoric_subjects"]) + r"\s*$")
        self.not_infinitive = frozenset(fold(w) for w in markers["not_infinitive"])
        self.discourse_verbs = frozenset(fold(w) for w in markers["discourse_verbs"])
        self.human_rights_re = re.compile(
            r"(?<![\w-])(?:"
            + "|".join(f"(?:{p})" for p in _lines("proposal_human_rights.txt"))
            + r")(?![\w-])"
        )

    def is_infinitive(self, word: str) -> bool:
        """Portuguese infinitive (with an optional enclitic): "criar", "conscientizar-se", "pôr"."""
        w = word.split("-")[0] if word.endswith(("-se", "-lo", "-la", "-los", "-las")) else word
        if w in self.not_infinitive or len(w) < 3:
            return False
        if w.endswith(("ar", "er", "ir")):
            return True
        if word.endswith(("-lo", "-la", "-los", "-las")) and w.endswith(("a", "e", "i")):
            return True  # "combatê-lo" folds to "combate-lo"
        return w.endswith("por")


def _clause_end(folded: str, start: int, limit: int, stops: list[int], skip: int = 0) -> int:
    """End of the clause that begins at `start`: the next punctuation stop or element marker.

    `skip` ignores stops within the first `skip` characters (e.g. the comma of "ou seja,").
    """
    end = limit
    for i in range(start + skip, limit):
        if folded[i] in _CLAUSE_STOPS or (
            folded[i] == "-" and i > 0 and folded[i - 1] == " " and folded[i + 1 : i + 2] == " "
        ):
            end = i
            break
    for s in stops:
        if start + max(skip, 1) <= s < end:
            end = s
            break
    while end > start and (folded[end - 1] in " .!?\"'”" or folded[end - 1].isspace()):
        end -= 1
    return end


class _SentenceFinder:
    """Finds the elements of one sentence (folded text and original share offsets)."""

    def __init__(self, lex: _Lexicon, text: str, folded: str, sentence: Span) -> None:
        self.lex = lex
        self.text = text
        self.folded = folded
        self.s = sentence
        self.found: dict[str, list[tuple[int, int]]] = {e: [] for e in ELEMENTS}
        self.passive_agent = False

    def _modal_passive(self) -> bool:
        """A non-negated "deve ser estimulado" in the sentence: with an agent, a proposal."""
        f, lo = self.folded, self.s.start
        return any(
            not self.lex.negation_re.search(f[max(lo, m.start() - 8) : m.start()])
            for m in self.lex.passive_re.finditer(f, lo, self.s.end)
        )

    def _add(self, element: str, start: int, end: int) -> None:
        while start < end and self.text[start] in " ,;:":
            start += 1
        while end > start and self.text[end - 1] in " ,;:.":
            end -= 1
        if end - start < 2:
            return
        for a, b in self.found[element]:
            if a <= start < b or start <= a < end:
                if end - start > b - a:  # keep the longer of overlapping spans
                    self.found[element].remove((a, b))
                    break
                return
        self.found[element].append((start, end))

    def run(self) -> dict[str, list[tuple[int, int]]]:
        lo, hi = self.s.start, self.s.end
        f = self.folded
        means = [(m.start(), m.end()) for m in self.lex.means_re.finditer(f, lo, hi)]
        purposes = [(m.start(), m.end()) for m in self.lex.purpose_re.finditer(f, lo, hi)]
        for m in self.lex.para_inf_re.finditer(f, lo, hi):
            if self.lex.is_infinitive(m.group("w")):
                purposes.append((m.start(), m.start() + 4))
        details = [(m.start(), m.end()) for m in self.lex.detail_re.finditer(f, lo, hi)]
        stops = sorted(a for a, _ in [*means, *purposes, *details])
        for a, b in sorted(purposes):
            if not any(x <= a < y for x, y in self.found["purpose"]):
                self._add("purpose", a, _clause_end(f, a, hi, stops, skip=b - a))
        for a, b in means:
            self._add("means", a, _clause_end(f, a, hi, stops, skip=b - a))
        for a, b in details:
            self._add("detailing", a, _clause_end(f, a, hi, stops, skip=b - a + 2))
        self._agents_and_actions(stops)
        self._necessity_actions(stops)
        self._passive_actions(stops)
        self._nominal_actions(stops)
        self._generic_subjects(stops)
        self._gerund_means(stops)
        self._insertions_and_relatives(stops)
        return self.found

    def _agents_and_actions(self, stops: list[int]) -> None:
        lo, hi = self.s.start, self.s.end
        f = self.folded
        for m in self.lex.agent_re.finditer(f, lo, hi):
            head_start, head_end = m.start(), m.end()
            if any(a <= head_start < b for a, b in self.found["means"]):
                continue  # "por meio de parcerias com as secretarias": not the agent
            start = head_start
            art = re.search(r"(?<![\w-])(?:o|a|os|as)\s+$", f[max(lo, head_start - 4) : head_start])
            before = f[lo:head_start]
            role: str | None = None
            if self.lex.role_before_re.search(before) or self.lex.nominal_role_re.search(before):
                role = "role"
            elif self.lex.passive_agent_re.search(before):
                if not (self.found["means"] or self.found["purpose"] or self._modal_passive()):
                    continue  # "não pode ser ignorada pelas autoridades": not a proposal
                self.passive_agent = True
                self._add("agent", head_start, self._extend_capitalised(head_end, hi))
                continue
            elif art is not None:
                start = head_start - (len(f[max(lo, head_start - 4) : head_start]) - art.start())
                if self.lex.necessity_que_re.search(f[lo:start]):
                    role = "que"
            end = self._extend_capitalised(head_end, hi)
            rest = f[end:hi]
            mm = self.lex.after_agent_modal_re.match(rest)
            subject = not self.lex.preposition_before_re.search(f[lo:start])
            if mm is not None and role is None and subject:
                self._agent_with_action(start, end, mm, stops)
                continue
            if role == "role":
                mr = self.lex.after_agent_role_re.match(rest)
                if mr is not None and self.lex.is_infinitive(mr.group("act").split()[-1]):
                    self._agent_with_action(start, end, mr, stops)
                else:
                    self._add("agent", start, end)
            elif role == "que":
                self._add("agent", start, end)
                verb = re.match(r"\s+(" + _WORD + ")", rest)
                if verb is not None:
                    a = end + verb.start(1)
                    self._add("action", a, _clause_end(f, a, hi, stops))

    def _extend_capitalised(self, end: int, hi: int) -> int:
        """Extend an agent head over capitalised complements: "Ministério" + "da Educação"."""
        pat = re.compile(r"\s+(?:(?:d[aeo]s?|de|e)\s+)?(" + _WORD + ")")
        while True:
            m = pat.match(self.text, end, hi)
            if m is None or not self.text[m.start(1)].isupper():
                return end
            end = m.end()

    def _agent_with_action(self, start: int, end: int, m: re.Match[str], stops: list[int]) -> None:
        f, hi = self.folded, self.s.end
        agent_end = end + m.end("ext") if m.group("ext") else end
        app = next((g for g in ("app_c", "app_p", "app_d") if m.group(g)), None)
        if app is not None:
            a, b = end + m.start(app), end + m.end(app)
            if re.match(r"\s*" + self.lex.co_agent, f[a:b]):
                agent_end = b  # "o Governo, em parceria com as universidades, deve…"
                self.found["means"] = [(x, y) for x, y in self.found["means"] if not a <= x < b]
            else:
                self._add("detailing", a, b)
        self._add("agent", start, agent_end)
        act = end + m.start("act")
        verb = m.group("act").split()[-1]
        if verb in self.lex.discourse_verbs:
            return
        self._add("action", act, _clause_end(f, act, hi, stops))

    def _necessity_actions(self, stops: list[int]) -> None:
        f, lo, hi = self.folded, self.s.start, self.s.end
        for m in self.lex.necessity_re.finditer(f, lo, hi):
            verb = m.group("act").split()[-1]
            if verb in self.lex.discourse_verbs or not self.lex.is_infinitive(verb):
                continue
            a = m.start("act")
            if any(x <= a < y for x, y in self.found["action"]):
                continue
            self._add("action", a, _clause_end(f, a, hi, stops))

    def _passive_actions(self, stops: list[int]) -> None:
        """ "a coleta seletiva deve ser ampliada…, através de…": an agentless proposal."""
        f, lo, hi = self.folded, self.s.start, self.s.end
        if not (self.found["means"] or self.found["purpose"] or self.passive_agent):
            return
        for m in self.lex.passive_re.finditer(f, lo, hi):
            a = m.start()
            if self.lex.negation_re.search(f[max(lo, a - 8) : a]):
                continue
            if any(x <= a < y for x, y in self.found["action"]):
                continue
            if self.lex.anaphoric_re.search(f[max(lo, a - 20) : a].strip()):
                continue
            # the action starts with its subject: "a coleta seletiva … deve ser ampliada"
            subject = max(f.rfind(c, lo, a) for c in ",;:")
            start = subject + 1 if subject >= lo else lo
            self._add("action", start, _clause_end(f, a, hi, stops))

    def _nominal_actions(self, stops: list[int]) -> None:
        f, lo, hi = self.folded, self.s.start, self.s.end
        for m in self.lex.nominal_action_re.finditer(f, lo, hi):
            a = m.start("act")
            if any(x <= a < y for el in ELEMENTS for x, y in self.found[el]):
                continue
            self._add("action", a, _clause_end(f, a, hi, stops))

    def _generic_subjects(self, stops: list[int]) -> None:
        f, lo, hi = self.folded, self.s.start, self.s.end
        for m in self.lex.generic_subject_re.finditer(f, lo, hi):
            a, b = m.start("subj"), m.end("subj")
            verb = m.group("act").split()[-1]
            if verb in ("ser", "estar") or verb in self.lex.discourse_verbs:
                continue
            if not self.lex.is_infinitive(verb):
                continue
            if any(x < b and a < y for x, y in self.found["agent"]):
                continue
            if self.lex.anaphoric_re.search(f[a:b]):
                continue
            act = m.start("act")
            if any(x <= act < y for x, y in self.found["action"]):
                continue
            self._add("agent", a, b)
            self._add("action", act, _clause_end(f, act, hi, stops))

    def _gerund_means(self, stops: list[int]) -> None:
        f, lo, hi = self.folded, self.s.start, self.s.end
        actions = self.found["action"]
        if not actions:
            return
        first_action = min(x for x, _ in actions)
        for m in self.lex.gerund_re.finditer(f, lo, hi):
            a = m.start("g")
            if a < first_action or m.group("g") in self.lex.purpose_gerunds:
                continue
            if any(x <= a < y for el in ELEMENTS for x, y in self.found[el]):
                continue
            self._add("means", a, _clause_end(f, a, hi, stops))

    def _insertions_and_relatives(self, stops: list[int]) -> None:
        f, lo, hi = self.folded, self.s.start, self.s.end
        if not any(self.found[e] for e in ("agent", "action", "means", "purpose")):
            return
        for m in self.lex.insert_re.finditer(f, lo, hi):
            g = "in" if m.group("in") else "dash"
            a, b = m.start(g), m.end(g)
            if re.match(r"\s*" + self.lex.co_agent, f[a:b]):
                continue
            self._add("detailing", a, b)
        stated = [x for el in ("agent", "action") for x, _ in self.found[el]]
        first_element = min(stated, default=lo)
        for rx in (self.lex.como_re, self.lex.relative_re):
            for m in rx.finditer(f, lo, hi):
                a = m.start("m")
                if a < first_element:
                    continue  # a detailing expands an element already stated ("urge, pois, que")
                if any(x <= a < y for el in ("means", "purpose") for x, y in self.found[el]):
                    continue
                self._add("detailing", a, _clause_end(f, a, hi, stops))


class ProposalDimension:
    """ENEM C5 analyser. Stateless after construction (compiled patterns only): thread-safe."""

    name = "proposal"
    version = "1.0.0"

    def __init__(self) -> None:
        self._lex = _Lexicon()

    def find_elements(self, text: str) -> tuple[list[ElementSpan], list[Span]]:
        """All proposal elements of `text`, and the human-rights-violating passages."""
        folded = fold_aligned(text)
        paras = paragraphs(text)
        out: list[ElementSpan] = []
        violations: list[Span] = []
        for p_index, p in enumerate(paras):
            in_conclusion = p_index == len(paras) - 1
            for s in sentences_in(text, p.start, p.end):
                found = _SentenceFinder(self._lex, text, folded, s).run()
                if found["action"] or found["agent"]:
                    # only a PROPOSED measure can violate human rights; "as torturas da
                    # Inquisição" in an argument cannot
                    violations.extend(
                        Span(m.start(), m.end(), text[m.start() : m.end()])
                        for m in self._lex.human_rights_re.finditer(folded, s.start, s.end)
                    )
                if not in_conclusion and not found["action"]:
                    continue
                for element in ELEMENTS:
                    for a, b in sorted(found[element]):
                        out.append(ElementSpan(element, a, b, text[a:b], p_index, in_conclusion))
        return out, violations

    def analyse(self, essay: EssayInput) -> DimensionResult:
        text = essay.text
        elements, violations = self.find_elements(text)
        paras = paragraphs(text)
        conclusion = paras[-1] if paras else Span(0, len(text), text)
        by_element = {e: [x for x in elements if x.element == e] for e in ELEMENTS}
        in_conclusion = {e: any(x.in_conclusion for x in by_element[e]) for e in ELEMENTS}
        anywhere = {e: bool(by_element[e]) for e in ELEMENTS}
        score = sum(
            1.0 if in_conclusion[e] else OUTSIDE_CONCLUSION_WEIGHT if anywhere[e] else 0.0
            for e in ELEMENTS
        )
        found_count = sum(anywhere.values())
        conclusion_count = sum(in_conclusion.values())
        violation = bool(violations)
        level, reasons = _level(score, in_conclusion, anywhere, violation)

        issues = [
            Issue(
                start=x.start,
                end=x.end,
                category=f"proposal.{x.element}",
                message=f"Elemento da proposta de intervenção: {ELEMENT_NAMES_PT[x.element]}.",
                rule=f"proposal_{x.element}",
            )
            for x in elements
        ]
        for e in ELEMENTS:
            if not in_conclusion[e]:
                elsewhere = " (aparece fora da conclusão)" if anywhere[e] else ""
                issues.append(
                    Issue(
                        start=conclusion.start,
                        end=conclusion.end,
                        category="proposal.missing",
                        message=(
                            f"A proposta de intervenção na conclusão não apresenta o elemento "
                            f"{ELEMENT_NAMES_PT[e]}{elsewhere}."
                        ),
                        suggestions=[_SUGGESTIONS[e]],
                        rule=f"missing_{e}",
                    )
                )
        for v in violations:
            issues.append(
                Issue(
                    start=v.start,
                    end=v.end,
                    category="proposal.human_rights",
                    message=(
                        "Proposta que desrespeita os direitos humanos: na Competência 5 do ENEM "
                        "ela anula a nota da proposta."
                    ),
                    suggestions=["Proponha uma medida que respeite a dignidade humana."],
                    rule="human_rights_violation",
                )
            )
        metrics = {
            "elements_found": float(found_count),
            "elements_in_conclusion": float(conclusion_count),
            "elements_score": score,
            "proposal_in_conclusion": 1.0 if in_conclusion["action"] else 0.0,
            "proposal_count": float(len(by_element["action"])),
            "human_rights_violation": 1.0 if violation else 0.0,
            **{f"{e}_count": float(len(by_element[e])) for e in ELEMENTS},
        }
        return DimensionResult(
            dimension=self.name,
            version=self.version,
            level=level,
            metrics=metrics,
            issues=issues,
            feedback=_feedback(in_conclusion, anywhere, violation),
            details={
                "elements": {e: [x.as_dict() for x in by_element[e]] for e in ELEMENTS},
                "human_rights_violation": violation,
                "human_rights_passages": [v.text for v in violations],
                "level_reasons": reasons,
            },
        )


_SUGGESTIONS: dict[str, str] = {
    "agent": "Diga quem deve agir: por exemplo, 'o Ministério da Educação', 'as escolas'.",
    "action": "Diga o que deve ser feito: por exemplo, 'promover campanhas', 'ampliar o acesso'.",
    "means": "Diga como: por exemplo, 'por meio de…', 'mediante…', 'por intermédio de…'.",
    "purpose": "Diga para quê: por exemplo, 'a fim de…', 'com o intuito de…', 'para que…'.",
    "detailing": (
        "Detalhe um dos elementos: explique o agente ('órgão responsável por…'), "
        "dê um exemplo da ação ('como…', 'por exemplo…') ou desenvolva a finalidade."
    ),
}


def _level(
    score: float, in_conclusion: dict[str, bool], anywhere: dict[str, bool], violation: bool
) -> tuple[int, list[str]]:
    """ENEM C5 estimate: about 40 points per element; a human-rights violation scores 0."""
    if violation:
        return 0, ["a proposta desrespeita os direitos humanos (nota 0 na Competência 5)"]
    reasons = [
        f"{sum(in_conclusion.values())} de 5 elementos na conclusão",
        f"{sum(anywhere.values())} de 5 elementos no texto todo",
    ]
    if not anywhere["action"]:
        reasons.append("nenhuma ação proposta foi encontrada")
    level = math.floor(score + 0.5) * 40  # half up: 2.5 elements -> 120
    if not anywhere["action"] and not anywhere["agent"]:
        level = min(level, 40)
        reasons.append("sem agente nem ação, a proposta é no máximo precária (40)")
    missing = [ELEMENT_NAMES_PT[e].split(" (")[0] for e in ELEMENTS if not in_conclusion[e]]
    if missing:
        reasons.append("faltam na conclusão: " + ", ".join(missing))
    return max(0, min(200, level)), reasons


def _feedback(
    in_conclusion: dict[str, bool], anywhere: dict[str, bool], violation: bool
) -> list[str]:
    out: list[str] = []
    if violation:
        out.append(
            "A proposta de intervenção fere os direitos humanos; no ENEM isso zera a "
            "Competência 5. Reformule a medida."
        )
    present = [ELEMENT_NAMES_PT[e].split(" (")[0] for e in ELEMENTS if in_conclusion[e]]
    missing = [e for e in ELEMENTS if not in_conclusion[e]]
    if not any(anywhere.values()):
        out.append(
            "Não encontramos proposta de intervenção. Na conclusão, diga quem deve agir, o que "
            "fazer, como, para quê, e detalhe um desses elementos."
        )
        return out
    if present:
        out.append("Elementos da proposta presentes na conclusão: " + ", ".join(present) + ".")
    if not missing:
        out.append("A proposta de intervenção está completa (cinco elementos).")
    for e in missing:
        out.append(_SUGGESTIONS[e])
    return out
