#!/usr/bin/env bash
# Regenerates docs/man/secmod.1 from secmod's own command-line definitions, with
# swift-argument-parser's generate-manual plugin. Run it after changing secmod's commands or
# options; ManPageTests fails while a subcommand is missing from the page. The helpers' pages
# (docs/man/taler-exchange-secmod-*.8) are written by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
swift package --allow-writing-to-package-directory generate-manual \
    --output-directory "$out" --authors "the swift-secmod developers" --date "$(date -u +%Y-%m-%d)"
install -m 0644 "$out/secmod.1" docs/man/secmod.1
echo "wrote docs/man/secmod.1"
