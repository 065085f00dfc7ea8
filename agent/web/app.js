/*
 * app.js: the dashboard page's frame (loaded last; core.js first): the
 * status line and the header (household, registry, witnesses, curtailment)
 * from api/state, fetching every document of PW.RENDER and keeping them
 * current through the Server-Sent Events stream api/events, the login form
 * (only when the agent is reachable from the network) and the start.
 */
'use strict';
(function (PW) {
	const { S, $, RENDER, stateViews, onStart, sseCount, api, refresh, fmtW, fmtInterval, setMessage } = PW;

	const DOCS = Object.keys(RENDER).concat(['state']);

	function renderStatus() {
		const st = $('status');
		const s = S.state;
		const problems = [];
		if (!S.live) problems.push('Connection to your agent lost — retrying…');
		/* the agent names each problem, its cause and what to do (docs/dashboard.md) */
		if (s && Array.isArray(s.problems))
			s.problems.forEach((p) => problems.push(p.message + ' ' + p.action));
		if (problems.length) {
			st.textContent = problems.join(' ');
			st.className = 'status status-bad';
		} else if (s && ((s.exchange && !s.exchange.reachable) || (s.inverter && !s.inverter.reachable))) {
			st.textContent = 'Connecting to ' + (s.exchange && !s.exchange.reachable ? 'the exchange' : 'the inverter') + '…';
			st.className = 'status status-wait';
		} else if (s) {
			st.textContent = 'Live · exchange and inverter connected' +
			    (s.interval !== undefined ? ' · interval ' + fmtInterval(s.interval) : '');
			st.className = 'status status-ok';
		}
	}

	function renderState(s) {
		if (s.csrf) S.csrf = s.csrf;
		S.state = s;
		if (s.household) {
			$('household').textContent = s.household;
			document.title = s.household + ' · peerwatt';
		}
		/* neighbours who cosigned the log (docs/dashboard.md) */
		const wit = $('witnesses');
		if (s.witnesses && s.witnesses.text) {
			wit.textContent = s.witnesses.text;
			wit.hidden = false;
		}
		renderCurtailment(s.curtailment);
		/* our own registry entry as the exchange's log holds it (docs/dashboard.md) */
		const reg = $('registry');
		if (s.registry && s.registry.text) {
			reg.textContent = s.registry.text;
			reg.className = 'registry' + (s.registry.proven && !s.registry.mismatch && !s.registry.revoked ? ' registry-ok' : '');
			reg.hidden = false;
		} else {
			reg.hidden = true;
		}
		for (const view of stateViews) view(s);
		renderStatus();
	}

	/* export curtailment (docs/agent-energy.md "Curtailment"): when and why export
	 * was limited, and what it saved (an estimate) */
	function renderCurtailment(c) {
		const el = $('curtailment');
		const e = c && c.events && c.events[0];
		if (!e) { el.hidden = true; return; }
		el.textContent = (c.limiting ? e.text + ' (now: at most ' + fmtW(c.limit_w) + ')' : e.text) +
		    (e.ok ? '' : ' (the inverter did not confirm the limit)');
		el.hidden = false;
	}

	RENDER.state = renderState;

	async function refreshAll() {
		await refresh('state');
		await Promise.all(DOCS.filter((d) => d !== 'state').map(refresh));
	}

	/* ---- live updates ---------------------------------------------------- */
	function connectEvents() {
		if (S.es) S.es.close();
		const es = new EventSource('api/events');
		S.es = es;
		es.onopen = () => {
			S.live = true;
			refreshAll(); /* catch up on whatever happened while away */
			renderStatus();
		};
		es.onerror = () => {
			S.live = false;
			renderStatus();
			if (es.readyState === EventSource.CLOSED && !S.retryTimer)
				S.retryTimer = setTimeout(() => {
					S.retryTimer = null;
					connectEvents();
				}, 3000);
		};
		for (const name of DOCS) {
			es.addEventListener(name, (ev) => {
				let doc;
				try {
					doc = JSON.parse(ev.data);
				} catch (e) {
					return;
				}
				sseCount[name] = (sseCount[name] || 0) + 1;
				RENDER[name](doc);
				/* A clearing changes the orders' statuses too. */
				if (name === 'trades') refresh('orders');
				if (name === 'trades' || name === 'statements') refresh('today');
			});
		}
	}

	/* ---- login (only when the agent is reachable from the network) -------- */
	function showLogin() {
		$('app').hidden = true;
		$('login').hidden = false;
		const st = $('status');
		st.textContent = 'Log in to see your dashboard.';
		st.className = 'status status-wait';
		if (S.es) {
			S.es.close();
			S.es = null;
		}
	}

	PW.showLogin = showLogin;

	async function onLogin(ev) {
		ev.preventDefault();
		const r = await api('POST', 'api/login', { token: $('login-token').value });
		if (r.ok) {
			$('login-token').value = '';
			start();
		} else {
			setMessage('login-message', r.body.error || 'Login failed.', false);
		}
	}

	async function start() {
		const r = await refresh('state');
		if (r.status === 401) return;
		if (!r.ok) {
			const st = $('status');
			st.textContent = 'Your agent does not answer (' + (r.body.error || r.status) + '). Retrying…';
			st.className = 'status status-bad';
			setTimeout(start, 3000);
			return;
		}
		$('login').hidden = true;
		$('app').hidden = false;
		for (const f of onStart) f();
		await Promise.all(DOCS.filter((d) => d !== 'state').map(refresh));
		connectEvents();
	}

	document.addEventListener('DOMContentLoaded', () => {
		$('login-form').addEventListener('submit', onLogin);
		start();
	});
})(window.PW);
