#!/usr/bin/env bash
# The README's first command: from a fresh checkout, install what is missing, build ssr, and
# validate the example bug artifact that ships in examples/ against the example repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
echo "\$ ssr validate examples/artifacts/textkit-wrap-width --repo examples/repos/textkit" >&2
node bin/ssr.js validate examples/artifacts/textkit-wrap-width --repo examples/repos/textkit
