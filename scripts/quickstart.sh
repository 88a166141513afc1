#!/usr/bin/env bash
# The README's first command. From a fresh checkout: install what is missing, build ssr,
# build the example repository (with its git history), make validated bugs from it with
# `ssr inject` (no model, no GPU), and show one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install honours package-lock.json; npm ci would refuse it here because the registry
  # this project uses lacks biome's non-Linux binaries, so the lock cannot list them.
  npm install --no-audit --no-fund
fi
npm run build --silent

work=.example
repo=$work/textkit
out=$work/bugs
[ -d "$repo/.git" ] || bash examples/make-textkit-repo.sh "$repo"

echo "\$ ssr inject $repo --out $out --count 6" >&2
node bin/ssr.js inject "$repo" --out "$out" --count 6

first=$(node -e "const s=require('./$out/summary.json'); console.log(s.artifacts[0] || '')")
if [ -n "$first" ]; then
  echo
  echo "== $out/$first: the bug (bug_inject.diff)"
  cat "$out/$first/bug_inject.diff"
  echo "== the tests it weakens (test_weaken.diff; reversed, this is the solver's specification)"
  cat "$out/$first/test_weaken.diff"
  echo
  echo "\$ ssr validate $out/$first --repo $repo" >&2
  node bin/ssr.js validate "$out/$first" --repo "$repo"
fi
