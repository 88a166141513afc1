#!/usr/bin/env bash
# Runs each node:test file on its own with the JUnit reporter, so every test id can carry its
# file name; a marker line before each file's XML tells the parser which file follows.
set -u
for f in test/*.test.js; do
  echo "### ssr-test-file $f"
  node --test --test-reporter=junit "$f"
done
