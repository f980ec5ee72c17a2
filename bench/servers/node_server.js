// A single-threaded Node.js HTTP server for bench/attribution_accuracy.sh: one event loop
// serves every connection, so the work of many requests interleaves on one thread.
//   node node_server.js PORT      (PORT 0: any free port; prints "listening on ADDR:PORT")
// Routes:
//   GET /cpu?iters=N  N rounds of a xorshift32 loop (deterministic CPU work), body its result
//   GET /tiny         a 1-byte body
//   GET /self-cpu     per target served so far: requests and the process's CPU µs from the
//                     request object's creation (its head parsed) to the return of res.end()
//                     (process.cpuUsage), JSON; an in-mix truth of the request's own cost in
//                     JavaScript that bench/attribution_accuracy.sh reads (itself not counted)
'use strict';
const http = require('http');

function burn(iters) {
	let x = 2463534242;
	for (let i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
	}
	return x >>> 0;
}

const selfCpu = new Map(); // target -> [requests, µs]

function handle(req, res) {
	const q = req.url.indexOf('?');
	const path = q < 0 ? req.url : req.url.slice(0, q);
	if (path === '/tiny') {
		res.end('x');
	} else if (path === '/cpu') {
		const iters = Number(new URLSearchParams(req.url.slice(q + 1)).get('iters'));
		if (!Number.isInteger(iters) || iters < 1 || iters > 1e10) {
			res.statusCode = 400;
			res.end('iters: 1..1e10\n');
			return;
		}
		res.end(String(burn(iters)) + '\n');
	} else {
		res.statusCode = 404;
		res.end();
	}
}

// Node builds the request object as soon as the parser has the head: the clock starts there
class TimedIncoming extends http.IncomingMessage {
	constructor(socket) {
		super(socket);
		this.cpu0 = process.cpuUsage();
	}
}

const server = http.createServer({ IncomingMessage: TimedIncoming }, (req, res) => {
	if (req.url === '/self-cpu') {
		res.setHeader('Content-Type', 'application/json');
		res.end(JSON.stringify(Object.fromEntries(selfCpu)));
		return;
	}
	const c0 = req.cpu0;
	handle(req, res);
	const d = process.cpuUsage(c0);
	const e = selfCpu.get(req.url) || [0, 0];
	e[0] += 1;
	e[1] += d.user + d.system;
	selfCpu.set(req.url, e);
});
server.keepAliveTimeout = 120000;
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
	const a = server.address();
	console.log(`listening on ${a.address}:${a.port}`);
});
