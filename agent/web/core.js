/*
 * core.js: what every part of the peerwatt dashboard page shares (vanilla
 * JS, no build step; index.html loads core.js, then power.js, outlook.js,
 * market.js, battery.js and app.js, in that order).
 *
 * The page reads the JSON documents of the agent (api/state, market, orders,
 * trades, statements, settings, today, outlook, plan), keeps them current
 * through the Server-Sent Events stream api/events (one event per document,
 * same JSON), and sends bids, cancels and settings with the CSRF token from
 * api/state.  All text goes into the DOM through textContent: nothing from
 * the network becomes HTML.  Units on the wire are integers (W, Wh,
 * micro-units per kWh, micro-units); the page only converts them for display
 * (prices in ct/kWh, money with two decimals) and parses the forms (ct/kWh)
 * into them.
 *
 * This file holds the page's state S, the formatting and parsing of units,
 * the DOM helpers, the API calls and the registry of renderers: each part
 * adds its document's renderer to PW.RENDER (one per document name), its
 * part of api/state to PW.stateViews, and what must run once the page is
 * shown (its charts) to PW.onStart.  Everything is on window.PW.
 */
'use strict';
window.PW = (function () {
	const SHOW_ROWS = 10; /* history rows shown at first; "more" adds as many */
	const S = {
		csrf: '',
		state: null,
		market: null,
		live: false,
		es: null,
		chart: null,
		chartData: null,
		currency: 'EUR',
		retryTimer: null,
		today: null,
		showAllOpen: false,
		/* older pages of the paged documents, loaded by "more" */
		older: { orders: [], trades: [], statements: [] },
		cursor: { orders: null, trades: null, statements: null },
		latest: { orders: null, trades: null, statements: null },
		shown: { orders: SHOW_ROWS, trades: SHOW_ROWS, statements: SHOW_ROWS },
	};
	const $ = (id) => document.getElementById(id);
	/* document name -> renderer; app.js fetches and subscribes to each */
	const RENDER = {};
	/* renderers of parts of api/state (power, settings, battery) */
	const stateViews = [];
	/* run once the page is shown (charts need their box's width) */
	const onStart = [];

	/* ---- formatting ---------------------------------------------------- */
	function fmtW(w) {
		if (w === null || w === undefined) return '–';
		const a = Math.abs(w);
		if (a >= 1000) return (w / 1000).toFixed(a >= 10000 ? 1 : 2) + ' kW';
		return Math.round(w) + ' W';
	}
	function fmtWh(wh) {
		if (wh === null || wh === undefined) return '–';
		const a = Math.abs(wh);
		if (a >= 10000) return (wh / 1000).toFixed(1) + ' kWh';
		return wh + ' Wh';
	}
	/* Prices as people read them: ct/kWh (1 EUR/kWh = 1 000 000 micro-units).
	 * Prices may be negative (a negative feed-in tariff; sellers paying):
	 * ctPerKwh gives "-3.5" (the form's text, which parsePrice reads back),
	 * fmtPrice "−3.5 ct/kWh" with the minus sign money uses. */
	function ctPerKwh(p) {
		const a = Math.abs(p);
		const t = (a / 1e4).toFixed(Math.round(a) % 1000 === 0 ? 1 : 2);
		return p < 0 && Number(t) !== 0 ? '-' + t : t;
	}
	function fmtPrice(p) {
		if (p === null || p === undefined) return '–';
		return ctPerKwh(p).replace(/^-/, '−') + ' ct/kWh';
	}
	/* Money always with two decimals. */
	function fmtMoney(u) {
		if (u === null || u === undefined) return '–';
		return (u / 1e6).toFixed(2) + ' ' + S.currency;
	}
	function fmtSignedMoney(u) {
		if (u === null || u === undefined) return '–';
		const t = fmtMoney(Math.abs(u));
		return u > 0 ? '+' + t : u < 0 ? '−' + t : t;
	}
	function fmtSignedWh(wh) {
		if (wh === null || wh === undefined) return '–';
		const t = fmtWh(Math.abs(wh));
		return wh > 0 ? '+' + t : wh < 0 ? '−' + t : t;
	}
	function intervalS() {
		return (S.state && S.state.interval_s) || 900;
	}
	function fmtTime(unix) {
		if (unix === null || unix === undefined) return '–';
		const d = new Date(unix * 1000);
		const withSec = intervalS() < 60;
		return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: withSec ? '2-digit' : undefined });
	}
	function fmtInterval(i) {
		return fmtTime(i * intervalS());
	}

	/* ---- parsing the forms (text -> integers, never floats) -------------- */
	function parseWhole(text) {
		const t = String(text).trim();
		if (!/^\d{1,12}$/.test(t)) return null;
		return Number(t);
	}
	/* Cents per kWh: "25", "25.5" or "25,5" -> 255000 micro-units, "-3.5" (or
	 * with the sign "−") -> -35000; null when malformed (at most 4 decimals:
	 * 1 micro-unit is 0.0001 ct). */
	function parsePrice(text) {
		const m = /^\s*([-−]?)(\d{1,5})(?:[.,](\d{1,4}))?\s*$/.exec(String(text));
		if (!m) return null;
		const frac = (m[3] || '').padEnd(4, '0');
		const v = Number(m[2]) * 1e4 + Number(frac);
		return m[1] && v !== 0 ? -v : v;
	}

	/* ---- DOM helpers ------------------------------------------------------- */
	function el(tag, text, cls) {
		const e = document.createElement(tag);
		if (text !== undefined && text !== null) e.textContent = text;
		if (cls) e.className = cls;
		return e;
	}
	/* A table row; each cell carries its column's name (data-label) for the
	 * stacked layout of narrow screens. */
	function row(cells, labels) {
		const tr = document.createElement('tr');
		for (const [i, c] of cells.entries()) {
			const td = document.createElement('td');
			if (labels && labels[i]) td.dataset.label = labels[i];
			if (c instanceof Node) td.appendChild(c);
			else td.textContent = c;
			tr.appendChild(td);
		}
		return tr;
	}
	function badge(verified) {
		/* the proof shows the entry is in the exchange's log, not that it is
		 * right: what is refused as wrong never gets a row (docs/agent.md) */
		if (verified === true) return el('span', '✓ in the log', 'badge ok');
		if (verified === false) return el('span', '✗ proof failed', 'badge bad');
		return el('span', '… pending', 'badge');
	}
	function signed(u) {
		return el('span', fmtSignedMoney(u), u > 0 ? 'pos' : u < 0 ? 'neg' : '');
	}
	/* the column names of a table (a hidden column is not shown) */
	function labelsOf(id) {
		return [...$(id).querySelectorAll('thead th')].filter((th) => !th.hidden).map((th) => th.textContent);
	}
	/* whether the household has a battery (api/state "battery") */
	function hasBattery() {
		return !!(S.state && S.state.battery);
	}
	function setMessage(id, text, ok) {
		const m = $(id);
		m.textContent = text;
		m.className = 'message ' + (ok ? 'ok' : 'error');
	}
	function fillTable(id, rows) {
		const tbody = $(id).querySelector('tbody');
		tbody.replaceChildren(...rows);
		$(id).hidden = rows.length === 0;
		const empty = $(id + '-empty');
		if (empty) empty.hidden = rows.length > 0;
	}

	/* ---- API ----------------------------------------------------------- */
	async function api(method, path, body) {
		const opt = { method, headers: {}, credentials: 'same-origin', cache: 'no-store' };
		if (method !== 'GET') opt.headers['X-CSRF-Token'] = S.csrf;
		if (body !== undefined) {
			opt.headers['Content-Type'] = 'application/json';
			opt.body = JSON.stringify(body);
		}
		let r;
		try {
			r = await fetch(path, opt);
		} catch (e) {
			return { status: 0, ok: false, body: { error: 'Your agent cannot be reached.' } };
		}
		let j = null;
		try {
			j = await r.json();
		} catch (e) {
			j = null;
		}
		if (r.status === 401) PW.showLogin();
		return { status: r.status, ok: r.ok, body: j || {} };
	}

	/* A fetch answered before an SSE event of the same document may arrive
	 * after it: keep the newer one (the event) by counting events. */
	const sseCount = {};
	async function refresh(name) {
		const before = sseCount[name] || 0;
		const r = await api('GET', 'api/' + name);
		if (r.ok && (sseCount[name] || 0) === before) RENDER[name](r.body);
		return r;
	}

	return {
		S, $, SHOW_ROWS, RENDER, stateViews, onStart, sseCount,
		fmtW, fmtWh, ctPerKwh, fmtPrice, fmtMoney, fmtSignedMoney, fmtSignedWh, intervalS, fmtTime, fmtInterval,
		parseWhole, parsePrice,
		el, row, badge, signed, labelsOf, setMessage, fillTable, hasBattery,
		api, refresh,
		showLogin: () => {}, /* app.js sets it */
	};
})();
