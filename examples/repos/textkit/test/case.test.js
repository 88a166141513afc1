'use strict';
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { words, camelCase, snakeCase, titleCase } = require('../src/case');

describe('case', () => {
  it('splits camelCase and punctuation into words', () => {
    assert.deepEqual(words('parseHTTPRequest-now'), ['parse', 'httprequest', 'now']);
  });
  it('camelCases', () => {
    assert.equal(camelCase('hello big world'), 'helloBigWorld');
  });
  it('snake_cases', () => {
    assert.equal(snakeCase('Hello Big World'), 'hello_big_world');
  });
  it('Title Cases', () => {
    assert.equal(titleCase('the end'), 'The End');
  });
});
