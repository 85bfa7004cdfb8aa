"""ENEM C1 ("domínio da norma padrão") checkers behind the `grammar` dimension.

`checker.GrammarChecker` runs three sources over an essay and keeps one finding per stretch:
`rules` (hand-written project rules), `lightproof` (LibreOffice's Lightproof pt_BR rules run by
a pure-Python engine, with the exact prefilters of `prefilter`) and `spelling` (Hunspell
pt_BR). `levels` turns findings into metrics, a level estimate and feedback.
"""
