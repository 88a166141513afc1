#!/usr/bin/env bash
# Builds the example repository with its real git history: replays the patch series in
# examples/textkit-history/ (five commits) into a new git repository at <dest>.
# The last commit's tree is exactly examples/repos/textkit.
set -euo pipefail
dest=${1:?usage: make-textkit-repo.sh <dest-dir>}
here=$(cd "$(dirname "$0")" && pwd)
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
  echo "make-textkit-repo: $dest exists and is not empty" >&2
  exit 2
fi
mkdir -p "$dest"
cd "$dest"
git init -q -b main
git config user.name "Ada Example"
git config user.email "ada@example.invalid"
# Keep the commit ids stable: committer date = author date from each patch.
git am -q --committer-date-is-author-date "$here"/textkit-history/*.patch
