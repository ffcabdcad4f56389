// Benign: a tiny job queue built on EventEmitter.
const { EventEmitter } = require('events');
class Queue extends EventEmitter {
  constructor() {
    super();
    this.jobs = [];
  }
  add(job) {
    this.jobs.push(job);
    this.emit('added', job);
  }
}
const q = new Queue();
q.on('added', (job) => console.log('added', job.name));
q.add({ name: 'resize' });
q.add({ name: 'thumbnail' });
