// Benign: uses lodash to group and sort data.
const _ = require('lodash');
const people = [
  { name: 'Ada', team: 'core', age: 36 },
  { name: 'Linus', team: 'kernel', age: 54 },
  { name: 'Grace', team: 'core', age: 45 },
];
console.log(_.mapValues(_.groupBy(people, 'team'), (xs) => _.map(_.sortBy(xs, 'age'), 'name')));
