'use strict';

/** URL slug: lower case ASCII words joined by `sep`; accents are folded away. */
function slugify(text, sep = '-') {
  const folded = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const words = folded.toLowerCase().match(/[a-z0-9]+/g) || [];
  return words.join(sep);
}

/** Makes `slug` unique among `taken` by appending -2, -3, ... */
function uniqueSlug(slug, taken) {
  if (!taken.has(slug)) return slug;
  let n = 2;
  while (taken.has(`${slug}-${n}`)) n++;
  return `${slug}-${n}`;
}

module.exports = { slugify, uniqueSlug };
