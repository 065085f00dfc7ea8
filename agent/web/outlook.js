/*
 * outlook.js: the price outlook card (api/outlook, docs/dashboard.md "Price
 * outlook").  Part of the dashboard page: core.js first.
 */
'use strict';
(function (PW) {
	const { S, $, RENDER, onStart, fmtPrice, fmtTime, intervalS, el } = PW;

	/* The price outlook (api/outlook): retail (ceiling) and feed-in (floor)
	 * of the coming intervals as steps, each holding until the next
	 * interval; recent clearing prices as dots; a zero line, so negative
	 * prices show below it; the cheapest and dearest interval marked on the
	 * chart and named in words below it. */
	const OUTLOOK = [
		{ label: 'Retail (ceiling)', stroke: '#c0392b', step: true },
		{ label: 'Feed-in (floor)', stroke: '#1f8a4c', step: true },
		{ label: 'Clearing price', stroke: '#2364c4', dots: true },
		{ label: 'Cheapest', stroke: '#1f8a4c', mark: '▼' },
		{ label: 'Dearest', stroke: '#c0392b', mark: '▲' },
		{ label: 'Zero', stroke: '#8a949e', dash: [4, 4], zero: true },
	];
	function outlookHeight(box) {
		return box.clientWidth < 500 ? 200 : 240;
	}
	function ensureOutlookChart() {
		const box = $('outlook-chart');
		if (S.ochart || typeof uPlot === 'undefined' || box.clientWidth === 0 || box.hidden) return;
		box.dataset.yUnit = 'ct/kWh';
		const stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
		const fmtV = (u, v) => (v === null || v === undefined ? '–' : fmtPrice(Math.round(v * 1e4)));
		S.ochart = new uPlot({
			width: box.clientWidth,
			height: outlookHeight(box),
			series: [{ value: (u, v) => (v === null ? '–' : fmtTime(v)) }].concat(OUTLOOK.map((x) => ({
				label: x.label, stroke: x.stroke, width: x.zero ? 1 : 2, dash: x.dash, value: fmtV,
				paths: x.step ? stepped : x.dots || x.mark ? () => null : undefined,
				points: x.dots ? { show: true, size: 6, fill: x.stroke }
				    : x.mark ? { show: true, size: 13, width: 3, fill: '#fff' } : { show: false },
				spanGaps: !!x.zero,
			}))),
			axes: [
				{ space: intervalS() < 60 ? 100 : 70, values: (u, vals) => vals.map((v) => fmtTime(v)) },
				{ label: 'ct/kWh', labelSize: 20, size: 48, space: 28, values: (u, vals) => vals.map((v) => v.toFixed(0)) },
			],
			scales: { x: { time: true } },
			legend: { show: true, live: false },
			cursor: { points: { show: false } },
			hooks: { draw: [markZero] },
		}, [[]].concat(OUTLOOK.map(() => [])), box);
		if (S.outlook) renderOutlook(S.outlook);
		new ResizeObserver(() => {
			if (S.ochart && box.clientWidth > 0) S.ochart.setSize({ width: box.clientWidth, height: outlookHeight(box) });
		}).observe(box);
	}
	function markText(word, x, o) {
		const L = o.interval_s || intervalS();
		const start = x.start !== undefined ? x.start : x.interval * L;
		const iv = (o.intervals || []).find((r) => r.interval === x.interval);
		return word + ': ' + fmtTime(start) + '–' + fmtTime(start + L) + ', retail ' + fmtPrice(x.retail_uper_kwh) +
		    (iv ? ', feed-in ' + fmtPrice(iv.feedin_uper_kwh) : '');
	}
	function renderOutlook(o) {
		S.outlook = o;
		const L = o.interval_s || intervalS();
		const ivs = (o.intervals || []).slice().sort((a, b) => a.interval - b.interval);
		const recent = (o.recent || []).filter((p) => p.volume_wh > 0);
		const st = $('outlook-state');
		const n = ivs.length;
		if (o.state === 'none') st.textContent = o.message || 'No price outlook yet.';
		else if (o.state === 'stale') st.textContent = o.message || 'Outdated price outlook.';
		else st.textContent = 'Tariffs of the next ' + n + ' interval' + (n === 1 ? '' : 's') +
		    ' as the exchange signed them' + (o.received ? ' (received ' + fmtTime(o.received) + ')' : '') + '.' +
		    (o.message ? ' ' + o.message : '');
		st.className = 'outlook-state ' + (o.state || 'none');
		st.dataset.state = o.state || 'none';
		/* one row per time: the steps hold to the end of the last interval */
		const rows = new Map();
		const at = (t) => {
			if (!rows.has(t)) rows.set(t, [null, null, null, null, null]);
			return rows.get(t);
		};
		for (const r of ivs) {
			const t = r.start !== undefined ? r.start : r.interval * L;
			const v = at(t);
			v[0] = r.retail_uper_kwh / 1e4;
			v[1] = r.feedin_uper_kwh / 1e4;
			if (o.cheapest && o.cheapest.interval === r.interval) v[3] = v[0];
			if (o.dearest && o.dearest.interval === r.interval) v[4] = v[0];
		}
		if (n > 0) {
			const last = ivs[n - 1];
			const v = at((last.start !== undefined ? last.start : last.interval * L) + L);
			v[0] = last.retail_uper_kwh / 1e4;
			v[1] = last.feedin_uper_kwh / 1e4;
		}
		for (const p of recent) at(p.start !== undefined ? p.start : p.interval * L)[2] = p.price_uper_kwh / 1e4;
		const xs = Array.from(rows.keys()).sort((a, b) => a - b);
		S.outlookData = [xs].concat([0, 1, 2, 3, 4].map((k) => xs.map((x) => rows.get(x)[k])), [xs.map(() => 0)]);
		const box = $('outlook-chart');
		box.hidden = xs.length === 0;
		box.classList.toggle('stale', o.state === 'stale');
		const marks = $('outlook-marks');
		marks.replaceChildren();
		if (o.cheapest) {
			const li = el('li', markText('Cheapest', o.cheapest, o), 'cheap');
			li.dataset.test = 'outlook-cheapest';
			marks.appendChild(li);
		}
		if (o.dearest) {
			const li = el('li', markText('Dearest', o.dearest, o), 'dear');
			li.dataset.test = 'outlook-dearest';
			marks.appendChild(li);
		}
		ensureOutlookChart();
		if (S.ochart) S.ochart.setData(S.outlookData);
	}
	/* Where zero and the lowest floor are drawn (CSS px from the top): the
	 * browser test checks a negative feed-in lies below the zero line.
	 * After each draw: uPlot sets its scales when it draws, not in setData. */
	function markZero(u) {
		const box = $('outlook-chart');
		const floors = (S.outlookData ? S.outlookData[2] : []).filter((v) => v !== null);
		const zeroY = u.valToPos(0, 'y'), floorY = floors.length ? u.valToPos(Math.min(...floors), 'y') : NaN;
		if (!floors.length || !Number.isFinite(zeroY) || !Number.isFinite(floorY)) return;
		box.dataset.zeroY = String(Math.round(zeroY));
		box.dataset.minFloorY = String(Math.round(floorY));
		box.dataset.minFloor = String(Math.min(...floors));
	}

	RENDER.outlook = renderOutlook;
	onStart.push(ensureOutlookChart);
})(window.PW);
