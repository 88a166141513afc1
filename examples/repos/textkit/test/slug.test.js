'use strict';
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { slugify, uniqueSlug } = require('../src/slug');

describe('slugify', () => {
  it('lower-cases and joins words', () => {
    assert.equal(slugify('Hello, World!'), 'hello-world');
  });
  it('folds accents', () => {
    assert.equal(slugify('Crème Brûlée'), 'creme-brulee');
  });
  it('uses a custom separator', () => {
    assert.equal(slugify('a b c', '_'), 'a_b_c');
  });
});

describe('uniqueSlug', () => {
  it('returns a free slug unchanged', () => {
    assert.equal(uniqueSlug('post', new Set()), 'post');
  });
  it('appends the first free number', () => {
    assert.equal(uniqueSlug('post', new Set(['post', 'post-2'])), 'post-3');
  });
});
