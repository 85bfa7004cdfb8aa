"""Generated CSV batches for tests and `bench/ingest.py`: realistic-size essays, some bad rows."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator

PARAGRAPHS = (
    "A educação pública no Brasil enfrenta desafios históricos, como a evasão escolar.",
    "Em primeiro lugar, a falta de investimento compromete a qualidade do ensino; além disso, "
    "muitas escolas não têm bibliotecas nem laboratórios.",
    "Por outro lado, a desigualdade social agrava o problema, visto que estudantes pobres "
    "precisam trabalhar cedo. Dessa forma, a evasão se perpetua.",
    'Segundo o IBGE, "milhões de jovens" abandonam a escola antes de concluir o ensino médio.',
    "Portanto, cabe ao Ministério da Educação ampliar o investimento nas escolas, por meio de "
    "verbas federais, a fim de garantir um ensino de qualidade para todos.",
)
SCHOOLS = ("Escola Sol", "Escola Lua", "Colégio Estrela", "Instituto Mar")
HEADER = ["external_id", "text", "title", "prompt_id", "school", "class", "student"]


def essay_text(rng: random.Random, n: int) -> str:
    paragraphs = [rng.choice(PARAGRAPHS) for _ in range(rng.randint(4, 8))]
    return "\n\n".join(paragraphs) + f"\n\nRedação {n}."


def is_bad(n: int, bad_every: int) -> bool:
    return bad_every > 0 and n % bad_every == 0


def rows(count: int, bad_every: int = 0, seed: int = 7) -> Iterator[list[str]]:
    """`count` data rows; every `bad_every`-th row is invalid (empty text or bad prompt id)."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        text = essay_text(rng, n)
        prompt = f"enem-{2000 + n % 24}"
        if is_bad(n, bad_every):
            if (n // bad_every) % 2:
                text = "   "
            else:
                prompt = "bad prompt!"
        yield [
            f"ext-{n}",
            text,
            f"Redação {n}",
            prompt,
            SCHOOLS[n % len(SCHOOLS)],
            f"{1 + n % 3}º ano",
            f"aluno-{n}",
        ]


def valid_count(count: int, bad_every: int = 0) -> int:
    return sum(1 for n in range(1, count + 1) if not is_bad(n, bad_every))


def csv_chunks(
    count: int, bad_every: int = 0, delimiter: str = ",", per_chunk: int = 200
) -> Iterator[bytes]:
    """The file as a stream of byte chunks (never whole in memory)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(HEADER)
    for n, row in enumerate(rows(count, bad_every), start=1):
        writer.writerow(row)
        if n % per_chunk == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    if out.getvalue():
        yield out.getvalue().encode("utf-8")


def csv_bytes(count: int, bad_every: int = 0, delimiter: str = ",") -> bytes:
    return b"".join(csv_chunks(count, bad_every, delimiter))
