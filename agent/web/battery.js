/*
 * battery.js: the home battery on the dashboard (docs/dashboard.md
 * "Battery").  In the power view, from api/state "battery": the state of
 * charge as a bar with the reserve marked, the battery's power in words
 * ("charging 2.40 kW", "discharging", "idle"), the setpoint the agent has
 * in force, and today's energy.  The Battery plan card, from api/plan: the
 * next intervals as a strip of actions (store / sell / cover / hold, told
 * apart by colour and by symbol and word), the planned state of charge as
 * a line over them, each interval's reason (tap or point at it; a list of
 * the next few and the whole plan in words), and what the plan is expected
 * to earn over the battery left to itself.  Nothing of it shows without a
 * battery.  Part of the dashboard page: core.js first.
 */
'use strict';
(function (PW) {
	const { S, $, RENDER, stateViews, fmtW, fmtWh, fmtMoney, fmtTime, el, hasBattery } = PW;
	const SVGNS = 'http://www.w3.org/2000/svg';
	const NEXT = 6; /* intervals listed one by one under the chart */
	/* symbol and word of each action: never colour alone */
	const ACTIONS = {
		store: { icon: '+', word: 'Store', help: 'charge from the solar surplus' },
		sell: { icon: '→', word: 'Sell', help: 'stored energy to the neighbours' },
		cover: { icon: '⌂', word: 'Cover', help: 'the home\'s own use' },
		hold: { icon: '‖', word: 'Hold', help: 'neither charge nor discharge' },
	};
	const SETPOINT = {
		auto: 'The agent leaves it to its own controller (self-consumption).',
		hold: 'The agent holds it now: neither charging nor discharging.',
		charge: 'The agent has it charging now.',
		discharge: 'The agent has it discharging now.',
		protect: 'The agent keeps it from discharging below the reserve.',
	};
	/* why sales from the battery are paused (api/state battery.offers_paused) */
	const PAUSED = {
		battery_failed: 'the battery does not hold the agent’s setpoint',
		soc_unknown: 'the battery does not report its state of charge',
		device_unreachable: 'the inverter cannot be reached',
		meter_implausible: 'the meter’s readings are implausible',
	};
	const STATE_TEXT = {
		off: 'The battery is left to its own controller: the agent makes no plan.',
		self: 'The battery runs its own controller; the agent only keeps the reserve.',
		waiting: 'The plan waits for an input it needs.',
	};

	function pct(x) {
		return Math.round(x) + ' %';
	}
	function actionOf(s) {
		return ACTIONS[s.action] || { icon: '?', word: String(s.action), help: '' };
	}

	/* ---- power view ------------------------------------------------------ */
	function powerText(w) {
		if (w === null || w === undefined) return 'power not reported';
		if (Math.abs(w) < 10) return 'idle';
		return (w < 0 ? 'charging ' : 'discharging ') + fmtW(Math.abs(w));
	}
	function renderBatteryNow(s) {
		const b = s.battery;
		const box = $('battery-now');
		const had = box.dataset.has === '1';
		box.hidden = !b;
		box.dataset.has = b ? '1' : '0';
		/* the Today card and the statements show "from the battery" only
		 * with one: draw them again when that changes */
		if (had !== !!b) {
			if (S.today) RENDER.today(S.today);
			if (S.latest && S.latest.statements) RENDER.statements(S.latest.statements);
			if (!b) $('battery-plan').hidden = true;
		}
		if (!b) return;
		const soc = b.soc_pct === null || b.soc_pct === undefined ? null : Math.max(0, Math.min(100, b.soc_pct));
		const reserve = Math.max(0, Math.min(100, b.reserve_pct || 0));
		$('battery-soc').textContent = soc === null ? 'charge not reported' : pct(soc);
		const pw = $('battery-power');
		pw.textContent = powerText(b.power_w);
		pw.className = 'bat-power ' + (b.power_w < -10 ? 'charging' : b.power_w > 10 ? 'discharging' : 'idle');
		const bar = $('soc-bar');
		$('soc-fill').style.width = (soc === null ? 0 : soc) + '%';
		$('soc-fill').classList.toggle('low', soc !== null && soc <= reserve);
		$('soc-reserve').style.left = reserve + '%';
		$('soc-reserve').hidden = reserve <= 0;
		/* the reserve's words under its mark, to its right (left when high) */
		const lab = $('soc-reserve-label');
		const right = reserve > 60;
		lab.textContent = reserve <= 0 ? '' : right ? 'reserve ' + pct(reserve) + ' ▲' : '▲ reserve ' + pct(reserve);
		lab.style.left = right ? 'auto' : 'calc(' + reserve + '% - 0.45em)';
		lab.style.right = right ? 'calc(' + (100 - reserve) + '% - 0.45em)' : 'auto';
		bar.setAttribute('aria-valuenow', String(soc === null ? 0 : Math.round(soc)));
		bar.setAttribute('aria-valuetext', (soc === null ? 'not reported' : pct(soc)) +
		    (reserve > 0 ? ', reserve ' + pct(reserve) : ''));
		bar.dataset.soc = String(soc);
		bar.dataset.reserve = String(reserve);
		$('battery-setpoint').textContent = !b.control
		    ? 'It runs its own controller: the agent does not control it.'
		    : SETPOINT[b.setpoint] || 'The agent has no setpoint in force yet.';
		/* offers of stored energy not made: the plan's sales wait */
		const paused = $('battery-paused');
		paused.hidden = !b.offers_paused;
		paused.textContent = b.offers_paused ? 'Sales from the battery are paused: ' +
		    (PAUSED[b.offers_paused] || 'the agent cannot back them now') +
		    '. The plan’s sales wait until this clears.' : '';
		const parts = [];
		if (b.capacity_wh) parts.push(fmtWh(b.capacity_wh) + ' usable');
		if (reserve > 0) parts.push('the reserve of ' + pct(reserve) + ' is kept for the home');
		let text = parts.length ? parts.join('; ') + '.' : '';
		const t = b.today;
		if (t) text += (text ? ' ' : '') + 'Today: charged ' + fmtWh(t.charged_wh || 0) + ', discharged ' +
		    fmtWh(t.discharged_wh || 0) + ', of it ' + fmtWh(t.sold_wh || 0) + ' sold to neighbours.';
		$('battery-detail').textContent = text;
	}

	/* ---- the plan -------------------------------------------------------- */
	/* Seconds of one step on the devices' clock (its time_of_day; with a
	 * simulator faster than the wall clock), else the interval's. */
	function stepSeconds(p) {
		const st = p.steps || [];
		const tod = (x) => {
			const m = /^(\d\d):(\d\d)$/.exec(x && x.time_of_day || '');
			return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 : null;
		};
		if (st.length > 1) {
			const a = tod(st[0]), b = tod(st[1]);
			if (a !== null && b !== null && (b - a + 86400) % 86400 > 0) return (b - a + 86400) % 86400;
		}
		return p.interval_s || S.state && S.state.interval_s || 900;
	}
	function hhmm(sec) {
		const s = ((sec % 86400) + 86400) % 86400;
		return String(Math.floor(s / 3600)).padStart(2, '0') + ':' + String(Math.floor(s % 3600 / 60)).padStart(2, '0');
	}
	/* "19:00–19:30" on the devices' clock, else the page's */
	function span(first, last, dur, p) {
		const m = /^(\d\d):(\d\d)$/.exec(first.time_of_day || '');
		if (m) {
			const t0 = Number(m[1]) * 3600 + Number(m[2]) * 60;
			const n = Math.round(((last.start || 0) - (first.start || 0)) / (p.interval_s || 1)) + 1;
			return hhmm(t0) + '–' + hhmm(t0 + n * dur);
		}
		return fmtTime(first.start) + '–' + fmtTime(last.start + (p.interval_s || 0));
	}
	/* What the step does with its energy, beside the action's badge. */
	function doesText(s) {
		if (s.action === 'store') return fmtWh(s.charge_wh || 0) + ' into the battery';
		if (s.action === 'sell') {
			const home = (s.discharge_wh || 0) - (s.sell_wh || 0);
			return fmtWh(s.sell_wh || 0) + ' to neighbours' + (home > 0 ? ' (and ' + fmtWh(home) + ' for the home)' : '');
		}
		if (s.action === 'cover') return fmtWh(s.discharge_wh || 0) + ' for the home';
		return '';
	}
	/* The agent's reason without its leading "sell: " (the action is said
	 * beside it), starting with a capital. */
	function reasonText(s) {
		const r = String(s.reason || '').replace(/^(store|sell|cover|hold):\s*/, '');
		return r ? r.charAt(0).toUpperCase() + r.slice(1) + '.' : '';
	}
	function socText(s) {
		return s.soc_end_pct === null || s.soc_end_pct === undefined ? '' : 'battery ' + pct(s.soc_end_pct) + ' after';
	}
	function badgeOf(s) {
		const a = actionOf(s);
		const b = el('span', null, 'act act-' + s.action);
		b.append(el('span', a.icon, 'icon'), el('span', a.word, 'word'));
		return b;
	}
	/* One list item: time, action, energy, charge after, reason. */
	function item(first, last, dur, p, test) {
		const li = document.createElement('li');
		li.dataset.test = test;
		li.dataset.action = first.action;
		const head = el('div', null, 'plan-item-head');
		head.append(el('span', span(first, last, dur, p), 'when'), badgeOf(first));
		if (doesText(first)) head.append(el('span', doesText(first), 'does'));
		const soc = socText(last);
		if (soc) head.append(el('span', soc, 'muted'));
		li.append(head);
		const r = reasonText(first);
		if (r) li.append(el('div', r, 'reason'));
		return li;
	}
	/* Consecutive steps with the same action (and the same reason, for
	 * the list), as one. */
	function runs(steps, byReason = true) {
		const out = [];
		for (const [i, s] of steps.entries()) {
			const r = out[out.length - 1];
			if (r && r.first.action === s.action && (!byReason || r.first.reason === s.reason)) {
				r.last = s;
				r.n++;
			} else {
				out.push({ first: s, last: s, n: 1, at: i });
			}
		}
		return out;
	}
	function pick(p, i, dur) {
		const s = p.steps[i];
		const svg = $('plan-svg');
		for (const r of svg.querySelectorAll('rect.band')) r.classList.toggle('picked', r.dataset.i === String(i));
		const t = $('plan-pick');
		t.textContent = span(s, s, dur, p) + ' · ' + actionOf(s).icon + ' ' + actionOf(s).word +
		    (doesText(s) ? ' ' + doesText(s) : '') +
		    (socText(s) ? ' · ' + socText(s) : '') + (reasonText(s) ? ' · ' + reasonText(s) : '');
		t.dataset.interval = String(s.interval);
	}
	function svgEl(tag, attrs) {
		const e = document.createElementNS(SVGNS, tag);
		for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
		return e;
	}
	function drawChart(p, b, dur) {
		const steps = p.steps;
		const n = steps.length;
		/* the strip of actions: one block per run, its width its length */
		const strip = $('plan-runs');
		strip.replaceChildren();
		for (const r of runs(steps, false)) {
			const d = el('div', null, 'run act-' + r.first.action);
			d.style.flexGrow = String(r.n);
			d.title = span(r.first, r.last, dur, p) + ' ' + actionOf(r.first).word;
			d.append(el('span', actionOf(r.first).icon, 'icon'), el('span', actionOf(r.first).word, 'word'));
			strip.append(d);
		}
		/* the state of charge: a band per interval (tap or point at it for
		 * its reason), the planned line, the reserve dashed */
		const svg = $('plan-svg');
		svg.replaceChildren();
		svg.setAttribute('viewBox', '0 0 ' + n + ' 100');
		for (const [i, s] of steps.entries()) {
			const r = svgEl('rect', { x: i, y: 0, width: 1, height: 100, class: 'band act-' + s.action, tabindex: 0 });
			r.dataset.i = String(i);
			const title = svgEl('title', {});
			title.textContent = span(s, s, dur, p) + ' ' + actionOf(s).word + ': ' + reasonText(s);
			r.append(title);
			svg.append(r);
		}
		const reserve = b && b.reserve_pct ? b.reserve_pct : 0;
		if (reserve > 0)
			svg.append(svgEl('line', { x1: 0, x2: n, y1: 100 - reserve, y2: 100 - reserve, class: 'reserve' }));
		const start = b && b.soc_pct !== null && b.soc_pct !== undefined ? b.soc_pct : null;
		const pts = [];
		if (start !== null) pts.push('0,' + (100 - start));
		for (const [i, s] of steps.entries())
			if (s.soc_end_pct !== null && s.soc_end_pct !== undefined) pts.push((i + 1) + ',' + (100 - s.soc_end_pct));
		svg.append(svgEl('polyline', { points: pts.join(' '), class: 'soc-line' }));
		svg.dataset.points = String(pts.length);
		/* times below, about six of them */
		const axis = $('plan-axis');
		axis.replaceChildren();
		const every = Math.max(1, Math.ceil(n / 6));
		for (let i = 0; i < n; i += every) {
			const t = el('span', span(steps[i], steps[i], dur, p).split('–')[0]);
			t.style.left = (i / n * 100) + '%';
			axis.append(t);
		}
	}
	function renderPlan(p) {
		S.plan = p;
		const card = $('battery-plan');
		const state = p && p.state ? p.state : 'none';
		card.hidden = state === 'none' || (S.state && !hasBattery());
		card.dataset.state = state;
		const st = $('plan-state');
		const steps = state === 'planned' ? p.steps || [] : [];
		const dur = stepSeconds(p);
		const hoursText = (h) => (Number.isInteger(h) ? String(h) : h.toFixed(1)) + ' hour' + (h === 1 ? '' : 's');
		/* planned: the page's own sentence (the agent's says the same) */
		st.textContent = state === 'planned'
		    ? 'What your battery will do over the next ' + hoursText(steps.length * dur / 3600) + ', and why.'
		    : p.message || STATE_TEXT[state] || '';
		st.className = 'plan-state ' + state;
		const val = $('plan-value');
		const known = (x) => x !== null && x !== undefined;
		if (steps.length && known(p.value_u) && known(p.self_value_u)) {
			const d = p.value_u - p.self_value_u;
			/* the values cover the plan's whole horizon (horizon_h), which
			 * may be longer than the steps shown */
			const over = known(p.horizon_h) && p.horizon_h > 0 ? 'Over the next ' + hoursText(p.horizon_h) : 'Over the plan\'s horizon';
			val.textContent = over + ' the plan is expected to earn ' + (d === 0 ? 'as much as'
			    : fmtMoney(Math.abs(d)) + (d > 0 ? ' more than' : ' less than')) + ' the battery on its own.';
			val.dataset.diffU = String(d);
			val.hidden = false;
		} else {
			val.hidden = true;
		}
		$('plan-chart').hidden = steps.length === 0;
		if (!steps.length) return;
		const b = p.battery || (S.state && S.state.battery);
		drawChart(p, b, dur);
		const legend = $('plan-legend');
		legend.replaceChildren(...Object.keys(ACTIONS).map((k) => {
			const li = el('li');
			li.append(badgeOf({ action: k }), el('span', ' ' + ACTIONS[k].help));
			return li;
		}), el('li', '— the battery\'s planned charge (0–100 %); - - the reserve (' + pct(b && b.reserve_pct || 0) + ')', 'line-key'));
		$('plan-next').replaceChildren(...steps.slice(0, NEXT).map((s) => item(s, s, dur, p, 'plan-step')));
		$('plan-all').replaceChildren(...runs(steps).map((r) => item(r.first, r.last, dur, p, 'plan-run')));
		const picked = $('plan-pick').dataset.interval;
		const i = steps.findIndex((s) => String(s.interval) === picked);
		if (i >= 0) pick(p, i, dur);
	}

	document.addEventListener('DOMContentLoaded', () => {
		const svg = $('plan-svg');
		const onPick = (ev) => {
			const r = ev.target.closest && ev.target.closest('rect.band');
			if (r && S.plan && S.plan.steps) pick(S.plan, Number(r.dataset.i), stepSeconds(S.plan));
		};
		svg.addEventListener('click', onPick);
		svg.addEventListener('mouseover', onPick);
		svg.addEventListener('focusin', onPick);
	});

	stateViews.push(renderBatteryNow);
	RENDER.plan = renderPlan;
})(window.PW);
