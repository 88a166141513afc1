'use strict';

module.exports = {
  ...require('./wrap'),
  ...require('./slug'),
  ...require('./case'),
};
