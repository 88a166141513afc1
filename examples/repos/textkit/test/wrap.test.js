'use strict';
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { wrap, wrapBlock } = require('../src/wrap');

describe('wrap', () => {
  it('keeps short text on one line', () => {
    assert.deepEqual(wrap('hello world', 20), ['hello world']);
  });
  it('breaks between words', () => {
    assert.deepEqual(wrap('the quick brown fox', 10), ['the quick', 'brown fox']);
  });
  it('fills a line to exactly the width', () => {
    assert.deepEqual(wrap('aaaa bbbbb cc', 10), ['aaaa bbbbb', 'cc']);
  });
  it('puts an overlong word on its own line', () => {
    assert.deepEqual(wrap('a incomprehensibilities b', 5), ['a', 'incomprehensibilities', 'b']);
  });
  it('collapses runs of whitespace', () => {
    assert.deepEqual(wrap('  a \n\t b  ', 10), ['a b']);
  });
  it('rejects a width below 1', () => {
    assert.throws(() => wrap('x', 0), RangeError);
  });
});

describe('wrapBlock', () => {
  it('pads every line to the width', () => {
    assert.deepEqual(wrapBlock('ab cd ef', 5), ['ab cd', 'ef   ']);
  });
});
