#!/usr/bin/env bash
# Regenerate the vendored pt_BR grammar resources from Debian packages.
#
# The product never runs this at run time: its output is committed under
# services/analysis/resources/pt_BR/{hunspell,lightproof}/ so wheels and containers are
# self-contained (no network at run time). Run it only to refresh the vendored copies, on a
# Debian machine with apt sources (the packages are downloaded, not installed).
#
#   hunspell-pt-br                  -> hunspell/pt_BR.{dic,aff} + COPYRIGHT   (LGPL-3 or MPL)
#   libreoffice-lightproof-pt-br    -> lightproof/rules.json.gz               (MPL-2.0 / LGPL-3)
#                                      lightproof/code_pt_BR.py.gz  (the "# [code]" section of
#                                      lightproof_impl_pt_BR.py: word lists, exception regexes)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="$ROOT/services/analysis/resources/pt_BR"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

cd "$WORK"
apt-get download hunspell-pt-br libreoffice-lightproof-pt-br >/dev/null
for deb in ./*.deb; do dpkg-deb -x "$deb" x; done

mkdir -p "$DEST/hunspell" "$DEST/lightproof"
cp x/usr/share/hunspell/pt_BR.dic x/usr/share/hunspell/pt_BR.aff "$DEST/hunspell/"
cp x/usr/share/doc/hunspell-pt-br/copyright "$DEST/hunspell/COPYRIGHT"

EXT=x/usr/lib/libreoffice/share/extensions/lightproof_pt_br
cp x/usr/share/doc/libreoffice-lightproof-pt-br/copyright "$DEST/lightproof/COPYRIGHT"
"$PY" - "$EXT/pythonpath" "$DEST/lightproof" <<'EOF'
"""Turn the generated Lightproof module into data: rules as JSON, helper code verbatim."""
import gzip
import json
import runpy
import sys
from pathlib import Path

src, dest = Path(sys.argv[1]), Path(sys.argv[2])
rules = runpy.run_path(str(src / "lightproof_pt_BR.py"))["dic"]
with gzip.open(dest / "rules.json.gz", "wt", encoding="utf-8") as f:
    json.dump(rules, f, ensure_ascii=False)
impl = (src / "lightproof_impl_pt_BR.py").read_text(encoding="utf-8")
code = impl[impl.index("# [code]") :]
with gzip.open(dest / "code_pt_BR.py.gz", "wt", encoding="utf-8") as f:
    f.write(code)
opts = runpy.run_path(str(src / "lightproof_opts_pt_BR.py"))
(dest / "options.json").write_text(
    json.dumps({"all": opts["lopts"]["pt_BR"], "default": opts["lopts_default"]["pt_BR"]}, indent=1)
)
print(f"{len(rules)} rules, {len(code)} chars of helper code")
EOF
# Prefilter literals, so workers do not parse 11,900 regexes at start-up.
(cd "$ROOT" && "$PY" -m services.analysis.grammar.lightproof)  # literals.json.gz
echo "pt_BR resources refreshed under $DEST"
