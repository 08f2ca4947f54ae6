#!/usr/bin/env bash
# Rebuilds the cached QuickFIX wheel (the FIX interop peer in tests/fix/interop).
#
# PyPI publishes `quickfix` only as an sdist, whose C++ takes minutes to compile (about 4 min on
# this 2-core machine, 8 under load); CI must stay well under 15 minutes, so the wheel is built
# once, stripped of debug symbols (67 MB -> 6 MB .so) and kept here. `make` installs it when its
# tags fit the venv's Python; otherwise it runs this script (slow) and installs the result.
#
#   vendor/wheels/build-quickfix.sh [PYTHON]      # default: .venv/bin/python
set -euo pipefail
PY=${1:-.venv/bin/python}
VERSION=1.16.0
SDIST_SHA256=825aceb72cfd69c30fbbf5b380b66f464abe1fe3188374f13d8c9987dd8eb4e9
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" -m pip download --quiet --no-deps --no-binary :all: "quickfix==$VERSION" -d "$work"
echo "$SDIST_SHA256  $work/quickfix-$VERSION.tar.gz" | sha256sum -c -
"$PY" -m pip install --quiet wheel
"$PY" -m pip wheel --quiet --no-deps -w "$work/built" "$work/quickfix-$VERSION.tar.gz"
"$PY" -m wheel unpack -d "$work/unpacked" "$work"/built/quickfix-*.whl
find "$work/unpacked" -name '*.so' -exec strip --strip-unneeded {} \;
"$PY" -m wheel pack -d "$(dirname "$0")" "$work/unpacked/quickfix-$VERSION"
ls -la "$(dirname "$0")"/quickfix-*.whl
