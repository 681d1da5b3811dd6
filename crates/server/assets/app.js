// apiwright dashboard: a single page over the REST API, in plain JavaScript.
//
// Written for the server's `Content-Security-Policy: default-src 'self'`: no inline handlers,
// no eval, no style attributes (element.style through the CSSOM is allowed, but unused), no
// other origins. Every element the browser tests use has a `data-testid`.
'use strict';

(function () {
  const TOKENS_KEY = 'apiwright.tokens';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const TERMINAL = ['completed', 'failed', 'cancelled'];
  const EVENT_KINDS = [
    'run_started', 'phase_started', 'items_resolved', 'round_started', 'step_started',
    'step_finished', 'step_failed', 'gate_evaluated', 'approval_requested', 'approval_decided',
    'phase_completed', 'phase_failed', 'looped_back', 'escalated', 'escalation_resolved',
    'run_completed', 'run_failed', 'run_cancelled', 'run_resumed',
  ];

  const $ = (id) => document.getElementById(id);

  // ---- DOM helpers -------------------------------------------------------------------------

  /** An element with attributes (`testid` becomes `data-testid`, `text` its text) and children. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'text') node.textContent = String(value);
      else if (name === 'testid') node.setAttribute('data-testid', value);
      else if (name === 'class') node.className = value;
      else if (name === 'on') for (const [kind, handler] of Object.entries(value)) node.addEventListener(kind, handler);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === 'text') node.textContent = String(value);
      else node.setAttribute(name, String(value));
    }
    return node;
  }

  function badge(status, testid) {
    const text = String(status === null || status === undefined ? 'unknown' : status);
    return el('span', { class: 'badge status-' + text.replace(/[^a-z_]/gi, ''), testid: testid || 'status-badge', text });
  }

  function pretty(value) {
    return JSON.stringify(value, null, 2);
  }

  function formatTime(value) {
    if (value === null || value === undefined || value === '') return '';
    const date = typeof value === 'number' ? new Date(value) : new Date(String(value));
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
  }

  function formatNumber(value) {
    if (typeof value !== 'number') return String(value);
    if (Number.isInteger(value)) return value.toLocaleString();
    return Math.abs(value) < 1 ? value.toFixed(3) : value.toFixed(2);
  }

  function formatMs(ms) {
    if (typeof ms !== 'number') return '';
    return ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s';
  }

  function isPlainObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  // ---- errors ------------------------------------------------------------------------------

  /** A failed API call: the problem+json `title` and `detail`, or what went wrong locally. */
  class Problem extends Error {
    constructor(title, detail, status) {
      super(detail || title);
      this.title = title;
      this.detail = detail || '';
      this.status = status || 0;
    }
  }

  function showError(error) {
    const problem = error instanceof Problem ? error : new Problem('Error', String(error && error.message || error));
    $('error-title').textContent = problem.title;
    $('error-detail').textContent = problem.detail;
    $('error').hidden = false;
  }

  function clearError() {
    $('error').hidden = true;
    $('error-title').textContent = '';
    $('error-detail').textContent = '';
  }

  /**
   * Runs an async action, showing its failure in the error area. The action starts
   * synchronously, so an event handler can still call `preventDefault`.
   */
  function guarded(action) {
    return (...args) => {
      try {
        return Promise.resolve(action(...args)).catch(showError);
      } catch (err) {
        showError(err);
        return Promise.resolve();
      }
    };
  }

  // ---- tokens and API ----------------------------------------------------------------------

  function tokens() {
    try {
      return JSON.parse(sessionStorage.getItem(TOKENS_KEY) || 'null');
    } catch (_) {
      return null;
    }
  }

  function storeTokens(response) {
    sessionStorage.setItem(TOKENS_KEY, JSON.stringify({
      access: response.access_token,
      refresh: response.refresh_token,
    }));
  }

  function forgetTokens() {
    sessionStorage.removeItem(TOKENS_KEY);
  }

  async function problemOf(response) {
    const type = response.headers.get('content-type') || '';
    if (type.includes('json')) {
      try {
        const body = await response.json();
        return new Problem(body.title || response.statusText || 'Error', body.detail || '', response.status);
      } catch (_) { /* fall through */ }
    }
    return new Problem(response.statusText || 'Error', 'the server answered ' + response.status, response.status);
  }

  let refreshing = null;
  /** Why the session ended, shown on the sign-in view. */
  let signedOutNotice = null;

  /** Trades the refresh token for a new pair; false when that is not possible any more. */
  function refreshTokens() {
    if (refreshing) return refreshing;
    const current = tokens();
    if (!current || !current.refresh) return Promise.resolve(false);
    refreshing = fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: current.refresh }),
    }).then(async (response) => {
      if (!response.ok) return false;
      storeTokens(await response.json());
      return true;
    }).catch(() => false).finally(() => { refreshing = null; });
    return refreshing;
  }

  /**
   * Calls the API with the access token; on a 401 refreshes once and retries. Resolves with
   * `{status, body, headers}`; rejects with a `Problem`.
   */
  async function api(method, path, options) {
    const opts = options || {};
    const send = () => {
      const headers = { accept: 'application/json' };
      const current = tokens();
      if (current && current.access && !opts.anonymous) headers.authorization = 'Bearer ' + current.access;
      if (opts.etag) headers['if-none-match'] = opts.etag;
      const init = { method, headers };
      if (opts.body !== undefined) {
        headers['content-type'] = 'application/json';
        init.body = JSON.stringify(opts.body);
      }
      return fetch(path, init);
    };
    let response;
    try {
      response = await send();
      if (response.status === 401 && !opts.anonymous && await refreshTokens()) response = await send();
    } catch (err) {
      throw new Problem('Network error', String(err && err.message || err));
    }
    if (response.status === 401 && !opts.anonymous) {
      // The refresh token is spent or revoked too: back to the sign-in view, saying why.
      const problem = await problemOf(response);
      forgetTokens();
      signedOutNotice = new Problem('Signed out', 'sign in again (' + problem.detail + ')', 401);
      showSignedOut();
      throw problem;
    }
    if (response.status === 304) return { status: 304, body: null, headers: response.headers };
    if (!response.ok) throw await problemOf(response);
    const type = response.headers.get('content-type') || '';
    const body = response.status === 204 ? null : type.includes('json') ? await response.json() : await response.text();
    return { status: response.status, body, headers: response.headers };
  }

  function encodeKey(key) {
    return String(key).split('/').map(encodeURIComponent).join('/');
  }

  // ---- routing -----------------------------------------------------------------------------

  const VIEWS = ['login', 'runs', 'start', 'run', 'memory', 'analytics'];
  let leaveView = null;
  let wantedRoute = '#/runs';

  function showView(name) {
    for (const view of VIEWS) $('view-' + view).hidden = view !== name;
    for (const link of document.querySelectorAll('nav a')) {
      link.classList.toggle('active', link.getAttribute('href') === '#/' + name);
    }
    document.body.setAttribute('data-view', name);
  }

  function showSignedOut() {
    $('nav').hidden = true;
    $('whoami').textContent = '';
    if (location.hash !== '#/login') {
      wantedRoute = location.hash && location.hash !== '#/login' ? location.hash : '#/runs';
      location.hash = '#/login';
    } else {
      route();
    }
  }

  function route() {
    if (leaveView) {
      leaveView();
      leaveView = null;
    }
    clearError();
    const hash = location.hash || '#/runs';
    const signedIn = Boolean(tokens());
    if (!signedIn && hash !== '#/login') {
      showSignedOut();
      return;
    }
    if (signedIn && hash === '#/login') {
      location.hash = '#/runs';
      return;
    }
    $('nav').hidden = !signedIn;
    if (signedIn && !$('whoami').textContent) loadMe();
    const parts = hash.replace(/^#\/?/, '').split('/');
    switch (parts[0]) {
      case 'login':
        showView('login');
        // Kept until the next sign-in: two requests refused at once both route here (one
        // synchronously, one by the hash change), and the second must not lose the notice.
        if (signedOutNotice) showError(signedOutNotice);
        $('login-email').focus();
        break;
      case 'start': showView('start'); enterStart(); break;
      case 'memory': showView('memory'); break;
      case 'analytics': showView('analytics'); enterAnalytics(); break;
      case 'runs':
        if (parts[1]) {
          showView('run');
          enterRun(decodeURIComponent(parts.slice(1).join('/')));
        } else {
          showView('runs');
          enterRuns();
        }
        break;
      default: location.hash = '#/runs';
    }
  }

  const loadMe = guarded(async () => {
    const me = await api('GET', '/api/v1/me');
    $('whoami').textContent = me.body.email + ' (' + me.body.role + ')';
  });

  // ---- login and logout --------------------------------------------------------------------

  const login = guarded(async (event) => {
    event.preventDefault();
    clearError();
    const response = await api('POST', '/api/v1/auth/login', {
      anonymous: true,
      body: { email: $('login-email').value.trim(), password: $('login-password').value },
    });
    storeTokens(response.body);
    signedOutNotice = null;
    $('login-password').value = '';
    location.hash = wantedRoute || '#/runs';
  });

  const logout = guarded(async () => {
    const current = tokens();
    try {
      if (current) await api('POST', '/api/v1/auth/logout', { body: { refresh_token: current.refresh } });
    } finally {
      forgetTokens();
      wantedRoute = '#/runs';
      showSignedOut();
    }
  });

  // ---- runs list ---------------------------------------------------------------------------

  let runsCursor = null;

  function runsQuery(cursor) {
    const query = new URLSearchParams();
    const status = $('runs-status-filter').value;
    if (status) query.set('status', status);
    query.set('sort', $('runs-sort').value);
    query.set('limit', '25');
    if (cursor) query.set('cursor', cursor);
    return '/api/v1/runs?' + query.toString();
  }

  const loadRuns = guarded(async (more) => {
    if (!more) {
      runsCursor = null;
      $('runs-body').replaceChildren();
    }
    const response = await api('GET', runsQuery(more ? runsCursor : null));
    const items = Array.isArray(response.body.items) ? response.body.items : [];
    for (const run of items) {
      $('runs-body').append(el('tr', { testid: 'run-row', 'data-run-id': run.id },
        el('td', {}, el('a', { href: '#/runs/' + encodeURIComponent(run.id), testid: 'run-link' }, el('code', { text: run.id }))),
        el('td', { text: run.workflow }),
        el('td', {}, badge(run.status, 'run-row-status')),
        el('td', { text: formatTime(run.created_at) }),
        el('td', { text: formatTime(run.updated_at) })));
    }
    runsCursor = response.body.next_cursor || null;
    $('runs-load-more').hidden = !runsCursor;
    $('runs-empty').hidden = $('runs-body').children.length > 0;
  });

  const loadApprovals = guarded(async () => {
    const response = await api('GET', '/api/v1/approvals');
    const items = Array.isArray(response.body.items) ? response.body.items : [];
    $('approvals-list').replaceChildren(...items.map((item) => el('li', { testid: 'approval-item' },
      el('a', { href: '#/runs/' + encodeURIComponent(item.run_id) }, el('code', { text: item.run_id })),
      ' — ', item.kind, ' ', el('code', { text: item.id }), ': ', item.prompt || '')));
    $('approvals').hidden = items.length === 0;
  });

  function enterRuns() {
    loadRuns(false);
    loadApprovals();
  }

  // ---- start a run -------------------------------------------------------------------------

  let workflows = null;

  const enterStart = guarded(async () => {
    if (!workflows) {
      const response = await api('GET', '/api/v1/workflows');
      workflows = Array.isArray(response.body.items) ? response.body.items : [];
    }
    const select = $('start-workflow');
    const chosen = select.value;
    select.replaceChildren(...workflows.map((workflow) => el('option', {
      value: workflow.name,
      testid: 'workflow-option',
      text: workflow.name + (workflow.builtin ? ' (built-in)' : ''),
    })));
    if (chosen) select.value = chosen;
    describeWorkflow();
  });

  function describeWorkflow() {
    const workflow = (workflows || []).find((item) => item.name === $('start-workflow').value);
    $('start-workflow-description').textContent = workflow
      ? workflow.description + ' (' + workflow.phases + ' phases)'
      : '';
  }

  /** `key=value` lines to an object; blank lines and `#` comments are skipped. */
  function parseLines(text, what) {
    const result = {};
    text.split('\n').forEach((line, index) => {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith('#')) return;
      const at = trimmed.indexOf('=');
      if (at <= 0) throw new Problem('Invalid ' + what, 'line ' + (index + 1) + ': expected key=value, found "' + trimmed + '"');
      result[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim();
    });
    return result;
  }

  const startRun = guarded(async (event) => {
    event.preventDefault();
    clearError();
    const body = {
      workflow: $('start-workflow').value,
      params: parseLines($('start-params').value, 'parameters'),
      inputs: parseLines($('start-inputs').value, 'inputs'),
      auto_approve: $('start-auto-approve').checked,
    };
    const spec = $('start-spec').value;
    if (spec.trim()) body.spec = spec;
    if ($('start-builtin-agents').checked) body.agents = 'builtin';
    const response = await api('POST', '/api/v1/runs', { body });
    location.hash = '#/runs/' + encodeURIComponent(response.body.id);
  });

  // ---- one run -----------------------------------------------------------------------------

  const runView = { id: null, run: null, etag: null, source: null, pending: null, poll: null, reopened: 0 };

  function enterRun(id) {
    Object.assign(runView, { id, run: null, etag: null, reopened: 0 });
    $('run-id').textContent = id;
    $('run-status').textContent = '';
    $('run-phases').replaceChildren();
    $('run-extra').replaceChildren();
    $('run-summary').replaceChildren();
    $('run-events').replaceChildren();
    $('run-events-count').textContent = '0';
    $('run-waiting').hidden = true;
    $('run-reason').hidden = true;
    loadRun().then(() => {
      if (runView.id === id && runView.run && !TERMINAL.includes(runView.run.status)) openEvents();
    });
    leaveView = closeEvents;
  }

  const loadRun = guarded(async () => {
    const id = runView.id;
    const response = await api('GET', '/api/v1/runs/' + encodeURIComponent(id), { etag: runView.etag });
    if (runView.id !== id || response.status === 304) return;
    runView.etag = response.headers.get('etag');
    runView.run = response.body;
    renderRun(response.body);
  });

  function scheduleReload() {
    if (runView.pending) return;
    runView.pending = setTimeout(() => {
      runView.pending = null;
      loadRun();
    }, 100);
  }

  function openEvents() {
    closeEvents();
    const current = tokens();
    if (!current) return;
    const url = '/api/v1/runs/' + encodeURIComponent(runView.id) + '/events?access_token=' + encodeURIComponent(current.access);
    const source = new EventSource(url);
    runView.source = source;
    const onEvent = (message) => {
      let data = null;
      try { data = JSON.parse(message.data); } catch (_) { data = { kind: message.type, payload: message.data }; }
      appendEvent(message, data);
      const kind = (data && data.kind) || message.type;
      scheduleReload();
      if (kind === 'run_completed' || kind === 'run_failed' || kind === 'run_cancelled') closeEvents();
    };
    source.onmessage = onEvent;
    for (const kind of EVENT_KINDS) source.addEventListener(kind, onEvent);
    source.onopen = () => { $('run-live').textContent = 'live'; };
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) {
        $('run-live').textContent = 'reconnecting…';
        return;
      }
      // Closed by the server's answer (an expired token is the usual reason): refresh the
      // token and reopen a few times, then fall back to polling.
      $('run-live').textContent = 'not live';
      if (runView.source !== source) return;
      runView.source = null;
      if (runView.reopened < 3) {
        runView.reopened += 1;
        refreshTokens().then(() => {
          if (runView.id && runView.run && !TERMINAL.includes(runView.run.status)) openEvents();
        });
      } else if (!runView.poll) {
        runView.poll = setInterval(() => {
          if (runView.run && TERMINAL.includes(runView.run.status)) closeEvents();
          else loadRun();
        }, 5000);
      }
    };
  }

  function closeEvents() {
    if (runView.source) runView.source.close();
    runView.source = null;
    if (runView.poll) clearInterval(runView.poll);
    runView.poll = null;
    $('run-live').textContent = 'not live';
  }

  function appendEvent(message, data) {
    const list = $('run-events');
    const kind = (data && data.kind) || message.type;
    const seq = (data && data.seq) || message.lastEventId;
    list.append(el('li', { testid: 'run-event', 'data-kind': kind },
      '#' + seq + ' ', el('strong', { text: kind }), ' ', formatTime(data && data.at), ' ',
      data && data.payload !== undefined ? JSON.stringify(data.payload).slice(0, 240) : ''));
    while (list.children.length > 200) list.firstChild.remove();
    $('run-events-count').textContent = String(Number($('run-events-count').textContent) + 1);
  }

  function stat(label, value, testid) {
    return el('div', { class: 'stat', testid }, el('span', { class: 'value', text: value }), el('span', { class: 'label', text: label }));
  }

  function renderRun(run) {
    $('run-status').className = 'badge status-' + String(run.status);
    $('run-status').setAttribute('data-status', run.status);
    $('run-status').textContent = run.status;
    $('run-workflow').textContent = run.workflow;
    $('run-started-by').textContent = run.started_by || '';
    $('run-created').textContent = formatTime(run.created_at);
    $('run-updated').textContent = formatTime(run.updated_at);
    $('run-reason').hidden = !run.reason;
    $('run-reason').textContent = run.reason || '';
    const waiting = run.waiting;
    $('run-waiting').hidden = !waiting;
    if (waiting) {
      $('run-waiting-kind').textContent = waiting.kind;
      $('run-waiting-id').textContent = waiting.id;
      $('run-waiting-prompt').textContent = waiting.prompt || '';
    }
    $('cancel-button').disabled = TERMINAL.includes(run.status);
    if (TERMINAL.includes(run.status)) closeEvents();
    $('resume-button').hidden = !(run.status === 'failed' || run.status === 'cancelled');

    const report = isPlainObject(run.report) ? run.report : {};
    const usage = report.usage && report.usage.total;
    // replaceChildren would print a null as the text "null": only the cards that apply.
    $('run-summary').replaceChildren(...[
      stat('events', formatNumber(run.events || 0), 'run-stat-events'),
      stat('steps finished', formatNumber(report.steps_finished || 0), 'run-stat-steps'),
      stat('step attempts', formatNumber(report.step_attempts || 0), 'run-stat-attempts'),
      usage ? stat('tokens in / out', formatNumber(usage.input_tokens) + ' / ' + formatNumber(usage.output_tokens), 'run-stat-tokens') : null,
      usage ? stat('cost (USD)', '$' + Number(usage.cost_usd || 0).toFixed(4), 'run-stat-cost') : null,
    ].filter(Boolean));

    // Keep the evidence the reader opened open across live updates.
    const open = new Set([...document.querySelectorAll('#run-phases details[open]')].map((node) => node.getAttribute('data-key')));
    const phases = Array.isArray(report.phases) ? report.phases : [];
    $('run-phases').replaceChildren(...phases.map((phase) => renderPhase(phase, open)));
    $('run-extra').replaceChildren(...renderExtras(report).filter(Boolean));
  }

  function renderPhase(phase, open) {
    const steps = Array.isArray(phase.steps) ? phase.steps : [];
    const gates = Array.isArray(phase.gates) ? phase.gates : [];
    return el('div', { class: 'card phase', testid: 'phase', 'data-phase': phase.phase },
      el('h2', {}, phase.title || phase.phase, badge(phase.status, 'phase-status'),
        el('small', { class: 'muted', text: (phase.mode || '') + (phase.visit > 1 ? ' · visit ' + phase.visit : '') + (phase.rounds ? ' · ' + phase.rounds + (phase.rounds === 1 ? ' round' : ' rounds') : '') })),
      phase.failure ? el('p', { class: 'failure', text: phase.failure }) : null,
      steps.length ? el('table', { class: 'grid', testid: 'steps-table' },
        el('thead', {}, el('tr', {}, ['Round', 'Step', 'Agent', 'Status', 'Attempts', 'Duration', 'Summary'].map((name) => el('th', { text: name })))),
        el('tbody', {}, steps.map((step) => el('tr', { testid: 'step-row', 'data-step': step.step },
          el('td', { text: step.round || '' }),
          el('td', {}, el('code', { text: step.step })),
          el('td', { text: step.agent + (step.provider ? ' (' + step.provider + ')' : '') }),
          el('td', {}, badge(step.status, 'step-status')),
          el('td', { class: 'num', text: step.attempts }),
          el('td', { class: 'num', text: formatMs(step.duration_ms) }),
          el('td', { text: step.summary || '' }))))) : null,
      gates.length ? el('table', { class: 'grid', testid: 'gates-table' },
        el('thead', {}, el('tr', {}, ['Round', 'Gate', 'Kind', 'Status', 'Summary', 'Evidence'].map((name) => el('th', { text: name })))),
        el('tbody', {}, gates.map((gate) => {
          const key = [phase.phase, phase.visit, gate.round, gate.gate].join('|');
          return el('tr', { testid: 'gate-row', 'data-gate': gate.gate },
            el('td', { text: gate.round || '' }),
            el('td', {}, el('code', { text: gate.gate })),
            el('td', { text: gate.kind }),
            el('td', {}, badge(gate.status, 'gate-status')),
            el('td', { text: gate.summary || '' }),
            el('td', {}, el('details', { testid: 'gate-evidence', 'data-key': key, open: open.has(key) },
              el('summary', { text: 'evidence' + (gate.duration_ms ? ' (' + formatMs(gate.duration_ms) + ')' : '') }),
              gate.criterion ? el('p', { class: 'muted', text: gate.criterion }) : null,
              el('pre', { testid: 'gate-evidence-json', text: pretty(gate.evidence) }))));
        }))) : null);
  }

  function renderExtras(report) {
    const sections = [];
    const table = (title, testid, rows, columns) => {
      if (!Array.isArray(rows) || rows.length === 0) return;
      sections.push(el('div', { class: 'card', testid },
        el('h2', { text: title }),
        el('table', { class: 'grid' },
          el('thead', {}, el('tr', {}, columns.map(([name]) => el('th', { text: name })))),
          el('tbody', {}, rows.map((row) => el('tr', {}, columns.map(([, cell]) => el('td', {}, cell(row)))))))));
    };
    const pair = (value) => Array.isArray(value) ? value[1] + ' / ' + value[0] : String(value);
    table('TDD', 'run-tdd', report.tdd, [
      ['Phase', (row) => row.phase], ['Item', (row) => row.item],
      ['Red (passed / evaluated)', (row) => pair(row.red)],
      ['Green', (row) => pair(row.green)], ['Refactor', (row) => pair(row.refactor)],
    ]);
    table('Escalations', 'run-escalations', report.escalations, [
      ['Id', (row) => el('code', { text: row.id })], ['Kind', (row) => row.kind],
      ['Message', (row) => row.message], ['Status', (row) => badge(row.status)],
      ['Decision', (row) => row.decision || ''],
    ]);
    table('Loops', 'run-loops', report.loops, [
      ['From', (row) => row.from], ['To', (row) => row.to], ['Kind', (row) => row.kind],
      ['Count', (row) => row.count + ' of ' + row.max],
    ]);
    if (report.usage && isPlainObject(report.usage.by_role)) {
      table('Model usage by role', 'run-usage', Object.entries(report.usage.by_role), [
        ['Role', ([role]) => role],
        ['Input tokens', ([, usage]) => formatNumber(usage.input_tokens)],
        ['Output tokens', ([, usage]) => formatNumber(usage.output_tokens)],
        ['Cost (USD)', ([, usage]) => Number(usage.cost_usd || 0).toFixed(4)],
      ]);
    }
    return sections;
  }

  const decide = guarded(async (decision) => {
    clearError();
    const run = runView.run;
    if (!run || !run.waiting) return;
    const reason = $('reject-reason').value.trim();
    if (decision === 'reject' && !reason) {
      $('reject-reason').focus();
      throw new Problem('A reason is required', 'say why the ' + run.waiting.kind + ' is rejected');
    }
    const body = { decision };
    if (reason) body.reason = reason;
    const response = await api('POST', '/api/v1/runs/' + encodeURIComponent(run.id) + '/approvals/' + encodeURIComponent(run.waiting.id), { body });
    $('reject-reason').value = '';
    if (isPlainObject(response.body)) {
      runView.run = response.body;
      runView.etag = null;
      renderRun(response.body);
    }
    if (!runView.source && !TERMINAL.includes(runView.run.status)) openEvents();
  });

  const cancelRun = guarded(async () => {
    clearError();
    const body = { reason: $('cancel-reason').value.trim() || 'cancelled from the dashboard' };
    await api('POST', '/api/v1/runs/' + encodeURIComponent(runView.id) + '/cancel', { body });
    $('cancel-reason').value = '';
    runView.etag = null;
    await loadRun();
  });

  const resumeRun = guarded(async () => {
    clearError();
    await api('POST', '/api/v1/runs/' + encodeURIComponent(runView.id) + '/resume');
    runView.etag = null;
    runView.reopened = 0;
    await loadRun();
    openEvents();
  });

  // ---- memory ------------------------------------------------------------------------------

  /** The list inside whatever shape the memory API answers with. */
  function listOf(body) {
    if (Array.isArray(body)) return body;
    if (isPlainObject(body)) {
      for (const name of ['items', 'entries', 'results', 'keys', 'matches']) {
        if (Array.isArray(body[name])) return body[name];
      }
    }
    return null;
  }

  function keyOf(item) {
    if (typeof item === 'string') return item;
    if (isPlainObject(item)) return item.key || item.name || null;
    return null;
  }

  function renderMemoryResults(body) {
    const items = listOf(body);
    const box = $('memory-results');
    if (!items) {
      box.replaceChildren(el('pre', { text: pretty(body) }));
      return;
    }
    if (items.length === 0) {
      box.replaceChildren(el('p', { class: 'muted', testid: 'memory-none', text: 'Nothing found.' }));
      return;
    }
    box.replaceChildren(el('ul', { class: 'keys' }, items.map((item) => {
      const key = keyOf(item);
      if (!key) return el('li', {}, el('pre', { text: pretty(item) }));
      const extra = isPlainObject(item) && item.snippet ? el('div', { class: 'muted', text: item.snippet }) : null;
      return el('li', {}, el('button', {
        type: 'button', testid: 'memory-key', 'data-key': key, text: key,
        on: { click: () => showMemoryKey(key) },
      }), extra);
    })));
  }

  const listMemory = guarded(async (event) => {
    event.preventDefault();
    clearError();
    const query = new URLSearchParams({ pattern: $('memory-pattern').value.trim() || '*', limit: '200' });
    const response = await api('GET', '/api/v1/memory?' + query.toString());
    renderMemoryResults(response.body);
  });

  const searchMemory = guarded(async (event) => {
    event.preventDefault();
    clearError();
    const query = new URLSearchParams({ q: $('memory-query').value });
    const response = await api('GET', '/api/v1/memory/search?' + query.toString());
    renderMemoryResults(response.body);
  });

  const showMemoryKey = guarded(async (key) => {
    clearError();
    for (const button of document.querySelectorAll('#memory-results button')) {
      button.classList.toggle('selected', button.getAttribute('data-key') === key);
    }
    $('memory-key-title').textContent = key;
    const [entry, history] = await Promise.all([
      api('GET', '/api/v1/memory/entries/' + encodeKey(key)),
      api('GET', '/api/v1/memory/history/' + encodeKey(key)),
    ]);
    const value = isPlainObject(entry.body) && 'value' in entry.body ? entry.body.value : entry.body;
    $('memory-value').textContent = typeof value === 'string' ? value : pretty(value);
    const versions = listOf(history.body);
    if (versions && versions.every(isPlainObject)) {
      $('memory-history').replaceChildren(objectTable(versions, 'memory-history-table'));
    } else {
      $('memory-history').replaceChildren(el('pre', { text: pretty(history.body) }));
    }
  });

  // ---- analytics ---------------------------------------------------------------------------

  /**
   * A `{label: number}` map whose numbers share a scale (all counts, or all rates in [0, 1]):
   * worth a bar chart. A map mixing scales (`{items: 4, rate: 0.75}`) is shown as numbers.
   */
  function isNumberMap(value) {
    if (!isPlainObject(value) || Object.keys(value).length === 0) return false;
    const numbers = Object.values(value);
    if (!numbers.every((item) => typeof item === 'number' && Number.isFinite(item))) return false;
    return numbers.every(Number.isInteger) || numbers.every((item) => item >= 0 && item <= 1);
  }

  const ACRONYMS = { tdd: 'TDD', api: 'API', usd: 'USD', id: 'id', p50: 'p50', p95: 'p95', p99: 'p99', ms: 'ms' };

  function humanize(name) {
    const words = String(name).split(/[_\s]+/).map((word) => ACRONYMS[word.toLowerCase()] || word);
    const text = words.join(' ');
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  /** A horizontal bar chart of `{label: number}`, drawn as inline SVG. */
  function barChart(map, testid) {
    const entries = Object.entries(map);
    const max = Math.max(...entries.map(([, value]) => Math.abs(value)), 0) || 1;
    const labelWidth = 190;
    const barWidth = 420;
    const rowHeight = 26;
    const width = labelWidth + barWidth + 90;
    const height = entries.length * rowHeight + 8;
    const chart = svg('svg', { class: 'chart', width, height, viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'data-testid': testid || 'chart' });
    chart.append(svg('line', { class: 'axis', x1: labelWidth, y1: 0, x2: labelWidth, y2: height }));
    entries.forEach(([label, value], index) => {
      const y = index * rowHeight + 4;
      const length = Math.max(1, Math.round(Math.abs(value) / max * barWidth));
      chart.append(svg('text', { x: labelWidth - 8, y: y + 15, 'text-anchor': 'end', text: label }));
      const bar = svg('rect', { class: 'bar status-' + label.replace(/[^a-z_]/gi, ''), x: labelWidth, y, width: length, height: rowHeight - 8, rx: 3, 'data-label': label });
      bar.append(svg('title', { text: label + ': ' + formatNumber(value) }));
      chart.append(bar);
      chart.append(svg('text', { x: labelWidth + length + 6, y: y + 15, text: formatNumber(value) }));
    });
    return chart;
  }

  function cellText(value) {
    if (value === null || value === undefined) return '';
    if (typeof value === 'number') return formatNumber(value);
    if (typeof value === 'object') return JSON.stringify(value);
    return String(value);
  }

  function objectTable(rows, testid) {
    const columns = [];
    for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    return el('table', { class: 'grid', testid },
      el('thead', {}, el('tr', {}, columns.map((name) => el('th', { text: humanize(name) })))),
      el('tbody', {}, rows.map((row) => el('tr', {}, columns.map((name) => el('td', { class: typeof row[name] === 'number' ? 'num' : null, text: cellText(row[name]) }))))));
  }

  /** Renders any JSON: number maps as charts, lists of objects as tables, the rest as stats. */
  function renderAny(name, value, depth) {
    const heading = el(depth === 0 ? 'h2' : 'h3', { text: humanize(name) });
    const testid = 'analytics-' + String(name).replace(/[^a-z0-9_]/gi, '_');
    if (isNumberMap(value)) return el('div', { class: 'card section', testid }, heading, barChart(value, 'chart'));
    if (Array.isArray(value)) {
      if (value.length === 0) return el('div', { class: 'card section', testid }, heading, el('p', { class: 'muted', text: 'none' }));
      if (value.every(isPlainObject)) return el('div', { class: 'card section', testid }, heading, objectTable(value, 'analytics-table'));
      return el('div', { class: 'card section', testid }, heading, el('p', { text: value.map(cellText).join(', ') }));
    }
    if (isPlainObject(value)) {
      const scalars = Object.entries(value).filter(([, item]) => item === null || typeof item !== 'object');
      const nested = Object.entries(value).filter(([, item]) => item !== null && typeof item === 'object');
      return el('div', { class: depth === 0 ? 'card section' : 'section', testid }, heading,
        scalars.length ? el('div', { class: 'stats' }, scalars.map(([key, item]) => stat(humanize(key), cellText(item), 'analytics-stat'))) : null,
        nested.map(([key, item]) => renderAny(key, item, depth + 1)));
    }
    return el('div', { class: 'stats', testid }, stat(humanize(name), cellText(value), 'analytics-stat'));
  }

  const enterAnalytics = guarded(async () => {
    const box = $('analytics');
    box.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
    let response;
    try {
      response = await api('GET', '/api/v1/analytics/dashboard');
    } catch (err) {
      box.replaceChildren(el('p', { class: 'muted', testid: 'analytics-unavailable', text: 'No analytics to show.' }));
      throw err;
    }
    const body = response.body;
    if (!isPlainObject(body)) {
      box.replaceChildren(renderAny('dashboard', body, 0));
      return;
    }
    const scalars = Object.entries(body).filter(([, item]) => item === null || typeof item !== 'object');
    const nested = Object.entries(body).filter(([, item]) => item !== null && typeof item === 'object');
    box.replaceChildren(
      scalars.length ? el('div', { class: 'stats' }, scalars.map(([key, item]) => stat(humanize(key), cellText(item), 'analytics-stat'))) : '',
      ...nested.map(([key, item]) => renderAny(key, item, 0)));
  });

  // ---- wiring ------------------------------------------------------------------------------

  function start() {
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('error-dismiss').addEventListener('click', clearError);
    $('runs-status-filter').addEventListener('change', () => loadRuns(false));
    $('runs-sort').addEventListener('change', () => loadRuns(false));
    $('runs-refresh').addEventListener('click', () => enterRuns());
    $('runs-load-more').addEventListener('click', () => loadRuns(true));
    $('start-form').addEventListener('submit', startRun);
    $('start-workflow').addEventListener('change', describeWorkflow);
    $('approve-button').addEventListener('click', () => decide('approve'));
    $('reject-button').addEventListener('click', () => decide('reject'));
    $('cancel-button').addEventListener('click', cancelRun);
    $('resume-button').addEventListener('click', resumeRun);
    $('memory-list-form').addEventListener('submit', listMemory);
    $('memory-search-form').addEventListener('submit', searchMemory);
    window.addEventListener('hashchange', route);
    route();
    document.body.setAttribute('data-ready', 'true');
  }

  start();
}());
