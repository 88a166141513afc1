'use strict';

/**
 * Greedy word wrap: splits text into lines of at most `width` characters.
 * Words longer than `width` are put on a line of their own, unbroken.
 */
function wrap(text, width) {
  if (!Number.isInteger(width) || width < 1) throw new RangeError('width must be a positive integer');
  const words = text.split(/\s+/).filter(Boolean);
  const lines = [];
  let line = '';
  for (const word of words) {
    if (line === '') {
      line = word;
    } else if (line.length + 1 + word.length <= width) {
      line += ' ' + word;
    } else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Pads every line to `width` so the block is rectangular. */
function wrapBlock(text, width) {
  return wrap(text, width).map((l) => l.padEnd(width, ' '));
}

module.exports = { wrap, wrapBlock };
