// tests/browser/lib.mjs: shared helpers of the browser tests.
//
// - launch(): Debian's /usr/bin/chromium through playwright-core (never a
//   browser download), headless.
// - startDemo(args): runs build/pw-dashdemo on a free port and resolves with
//   {url, proc} once it printed its URL; every process is killed at exit.
// - test(name, fn) / finish(): "ok - NAME" / "not ok - NAME" lines for
//   tests/run.sh; failures print the error indented below.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = path.resolve(TOP, process.env.BUILD || 'build');
export const SHOTS = path.join(BUILD, 'browser');
mkdirSync(SHOTS, { recursive: true });

const children = new Set();
function killAll() {
	for (const p of children) {
		try {
			p.kill('SIGTERM');
		} catch (e) {
			/* already gone */
		}
	}
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));

export async function launch() {
	return chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
		    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
}

// Starts a process and resolves with the first match of `re` on its stdout
// or its stderr (daemons log there).
export function startProcess(cmd, args, re, { timeoutMs = 60000, cwd = TOP, env } = {}) {
	return new Promise((resolve, reject) => {
		const proc = spawn(cmd, args, { cwd, env: env || process.env, stdio: ['ignore', 'pipe', 'pipe'] });
		children.add(proc);
		let out = '', err = '';
		const timer = setTimeout(() => reject(new Error(`${cmd}: not ready in ${timeoutMs} ms\n${out}${err}`)), timeoutMs);
		proc.stdout.on('data', (d) => {
			out += d;
			const m = re.exec(out);
			if (m) {
				clearTimeout(timer);
				resolve({ proc, match: m, output: () => out + err });
			}
		});
		proc.stderr.on('data', (d) => {
			err += d;
			const m = re.exec(err);
			if (m) {
				clearTimeout(timer);
				resolve({ proc, match: m, output: () => out + err });
			}
		});
		proc.on('exit', (code) => {
			children.delete(proc);
			clearTimeout(timer);
			reject(new Error(`${cmd} exited with ${code}\n${out}${err}`));
		});
	});
}

export async function startDemo(args = []) {
	const { proc, match } = await startProcess(path.join(BUILD, 'pw-dashdemo'),
	    ['--web', path.join(TOP, 'agent/web'), ...args], /listening on (http:\/\/\S+)/);
	return { url: match[1], proc };
}

export function stop(proc) {
	return new Promise((resolve) => {
		if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
		const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
		proc.once('exit', () => {
			clearTimeout(t);
			resolve();
		});
		proc.kill('SIGTERM');
	});
}

// Collects console errors and uncaught exceptions of a page.
export function watchErrors(page) {
	const errors = [];
	page.on('console', (m) => {
		if (m.type() === 'error') errors.push('console: ' + m.text());
	});
	page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
	return errors;
}

export function assert(cond, msg) {
	if (!cond) throw new Error(msg);
}

let passed = 0, failed = 0;
export async function test(name, fn) {
	const t0 = Date.now();
	try {
		await fn();
		passed++;
		console.log(`ok - ${name} (${Date.now() - t0} ms)`);
	} catch (e) {
		failed++;
		console.log(`not ok - ${name}`);
		console.log(String(e && e.stack ? e.stack : e).split('\n').map((l) => '    ' + l).join('\n'));
	}
}

export function finish() {
	console.log(`# browser: ${passed} passed, ${failed} failed`);
	killAll();
	process.exit(failed === 0 ? 0 : 1);
}
