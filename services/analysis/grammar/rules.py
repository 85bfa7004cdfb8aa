"""Project rules: what ENEM graders penalise in C1 and the Lightproof pt_BR rules miss.

Each rule is a regular expression over one sentence plus, where a pattern alone would
over-fire, a small context check (`accept`). The evidence is one named group, `x`, so the
issue underlines the faulty words only and its suggestions replace exactly that span.
Rules are deliberately conservative: a false flag on a correct essay lowers a student's
estimated grade, so ambiguous constructions are left alone (documented next to each rule).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.analysis.grammar.findings import Finding

# A stretch between double quotes (straight, curly or guillemets) on one line.
QUOTED_RE = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|«[^»\n]*»")

Accept = Callable[[re.Match[str], str], bool]
Suggest = Callable[[re.Match[str]], list[str]]

_W = r"[^\W\d_]+"  # a word made of letters (accented included)


@dataclass(frozen=True, slots=True)
class ProjectRule:
    """One hand-written rule; `text[m.start('x'):m.end('x')]` is the evidence."""

    rule_id: str
    category: str
    pattern: re.Pattern[str]
    message: str
    suggest: Suggest
    accept: Accept | None = None
    # Fire only if the first suggestion is a word the dictionary knows: lets a rule guess an
    # inflection ("acontece" -> "acontecem") without knowing the part of speech.
    verify_suggestion: bool = False

    def findings(
        self, sentence: str, offset: int, known: Callable[[str], bool] | None = None
    ) -> list[Finding]:
        """The rule's findings in one sentence whose first character is at `offset`."""
        out: list[Finding] = []
        for m in self.pattern.finditer(sentence):
            if self.accept is not None and not self.accept(m, sentence):
                continue
            if self.verify_suggestion and (known is None or not known(self.suggest(m)[0])):
                continue
            out.append(
                Finding(
                    start=offset + m.start("x"),
                    end=offset + m.end("x"),
                    category=self.category,
                    message=self.message,
                    rule=self.rule_id,
                    source="project",
                    suggestions=tuple(match_case(m.group("x"), s) for s in self.suggest(m)),
                )
            )
        return out


def match_case(original: str, replacement: str) -> str:
    """Give `replacement` the initial capital of `original` ("Porque" -> "Por que")."""
    if original[:1].isupper() and replacement:
        return replacement[:1].upper() + replacement[1:]
    return replacement


def fixed(*suggestions: str) -> Suggest:
    """Suggestions that do not depend on the match."""
    return lambda _m: list(suggestions)


def _rx(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _words(*groups: Iterable[str]) -> str:
    return "|".join(w for group in groups for w in group)


# --- vocabulary used by several rules -------------------------------------------------------


def _list(words: str) -> tuple[str, ...]:
    """A word list written as one string (keeps long lists readable)."""
    return tuple(words.split())


_CLAUSE_STARTERS = _list(
    "o a os as isso isto aquilo ele ela eles elas nós eu você vocês não também ainda "
    "nem sim é há se quando infelizmente muitos muitas nenhum nenhuma ninguém esse essa "
    "esses essas este esta estes estas tal tais hoje sua seu suas seus nossa nosso nada "
    "poucos poucas pouco existe existem faltam falta continua continuam segue seguem"
)
_TIME_UNITS = r"(?:anos?|mês|meses|dias?|semanas?|décadas?|séculos?|horas?|minutos?|tempo)"
_TIME_AMOUNT = (
    r"(?:(?:mais|menos|cerca|perto|quase|além)\s+(?:de\s+)?)?"
    r"(?:\d+|um|uma|dois|duas|três|quatro|cinco|seis|sete|oito|nove|dez|onze|doze|quinze|"
    r"vinte|trinta|quarenta|cinquenta|cem|mil|muitos|muitas|muito|poucos|poucas|pouco|"
    r"vários|várias|alguns|algumas|tantos|tantas|bastante)"
)
_ABSTRACT_NOT_PLACES = _list(
    "época épocas momento momentos tempo tempos período períodos ano anos dia dias século "
    "séculos década décadas era fase fases situação situações caso casos contexto processo "
    "relação relações lei leis texto textos obra obras livro filme discurso teoria ideia "
    "hora horas instante ocasião circunstância circunstâncias realidade debate questão "
    "problema problemas sistema conjuntura cenário"
)
_MASC_NOUNS_AFTER_MAU = _list(
    "hábito hábitos exemplo exemplos uso humor caráter comportamento comportamentos cheiro "
    "negócio resultado resultados desempenho atendimento gosto funcionamento tempo jeito "
    "motorista aluno alunos político políticos gestor gestores profissional profissionais "
    "cidadão pai pais agouro momento estado investimento investimentos aproveitamento "
    "planejamento gerenciamento trato tratamento exemplo sinal sinais costume costumes"
)
_FEMININE_SUFFIX = re.compile(
    r"(?:ção|são|dade|tude|gem|eza|ência|ância|ura|ia|ise|ite|ose|ade|ez)$", re.IGNORECASE
)
_FEMININE_NOUNS = frozenset(
    _list(
        "escola casa sociedade população educação saúde moradia internet violência mulher "
        "família cultura vida falta política natureza economia pobreza fome água terra "
        "cidade democracia justiça ciência tecnologia informação segurança alimentação "
        "comunidade mídia cidadania liberdade igualdade desigualdade dignidade vacina "
        "pandemia crise escravidão polícia lei constituição rua periferia fiscalização "
        "prática preservação proteção inclusão exclusão questão discriminação agressão "
        "corrupção mobilidade capacitação conscientização formação tradição reforma "
        "realidade religião opinião nação região atenção população"
    )
)
_NEEDS_A_BEFORE = _list(
    "devido relação referente referência graças frente junto face rumo chegaram chegam "
    "chegamos chegarão chegariam voltaram voltam retornaram retornam "
    "direito acesso combate obediência resistência adesão "
    "aversão submetidos submetidas submetido submetida sujeitos sujeitas sujeito sujeita "
    "ligado ligada ligados ligadas relacionado relacionada relacionados relacionadas "
    "prejudicial prejudiciais nocivo nociva nocivos nocivas favorável favoráveis "
    "contrário contrária contrários contrárias prioridade incentivo apoio atenção "
    "voltado voltada voltados voltadas destinado destinada destinados destinadas "
    "inerente inerentes aliado aliada aliados aliadas"
)
_PLURAL_DETERMINERS = _list(
    "os as muitos muitas vários várias alguns algumas diversos diversas inúmeros inúmeras "
    "esses essas estes estas aqueles aquelas tais poucos poucas tantos tantas todos todas"
)
_NOT_VERBS_AFTER_PLURAL = frozenset(
    _list(
        "para pela pelo nada acima abaixo fora dentro agora ante após perante "
        "entre sobre contra desde perante conforme segundo mediante durante sobre onde "
        "enquanto sempre nunca antes ainda também hoje este esta esse essa toda todo "
        "dessa desse nessa nesse numa naquela naquele cada"
    )
)


def _feminine_singular(word: str) -> bool:
    w = word.lower()
    return w in _FEMININE_NOUNS or (not w.endswith("s") and bool(_FEMININE_SUFFIX.search(w)))


# --- context checks --------------------------------------------------------------------------


def _is_question(_m: re.Match[str], sentence: str) -> bool:
    return sentence.rstrip().rstrip("\"'”»)").endswith("?")


def _not_question(m: re.Match[str], sentence: str) -> bool:
    return not _is_question(m, sentence)


def _feminine_after(m: re.Match[str], _sentence: str) -> bool:
    return _feminine_singular(m.group("n"))


# Words after which "por que" is right: verbs of asking/knowing (indirect question), nouns
# of cause ("o motivo por que" = pelo qual) and verbs governing "por" ("lutar por que…").
_POR_QUE_OK_PREFIXES = _list(
    "sab sei saib pergunt question indag entend compreend descobr explic investig analis "
    "mostr revel ver vej discut debat reflet refli pens imagin perceb not observ esclarec "
    "justific dizer diz disse motivo razão razões causa lut torc opt clam zel esper ans "
    "anseia pel é era foi ser seja são reflex quest"
)


def _por_que_as_porque(m: re.Match[str], sentence: str) -> bool:
    """ "por que" in a statement, after a clause, where the causal "porque" was meant."""
    before = m.group("b").lower()
    if any(before.startswith(p) for p in _POR_QUE_OK_PREFIXES):
        return False
    return not _is_question(m, sentence)


def _not_participle_next(m: re.Match[str], _sentence: str) -> bool:
    nxt = m.group("n").lower()
    participle = re.fullmatch(
        r"\w+(?:ado|ada|ados|adas|ido|ida|idos|idas|to|ta|tos|tas|so|sa)", nxt
    )
    return nxt not in {"de", "sido", "feito", "dito", "visto", "posto"} and not participle


def _time_context(m: re.Match[str], _sentence: str) -> bool:
    before = m.group("b").lower()
    blocked = {
        "daqui",
        "dali",
        "de",
        "dentro",
        "até",
        "para",
        "em",
        "cada",
        "há",
        "desde",
        "entre",
        "condenado",
        "condenada",
        "condenados",
        "condenadas",
        "pena",
        "chega",
        "chegou",
        "chegar",
        "equivale",
        "corresponde",
        "sujeito",
        "sujeita",
        "remonta",
        "voltar",
        "volta",
        "voltou",
        "retroceder",
        "pelo",
        "pela",
        "limitado",
        "limitada",
        "reduzido",
        "reduzida",
        "aumentou",
        "subiu",
        "passou",
        "passaram",
        "prazo",
        "prazos",
        "período",
    }
    return before not in blocked and not before.isdigit()


def _plural_subject_singular_verb(m: re.Match[str], _sentence: str) -> bool:
    verb = m.group("x").lower()
    return verb not in _NOT_VERBS_AFTER_PLURAL and len(verb) >= 4 and not verb.endswith("mente")


def _mas_not_conjunction(m: re.Match[str], _sentence: str) -> bool:
    return m.group("n").lower() not in {"sim", "também", "não", "ainda", "principalmente"}


_FUSED = {
    "oque": "o que",
    "derrepente": "de repente",
    "concerteza": "com certeza",
    "apartir": "a partir",
    "porisso": "por isso",
    "pelomenos": "pelo menos",
    "agente": "a gente",
    "menas": "menos",
    "mais": "melhor",
    "encima": "em cima",
}


# --- the rules -------------------------------------------------------------------------------

_STARTERS = _words(_CLAUSE_STARTERS)

RULES: tuple[ProjectRule, ...] = (
    # mas / mais --------------------------------------------------------------------------------
    ProjectRule(
        "project.mas_mais.adversative",
        "grammar.mas_mais",
        _rx(rf",\s+(?P<x>mais)\s+(?:{_STARTERS})\b"),
        "Para introduzir uma oposição, use a conjunção “mas” (“mais” indica "
        "quantidade ou intensidade).",
        fixed("mas"),
    ),
    ProjectRule(
        "project.mas_mais.intensity",
        "grammar.mas_mais",
        _rx(
            r"(?<![,;])\s(?:é|são|foi|foram|era|eram|ser|está|estão|ficou|ficam|fica|torna|"
            r"tornam|tornou|vez|muito|bem|cada\s+vez)\s+(?P<x>mas)\s+(?P<n>" + _W + ")"
        ),
        "Para indicar intensidade ou comparação, use “mais” (“mas” é conjunção adversativa).",
        fixed("mais"),
        _mas_not_conjunction,
    ),
    ProjectRule(
        "project.mas_mais.do_que",
        "grammar.mas_mais",
        _rx(r"(?<![,;])\s(?P<x>mas)\s+do\s+que\b"),
        "Na comparação “mais do que”, use “mais”.",
        fixed("mais"),
    ),
    # porque / por que / porquê / por quê ------------------------------------------------------
    ProjectRule(
        "project.porque.question_start",
        "grammar.porque",
        _rx(r"^[\"'“«(]?(?P<x>porque)\b", re.IGNORECASE),
        "Em perguntas, usa-se “por que” (separado).",
        fixed("por que"),
        _is_question,
    ),
    ProjectRule(
        "project.porque.question_end",
        "grammar.porque",
        _rx(r"\b(?P<x>porque|por que)\s*\?"),
        "No fim de uma pergunta, usa-se “por quê” (separado e acentuado).",
        fixed("por quê"),
    ),
    ProjectRule(
        "project.porque.noun",
        "grammar.porque",
        _rx(r"\b(?:o|um|seu|os|do|no|pelo|esse|este|todo)\s+(?P<x>porque|por que|por quê)\b"),
        "Como substantivo (“o motivo”), escreve-se “porquê”.",
        fixed("porquê"),
    ),
    ProjectRule(
        "project.porque.relative",
        "grammar.porque",
        _rx(r"\b(?:motivo|motivos|razão|razões|causa|causas)\s+(?P<x>porque)\b"),
        "Com o sentido de “pelo qual”, escreve-se “por que”.",
        fixed("por que"),
    ),
    ProjectRule(
        "project.porque.indirect_question",
        "grammar.porque",
        _rx(
            r"\b(?:pergunta|perguntam|perguntar|perguntou|questiona|questionam|questionar|"
            r"indaga|indagar|entender|compreender|investigar|descobrir|explicar|explica|"
            r"explicam)\s+(?P<x>porque)\b"
        ),
        "Em perguntas indiretas (“pergunta por que”), escreve-se “por que”.",
        fixed("por que"),
    ),
    ProjectRule(
        "project.porque.causal",
        "grammar.porque",
        _rx(
            rf"\b(?P<b>{_W})\s+(?P<x>por que)\s+(?:não|nunca|já|ele|ela|eles|elas|eu|nós|"
            r"o|a|os|as|isso|é|são|estava|estavam|era|eram|havia|tinha|tinham|precisa|"
            r"precisam|sempre|ainda)\b"
        ),
        "Para explicar uma causa, use “porque” (junto).",
        fixed("porque"),
        _por_que_as_porque,
    ),
    # crase -------------------------------------------------------------------------------------
    ProjectRule(
        "project.crase.plural_after_a_grave",
        "grammar.crase",
        _rx(rf"\b(?P<x>à)\s+(?P<n>{_W}s)\b", 0),
        "Crase com palavra no plural: use “as”/“às” no plural ou “a” sem crase.",
        fixed("a", "às"),
        lambda m, _s: m.group("n")[0].islower(),  # "à Petrobras": a name, not a plural
    ),
    ProjectRule(
        "project.crase.masculine",
        "grammar.crase",
        _rx(rf"\b(?P<x>à)\s+(?P<n>{_W}(?<!ã)o)\b", 0),
        "Não se usa crase antes de palavra masculina.",
        fixed("a", "ao"),
        lambda m, _s: (
            m.group("n")[0].islower()  # "à Samarco": a company, a city
            and m.group("n") not in {"tribo", "foto", "moto", "libido"}
        ),
    ),
    ProjectRule(
        "project.crase.required",
        "grammar.crase",
        _rx(rf"\b(?:{_words(_NEEDS_A_BEFORE)})\s+(?P<x>a)\s+(?P<n>{_W})\b"),
        "Regência com “a” seguida de palavra feminina com artigo: use a crase (“à”).",
        fixed("à"),
        _feminine_after,
    ),
    ProjectRule(
        "project.crase.as_vezes",
        "grammar.crase",
        _rx(
            r"(?<!\bdas\s)(?<!\bnas\s)(?<!\btodas\s)(?<!\bmuitas\s)(?<!\bpelas\s)"
            r"(?<!\bduas\s)(?<!\btrês\s)(?<!\bvárias\s)(?<!\balgumas\s)(?<!\bpoucas\s)"
            r"\b(?P<x>as)\s+vezes\b(?!\s+(?:em\s+)?que\b)"
        ),
        "Locução adverbial feminina: “às vezes” leva crase.",
        fixed("às"),
    ),
    ProjectRule(
        "project.crase.locution",
        "grammar.crase",
        _rx(
            r"(?<!\bsob\s)(?<!\bsobre\s)(?<!\bcom\s)(?<!\bcontra\s)(?<!\bpara\s)"
            r"\b(?P<x>a)\s+(?:medida\s+(?:que|em\s+que)|custa\s+d[aoe]s?|procura\s+d[aoe]s?|"
            r"beira\s+d[aoe]s?|mercê\s+d[aoe]s?|luz\s+d[aoe]s?|margem\s+d[aoe]s?|revelia\s+d)"
        ),
        "Locução prepositiva feminina: use a crase (“à medida que”, “à luz de”, “à margem da”).",
        fixed("à"),
    ),
    ProjectRule(
        "project.expression.medida_em_que",
        "grammar.expression",
        _rx(r"\b(?P<x>[àa]\s+medida\s+em\s+que)\b"),
        "A locução proporcional é “à medida que” (“na medida em que” tem sentido causal).",
        fixed("à medida que", "na medida em que"),
    ),
    # onde ----------------------------------------------------------------------------------------
    ProjectRule(
        "project.onde.not_place",
        "grammar.onde",
        _rx(rf"\b(?:{_words(_ABSTRACT_NOT_PLACES)}),?\s+(?P<x>onde)\b"),
        "“Onde” só retoma lugares físicos; para tempo, situações e ideias, use “em que”/“no qual”.",
        fixed("em que", "no qual", "na qual"),
    ),
    # agreement -----------------------------------------------------------------------------------
    ProjectRule(
        "project.agreement.a_gente_nos",
        "grammar.agreement",
        _rx(rf"\b(?P<x>a\s+gente\s+(?:não\s+|também\s+|ainda\s+|já\s+)?{_W}mos)\b"),
        "“A gente” leva o verbo na 3ª pessoa do singular; no registro formal, prefira “nós”.",
        lambda m: [re.sub(r"^a\s+gente", "nós", m.group("x"), flags=re.IGNORECASE)],
    ),
    ProjectRule(
        "project.agreement.fazer_time",
        "grammar.agreement",
        _rx(rf"\b(?P<x>fazem|faziam|fizeram|farão|fariam)\s+{_TIME_AMOUNT}\s+{_TIME_UNITS}\b"),
        "“Fazer” indicando tempo decorrido é impessoal: fica no singular (“faz dez anos”).",
        lambda m: [
            {
                "fazem": "faz",
                "faziam": "fazia",
                "fizeram": "fez",
                "farão": "fará",
                "fariam": "faria",
            }[m.group("x").lower()]
        ],
    ),
    ProjectRule(
        "project.agreement.haver_existir",
        "grammar.agreement",
        _rx(rf"\b(?P<x>houveram|haverão|haveriam|houvessem|hajam)(?!-)\s+(?P<n>{_W})"),
        "“Haver” no sentido de existir ou acontecer é impessoal: fica no singular.",
        lambda m: [
            {
                "houveram": "houve",
                "haverão": "haverá",
                "haveriam": "haveria",
                "houvessem": "houvesse",
                "hajam": "haja",
            }[m.group("x").lower()]
        ],
        _not_participle_next,
    ),
    ProjectRule(
        "project.agreement.existir_plural",
        "grammar.agreement",
        _rx(
            r"(?:^|\b(?:que|ainda|não|hoje|também|já|onde|quando)\s+)"
            r"(?P<x>existe|existia|existiu)\s+(?:muitas|muitos|várias|vários|diversas|diversos|"
            r"inúmeras|inúmeros|poucas|poucos|tantas|tantos|milhões|milhares|\d+)\b"
        ),
        "O verbo “existir” concorda com o sujeito posposto, que está no plural.",
        lambda m: (
            [m.group("x")[:-1] + ("em" if m.group("x").lower().endswith("e") else "am")]
            if not m.group("x").lower().endswith("u")
            else ["existiram"]
        ),
    ),
    ProjectRule(
        "project.agreement.determiner_noun",
        "grammar.agreement",
        _rx(
            r"\b(?P<x>(?:os|as|dos|das|nos|nas|pelos|pelas|esses|essas|estes|estas)\s+"
            r"(?:jovem|pessoa|aluno|aluna|cidadão|problema|criança|mulher|homem|estudante|"
            r"brasileiro|brasileira|governo|escola|família|indivíduo|sociedade))\b(?!-)"
        ),
        "Falta concordância de número entre o determinante e o substantivo.",
        lambda m: [_pluralise_np(m.group("x"))],
    ),
    ProjectRule(
        "project.agreement.plural_subject_verb",
        "grammar.agreement",
        _rx(
            rf"(?:^|[,;]\s*|\b(?:que|e|pois|porque|quando|se|como|embora|mas)\s+)"
            rf"(?:{_words(_PLURAL_DETERMINERS)})\s+(?P<s>{_W}s)\s+"
            rf"(?:(?:ainda|também|não|já|sempre|só|nunca)\s+)?(?P<x>{_W}[ae])(?=[\s,.;:!?])"
        ),
        "O verbo deve concordar com o sujeito no plural.",
        lambda m: [m.group("x") + "m"],
        _plural_subject_singular_verb,
        verify_suggestion=True,
    ),
    ProjectRule(
        "project.agreement.plural_subject_e",
        "grammar.agreement",
        _rx(
            r"^(?:Os|As|Esses|Essas|Estes|Estas|Muitos|Muitas|Vários|Várias)\s+"
            rf"{_W}s(?:\s+(?!(?:que|e|quem|onde|quando|como|se)\b|{_W}(?:am|em|ão)\b){_W}){{0,4}}\s+"
            r"(?P<x>é|foi|era|está|estava)\s",
            0,
        ),
        "O verbo deve concordar com o núcleo do sujeito, que está no plural.",
        lambda m: [
            {"é": "são", "foi": "foram", "era": "eram", "está": "estão", "estava": "estavam"}[
                m.group("x")
            ]
        ],
    ),
    ProjectRule(
        "project.accent.ter_vir_plural",
        "accent",
        _rx(
            r"\b(?:eles|elas|vocês|ambos|ambas)\s+(?:(?:não|também|ainda|já|só|sempre|nunca)\s+)?"
            r"(?P<x>tem|vem)\b"
        ),
        "Na 3ª pessoa do plural, “ter” e “vir” levam acento circunflexo (“têm”, “vêm”).",
        lambda m: ["têm" if m.group("x").lower() == "tem" else "vêm"],
    ),
    ProjectRule(
        "project.accent.ter_vir_plural_noun",
        "accent",
        _rx(
            r"\b(?:os|as|esses|essas|estes|estas|muitos|muitas|vários|várias)\s+"
            rf"{_W}s\s+(?:(?:não|também|ainda|já|só|sempre|nunca)\s+)?(?P<x>tem|vem)\b"
        ),
        "Com sujeito no plural, “ter” e “vir” levam acento circunflexo (“têm”, “vêm”).",
        lambda m: ["têm" if m.group("x").lower() == "tem" else "vêm"],
    ),
    ProjectRule(
        "project.accent.ter_vir_compound_subject",
        "accent",
        _rx(
            rf"^(?:O|A|Os|As)\s+{_W}\s+e\s+(?:o|a|os|as)\s+{_W}\s+"
            r"(?:(?:não|também|ainda|já|só|sempre)\s+)?(?P<x>tem|vem)\b",
            0,
        ),
        "Com sujeito composto, “ter” e “vir” vão para o plural (“têm”, “vêm”).",
        lambda m: ["têm" if m.group("x") == "tem" else "vêm"],
    ),
    ProjectRule(
        "project.accent.ter_vir_coordinated",
        "accent",
        _rx(r"^(?:Eles|Elas)\b[^.;:?!]*?\be\s+(?:não\s+)?(?P<x>tem|vem)\b", 0),
        "Com sujeito no plural, “ter” e “vir” levam acento circunflexo.",
        lambda m: ["têm" if m.group("x") == "tem" else "vêm"],
    ),
    # pronouns ------------------------------------------------------------------------------------
    ProjectRule(
        "project.pronoun.entre_eu",
        "grammar.pronoun",
        _rx(r"\b(?P<x>entre\s+(?:eu|tu))\s+e\b"),
        "Depois de preposição, usa-se o pronome oblíquo: “entre mim e”, “entre ti e”.",
        lambda m: [
            re.sub(
                r"(eu|tu)$",
                lambda t: "mim" if t.group(1).lower() == "eu" else "ti",
                m.group("x"),
                flags=re.IGNORECASE,
            )
        ],
    ),
    ProjectRule(
        "project.pronoun.para_mim_infinitive",
        "grammar.pronoun",
        _rx(rf"\b(?P<x>para\s+mim)\s+(?P<n>{_W}(?:ar|er|ir|or))\b(?!,)"),
        "Antes de verbo no infinitivo, o sujeito é “eu”: “para eu fazer”.",
        lambda m: [re.sub(r"mim$", "eu", m.group("x"))],
        lambda m, s: not re.search(r"\b(?:é|foi|será|parece|fica|ficou)\b[^,]*para\s+mim", s),
    ),
    # mau / mal -----------------------------------------------------------------------------------
    ProjectRule(
        "project.mau_mal.adjective",
        "grammar.mau_mal",
        _rx(
            rf"\b(?:um|o|do|no|pelo|seu|esse|este|num|ao|como|muito|tão|mais)\s+(?P<x>mal)\s+"
            rf"(?:{_words(_MASC_NOUNS_AFTER_MAU)})\b"
        ),
        "Antes de substantivo, o adjetivo é “mau” (oposto de “bom”).",
        fixed("mau"),
    ),
    ProjectRule(
        "project.mau_mal.adverb",
        "grammar.mau_mal",
        _rx(
            r"\b(?P<x>mau)\s+(?!(?:estado|resultado|mercado|cuidado|passado|significado|legado|"
            r"recado|soldado|pecado|bocado|grado|agrado|partido|sentido|ruído|marido|conteúdo|"
            r"período|tratado|atestado|advogado|deputado|prefeito|jeito)\b)"
            rf"(?:{_W}(?:ados|adas|ado|ada|idos|idas|ido|ida)|feitos?|feitas?|"
            r"vistos?|vistas?|ditos?|ditas?|sucedid\w+|educad\w+|interpretad\w+)\b"
        ),
        "Antes de particípio ou verbo, o advérbio é “mal” (oposto de “bem”).",
        fixed("mal"),
    ),
    # há / a --------------------------------------------------------------------------------------
    ProjectRule(
        "project.ha_a.elapsed_time",
        "grammar.ha_a",
        _rx(
            rf"\b(?P<b>{_W})\s+(?P<x>a)\s+{_TIME_AMOUNT}\s+(?:{_W}\s+)?{_TIME_UNITS}\b"
            r"(?!\s+de\s+(?:prisão|reclusão|detenção|idade|pena))"
        ),
        "Para tempo decorrido, use o verbo “há” (“foi criada há vinte anos”).",
        fixed("há"),
        _time_context,
    ),
    ProjectRule(
        "project.ha_a.future",
        "grammar.ha_a",
        _rx(r"\b(?P<x>(?:daqui|dali|dentro\s+de)\s+há)\b"),
        "Para tempo futuro, use a preposição “a” (“daqui a dez anos”).",
        lambda m: [m.group("x")[:-2] + "a"],
    ),
    # register ------------------------------------------------------------------------------------
    ProjectRule(
        "project.register.tipo",
        "register.informal",
        _rx(r"(?:^|[,;]\s*)(?P<x>tipo)(?:\s*,|\s+assim\b)"),
        "“Tipo” como marcador de conversa é informal; reformule a frase.",
        fixed("por exemplo", "como"),
    ),
    ProjectRule(
        "project.register.pra",
        "register.informal",
        _rx(r"\b(?P<x>pra|pras|pro|pros|prum|pruma)\b(?!-)"),
        "“Pra”/“pro” são formas da fala; no texto formal use “para” (“para o”, “para a”).",
        lambda m: [
            {
                "pra": "para",
                "pras": "para as",
                "pro": "para o",
                "pros": "para os",
                "prum": "para um",
                "pruma": "para uma",
            }[m.group("x").lower()]
        ],
    ),
    ProjectRule(
        "project.register.ta",
        "register.informal",
        _rx(r"\b(?P<x>tá|tão(?=\s+\w+ndo\b)|tava|tavam|tô|tamo|tamos(?=\s+\w+ndo\b))\b"),
        "Forma reduzida do verbo “estar”, própria da fala.",
        lambda m: [
            {
                "tá": "está",
                "tão": "estão",
                "tava": "estava",
                "tavam": "estavam",
                "tô": "estou",
                "tamo": "estamos",
                "tamos": "estamos",
            }[m.group("x").lower()]
        ],
    ),
    ProjectRule(
        "project.register.ne",
        "register.informal",
        _rx(r"\b(?P<x>né)\b"),
        "“Né” é marcador de conversa; evite-o no texto dissertativo.",
        fixed(""),
    ),
    ProjectRule(
        "project.register.a_gente",
        "register.informal",
        _rx(r"\b(?P<x>a\s+gente)\b(?!\s+(?:de|do|da|dos|das)\b)"),
        "“A gente” é coloquial; no texto formal use “nós” (com o verbo na 1ª pessoa do plural).",
        fixed("nós"),
    ),
    ProjectRule(
        "project.register.abbreviation",
        "register.informal",
        _rx(r"\b(?P<x>vc|vcs|pq|tb|tbm|q|msm|mto|mt|cmg|blz|hj|ngm|td|tds)\b"),
        "Abreviação da internet; escreva a palavra por extenso.",
        lambda m: [
            {
                "vc": "você",
                "vcs": "vocês",
                "pq": "porque",
                "tb": "também",
                "tbm": "também",
                "q": "que",
                "msm": "mesmo",
                "mto": "muito",
                "mt": "muito",
                "cmg": "comigo",
                "blz": "",
                "hj": "hoje",
                "ngm": "ninguém",
                "td": "tudo",
                "tds": "todos",
            }[m.group("x").lower()]
        ],
    ),
    ProjectRule(
        "project.register.ter_existential",
        "register.informal",
        _rx(
            r"^(?:Hoje\s+em\s+dia,?\s+|Hoje,?\s+|Atualmente,?\s+|No\s+Brasil,?\s+)?"
            r"(?P<x>Tem|tem|Tinha|tinha)\s+(?:muitas?|muitos|várias|vários|pessoas|gente|"
            r"casos|cada\s+vez\s+mais)\b",
            0,
        ),
        "“Ter” no sentido de existir é coloquial; use “haver” ou “existir”.",
        lambda m: [
            "Há"
            if m.group("x")[0].isupper() and m.group("x").lower() == "tem"
            else "há"
            if m.group("x").lower() == "tem"
            else "havia"
        ],
    ),
    # punctuation ---------------------------------------------------------------------------------
    ProjectRule(
        "project.punctuation.subject_comma",
        "punctuation",
        _rx(
            r"^(?:O|A|Os|As|Esse|Essa|Este|Esta|Esses|Essas|Estes|Estas|Tal|Tais|Nosso|Nossa|"
            r"Um|Uma)\s+" + _W + r"(?:\s+(?!(?:que|quando|se|como|embora|não|nem|enquanto|mesmo|"
            r"apesar|quanto|ao|sem|com|é|são|foi|foram|era|eram|está|estão|tem|têm|pode|podem|"
            r"deve|devem)\b)" + _W + r"){0,4}"
            r"(?P<x>,)\s+(?:é|são|foi|foram|era|eram|está|estão|tem|têm|precisa|precisam|"
            r"deve|devem|pode|podem|vem|vêm|possui|possuem|representa|representam|constitui|"
            r"constituem|afeta|afetam|atinge|atingem|continua|continuam|gera|geram|causa|"
            r"causam|influencia|influenciam)\b(?!\s+(?:claro|certo|verdade|fato|evidente),)",
            0,
        ),
        "Não se separa o sujeito do verbo com vírgula.",
        fixed(""),
    ),
    ProjectRule(
        "project.punctuation.connective_comma",
        "punctuation",
        _rx(
            r"^[\"“«]?(?P<x>Portanto|Entretanto|Contudo|Todavia|No\s+entanto|Além\s+disso|"
            r"Dessa\s+forma|Desse\s+modo|Dessa\s+maneira|Sendo\s+assim|Assim\s+sendo|"
            r"Por\s+conseguinte|Em\s+suma|Ademais|Outrossim|Por\s+fim|Diante\s+disso|"
            r"Nesse\s+sentido|Nesse\s+contexto|Em\s+síntese|Consequentemente|Em\s+primeiro\s+"
            r"lugar|Em\s+segundo\s+lugar|Por\s+outro\s+lado|Logo\s+após\s+isso)\s+"
            r"(?![,(—–-]|(?:de|do|da|dos|das|em|no|na|que)\b)",
            0,
        ),
        "Conectivo deslocado no início da frase: separe-o com vírgula.",
        lambda m: [m.group("x") + ","],
    ),
    ProjectRule(
        "project.repetition.bigram",
        "grammar.repetition",
        _rx(r"(?<![-\w])(?P<x>(?P<a>[^\W\d_]+) (?P<b>[^\W\d_]+) (?P=a) (?P=b))(?![-\w])"),
        "Palavras repetidas.",
        lambda m: [f"{m.group('a')} {m.group('b')}"],
    ),
    # frequent slips in ENEM essays --------------------------------------------------------------
    ProjectRule(
        "project.expression.a_nivel_de",
        "grammar.expression",
        _rx(r"\b(?P<x>[aà]\s+nível\s+de)\b"),
        "“A nível de” não é locução da norma padrão; use “em nível de” ou “no âmbito de”.",
        fixed("em nível de", "no âmbito de"),
    ),
    ProjectRule(
        "project.expression.ao_meu_ver",
        "grammar.expression",
        _rx(r"\b(?P<x>ao\s+(?:meu|nosso|seu)\s+ver)\b"),
        "A expressão é “a meu ver” (sem artigo).",
        lambda m: [re.sub(r"^ao\s+", "a ", m.group("x"), flags=re.IGNORECASE)],
    ),
    ProjectRule(
        "project.expression.haja_visto",
        "grammar.expression",
        _rx(r"\b(?P<x>haja\s+visto)\b"),
        "A locução é “haja vista” (invariável).",
        fixed("haja vista"),
    ),
    ProjectRule(
        "project.expression.se_caso",
        "grammar.expression",
        _rx(r"\b(?P<x>se\s+caso)\b"),
        "“Se” e “caso” são conjunções condicionais: use apenas uma delas.",
        fixed("caso", "se"),
    ),
    ProjectRule(
        "project.agreement.indeterminate_se",
        "grammar.agreement",
        _rx(
            r"\b(?P<x>(?:trat|precis|necessit|depend|confi|fal|obedec|assist|carec|gost)"
            r"(?:am|avam|aram|arão|em|iam|eram)-se)\s+de\b"
        ),
        "Com verbo seguido de preposição, o “se” indetermina o sujeito: o verbo fica no "
        "singular (“trata-se de”, “precisa-se de”).",
        lambda m: [_singular_se(m.group("x"))],
    ),
    ProjectRule(
        "project.pronoun.cujo_artigo",
        "grammar.pronoun",
        _rx(r"\b(?P<x>cuj[oa]s?\s+(?:o|a|os|as))\s+\w"),
        "Depois de “cujo”, não se usa artigo.",
        lambda m: [m.group("x").split()[0]],
    ),
    ProjectRule(
        "project.agreement.ela_mesmo",
        "grammar.agreement",
        _rx(r"\b(?:ela|elas|nós\s+mulheres)\s+(?P<x>mesmo|mesmos|próprio|próprios)\b"),
        "“Mesmo”/“próprio” concordam com o pronome: “ela mesma”, “elas próprias”.",
        lambda m: [
            {"mesmo": "mesma", "mesmos": "mesmas", "próprio": "própria", "próprios": "próprias"}[
                m.group("x").lower()
            ]
        ],
        lambda m, s: not re.search(r"\bela\s+mesmo\s+(?:assim|que|quando|sem)\b", s, re.I),
    ),
    ProjectRule(
        "project.expression.aonde_static",
        "grammar.expression",
        _rx(
            rf"(?:\b(?P<b>{_W})\s+)?\b(?P<x>aonde)\s+(?:\w+\s+)?(?:está|estão|fica|ficam|vive|vivem|mora|moram|"
            r"ocorre|ocorrem|acontece|acontecem|existe|existem|há|reside|residem|trabalha|"
            r"trabalham|estuda|estudam|nasceu|nasceram)\b"
        ),
        "“Aonde” indica movimento (ir a algum lugar); para lugar fixo, use “onde”.",
        fixed("onde"),
        lambda m, _s: (
            not re.match(
                r"(?:cheg|lev|volt|retorn|vai|vão|ir|iremos|irá|irão|foi|fomos|foram|conduz|"
                r"dirig|caminh|avanç)",
                (m.group("b") or "").lower(),
            )
        ),
    ),
    # expressions and fused spellings -------------------------------------------------------------
    ProjectRule(
        "project.expression.de_encontro",
        "grammar.expression",
        _rx(
            r"\b(?:vem|vêm|veio|vieram|vai|vão|foi|foram|ir|vir|irá|virá)\s+(?P<x>de\s+encontro\s+"
            r"(?:a|à|ao|aos|às))\s+(?:interesses|necessidades|anseios|desejos|expectativas|"
            r"objetivos|demandas|aspirações|valores|ideais|propostas)\b"
        ),
        "“De encontro a” significa “em oposição a”; para “em favor de”, use “ao encontro de”.",
        lambda m: [
            re.sub(
                r"^de\s+encontro\s+(a|à|ao|aos|às)$",
                lambda t: (
                    "ao encontro "
                    + {"a": "de", "à": "da", "ao": "do", "aos": "dos", "às": "das"}[t.group(1)]
                ),
                m.group("x").lower(),
            )
        ],
    ),
    ProjectRule(
        "project.spelling.a_fim",
        "spelling",
        _rx(r"\b(?P<x>afim\s+de)\b"),
        "A locução de finalidade escreve-se separada: “a fim de”.",
        fixed("a fim de"),
    ),
    ProjectRule(
        "project.spelling.ao_inves",
        "spelling",
        _rx(r"\b(?P<x>ao\s+envés\s+de|ao\s+envez\s+de|em\s+vês\s+de|ao\s+inves\s+de)\b"),
        "Grafia da locução: “em vez de” (ou “ao invés de”, com sentido de oposição).",
        fixed("em vez de", "ao invés de"),
    ),
    ProjectRule(
        "project.spelling.fused",
        "spelling",
        _rx(
            r"\b(?P<x>oque|derrepente|concerteza|apartir|porisso|pelomenos|agente\s+(?:vai|"
            r"pode|deve|precisa|tem|sabe|vê|fica|está)|menas|mais\s+melhor|encima\s+d[aeo]s?\s+"
            r"(?:questão|assunto|tema))\b"
        ),
        "Grafia: locução escrita junta ou forma inexistente na norma padrão.",
        lambda m: [_FUSED.get(m.group("x").lower().split()[0], m.group("x"))],
    ),
)


def _singular_se(verb: str) -> str:
    """'tratam-se' -> 'trata-se', 'precisavam-se' -> 'precisava-se'."""
    stem = verb[: -len("-se")]
    for plural, singular in (("aram", "ou"), ("arão", "ará"), ("iam", "ia"), ("eram", "eu")):
        if stem.lower().endswith(plural):
            return stem[: -len(plural)] + singular + "-se"
    return stem[:-1] + "-se"


def _pluralise_np(np: str) -> str:
    """'os jovem' -> 'os jovens': a small inflection for the nouns the rule lists."""
    det, noun = np.split(None, 1)
    lower = noun.lower()
    if lower.endswith("m"):
        plural = noun[:-1] + "ns"
    elif lower.endswith("ão"):
        plural = noun[:-2] + "ãos"
    elif lower.endswith(("r", "z")):
        plural = noun + "es"
    else:
        plural = noun + "s"
    return f"{det} {plural}"


class ProjectRuleEngine:
    """Runs `RULES` (or another tuple) over sentences; stateless, so thread-safe."""

    def __init__(
        self,
        rules: tuple[ProjectRule, ...] = RULES,
        known: Callable[[str], bool] | None = None,
    ) -> None:
        self.rules = rules
        self._known = known

    def check(self, text: str, sentences: Iterable[tuple[int, int]]) -> list[Finding]:
        """Findings of every rule in each `(start, end)` sentence of `text`.

        Register findings inside quotation marks are dropped: a quoted slogan or speech ("pior
        que tá não fica") is a citation, not the student's own register.
        """
        quoted = [(m.start(), m.end()) for m in QUOTED_RE.finditer(text)]
        found: list[Finding] = []
        for start, end in sentences:
            sentence = text[start:end]
            for rule in self.rules:
                for finding in rule.findings(sentence, start, self._known):
                    if finding.category.startswith("register.") and any(
                        a <= finding.start < b for a, b in quoted
                    ):
                        continue
                    found.append(finding)
        return found
